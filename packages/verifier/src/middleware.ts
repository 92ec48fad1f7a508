/**
 * The verifier inside a web framework: node:http (`authenticate`), Express-style
 * (`requireToken`) and Koa (`koaRequireToken`), each answering a refusal per RFC 6750,
 * or RFC 9449 §7.1 for DPoP.
 */
import { classify, type VerifierError } from './errors.js';
import type { VerifiedToken, Verifier, VerifyCallOptions } from './verify.js';

/** Reads `Authorization: Bearer <token>`; anything else counts as no token. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const presented = accessToken(authorization);
  return presented?.scheme === 'Bearer' ? presented.token : undefined;
}

/** Reads `Authorization: Bearer <token>` or `Authorization: DPoP <token>` (RFC 9449 §7.1); anything else counts as no token. */
export function accessToken(authorization: string | undefined): { scheme: 'Bearer' | 'DPoP'; token: string } | undefined {
  const match = /^(Bearer|DPoP)\s+([^\s]+)\s*$/i.exec(authorization ?? '');
  if (!match) return undefined;
  return { scheme: match[1]!.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer', token: match[2]! };
}

export interface MiddlewareOptions {
  /** Scopes the route needs. */
  readonly scopes?: readonly string[];
  /**
   * The origin clients call this server at, e.g. 'https://api.example.com': a DPoP proof's `htu`
   * is checked against it plus the request's path. Set it behind a proxy or load balancer (the
   * `htu` is the external URL). Without it the origin is read from the request (its Host header and
   * the connection's protocol; in Koa `ctx.protocol` and `ctx.host`, which honour X-Forwarded-* when `app.proxy` is set).
   */
  readonly publicOrigin?: string;
}

/** The headers the middleware reads (node's IncomingHttpHeaders fits). */
interface RequestHeaders {
  readonly authorization?: string | undefined;
  readonly dpop?: string | string[] | undefined;
  readonly host?: string | undefined;
}

/** What verify() needs from a request: the token, and for the DPoP scheme the proof, method and full URL. */
function callFor(
  authorization: string | undefined,
  request: { proof: string | string[] | undefined; method: string | undefined; origin: () => string; path: string | undefined },
  options: MiddlewareOptions,
): { token: string | undefined; call: VerifyCallOptions } {
  const presented = accessToken(authorization);
  if (presented?.scheme !== 'DPoP') return { token: presented?.token, call: { scopes: options.scopes } };
  // Several DPoP headers are refused (RFC 9449 §4.3 point 1): their joined value is no JWT.
  const proof = Array.isArray(request.proof) ? request.proof.join(', ') : request.proof || undefined;
  const origin = (options.publicOrigin ?? request.origin()).replace(/\/+$/, '');
  const url = `${origin}${request.path ?? '/'}`;
  return { token: presented.token, call: { scopes: options.scopes, dpop: { proof, method: request.method ?? 'GET', url } } };
}

/** What to answer a refused request with: status, headers and a JSON body. */
export function refusal(error: VerifierError): { status: number; headers: Record<string, string>; body: { error: string; error_description: string } } {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' };
  if (error.wwwAuthenticate) headers['WWW-Authenticate'] = error.wwwAuthenticate;
  return { status: error.status, headers, body: { error: error.oauthError, error_description: error.message } };
}

/**
 * Framework-free check of a Node request (Bearer or DPoP): resolves to the claims, or
 * writes the RFC 6750 / RFC 9449 refusal to `res` and resolves to undefined.
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
  req: { headers: RequestHeaders; method?: string | undefined; url?: string | undefined; originalUrl?: string; protocol?: string; socket?: object },
  res: { statusCode: number; setHeader(name: string, value: string): unknown; end(body: string): unknown },
  options: MiddlewareOptions = {},
): Promise<VerifiedToken | undefined> {
  try {
    const { token, call } = callFor(
      req.headers.authorization,
      {
        proof: req.headers.dpop,
        method: req.method,
        // Express' req.protocol honours 'trust proxy'; node:http has only the socket.
        origin: () => `${req.protocol ?? (req.socket && 'encrypted' in req.socket ? 'https' : 'http')}://${req.headers.host ?? 'localhost'}`,
        // Express rewrites req.url under a mount path; originalUrl is what the client sent.
        path: req.originalUrl ?? req.url,
      },
      options,
    );
    return await verifier.verify(token, call);
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
export function requireToken(verifier: Verifier, options: MiddlewareOptions = {}) {
  return (
    req: Parameters<typeof authenticate>[1] & { auth?: VerifiedToken },
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
export function koaRequireToken(verifier: Verifier, options: MiddlewareOptions = {}) {
  return async (
    ctx: {
      get(name: string): string;
      method: string;
      originalUrl: string;
      protocol: string;
      host: string;
      state: Record<string, unknown>;
      status: number;
      body: unknown;
      set(name: string, value: string): void;
    },
    next: () => Promise<unknown>,
  ): Promise<void> => {
    let token: VerifiedToken;
    try {
      const { token: presented, call } = callFor(
        ctx.get('Authorization') || undefined,
        { proof: ctx.get('DPoP'), method: ctx.method, origin: () => `${ctx.protocol}://${ctx.host}`, path: ctx.originalUrl },
        options,
      );
      token = await verifier.verify(presented, call);
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
