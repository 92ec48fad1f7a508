/**
 * @keygate/verifier (also `keygate/verifier`): checks Keygate access tokens (RFC 9068 JWTs) inside a resource
 * server, with no call to Keygate per request. Imports jose and node built-ins only.
 */
export { VerifierError, type VerifierErrorCode } from './errors.js';
export { createVerifier, DEFAULT_ALGORITHMS, DEFAULT_CLOCK_TOLERANCE_SECONDS, type VerifiedToken, type Verifier, type VerifierOptions, type VerifyCallOptions } from './verify.js';
export { DEFAULT_DPOP_ALGORITHMS, DEFAULT_DPOP_PROOF_WINDOW_SECONDS, DEFAULT_DPOP_REPLAY_CACHE_SIZE, type DPoPPresentation } from './dpop.js';
export { accessToken, authenticate, bearerToken, koaRequireToken, refusal, requireToken, type MiddlewareOptions } from './middleware.js';
