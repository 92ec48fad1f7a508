import { readFileSync } from 'node:fs';
import type { TrustedIssuerListView, TrustedIssuerView } from '../../contract/index.js';
import { ADMIN_FLAGS, defineAdminCommand, requireId, requireValue, unknownAction } from '../admin_command.js';
import { UsageError } from '../errors.js';
import { fields, table } from '../format.js';
import type { FlagValues, Flags } from '../options.js';

const TRUSTED_ISSUER_FLAGS = {
  ...ADMIN_FLAGS,
  issuer: { type: 'string' },
  name: { type: 'string' },
  'jwks-uri': { type: 'string' },
  /** A JWK Set file (`-`: standard input), e.g. what `kubectl get --raw /openid/v1/jwks` prints. */
  'jwks-file': { type: 'string' },
  /** Update: back to the jwks_uri of the issuer's discovery document. */
  discovery: { type: 'boolean' },
  audience: { type: 'string' },
} as const satisfies Flags;

type TrustedIssuerValues = FlagValues<typeof TRUSTED_ISSUER_FLAGS>;

/** The JWK Set in `path` as the API takes it; the server checks the keys. */
function readJwks(path: string): unknown {
  const source = path === '-' ? 'standard input' : path;
  let text: string;
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (error) {
    throw new UsageError(`--jwks-file: cannot read ${source} (${(error as Error).message})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UsageError(`--jwks-file: ${source} is not JSON (expected a JWK Set: {"keys": [...]})`);
  }
}

/** The flags given as a request body: only what was said, so an update changes only that. */
function bodyOf(values: TrustedIssuerValues): Record<string, unknown> {
  if (values.discovery && (values['jwks-uri'] !== undefined || values['jwks-file'] !== undefined)) throw new UsageError('--discovery takes neither --jwks-uri nor --jwks-file');
  return {
    ...(values.issuer !== undefined && { issuer: values.issuer }),
    ...(values.name !== undefined && { name: values.name }),
    ...(values['jwks-uri'] !== undefined && { jwksUri: values['jwks-uri'] }),
    ...(values['jwks-file'] !== undefined && { jwks: readJwks(values['jwks-file']) }),
    ...(values.discovery && { jwksUri: null, jwks: null }),
    // "default": Keygate's ISSUER.
    ...(values.audience !== undefined && { audience: values.audience === 'default' ? null : values.audience }),
  };
}

/** Where its keys come from, in a word or two. */
const keySource = (issuer: TrustedIssuerView) =>
  issuer.jwks ? `inline (${issuer.jwks.keys.map((key) => String(key.kid ?? key.kty)).join(' ')})` : (issuer.jwksUri ?? 'discovery');

const audienceOf = (issuer: TrustedIssuerView) => issuer.audience ?? "(Keygate's ISSUER)";

function show(json: boolean | undefined, issuer: TrustedIssuerView): unknown {
  if (json) return issuer;
  return fields([
    ['id', issuer.id],
    ['issuer', issuer.issuer],
    ['name', issuer.name],
    ['keys', keySource(issuer)],
    ['audience', audienceOf(issuer)],
    ['keypairs', issuer.keypairCount],
    ['version', issuer.version],
  ]);
}

/** `keygate trusted-issuers list|create|show|update|delete`: operators' workload identity issuers. */
export const trustedIssuers = defineAdminCommand({
  name: 'trusted-issuers',
  flags: TRUSTED_ISSUER_FLAGS,
  async run(client, action, id, values) {
    switch (action) {
      case 'list': {
        const page = await client.call<TrustedIssuerListView>('GET', '/trusted-issuers');
        if (values.json) return page;
        return table(page.data.map((issuer) => ({ ID: issuer.id, ISSUER: issuer.issuer, NAME: issuer.name, KEYS: keySource(issuer), AUDIENCE: audienceOf(issuer), KEYPAIRS: String(issuer.keypairCount) })));
      }
      case 'create': {
        requireValue(values.issuer, '--issuer');
        requireValue(values.name, '--name');
        if (values.discovery) throw new UsageError('--discovery is for update: create without --jwks-uri or --jwks-file uses discovery');
        return show(values.json, await client.call<TrustedIssuerView>('POST', '/trusted-issuers', bodyOf(values)));
      }
      case 'show':
        return show(values.json, await client.call<TrustedIssuerView>('GET', `/trusted-issuers/${requireId(id, 'trusted-issuer')}`));
      case 'update': {
        const target = requireId(id, 'trusted-issuer');
        const body = bodyOf(values);
        if (Object.keys(body).length === 0) throw new UsageError('say what to change: --issuer, --name, --jwks-uri, --jwks-file, --discovery or --audience');
        return show(values.json, await client.call<TrustedIssuerView>('PATCH', `/trusted-issuers/${target}`, body));
      }
      case 'delete': {
        const target = requireId(id, 'trusted-issuer');
        await client.call('DELETE', `/trusted-issuers/${target}`);
        return values.json ? { deleted: target } : `deleted trusted issuer ${target}\n`;
      }
      default:
        throw unknownAction('trusted-issuers', action);
    }
  },
});
