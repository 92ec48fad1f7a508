import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { ConfigError, SIGNING_ALGS, type Config, type SigningAlg } from '../config/config.js';
import { ACCESS_TOKEN_TTL_MAX_SECONDS } from '../shared/limits.js';

/** A private signing key as stored in keys/jwks.json. */
export interface StoredKey extends JWK {
  kid: string;
  alg: SigningAlg;
  use: 'sig';
  /** When the key was added (epoch seconds). */
  created_at: number;
  /**
   * When it starts signing (epoch seconds; absent: at once). A rotated key is published
   * first and signs later, so resource servers have fetched it before they meet it.
   */
  signs_from?: number;
}

/** How long a rotated key is published before it signs: 60 (seconds), twice the verifier's default JWKS cooldown. */
export const KEY_ACTIVATION_DELAY_SECONDS = 60;

const activeFrom = (key: StoredKey) => key.signs_from ?? key.created_at;

/** The key set, newest key first. The newest key of the configured alg signs. */
export interface KeySet {
  readonly keys: readonly StoredKey[];
}

/** Longest access-token lifetime Keygate allows (resource_servers.access_token_ttl), in seconds. */
export const MAX_TOKEN_TTL_SECONDS = ACCESS_TOKEN_TTL_MAX_SECONDS;

export async function generateSigningKey(alg: SigningAlg, now: number): Promise<StoredKey> {
  const { privateKey } = await generateKeyPair(alg === 'EdDSA' ? 'Ed25519' : alg, { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { ...jwk, kid, alg, use: 'sig', created_at: now };
}

function parseKeySet(raw: string, source: string): KeySet {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError(source, 'not valid JSON');
  }
  const keys = (parsed as { keys?: unknown }).keys;
  if (!Array.isArray(keys) || keys.length === 0) throw new ConfigError(source, 'expected a JWKS with at least one key');
  for (const key of keys as Partial<StoredKey>[]) {
    if (typeof key.kid !== 'string' || !key.kid) throw new ConfigError(source, 'every key needs a kid');
    if (!SIGNING_ALGS.includes(key.alg as SigningAlg)) throw new ConfigError(source, `key ${key.kid} has alg "${key.alg}"; allowed: ${SIGNING_ALGS.join(', ')}`);
    if (key.d === undefined) throw new ConfigError(source, `key ${key.kid} is not a private key`);
    key.use = 'sig';
    key.created_at ??= 0;
  }
  return { keys: keys as StoredKey[] };
}

async function writeKeySet(file: string, keySet: KeySet): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  // Write then rename, so a running server never reads half a file.
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify({ keys: keySet.keys }, null, 2)}\n`, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, file);
}

async function readKeyFile(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError('KEYS_FILE', `cannot read ${file}: ${(error as Error).message}`);
  }
}

/**
 * KEYS_JWKS when set; otherwise KEYS_FILE, created with one key of
 * TOKEN_SIGNING_ALG when it does not exist yet.
 */
export async function loadKeySet(config: Pick<Config, 'keysJwks' | 'keysFile' | 'tokenSigningAlg'>, now = Math.floor(Date.now() / 1000)): Promise<KeySet> {
  let keySet: KeySet;
  if (config.keysJwks !== undefined) {
    keySet = parseKeySet(config.keysJwks, 'KEYS_JWKS');
  } else {
    const raw = await readKeyFile(config.keysFile);
    if (raw === undefined) {
      keySet = { keys: [await generateSigningKey(config.tokenSigningAlg, now)] };
      await writeKeySet(config.keysFile, keySet);
    } else {
      keySet = parseKeySet(raw, 'KEYS_FILE');
    }
  }
  signingKey(keySet, config.tokenSigningAlg);
  return keySet;
}

/**
 * The key that signs at `now`: the newest key of the configured algorithm whose
 * activation has come (or, when none has yet, the oldest of that algorithm).
 */
export function signingKey(keySet: KeySet, alg: SigningAlg, now = Math.floor(Date.now() / 1000)): StoredKey {
  const ofAlg = [...keySet.keys].filter((candidate) => candidate.alg === alg).sort((a, b) => activeFrom(b) - activeFrom(a));
  if (ofAlg.length === 0) throw new ConfigError('TOKEN_SIGNING_ALG', `the key set holds no ${alg} key; run \`keygate keys rotate\` to add one`);
  return ofAlg.find((candidate) => activeFrom(candidate) <= now) ?? ofAlg.at(-1)!;
}

/** The JWKS oidc-provider signs with: standard members only. */
export function providerJwks(keySet: KeySet): { keys: JWK[] } {
  return { keys: keySet.keys.map(({ created_at: _createdAt, signs_from: _signsFrom, ...jwk }) => jwk) };
}

/** The public halves of the key set, for verifying Keygate's own JWTs (admin tokens, console links). */
export function publicJwks(keySet: KeySet): { keys: JWK[] } {
  return { keys: providerJwks(keySet).keys.map(({ d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...rest }) => rest) };
}

/**
 * Adds a key of `alg` to KEYS_FILE. The server publishes it from the next start or
 * SIGHUP and signs with it `activationDelay` seconds after the rotation; the old keys
 * stay published.
 */
export async function rotateKeys(
  config: Pick<Config, 'keysJwks' | 'keysFile' | 'tokenSigningAlg'>,
  activationDelay = KEY_ACTIVATION_DELAY_SECONDS,
  now = Math.floor(Date.now() / 1000),
): Promise<StoredKey> {
  if (config.keysJwks !== undefined) throw new ConfigError('KEYS_JWKS', 'keys given inline cannot be rotated here; rotate them where KEYS_JWKS is managed');
  const current = await loadKeySet(config, now);
  const createdAt = Math.max(now, ...current.keys.map((key) => key.created_at + 1));
  // Activation counts from now, not from createdAt: rotations in quick succession push
  // createdAt (kept increasing for ordering) ahead of the clock, and "--activate-in 0"
  // must still mean now. On equal activation times the newer key (listed first) wins.
  const added = { ...(await generateSigningKey(config.tokenSigningAlg, createdAt)), signs_from: now + activationDelay };
  await writeKeySet(config.keysFile, { keys: [added, ...current.keys] });
  return added;
}

/**
 * Drops every key that stopped signing more than `maxTokenTtl` seconds ago: no token it
 * signed can still be valid. A key stops signing when a newer key's activation comes;
 * the key that signs now is always kept.
 */
export async function retireKeys(
  config: Pick<Config, 'keysJwks' | 'keysFile' | 'tokenSigningAlg'>,
  maxTokenTtl = MAX_TOKEN_TTL_SECONDS,
  now = Math.floor(Date.now() / 1000),
): Promise<StoredKey[]> {
  if (config.keysJwks !== undefined) throw new ConfigError('KEYS_JWKS', 'keys given inline cannot be retired here');
  const current = await loadKeySet(config, now);
  const keep: StoredKey[] = [];
  const retired: StoredKey[] = [];
  for (const key of current.keys) {
    const successors = current.keys.filter((other) => activeFrom(other) > activeFrom(key));
    const supersededAt = Math.min(...successors.map(activeFrom));
    const isRetirable = successors.length > 0 && now - supersededAt > maxTokenTtl && key.kid !== signingKey(current, config.tokenSigningAlg, now).kid;
    (isRetirable ? retired : keep).push(key);
  }
  if (retired.length > 0) await writeKeySet(config.keysFile, { keys: keep });
  return retired;
}
