/**
 * A resource server in plain JavaScript (node:http) that accepts Keygate tokens through
 * @keygate/verifier: GET /reports needs `read`, POST /reports needs `write`. Run it next
 * to `npm start` (it needs no build of its own, and no TypeScript):
 *
 *   node examples/resource_server.mjs
 *   curl -H "Authorization: Bearer $ACCESS_TOKEN" http://localhost:4000/reports
 *
 * ISSUER (default http://localhost:3000), AUDIENCE (default ISSUER/api) and PORT (4000).
 */
import { createServer } from 'node:http';
import { authenticate, createVerifier } from '@keygate/verifier';

const issuer = process.env.ISSUER ?? 'http://localhost:3000';
const verifier = createVerifier({ issuer, audience: process.env.AUDIENCE ?? `${issuer}/api` });
const port = Number(process.env.PORT ?? 4000);

/** The scope each route needs; anything else is a 404. */
const ROUTES = { 'GET /reports': 'read', 'POST /reports': 'write' };

function reply(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

createServer(async (req, res) => {
  const route = `${req.method} ${new URL(req.url ?? '/', 'http://localhost').pathname}`;
  const scope = ROUTES[route];
  if (!scope) return reply(res, 404, { error: 'not_found' });
  // authenticate answers a refusal itself (401/403 with WWW-Authenticate) and resolves to undefined.
  const token = await authenticate(verifier, req, res, { scopes: [scope] });
  if (!token) return;
  if (req.method === 'GET') return reply(res, 200, { reports: ['q3-revenue'], readBy: token.clientId, accountId: token.accountId });
  return reply(res, 201, { created: true, by: token.clientId });
}).listen(port, () => console.log(`resource server on http://localhost:${port} (tokens from ${issuer})`));
