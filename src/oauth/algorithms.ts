/**
 * JWS algorithms of the JWTs clients send, as discovery lists them: asymmetric only
 * (a client with no shared secret has nothing to sign an HS256 JWT with).
 */

/** Client assertions (private_key_jwt) and federated keypairs' platform tokens. */
export const ASSERTION_SIGNING_ALGS = ['ES256', 'ES384', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512', 'EdDSA', 'Ed25519'];

/** DPoP proofs (oidc-provider's default is ES256 and EdDSA only; RSA and P-384 clients exist). */
export const DPOP_SIGNING_ALGS = ['ES256', 'ES384', 'PS256', 'RS256', 'EdDSA', 'Ed25519'];
