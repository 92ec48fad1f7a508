/**
 * The verifier inside a web framework: node:http (`authenticate`), Express-style
 * (`requireToken`) and Koa (`koaRequireToken`), each answering a refusal per RFC 6750.
 */
import { classify, type VerifierError } from './errors.js';
import type { VerifiedToken, Verifier } from './verify.js';

/** Reads `Authorization: Bearer <token>`; anything else counts as no token. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer\s+([^\s]+)\s*$/i.exec(authorization ?? '');
  return match?.[1];
}

/** What to answer a refused request with: status, headers and a JSON body. */
export function refusal(error: VerifierError): { status: number; headers: Record<string, string>; body: { error: string; error_description: string } } {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' };
  if (error.wwwAuthenticate) headers['WWW-Authenticate'] = error.wwwAuthenticate;
  const unavailable = error.code === 'jwks_unavailable' || error.code === 'status_unavailable';
  const oauthError = error.code === 'insufficient_scope' ? 'insufficient_scope' : unavailable ? 'temporarily_unavailable' : 'invalid_token';
  return { status: error.status, headers, body: { error: oauthError, error_description: error.message } };
}

/**
 * Framework-free check of a Node request: resolves to the claims, or writes the
 * RFC 6750 refusal to `res` and resolves to undefined.
 *
 * @example
 * http.createServer(async (req, res) => {
 *   const token = await authenticate(verifier, req, res, { scopes: ['read'] });
 *   if (!token) return;
 *   res.end(`hello ${token.clientId}`);
 * });
 */
export async function authenticate(
  verifier: Verifier,
  req: { headers: { authorization?: string | undefined } },
  res: { statusCode: number; setHeader(name: string, value: string): unknown; end(body: string): unknown },
  options: { scopes?: readonly string[] } = {},
): Promise<VerifiedToken | undefined> {
  try {
    return await verifier.verify(bearerToken(req.headers.authorization), options);
  } catch (error) {
    const answer = refusal(classify(error));
    res.statusCode = answer.status;
    for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
    res.end(JSON.stringify(answer.body));
    return undefined;
  }
}

/**
 * Express-style middleware: puts the claims on `req.auth`, or answers the refusal.
 *
 * @example
 * app.get('/reports', requireToken(verifier, { scopes: ['read'] }), (req, res) => res.json(req.auth));
 */
export function requireToken(verifier: Verifier, options: { scopes?: readonly string[] } = {}) {
  return (
    req: { headers: { authorization?: string | undefined }; auth?: VerifiedToken },
    res: { statusCode: number; setHeader(name: string, value: string): unknown; end(body: string): unknown },
    next: (error?: unknown) => void,
  ): void => {
    void authenticate(verifier, req, res, options).then((token) => {
      if (token) {
        req.auth = token;
        next();
      }
    }, next);
  };
}

/**
 * Koa middleware: puts the claims on `ctx.state.token`, or answers the refusal.
 *
 * @example
 * router.get('/reports', koaRequireToken(verifier, { scopes: ['read'] }), (ctx) => { ctx.body = ctx.state.token.clientId; });
 */
export function koaRequireToken(verifier: Verifier, options: { scopes?: readonly string[] } = {}) {
  return async (
    ctx: { get(name: string): string; state: Record<string, unknown>; status: number; body: unknown; set(name: string, value: string): void },
    next: () => Promise<unknown>,
  ): Promise<void> => {
    let token: VerifiedToken;
    try {
      token = await verifier.verify(bearerToken(ctx.get('Authorization') || undefined), options);
    } catch (error) {
      const answer = refusal(classify(error));
      ctx.status = answer.status;
      for (const [name, value] of Object.entries(answer.headers)) ctx.set(name, value);
      ctx.body = answer.body;
      return;
    }
    ctx.state.token = token;
    await next();
  };
}
