import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

/**
 * A workload platform's token issuer, served by the test on loopback: a discovery
 * document and a JWKS, as a Kubernetes API server or GitHub Actions publishes them,
 * and tokens shaped like theirs signed with its keys.
 */
export interface TestIssuer {
  readonly issuer: string;
  readonly jwksUri: string;
  /** Its public keys, for a trusted issuer configured with inline keys. */
  jwks(): Promise<{ keys: JWK[] }>;
  /** A token with these claims (`iss` this issuer, `iat` now, `exp` in 10 minutes unless given), signed with its key. */
  token(claims: JWTPayload, options?: { signWith?: 'own' | 'stranger' }): Promise<string>;
  /** How many times its JWKS was fetched. */
  readonly jwksFetches: number;
  close(): Promise<void>;
}

export async function startTestIssuer(): Promise<TestIssuer> {
  const own = await signingKey('own');
  // Signs with a kid the JWKS does not list: "a key we do not know".
  const stranger = await signingKey('stranger');
  let jwksFetches = 0;
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/openid-configuration') {
      res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/openid/v1/jwks`, response_types_supported: ['id_token'], subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['RS256'] }));
    } else if (req.url === '/openid/v1/jwks') {
      jwksFetches += 1;
      res.end(JSON.stringify({ keys: [own.publicJwk] }));
    } else {
      res.statusCode = 404;
      res.end('{}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    issuer,
    jwksUri: `${issuer}/openid/v1/jwks`,
    jwks: async () => ({ keys: [own.publicJwk] }),
    async token(claims, options = {}) {
      const key = options.signWith === 'stranger' ? stranger : own;
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: issuer, iat: now, exp: now + 600, ...claims }).setProtectedHeader({ alg: 'RS256', kid: key.publicJwk.kid!, typ: 'JWT' }).sign(key.privateKey);
    },
    get jwksFetches() {
      return jwksFetches;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

async function signingKey(name: string): Promise<{ privateKey: CryptoKey; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  // A kid of its own per issuer: two test issuers never name each other's keys.
  return { privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid: `${name}-${crypto.randomUUID()}`, alg: 'RS256', use: 'sig' } };
}
