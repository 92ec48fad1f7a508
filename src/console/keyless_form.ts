import { createPublicKey } from 'node:crypto';
import { validationFailed, type FieldError } from '../shared/errors.js';
import { holdsPrivateJwkMember, PRIVATE_JWK_MEMBERS } from '../shared/jwk.js';

/**
 * The console's keyless fields as the admin API's JSON: pasted public keys (PEM, a JWK
 * or a JWK Set) to `publicKeys`, and the federation's issuer, subject and claim lines
 * to `federation`. The domain then checks them as it checks the API's. A pasted private
 * key is refused here, so it goes no further than this request.
 */

export type CredentialChoice = 'secret' | 'public_key' | 'federated';

export function credentialChoiceOf(form: URLSearchParams): CredentialChoice {
  const chosen = form.get('credentialType');
  return chosen === 'public_key' || chosen === 'federated' ? chosen : 'secret';
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

/** Thrown when the paste holds a private key: the form is shown again without it. */
export const PRIVATE_KEY_MESSAGE = 'is a private key: paste only its public half (openssl pkey -pubout, or the JWK without "d"); the private key stays with the client';

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A private member's name as a JSON member, wherever it is: found in pastes that are not JSON too. */
const PRIVATE_MEMBER_TEXT = new RegExp(`"(?:${PRIVATE_JWK_MEMBERS.join('|')})"\\s*:`);

/**
 * Whether a paste holds a private key, in any form, accepted or not (a trailing comma,
 * two JWKs one after the other, a key nested in another object): then it must never be
 * echoed back. Read as text first, then as JSON for member names spelled with escapes.
 */
export function holdsPrivateKey(text: string): boolean {
  if (/PRIVATE KEY/.test(text) || PRIVATE_MEMBER_TEXT.test(text)) return true;
  try {
    return holdsPrivateJwkMember(JSON.parse(text));
  } catch {
    return false;
  }
}

/**
 * The JWKs of a paste, for `field` (`publicKeys`): PEM blocks (SPKI public keys or
 * certificates) through node:crypto, else JSON (a JWK, an array of them, or a JWK Set).
 * Each JWK is passed on as it is, for the domain's checks to name `publicKeys[i]`.
 */
export function pastedPublicKeys(text: string, field: string): unknown[] {
  const paste = text.trim();
  if (paste === '') throw validationFailed([{ field, message: 'paste 1 to 5 public keys: PEM blocks, a JWK or a JWK Set' }]);
  if (holdsPrivateKey(paste)) throw validationFailed([{ field, message: PRIVATE_KEY_MESSAGE }]);
  if (paste.startsWith('-----BEGIN')) {
    const blocks = paste.match(PEM_BLOCK) ?? [];
    if (blocks.length === 0) throw validationFailed([{ field, message: 'holds no complete PEM block (-----BEGIN PUBLIC KEY----- … -----END PUBLIC KEY-----)' }]);
    const errors: FieldError[] = [];
    const jwks = blocks.map((block, index) => {
      try {
        return createPublicKey(block).export({ format: 'jwk' });
      } catch {
        errors.push({ field: `${field}[${index}]`, message: 'is not a PEM public key this server can read' });
        return {};
      }
    });
    if (errors.length > 0) throw validationFailed(errors);
    return jwks;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(paste);
  } catch {
    throw validationFailed([{ field, message: 'is neither PEM (-----BEGIN PUBLIC KEY-----) nor JSON (a JWK or a JWK Set)' }]);
  }
  if (isRecord(parsed) && Array.isArray(parsed.keys)) return parsed.keys as unknown[];
  return Array.isArray(parsed) ? parsed : [parsed];
}

/** `name=value` lines as the federation's claims; a line without `=` is refused naming `federation.claims`. */
export function claimLines(text: string): Record<string, string> {
  const claims: Record<string, string> = {};
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const equals = line.indexOf('=');
    if (equals <= 0) throw validationFailed([{ field: 'federation.claims', message: `line ${index + 1} is not name=value` }]);
    claims[line.slice(0, equals).trim()] = line.slice(equals + 1).trim();
  }
  return claims;
}

/** The create body's credential fields for the chosen type (none for a secret), and requireDpop. */
export function keylessBody(form: URLSearchParams): Record<string, unknown> {
  const choice = credentialChoiceOf(form);
  const requireDpop = form.get('requireDpop') === 'yes';
  if (choice === 'public_key') return { publicKeys: pastedPublicKeys(form.get('publicKeys') ?? '', 'publicKeys'), requireDpop };
  if (choice === 'federated') {
    const claims = claimLines(form.get('federationClaims') ?? '');
    return {
      federation: { issuer: form.get('federationIssuer') ?? '', subject: (form.get('federationSubject') ?? '').trim(), ...(Object.keys(claims).length > 0 && { claims }) },
      requireDpop,
    };
  }
  return { requireDpop };
}

/** The form as it is shown again after an error: without a pasted private key. */
export function withoutPrivateKey(form: URLSearchParams): URLSearchParams {
  if (!holdsPrivateKey(form.get('publicKeys') ?? '')) return form;
  const shown = new URLSearchParams(form);
  shown.delete('publicKeys');
  return shown;
}
