import Type, { type Static } from 'typebox';
import { closed, entityName, idOf, listOf, nullable, scopeToken } from './common.js';
import {
  ACCESS_TOKEN_TTL_MAX_SECONDS,
  ACCESS_TOKEN_TTL_MIN_SECONDS,
  ACCOUNT_ID_MAX_LENGTH,
  DEFAULT_ACCESS_TOKEN_TTL_SECONDS,
  DESCRIPTION_MAX_LENGTH,
  MAX_AVAILABLE_TO,
  MAX_SCOPES_PER_RESOURCE_SERVER,
  RESOURCE_IDENTIFIER_MAX_LENGTH,
} from '../shared/limits.js';
import { optional, refine } from './validate.js';

/** Resource servers: the audiences of tokens and their scope catalogues. */

/** Token lifetime, 60 s to 1 day (the cap that `keys retire` relies on). */
const accessTokenTtl = (options: { default?: number; description: string }) => Type.Integer({ minimum: ACCESS_TOKEN_TTL_MIN_SECONDS, maximum: ACCESS_TOKEN_TTL_MAX_SECONDS, ...options });

export const ScopeDefinitionSchema = closed({ name: scopeToken(), description: Type.String({ maxLength: DESCRIPTION_MAX_LENGTH }) });

export const ResourceServerSchema = closed({
  id: idOf('rs', 'Resource server id.'),
  identifier: Type.String({ description: "The RFC 8707 resource indicator and the tokens' `aud`: an absolute URI." }),
  name: Type.String(),
  scopes: Type.Array(ScopeDefinitionSchema),
  accessTokenTtl: accessTokenTtl({ description: 'Token lifetime in seconds.' }),
  isDefault: Type.Boolean({ description: 'Used when a token request names no `resource`; exactly one is.' }),
  availableTo: nullable(Type.Array(idOf('acc', 'An account id.')), 'Accounts whose keypairs may hold grants here; null: every account. Admins of other accounts do not see it.'),
});
export const ResourceServerListSchema = listOf(ResourceServerSchema, 'Every resource server; one page (`nextCursor` is null).');

export type ScopeDefinitionView = Static<typeof ScopeDefinitionSchema>;
export type ResourceServerView = Static<typeof ResourceServerSchema>;
export type ResourceServerListView = Static<typeof ResourceServerListSchema>;

// Request bodies.

export const ScopeDefinitionInputSchema = refine(
  closed({ name: scopeToken(), description: optional(Type.String({ maxLength: DESCRIPTION_MAX_LENGTH, default: '' })) }),
  { typeMessage: 'must be {"name", "description"}' },
);

const catalogue = (description: string) =>
  refine(Type.Array(ScopeDefinitionInputSchema, { maxItems: MAX_SCOPES_PER_RESOURCE_SERVER, description }), {
    uniqueBy: (scope) => (scope as { name: string }).name,
    uniqueMessage: 'must not define a scope twice',
  });

/** Account ids a resource server is limited to; null: every account. */
const availableTo = (description: string) =>
  nullable(Type.Array(Type.String({ minLength: 1, maxLength: ACCOUNT_ID_MAX_LENGTH }), { maxItems: MAX_AVAILABLE_TO, uniqueItems: true }), description);

const identifier = refine(Type.String({ format: 'uri', maxLength: RESOURCE_IDENTIFIER_MAX_LENGTH, description: 'An absolute URI without a fragment (RFC 8707); unique.' }), {
  parse: (value) => {
    if (typeof value !== 'string' || value.length > RESOURCE_IDENTIFIER_MAX_LENGTH) return { ok: false, message: `must be an absolute URI of at most ${RESOURCE_IDENTIFIER_MAX_LENGTH} characters` };
    const url = URL.parse(value);
    if (!url) return { ok: false, message: 'must be an absolute URI' };
    if (url.hash) return { ok: false, message: 'must not have a fragment (RFC 8707)' };
    return { ok: true, value };
  },
});

export const ResourceServerCreateSchema = closed({
  identifier,
  name: entityName(),
  scopes: catalogue('The catalogue; each name at most once.'),
  accessTokenTtl: optional(accessTokenTtl({ default: DEFAULT_ACCESS_TOKEN_TTL_SECONDS, description: 'Seconds.' })),
  isDefault: optional(Type.Boolean({ default: false, description: 'true makes it the default in place of the current one.' })),
  availableTo: optional(availableTo('Account ids (each must exist: 400 naming `availableTo[i]`); null or absent: every account.')),
});

export const ResourceServerUpdateSchema = closed({
  name: optional(entityName()),
  scopes: optional(catalogue('Replaces the catalogue; each name at most once.')),
  accessTokenTtl: optional(accessTokenTtl({ description: 'Seconds.' })),
  isDefault: optional(Type.Boolean({ description: 'true makes it the default; false on the default is a 409 (make another the default instead).' })),
  availableTo: optional(
    availableTo('Account ids, or null for every account. Limiting it removes the grants here of keypairs of other accounts and revokes their tokens (fresh status-list index).'),
  ),
});

export type ResourceServerCreateBody = Static<typeof ResourceServerCreateSchema>;
export type ResourceServerUpdateBody = Static<typeof ResourceServerUpdateSchema>;
