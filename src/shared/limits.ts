/**
 * Every limit of the admin contract, named once. Schemas, services, the console's forms
 * and the OpenAPI document read them from here, so a limit changes in one place.
 */

export const DAY_SECONDS = 86_400;

/** Names of keypairs, accounts, environments, users and resource servers. */
export const NAME_MIN_LENGTH = 1;
export const NAME_MAX_LENGTH = 100;

export const COMMENT_MAX_LENGTH = 1000;
export const DESCRIPTION_MAX_LENGTH = 500;
export const DISABLED_REASON_MAX_LENGTH = 500;

export const EMAIL_MIN_LENGTH = 3;
export const EMAIL_MAX_LENGTH = 254;

export const SCOPE_NAME_MAX_LENGTH = 100;
/** Scopes of one grant. */
export const MAX_SCOPES_PER_GRANT = 100;
/** Grants of one keypair (one per resource server). */
export const MAX_GRANTS = 100;
/** Scopes a resource server defines. */
export const MAX_SCOPES_PER_RESOURCE_SERVER = 200;
/** Accounts a resource server is limited to (`availableTo`). */
export const MAX_AVAILABLE_TO = 1000;
export const RESOURCE_IDENTIFIER_MAX_LENGTH = 500;
/** An account id as `availableTo` names it. */
export const ACCOUNT_ID_MAX_LENGTH = 100;

/** Keys of a trusted issuer's inline JWK Set: a platform publishes a handful; 20 leaves room for rotations. */
export const MAX_TRUSTED_ISSUER_KEYS = 20;
/** A trusted issuer's `issuer` and `jwksUri`, characters. */
export const TRUSTED_ISSUER_URL_MAX_LENGTH = 500;
/** A trusted issuer's `audience`, characters. */
export const TRUSTED_ISSUER_AUDIENCE_MAX_LENGTH = 500;

/** A resource server's access-token lifetime, seconds. */
export const ACCESS_TOKEN_TTL_MIN_SECONDS = 60;
export const ACCESS_TOKEN_TTL_MAX_SECONDS = DAY_SECONDS;
/** What a resource server created without `accessTokenTtl` gets. */
export const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 300;

/** `expiresIn` of a keypair: at most ten years ahead. */
export const MIN_EXPIRES_IN_SECONDS = 60;
export const MAX_EXPIRES_IN_SECONDS = 10 * 365 * DAY_SECONDS;
/** How long a rotated-out secret keeps working. */
export const MAX_GRACE_PERIOD_SECONDS = 7 * DAY_SECONDS;

/** A keypair's own rate limit, token requests per minute. */
export const RATE_LIMIT_MIN_PER_MINUTE = 60;
export const RATE_LIMIT_MAX_PER_MINUTE = 1000;
/** Entries of a keypair's IP allowlist. */
export const MAX_ALLOWED_IPS = 100;

/** `limit` of a list: 1 to 100, default 50. */
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 100;
/** `cursor` as sent back: opaque, at most this long. */
export const CURSOR_MAX_LENGTH = 500;
/** Text filters of a list (`q`, `action`, `actor`, `environment`). */
export const QUERY_TEXT_MAX_LENGTH = 100;

/** Largest admin API request body, bytes. */
export const MAX_BODY_BYTES = 64 * 1024;
