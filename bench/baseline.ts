/**
 * The benchmark's baseline: bare oidc-provider 9, one static client, the
 * client-credentials grant with a JWT access token of the same alg and claims as
 * Keygate's, no database. Prints "listening <port>" when ready.
 */
import { createServer } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT ?? 0);
const issuer = `http://127.0.0.1:${port}`;
const audience = `${issuer}/api`;
const { privateKey } = await generateKeyPair('ES256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), kid: 'baseline', alg: 'ES256', use: 'sig' };

const provider = new Provider(issuer, {
  jwks: { keys: [jwk] },
  clients: [{ client_id: 'baseline', client_secret: process.env.BASELINE_SECRET ?? 'baseline-secret', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic', scope: 'read write', id_token_signed_response_alg: 'ES256' }],
  clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
  responseTypes: ['none'],
  scopes: ['read', 'write'],
  features: {
    clientCredentials: { enabled: true },
    devInteractions: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => audience,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({ audience, scope: 'read write', accessTokenTTL: 300, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } }),
    },
  },
  extraTokenClaims: () => ({ account_id: 'acc_baseline', environment_id: 'env_baseline' }),
  ttl: { ClientCredentials: () => 300 },
});

// The same event-loop delay gauge as Keygate's /metrics (prom-client: 10 ms resolution,
// reset at each scrape), so the bench compares the two under the same load.
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
const callback = provider.callback();
const server = createServer((req, res) => {
  if (req.url !== '/metrics') return callback(req, res);
  res.end(`keygate_process_nodejs_eventloop_lag_max_seconds ${delay.max / 1e9}\n`);
  delay.reset();
});
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
