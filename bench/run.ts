/**
 * npm run bench: Keygate's token endpoint against bare oidc-provider in the same run,
 * warm and cold, 1 vs 1k vs 100k keypairs, refusals, the usage log's cost, event-loop
 * delay and RSS per case, admin create and list, the verifier against plain jose.
 * Prints one table with PASS/MISS per target (issue 15) and writes bench/results/<time>.json.
 *
 * BENCH_DURATION (seconds per case, default 10), BENCH_CONNECTIONS (default 32),
 * BENCH_KEYPAIRS (default 100000), BENCH_COLD_KEYPAIRS (created over the admin API while
 * the server runs, default 8000), BENCH_DATABASE_URL (adds the PostgreSQL cases),
 * BENCH_ONLY=keyless (only the secret / private_key_jwt / federated comparison).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import { startKeygate } from '../src/app.js';
import type { Actor } from '../src/audit/store.js';
import { loadConfig } from '../src/config/config.js';
import { mintAdminToken } from '../src/signing/admin_token.js';
import { loadKeySet } from '../src/signing/keystore.js';
import { adminCases, createEnvironmentOverApi, createKeypairsOverApi, verifierCase, type AdminApi } from './admin.js';
import { keylessCases } from './keyless.js';
import { ceiling, generator, HeaderFile, loadToken, type LoadResult } from './load.js';
import { cores, pinLoadGenerator, pinned, port, ROOT, startServer, startTrivialServer, type Server } from './server.js';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const KEYPAIRS = Number(process.env.BENCH_KEYPAIRS ?? 100_000);
const COLD_KEYPAIRS = Number(process.env.BENCH_COLD_KEYPAIRS ?? 8000);
const PG_URL = process.env.BENCH_DATABASE_URL;
const OPERATOR: Actor = { type: 'system', id: null };
const load = { connections: CONNECTIONS, durationSeconds: DURATION };
const SERVE = ['bin/keygate.js', 'serve'];
const READY = /client cache preloaded/;
// The limiter runs on every request, with a limit no case reaches: one keypair takes
// thousands of tokens a second here, which a real limit (60-1000 a minute) would refuse.
const GUARDS_ON = { LOG_LEVEL: 'info', RATE_LIMIT_PER_MINUTE: '1000000' };
const GUARDS_OFF = { LOG_LEVEL: 'info', USAGE_LOG: 'off', RATE_LIMIT_PER_MINUTE: '0' };

pinLoadGenerator();

interface Row extends Partial<LoadResult> {
  case: string;
  eventLoopMaxMs?: number;
  rssMiB?: number;
  note?: string;
}
const rows: Row[] = [];
const targets: Array<{ target: string; value: string; pass: boolean }> = [];
const target = (name: string, value: string, pass: boolean) => targets.push({ target: name, value, pass });
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x (${a} vs ${b})`;

const basic = (clientId: string, secret: string) => `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`;

/** Seeds a database through the keypair service (before the server starts) and returns its keypairs. */
async function seed(env: Record<string, string>, counts: { main: number; list: number }) {
  // Seeding inserts 100k keypairs in a few statements: past the server's 2 s statement limit.
  const config = loadConfig({ ...env, LOG_LEVEL: 'silent', MAX_ACTIVE_KEYPAIRS: '1000000', DATABASE_STATEMENT_TIMEOUT: '0' }, ROOT);
  const keygate = await startKeygate(config);
  try {
    const environmentId = keygate.firstStart?.environmentId ?? (await keygate.db.knex('environments').first<{ id: string }>('id'))!.id;
    const accountId = (await keygate.tenancy.findEnvironment(environmentId))!.accountId;
    const started = Date.now();
    const main = await keygate.keypairs.createKeypairs(OPERATOR, { environmentId }, counts.main, { namePrefix: 'bench-', scopes: ['read'] });
    const listEnvironment = await keygate.tenancy.createEnvironment(OPERATOR, accountId, 'list-bench');
    const list = await keygate.keypairs.createKeypairs(OPERATOR, { environmentId: listEnvironment.id }, counts.list, { namePrefix: 'list-', scopes: ['read'] });
    process.stdout.write(`seeded ${counts.main + counts.list} keypairs in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    return {
      headers: main.map((keypair) => basic(keypair.clientId, keypair.clientSecret)),
      // Another keypair's secret: well formed, so it is hashed and compared like a real guess.
      wrongSecretHeaders: list.slice(0, 1000).map((keypair, i) => basic(keypair.clientId, main[i % main.length]!.clientSecret)),
      environmentId,
      accountId,
      listEnvironmentId: listEnvironment.id,
    };
  } finally {
    await keygate.close();
  }
}

/** One load case: its result, with the server's event-loop delay over it (and its RSS after it, when asked). */
async function measure(server: Server, name: string, headers: HeaderFile, options: { mode?: 'random' | 'sequential'; durationSeconds?: number; rss?: boolean } = {}): Promise<Row & LoadResult> {
  await server.eventLoopDelayMaxMs(); // resets it
  const result = await loadToken(server.url, headers, { ...load, ...options });
  const row: Row & LoadResult = { case: name, ...result, eventLoopMaxMs: await server.eventLoopDelayMaxMs(), ...(options.rss && { rssMiB: server.rssMiB() }) };
  if (result.wrapped > 0) row.note = `${result.wrapped} requests after every keypair had been used once`;
  rows.push(row);
  return row;
}

async function adminApi(server: Server, env: Record<string, string>): Promise<AdminApi> {
  const config = loadConfig({ ...env, LOG_LEVEL: 'silent' }, ROOT);
  const token = await mintAdminToken(config, await loadKeySet(config), config.operatorEmail);
  return { url: server.url, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } };
}

interface DatabaseResults {
  warm: LoadResult;
  thousand: LoadResult;
  cold: LoadResult;
  rss: number;
  eventLoopMaxMs: number;
  guardsOn: LoadResult;
}

/**
 * The token cases on one database: first use after a start (preloaded), warm at 1, 1k
 * and every keypair, refusals, and cold: keypairs created over the admin API while the
 * server runs, each then used for the first time.
 */
async function databaseCases(label: string, env: Record<string, string>, work: string, seeded: Awaited<ReturnType<typeof seed>>): Promise<DatabaseResults> {
  const files = {
    all: await HeaderFile.write(path.join(work, `${label}-all.txt`), seeded.headers),
    thousand: await HeaderFile.write(path.join(work, `${label}-1k.txt`), seeded.headers.slice(0, 1000)),
    one: await HeaderFile.write(path.join(work, `${label}-1.txt`), seeded.headers.slice(0, 1)),
    wrongSecret: await HeaderFile.write(path.join(work, `${label}-wrong.txt`), seeded.wrongSecretHeaders),
  };
  const k = `${KEYPAIRS / 1000}k`;
  const server = await startServer(SERVE, { ...env, ...GUARDS_ON }, READY);
  try {
    await measure(server, `token, ${k} keypairs, first use of each after start (${label})`, files.all, { mode: 'sequential' });
    await loadToken(server.url, files.one, { ...load, durationSeconds: 2 });
    await measure(server, `token, 1 keypair (${label})`, files.one);
    const thousand = await measure(server, `token, 1k keypairs random (${label})`, files.thousand);
    const warm = await measure(server, `token, ${k} keypairs random, warm (${label})`, files.all, { rss: true });
    const rss = server.rssMiB();
    const guardsOn = await loadToken(server.url, files.all, load);

    await measure(server, `refused: invalid_client, another keypair's secret, 1k keypairs (${label})`, files.wrongSecret);
    const api = await adminApi(server, env);
    // Keypairs made while the server runs go to an environment of their own: a create
    // counts its owner's active keypairs (MAX_ACTIVE_KEYPAIRS), which in the seeded
    // environment are all 100k, a size no real environment has.
    const coldEnvironmentId = await createEnvironmentOverApi(api, seeded.accountId, `cold-${label}`);
    const limited = await createKeypairsOverApi(api, coldEnvironmentId, 1, 1, { rateLimitPerMinute: 60 });
    const limitedFile = await HeaderFile.write(path.join(work, `${label}-limited.txt`), limited.keypairs.map((keypair) => basic(keypair.clientId, keypair.clientSecret)));
    await measure(server, `refused: 429, 1 keypair over its rate limit (${label})`, limitedFile);

    // Cold: created through the admin API while the server runs (each create's change
    // notice reaches the cache), then each used for the first time.
    const created = await createKeypairsOverApi(api, coldEnvironmentId, COLD_KEYPAIRS, 4);
    rows.push({ case: `admin: create keypair, 4 concurrent (${label}; ${created.perSecond}/s)`, p50: created.p50, p99: created.p99, errors: 0 });
    const coldFile = await HeaderFile.write(path.join(work, `${label}-cold.txt`), created.keypairs.map((keypair) => basic(keypair.clientId, keypair.clientSecret)));
    const coldSeconds = Math.max(3, Math.min(DURATION, Math.floor((COLD_KEYPAIRS / Math.max(1, warm.rps)) * 0.8)));
    const cold = await measure(server, `token, cold: ${COLD_KEYPAIRS} keypairs just created over the admin API, first use (${label}, ${coldSeconds} s)`, coldFile, { mode: 'sequential', durationSeconds: coldSeconds });
    await keylessRows(api, seeded.accountId, server, work, label);
    const eventLoopMaxMs = Math.max(...rows.filter((row) => row.case.endsWith(`(${label})`) && row.eventLoopMaxMs !== undefined).map((row) => row.eventLoopMaxMs!));
    if (label === 'embedded') {
      await adminCases(api, { environmentId: coldEnvironmentId, listEnvironmentId: seeded.listEnvironmentId }, rows);
      await verifierCase(server, seeded.headers[0]!, rows, target);
    }
    return { warm, thousand, cold, rss, eventLoopMaxMs, guardsOn };
  } finally {
    await server.stop();
  }
}

/** Secret, public-key and federated keypairs side by side, in an environment of their own, with their ratios. */
async function keylessRows(api: AdminApi, accountId: string, server: Server, work: string, label: string): Promise<void> {
  const environmentId = await createEnvironmentOverApi(api, accountId, `keyless-${label}`);
  const keyless = await keylessCases(api, environmentId, server.url, work, load, rows, label);
  rows.push({ case: `private_key_jwt vs secret (${label})`, note: ratio(keyless.publicKey.rps, keyless.secret.rps) });
  rows.push({ case: `federated vs secret (${label})`, note: ratio(keyless.federated.rps, keyless.secret.rps) });
}

/** BENCH_ONLY=keyless: the keyless cases alone, on a fresh embedded database (minutes, not the whole run). */
async function keylessOnly(work: string): Promise<void> {
  const embeddedPort = port();
  const env = { DATA_DIR: path.join(work, 'data'), KEYS_FILE: path.join(work, 'jwks.json'), PORT: embeddedPort, ISSUER: `http://127.0.0.1:${embeddedPort}`, MAX_ACTIVE_KEYPAIRS: '1000' };
  const seeded = await seed(env, { main: 1, list: 1 });
  const server = await startServer(SERVE, { ...env, ...GUARDS_ON }, READY);
  try {
    await keylessRows(await adminApi(server, env), seeded.accountId, server, work, 'embedded');
  } finally {
    await server.stop();
  }
}

/** The same keypairs with the usage log and the rate limiter off: what they cost. */
async function guardsOff(env: Record<string, string>, headers: HeaderFile): Promise<LoadResult> {
  const server = await startServer(SERVE, { ...env, ...GUARDS_OFF }, READY);
  try {
    await loadToken(server.url, headers, { ...load, durationSeconds: 2 });
    return await loadToken(server.url, headers, load);
  } finally {
    await server.stop();
  }
}

function databaseTargets(label: string, results: DatabaseResults, bare: LoadResult, off: LoadResult, rssLimitMiB: number) {
  const k = `${KEYPAIRS / 1000}k`;
  target(`warm: token req/s, ${k} keypairs, ${label} >= 0.8x baseline`, ratio(results.warm.rps, bare.rps), results.warm.rps >= 0.8 * bare.rps);
  target(`cold: token req/s, keypairs just created, ${label} >= 0.5x baseline`, ratio(results.cold.rps, bare.rps), results.cold.rps >= 0.5 * bare.rps);
  target(`warm: p99, ${label} <= 1.5x baseline p99`, `${results.warm.p99} ms vs ${bare.p99} ms`, results.warm.p99 <= 1.5 * bare.p99);
  target(`event-loop delay max under load, ${label} <= 20 ms`, `${results.eventLoopMaxMs} ms`, results.eventLoopMaxMs <= 20);
  const rpsCost = 1 - results.warm.rps / results.thousand.rps;
  const p99Cost = results.warm.p99 / results.thousand.p99 - 1;
  target(`1k -> ${k} keypairs costs <= 10% (req/s, p99), ${label}`, `${(rpsCost * 100).toFixed(1)}% req/s, ${(p99Cost * 100).toFixed(1)}% p99`, rpsCost <= 0.1 && p99Cost <= 0.1);
  target(`server RSS after the warm case, ${label} <= ${rssLimitMiB} MiB`, `${results.rss} MiB`, results.rss <= rssLimitMiB);
  const refused = rows.filter((row) => row.case.startsWith('refused:') && row.case.endsWith(`(${label})`));
  const slowest = Math.min(...refused.map((row) => row.rps!));
  target(`refusals (invalid_client, 429) cost no more than a token, ${label}`, ratio(slowest, results.warm.rps), slowest >= results.warm.rps);
  const on = [results.warm, results.guardsOn].reduce((best, run) => (run.rps > best.rps ? run : best));
  target(`usage log and rate limit cost <= 10%, ${k} keypairs, ${label}`, ratio(on.rps, off.rps), on.rps >= 0.9 * off.rps);
}

async function main() {
  const started = Date.now();
  const work = await mkdtemp(path.join(tmpdir(), 'keygate-bench-'));
  process.stdout.write(
    `Keygate benchmark: ${cores} cores${pinned ? ', server on core 0, load on core 1 (taskset)' : ', not pinned'}, Node ${process.version}, load from ${generator}, ${DURATION} s per case, ${CONNECTIONS} connections, ${new Date().toISOString()}\n`,
  );
  try {
    if (process.env.BENCH_ONLY === 'keyless') await keylessOnly(work);
    else await allCases(work);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  await report(started);
}

/** Every case: the generator's ceiling, the baseline, the embedded database, then PostgreSQL when given. */
async function allCases(work: string) {
  const trivial = await startTrivialServer();
  rows.push({ case: `load generator ceiling: ${generator} against a trivial node:http endpoint`, ...(await ceiling(trivial.url, load)) });
  await trivial.stop();

  const baselinePort = port();
  const baseline = await startServer(['--import', 'tsx', 'bench/baseline.ts'], { PORT: baselinePort, BASELINE_SECRET: 'baseline-secret' }, /listening/);
  const baselineHeaders = await HeaderFile.write(path.join(work, 'baseline.txt'), [basic('baseline', 'baseline-secret')]);
  await loadToken(baseline.url, baselineHeaders, { ...load, durationSeconds: 2 });
  await baseline.eventLoopDelayMaxMs(); // resets it
  const bare = await loadToken(baseline.url, baselineHeaders, load);
  rows.push({ case: 'baseline: bare oidc-provider, static client', ...bare, eventLoopMaxMs: await baseline.eventLoopDelayMaxMs(), rssMiB: baseline.rssMiB() });
  await baseline.stop();

  const embeddedPort = port();
  const env = { DATA_DIR: path.join(work, 'data'), KEYS_FILE: path.join(work, 'jwks.json'), PORT: embeddedPort, ISSUER: `http://127.0.0.1:${embeddedPort}`, MAX_ACTIVE_KEYPAIRS: '1000000' };
  const seeded = await seed(env, { main: KEYPAIRS, list: 10_000 });
  const allFile = await HeaderFile.write(path.join(work, 'embedded-off.txt'), seeded.headers);
  const offFirst = await guardsOff(env, allFile);
  const embedded = await databaseCases('embedded', env, work, seeded);
  const offSecond = await guardsOff(env, allFile);
  const off = [offFirst, offSecond].reduce((best, run) => (run.rps > best.rps ? run : best));
  rows.push({ case: `token, ${KEYPAIRS / 1000}k keypairs random, usage log and rate limit off (embedded, better of 2)`, ...off });
  databaseTargets('embedded', embedded, bare, off, 450);

  if (PG_URL) {
    const knex = knexFactory({ client: 'pg', connection: PG_URL });
    await knex.raw('drop schema public cascade; create schema public');
    await knex.destroy();
    const pgPort = port();
    const pgEnv = { DATABASE_URL: PG_URL, KEYS_FILE: path.join(work, 'jwks-pg.json'), PORT: pgPort, ISSUER: `http://127.0.0.1:${pgPort}`, MAX_ACTIVE_KEYPAIRS: '1000000' };
    const pgSeeded = await seed(pgEnv, { main: KEYPAIRS, list: 10_000 });
    const pgAll = await HeaderFile.write(path.join(work, 'pg-off.txt'), pgSeeded.headers);
    const pgOff = await guardsOff(pgEnv, pgAll);
    const pg = await databaseCases('PostgreSQL', pgEnv, work, pgSeeded);
    rows.push({ case: `token, ${KEYPAIRS / 1000}k keypairs random, usage log and rate limit off (PostgreSQL)`, ...pgOff });
    databaseTargets('PostgreSQL', pg, bare, pgOff, 200);

    // Two workers need two cores, so this case shares them with the load generator.
    const workersPort = port();
    const workers = await startServer(SERVE, { ...pgEnv, PORT: workersPort, WORKERS: '2', ...GUARDS_ON }, /client cache preloaded[\s\S]*client cache preloaded/);
    await loadToken(workers.url, pgAll, { ...load, durationSeconds: 2 });
    rows.push({ case: `token, ${KEYPAIRS / 1000}k keypairs random, 2 workers (PostgreSQL, not pinned)`, ...(await loadToken(workers.url, pgAll, load)) });
    await workers.stop();
  } else {
    rows.push({ case: 'PostgreSQL cases', note: 'skipped: set BENCH_DATABASE_URL (scripts/test-postgres.sh start prints one)' });
  }
}

async function report(started: number) {
  const cell = (value: number | undefined) => (value === undefined ? '' : String(value));
  const table = [
    '| case | req/s | p50 ms | p99 ms | p99.9 ms | max ms | errors | loop delay max ms | RSS MiB | note |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows.map((row) => `| ${row.case} | ${cell(row.rps)} | ${cell(row.p50)} | ${cell(row.p99)} | ${cell(row.p999)} | ${cell(row.max)} | ${cell(row.errors)} | ${cell(row.eventLoopMaxMs)} | ${cell(row.rssMiB)} | ${row.note ?? ''} |`),
    '',
    '| target | measured | |',
    '| --- | --- | --- |',
    ...targets.map((entry) => `| ${entry.target} | ${entry.value} | ${entry.pass ? 'PASS' : 'MISS'} |`),
  ].join('\n');
  process.stdout.write(`\n${table}\n\nfinished in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  const resultsDir = path.join(ROOT, 'bench', 'results');
  await mkdir(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, JSON.stringify({ date: new Date().toISOString(), node: process.version, cores, pinned, generator, duration: DURATION, connections: CONNECTIONS, keypairs: KEYPAIRS, rows, targets }, null, 2));
  await writeFile(path.join(resultsDir, 'latest.md'), `${table}\n`);
  process.stdout.write(`results: ${path.relative(ROOT, file)}\n`);
  // Refusal cases answer 401/429 by design; every other case must answer 200.
  const errors = rows.filter((row) => !row.case.startsWith('refused:')).reduce((sum, row) => sum + (row.errors ?? 0), 0);
  if (errors > 0) {
    process.stderr.write(`${errors} requests failed\n`);
    process.exit(1);
  }
  process.exit(0);
}

await main().catch((error: Error) => {
  process.stderr.write(`bench failed: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
