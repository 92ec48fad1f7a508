import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier } from 'keygate/verifier';
import { createKeypair, createTenant, startServedKeygate, type ServedKeygate } from '../support/keygate.js';

/**
 * Tokens fetched by openid-client (an OAuth library Keygate did not write), through
 * discovery and the client-credentials grant, are accepted by keygate/verifier.
 */
let kg: ServedKeygate;
let issuer: string;
let credentials: { clientId: string; clientSecret: string };

beforeAll(async () => {
  kg = await startServedKeygate();
  issuer = kg.issuer;
  const tenant = await createTenant(kg.keygate);
  const created = await createKeypair(kg.keygate, { owner: { environmentId: tenant.environmentId }, scopes: ['read', 'write'] });
  credentials = { clientId: created.keypair.clientId, clientSecret: created.clientSecret };
});

afterAll(() => kg.close());

describe('openid-client interop', () => {
  it.each([
    ['client_secret_basic', 'oauth2', () => client.ClientSecretBasic(credentials.clientSecret)],
    ['client_secret_post', 'oidc', () => client.ClientSecretPost(credentials.clientSecret)],
  ] as const)('%s with %s discovery: the token verifies', async (_method, algorithm, auth) => {
    const config = await client.discovery(new URL(issuer), credentials.clientId, undefined, auth(), {
      algorithm,
      execute: [client.allowInsecureRequests],
    });
    expect(config.serverMetadata().token_endpoint).toBe(`${issuer}/token`);
    const tokens = await client.clientCredentialsGrant(config, { scope: 'read' });
    expect(tokens.token_type).toBe('bearer');
    expect(tokens.scope).toBe('read');
    expect(tokens.expires_in).toBe(300);

    const verifier = createVerifier({ issuer, audience: kg.keygate.catalog.defaultServer!.identifier });
    const verified = await verifier.verify(tokens.access_token, { scopes: ['read'] });
    expect(verified.clientId).toBe(credentials.clientId);
    await expect(verifier.verify(tokens.access_token, { scopes: ['write'] })).rejects.toMatchObject({ code: 'insufficient_scope' });
  });

  it('openid-client sees the RFC 6749 error of a wrong secret', async () => {
    const config = await client.discovery(new URL(issuer), credentials.clientId, undefined, client.ClientSecretBasic('kgs_wrong'), {
      algorithm: 'oauth2',
      execute: [client.allowInsecureRequests],
    });
    // openid-client reads the WWW-Authenticate challenge Keygate sends with the 401.
    const failure = await client.clientCredentialsGrant(config).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(client.WWWAuthenticateChallengeError);
    expect((failure as client.WWWAuthenticateChallengeError).status).toBe(401);
    const [challenge] = (failure as client.WWWAuthenticateChallengeError).cause;
    expect(challenge).toMatchObject({ scheme: 'basic', parameters: { error: 'invalid_client' } });
  });
});
