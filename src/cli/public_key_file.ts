import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { holdsPrivateJwkMember } from '../shared/jwk.js';
import { UsageError } from './errors.js';

const PRIVATE_KEY_REFUSED = (file: string) => new UsageError(`${file} holds a private key: give its public part (keygate client-key new prints it and writes it with --public-out)`);

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * `--public-key FILE` as the admin API's `publicKeys`: a PEM public key (SPKI,
 * "BEGIN PUBLIC KEY"), a JWK, or a JWK Set. A private key is refused here, before
 * anything is sent: the private key never goes to the server. The server checks
 * the keys themselves (type, size, thumbprints).
 */
export async function readPublicKeys(files: readonly string[]): Promise<Array<Record<string, unknown>>> {
  const keys: Array<Record<string, unknown>> = [];
  for (const file of files) keys.push(...(await readPublicKeyFile(file)));
  return keys;
}

async function readPublicKeyFile(file: string): Promise<Array<Record<string, unknown>>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--public-key ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
  }
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) throw PRIVATE_KEY_REFUSED(file);
  if (text.includes('-----BEGIN PUBLIC KEY-----')) {
    try {
      return [createPublicKey({ key: text, format: 'pem' }).export({ format: 'jwk' }) as Record<string, unknown>];
    } catch (error) {
      throw new UsageError(`--public-key ${file}: not a PEM public key Keygate can read (${(error as Error).message})`);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`--public-key ${file}: neither a PEM public key ("BEGIN PUBLIC KEY") nor JSON (a JWK or a JWK Set)`);
  }
  const keys = isRecord(parsed) && Array.isArray(parsed.keys) ? (parsed.keys as unknown[]) : [parsed];
  if (!keys.every(isRecord)) throw new UsageError(`--public-key ${file}: a JWK Set's keys must be JWK objects`);
  // Anywhere in the file, not only in the keys read: a private key goes no further than here.
  if (holdsPrivateJwkMember(parsed)) throw PRIVATE_KEY_REFUSED(file);
  return keys;
}
