import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import { UsageError } from '../errors.js';
import { defineCommand } from '../options.js';

/** What `client-key new --alg` offers: one of each key type a public_key keypair takes. */
const ALGORITHMS = ['ES256', 'RS256', 'EdDSA'] as const;
type Algorithm = (typeof ALGORITHMS)[number];

/** Writes `text` to a new file only: an existing file (maybe the only copy of a key) is never replaced. */
async function writeNewFile(file: string, text: string, mode: number, flag: string): Promise<void> {
  try {
    await writeFile(file, text, { mode, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new UsageError(`${flag} ${file} exists: keygate never overwrites a key file; pick another name or remove it first`);
    throw new UsageError(`${flag} ${file}: ${(error as Error).message}`);
  }
}

/**
 * `keygate client-key new --out FILE [--alg ES256|RS256|EdDSA] [--public-out FILE]`:
 * a key pair for a public_key keypair (private_key_jwt), made here: the private key
 * goes to FILE (PKCS#8 PEM, mode 0600) and never to the server; the public JWK (kid =
 * its RFC 7638 thumbprint) goes to stdout, and to --public-out for `keypairs create
 * --public-key`.
 */
export const clientKey = defineCommand({
  name: 'client-key',
  flags: { out: { type: 'string' }, alg: { type: 'string' }, 'public-out': { type: 'string' } },
  async run(_config, { words: [action], values }) {
    if (action !== 'new') throw new UsageError('client-key takes new: keygate client-key new --out FILE [--alg ES256|RS256|EdDSA] [--public-out FILE]');
    if (!values.out) throw new UsageError('--out FILE is required: where the private key is written (mode 0600)');
    const alg = (values.alg ?? 'ES256') as Algorithm;
    if (!ALGORITHMS.includes(alg)) throw new UsageError(`--alg takes ${ALGORITHMS.join(', ')} (got "${values.alg}")`);

    // Both checked before either is written, so a refusal leaves nothing half made.
    for (const [flag, file] of [['--out', values.out], ['--public-out', values['public-out']]] as const) {
      if (file !== undefined && existsSync(file)) throw new UsageError(`${flag} ${file} exists: keygate never overwrites a key file; pick another name or remove it first`);
    }
    if (values['public-out'] !== undefined && path.resolve(values['public-out']) === path.resolve(values.out)) {
      throw new UsageError('--public-out names the same file as --out: the public key goes to a file of its own');
    }
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' && { modulusLength: 3072 }) });
    const jwk = await exportJWK(publicKey);
    const publicJwk = { ...jwk, kid: await calculateJwkThumbprint(jwk, 'sha256'), alg, use: 'sig' };
    const publicText = `${JSON.stringify(publicJwk, null, 2)}\n`;
    await writeNewFile(values.out, await exportPKCS8(privateKey), 0o600, '--out');
    if (values['public-out']) {
      try {
        await writeNewFile(values['public-out'], publicText, 0o644, '--public-out');
      } catch (error) {
        // A private key whose public half was never shown is of no use, and would block a rerun.
        await rm(values.out, { force: true });
        throw error;
      }
    }
    process.stdout.write(publicText);
    process.stderr.write(`private key written to ${values.out} (mode 0600): keep it there, it never goes to Keygate\n`);
  },
});
