/**
 * @keygate/verifier (also `keygate/verifier`): checks Keygate access tokens (RFC 9068 JWTs) inside a resource
 * server, with no call to Keygate per request. Imports jose and node built-ins only.
 */
export { VerifierError, type VerifierErrorCode } from './errors.js';
export { createVerifier, DEFAULT_ALGORITHMS, DEFAULT_CLOCK_TOLERANCE_SECONDS, type VerifiedToken, type Verifier, type VerifierOptions } from './verify.js';
export { authenticate, bearerToken, koaRequireToken, refusal, requireToken } from './middleware.js';
