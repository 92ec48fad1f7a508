import { GLOBAL_FLAGS, type Flag, type Flags } from './options.js';
import { ADMIN_TOKEN_TTL_SECONDS } from '../signing/admin_token.js';
import { KEY_ACTIVATION_DELAY_SECONDS, MAX_TOKEN_TTL_SECONDS } from '../signing/keystore.js';

/** `keygate --help`, and what follows a usage error. */
export const USAGE = `keygate: OAuth 2.0 client-credentials server for machine clients

Usage:
  keygate help [COMMAND]                 this text, or one command's usage and flags (also COMMAND --help)
  keygate --version                      the installed version
  keygate serve                          run the server (what npm start runs; a bare keygate prints this help)
  keygate migrate [--down]               apply migrations (or roll all of them back)
  keygate cleanup [--json]               delete keypairs expired over EXPIRED_RETENTION_DAYS ago (audited),
                                         retired secrets as old, usage over USAGE_RETENTION_DAYS old
                                         (the server also runs this daily)
  keygate keys list                      list the signing keys
  keygate keys rotate [--activate-in S]  add a signing key, published once the server restarts or gets
                                         SIGHUP, signing S seconds later (default ${KEY_ACTIVATION_DELAY_SECONDS});
                                         the old ones stay published
  keygate keys retire [--max-token-ttl S]
                                         drop keys that stopped signing over S seconds ago
                                         (default ${MAX_TOKEN_TTL_SECONDS}, the longest token lifetime)
  keygate admin-token --operator | --email E [--ttl S] [--url U]
                                         print an admin JWT for the admin API (default ${ADMIN_TOKEN_TTL_SECONDS} s)
                                         --email: an unknown user of the running server is refused (exit 3);
                                         if the server cannot be asked, a warning on stderr, minted anyway
  keygate console-link --operator | --email E [--url U]
                                         print a one-time sign-in link to the admin console (valid 10 minutes)
                                         --email: an unknown user of the running server is refused (exit 3);
                                         if the server cannot be asked, a warning on stderr, minted anyway

Admin commands (call the running server's admin API; add --json for scripts):
  keygate keypairs create --name N [--scopes "read write"] [--grant URI=scope,scope ...] [--comment C]
                          [--expires 1d|7d|30d|90d|SECONDS|2027-01-31|2027-01-31T12:00:00Z]
                          [--environment ID | --account ID]   (default: your only environment)
                          [--rate-limit 60-1000|default] [--allowed-ips "203.0.113.0/24 2001:db8::/32"]
                          [--auto-disable true|false|default] [--require-dpop]
                          no secret: [--public-key FILE ...]  a PEM public key, JWK or JWK Set (private_key_jwt)
                          or [--federation-issuer URL --subject S [--claim NAME=VALUE ...]]  (a trusted issuer's token)
  keygate keypairs list [--environment ID | --account ID] [--enabled true|false] [--q TEXT] [--limit N] [--cursor C]
  keygate keypairs show|delete ID               keygate keypairs events ID [--limit N] [--cursor C]
  keygate keypairs disable ID [--reason R]      keygate keypairs enable ID
  keygate keypairs update ID [--name N] [--comment C] [--scopes S] [--grant URI=scope,scope ...] [--rate-limit ...] [--allowed-ips ...] [--auto-disable ...]
                          --scopes: the default resource server's grant; --grant: one per resource server
                          (update: --grant replaces every grant, --scopes alone only the default server's)
                          [--public-key FILE ...] replaces a public-key keypair's keys (keep the old one while clients move)
                          [--subject S] [--claim NAME=VALUE ...] a federated keypair's (--claim replaces every claim)
                          [--require-dpop | --no-require-dpop]
  keygate keypairs usage ID                     totals, refusals by reason, where from, the last 20 requests
  keygate keypairs rotate ID [--grace SECONDS]  (default 0: the old secret dies at once)
                          (a public-key keypair: update --public-key instead; a federated one has nothing to rotate)
  keygate client-key new --out FILE [--alg ES256|RS256|EdDSA] [--public-out FILE]
                          a key pair for a public-key keypair, made locally: the private key to FILE (PKCS#8 PEM,
                          mode 0600, never overwritten, never sent); the public JWK (kid = thumbprint) to stdout
                          and --public-out, for keypairs create --public-key
  keygate accounts list|create --name N|show ID|close ID
  keygate environments list --account ID|create --account ID --name N|close ID
  keygate resource-servers list|create --identifier URI --name N --scopes S [--ttl SECONDS] [--available-to ACC,ACC]
  keygate trusted-issuers list|show ID|delete ID
  keygate trusted-issuers create --issuer URL --name N [--jwks-uri URL | --jwks-file FILE|-] [--audience AUD]
  keygate trusted-issuers update ID [--issuer URL] [--name N] [--jwks-uri URL | --jwks-file FILE|- | --discovery] [--audience AUD|default]
                          workload identity issuers for federated keypairs (operators); keys from neither flag:
                          the issuer's discovery; audience default: Keygate's ISSUER
  keygate users list|create --email E [--name N] [--operator]
  keygate admins grant|revoke --user ID|EMAIL (--account ID | --environment ID)
                          an email is looked up among the users, A-Z case-insensitively; unknown: exit 3
  Server: --url or KEYGATE_URL; else the server running from DATA_DIR (its DATA_DIR/server.json),
  else ISSUER. Token: --token or KEYGATE_TOKEN (default: an operator token signed with the keys
  in KEYS_FILE, for that server's ISSUER).

Exit codes: 0 ok, 1 any other failure, 2 wrong usage (a bad flag, argument or field), 3 not found,
  4 conflict or precondition (409, 412, 422), 5 server unreachable (or 503), 6 refused (401, 403).
  Errors go to stderr; with --json as one line {"error": {"status", "code", "title", "detail", ...}}.

Configuration comes from the environment; see README.md.`;


/**
 * `keygate help COMMAND` and `keygate COMMAND --help`: that command's lines of USAGE
 * (the one place the commands are described) and every flag it accepts.
 */
export function commandUsage(name: string, flags: Flags): string {
  const lines = USAGE.split('\n');
  const own: string[] = [];
  let inCommand = false;
  for (const line of lines) {
    if (line.startsWith(`  keygate ${name} `) || line === `  keygate ${name}`) inCommand = true;
    else if (!/^ {10,}\S/.test(line) || line.trimStart().startsWith('keygate ')) inCommand = false;
    if (inCommand) own.push(line);
  }
  const flagNames = Object.entries<Flag>({ ...flags, ...GLOBAL_FLAGS }).map(([flag, { short }]) => (short ? `--${flag} (-${short})` : `--${flag}`));
  return `Usage:\n${own.join('\n')}\n\nFlags: ${flagNames.join(', ')}`;
}
