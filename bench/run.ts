/**
 * npm run bench: Keygate's token endpoint against bare oidc-provider, 1 vs 1k vs 100k
 * keypairs, the verifier against plain jose, and two admin calls. Prints one table
 * with PASS/MISS per target and writes bench/results/<time>.json.
 *
 * BENCH_DURATION (seconds per case, default 10), BENCH_CONNECTIONS (default 32),
 * BENCH_KEYPAIRS (default 100000), BENCH_DATABASE_URL (adds PostgreSQL cases).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import knexFactory from 'knex';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { startKeygate } from '../src/app.js';
import type { Actor } from '../src/audit/store.js';
import { loadConfig } from '../src/config/config.js';
import { mintAdminToken } from '../src/signing/admin_token.js';
import { loadKeySet } from '../src/signing/keystore.js';
import { createVerifier } from '../src/verifier/index.js';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const KEYPAIRS = Number(process.env.BENCH_KEYPAIRS ?? 100_000);
const PG_URL = process.env.BENCH_DATABASE_URL;
const ROOT = path.resolve(import.meta.dirname, '..');
const OPERATOR: Actor = { type: 'system', id: null };

const cores = availableParallelism();
const pinned = cores >= 2 && existsSync('/usr/bin/taskset');
// The load generator (this process) runs on core 1, every server on core 0.
if (pinned) execFileSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });

interface Server {
  readonly url: string;
  readonly child: ChildProcess;
  rssMiB(): number;
  stop(): Promise<void>;
}

/** Starts a server process on core 0 and waits for `ready` in its output. */
async function startServer(args: string[], env: Record<string, string>, ready: RegExp): Promise<Server> {
  const pin = pinned && env.WORKERS === undefined;
  const command = pin ? 'taskset' : process.execPath;
  const fullArgs = pin ? ['-c', '0', process.execPath, ...args] : args;
  const child = spawn(command, fullArgs, { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk));
  const started = Date.now();
  while (!ready.test(output)) {
    if (child.exitCode !== null || Date.now() - started > 120_000) throw new Error(`server did not start: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url: `http://127.0.0.1:${env.PORT}`,
    child,
    rssMiB() {
      const status = execFileSync('cat', [`/proc/${child.pid}/status`]).toString();
      // taskset execs node in place, so the pid is node's.
      return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

let nextPort = 4500;
const port = () => String(nextPort++);

interface LoadResult {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  readonly errors: number;
}

/** POST /token for `duration` seconds, each request with a keypair drawn by `pick`. */
async function loadToken(url: string, pick: () => string, duration = DURATION): Promise<LoadResult> {
  const result = await autocannon({
    url: `${url}/token`,
    connections: CONNECTIONS,
    duration,
    requests: [
      {
        method: 'POST',
        setupRequest: (request) => ({
          ...request,
          headers: { ...request.headers, 'content-type': 'application/x-www-form-urlencoded', authorization: pick() },
          body: 'grant_type=client_credentials',
        }),
      },
    ],
  });
  return {
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    p999: (result.latency as unknown as Record<string, number>).p99_9 ?? result.latency.max,
    errors: result.errors + result.timeouts + result.non2xx,
  };
}

const basic = (clientId: string, secret: string) => `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`;

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! * 100) / 100;
}

interface Row {
  case: string;
  rps?: number;
  p50?: number;
  p99?: number;
  p999?: number;
  errors?: number;
  rssMiB?: number;
  note?: string;
}
const rows: Row[] = [];
const targets: Array<{ target: string; value: string; pass: boolean }> = [];

/** Seeds a database through the keypair service and returns the Basic headers of its keypairs. */
async function seed(env: Record<string, string>, counts: { main: number; list: number }) {
  // Seeding inserts 100k keypairs in a few statements: past the server's 2 s statement limit.
  const config = loadConfig({ ...env, LOG_LEVEL: 'silent', MAX_ACTIVE_KEYPAIRS: '1000000', DATABASE_STATEMENT_TIMEOUT: '0' }, ROOT);
  const keygate = await startKeygate(config);
  try {
    const environmentId = keygate.firstStart?.environmentId ?? (await keygate.db.knex('environments').first<{ id: string }>('id'))!.id;
    const accountId = (await keygate.tenancy.findEnvironment(environmentId))!.accountId;
    const started = Date.now();
    const created = await keygate.keypairs.createKeypairs(OPERATOR, { environmentId }, counts.main, { namePrefix: 'bench-', scopes: ['read'] });
    const listEnvironment = await keygate.tenancy.createEnvironment(OPERATOR, accountId, 'list-bench');
    await keygate.keypairs.createKeypairs(OPERATOR, { environmentId: listEnvironment.id }, counts.list, { namePrefix: 'list-', scopes: ['read'] });
    process.stdout.write(`seeded ${counts.main + counts.list} keypairs in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    return { headers: created.map((keypair) => basic(keypair.clientId, keypair.clientSecret)), environmentId, listEnvironmentId: listEnvironment.id };
  } finally {
    await keygate.close();
  }
}

async function tokenCases(label: string, server: Server, headers: string[]) {
  const random = (n: number) => () => headers[Math.floor(Math.random() * Math.min(n, headers.length))]!;
  await loadToken(server.url, random(1), 2); // warm-up: JIT, pools
  const one = await loadToken(server.url, random(1));
  rows.push({ case: `token, 1 keypair (${label})`, ...one });
  await loadToken(server.url, random(1000), 2);
  const thousand = await loadToken(server.url, random(1000));
  rows.push({ case: `token, 1k keypairs random (${label})`, ...thousand });
  const all = await loadToken(server.url, random(headers.length));
  rows.push({ case: `token, ${headers.length / 1000}k keypairs random (${label})`, ...all, rssMiB: server.rssMiB() });
  return { one, thousand, all, rss: server.rssMiB() };
}

async function adminCases(server: Server, env: Record<string, string>, seeded: { environmentId: string; listEnvironmentId: string }) {
  const config = loadConfig({ ...env, LOG_LEVEL: 'silent' }, ROOT);
  const token = await mintAdminToken(config, await loadKeySet(config), config.operatorEmail);
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const createTimes: number[] = [];
  for (let i = 0; i < 200; i += 1) {
    const started = performance.now();
    const response = await fetch(`${server.url}/admin/v1/environments/${seeded.environmentId}/keypairs`, { method: 'POST', headers, body: JSON.stringify({ name: `admin-bench-${i}`, scopes: ['read'] }) });
    if (response.status !== 201) throw new Error(`create answered ${response.status}: ${await response.text()}`);
    createTimes.push(performance.now() - started);
  }
  rows.push({ case: 'admin: create keypair (200 sequential)', p50: percentile(createTimes, 50), p99: percentile(createTimes, 99), errors: 0 });
  const listTimes: number[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 200; i += 1) {
    const started = performance.now();
    const response = await fetch(`${server.url}/admin/v1/environments/${seeded.listEnvironmentId}/keypairs?limit=100${cursor ? `&cursor=${cursor}` : ''}`, { headers });
    const body = (await response.json()) as { nextCursor: string | null };
    if (response.status !== 200) throw new Error(`list answered ${response.status}`);
    listTimes.push(performance.now() - started);
    cursor = body.nextCursor;
  }
  rows.push({ case: 'admin: list page, limit 100 of 10k', p50: percentile(listTimes, 50), p99: percentile(listTimes, 99), errors: 0 });
}

/** Verifications per second on this core: keygate/verifier vs jwtVerify with a local key set. */
async function verifierCase(server: Server, header: string) {
  const response = await fetch(`${server.url}/token`, { method: 'POST', headers: { authorization: header, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' });
  const { access_token: token } = (await response.json()) as { access_token: string };
  const issuer = server.url;
  const audience = `${issuer}/api`;
  const jwks = (await (await fetch(`${server.url}/jwks`)).json()) as Parameters<typeof createLocalJWKSet>[0];
  const local = createLocalJWKSet(jwks);
  const verifier = createVerifier({ issuer, audience, jwksUri: `${server.url}/jwks` });
  const rate = async (verify: () => Promise<unknown>) => {
    for (let i = 0; i < 500; i += 1) await verify();
    const started = performance.now();
    let count = 0;
    while (performance.now() - started < 3000) {
      await verify();
      count += 1;
    }
    return Math.round(count / ((performance.now() - started) / 1000));
  };
  const jose = await rate(() => jwtVerify(token, local, { issuer, audience, typ: 'at+jwt' }));
  const ours = await rate(() => verifier.verify(token, { scopes: ['read'] }));
  rows.push({ case: 'verifier: plain jose jwtVerify (verifications/s)', rps: jose });
  rows.push({ case: 'verifier: keygate/verifier (verifications/s)', rps: ours });
  targets.push({ target: 'verifier >= 0.9x plain jose', value: `${(ours / jose).toFixed(2)}x`, pass: ours >= 0.9 * jose });
}

async function main() {
  const started = Date.now();
  const work = await mkdtemp(path.join(tmpdir(), 'keygate-bench-'));
  process.stdout.write(`Keygate benchmark: ${cores} cores${pinned ? ', server on core 0, load on core 1 (taskset)' : ', not pinned'}, Node ${process.version}, ${DURATION} s per case, ${CONNECTIONS} connections\n`);
  try {
    // Baseline: bare oidc-provider, one static client.
    const baselinePort = port();
    const baseline = await startServer(['--import', 'tsx', 'bench/baseline.ts'], { PORT: baselinePort, BASELINE_SECRET: 'baseline-secret' }, /listening/);
    await loadToken(baseline.url, () => basic('baseline', 'baseline-secret'), 2);
    const bare = await loadToken(baseline.url, () => basic('baseline', 'baseline-secret'));
    rows.push({ case: 'baseline: bare oidc-provider, static client', ...bare, rssMiB: baseline.rssMiB() });
    await baseline.stop();

    // Embedded database.
    const embeddedPort = port();
    const env = { DATA_DIR: path.join(work, 'data'), KEYS_FILE: path.join(work, 'jwks.json'), PORT: embeddedPort, ISSUER: `http://127.0.0.1:${embeddedPort}`, MAX_ACTIVE_KEYPAIRS: '1000000' };
    const seeded = await seed(env, { main: KEYPAIRS, list: 10_000 });

    // What the usage log and the rate limiter cost: 1k keypairs with them off and on, on
    // the same data, each measured twice (off, on, on, off) and the better run of each
    // kept, so that a noisy moment on a shared machine does not decide the comparison.
    const thousand = () => seeded.headers[Math.floor(Math.random() * Math.min(1000, seeded.headers.length))]!;
    const guardsOff = async () => {
      const server = await startServer(['bin/keygate.js', 'serve'], { ...env, LOG_LEVEL: 'info', USAGE_LOG: 'off', RATE_LIMIT_PER_MINUTE: '0' }, /client cache preloaded/);
      await loadToken(server.url, thousand, 2);
      const result = await loadToken(server.url, thousand);
      await server.stop();
      return result;
    };
    const guardsOffFirst = await guardsOff();

    // The limiter runs on every request, with a limit no case reaches: one keypair takes
    // thousands of tokens a second here, which a real limit (60-1000 a minute) would refuse.
    const embedded = await startServer(['bin/keygate.js', 'serve'], { ...env, LOG_LEVEL: 'info', RATE_LIMIT_PER_MINUTE: '1000000' }, /client cache preloaded/);
    const results = await tokenCases('embedded', embedded, seeded.headers);
    const guardsOnSecond = await loadToken(embedded.url, thousand);
    await verifierCase(embedded, seeded.headers[0]!);
    await adminCases(embedded, env, seeded);
    await embedded.stop();
    const guardsOffSecond = await guardsOff();
    const off = [guardsOffFirst, guardsOffSecond].reduce((best, run) => (run.rps > best.rps ? run : best));
    const on = [results.thousand, guardsOnSecond].reduce((best, run) => (run.rps > best.rps ? run : best));
    rows.push({ case: 'token, 1k keypairs random (embedded, usage log and rate limit off; better of 2)', ...off });
    rows.push({ case: 'token, 1k keypairs random (embedded, usage log and rate limit on; better of 2)', ...on });
    const guardsRatio = on.rps / off.rps;
    targets.push({ target: 'token req/s with usage log and rate limit >= 0.9x without (1k keypairs, embedded)', value: `${guardsRatio.toFixed(2)}x (${on.rps} vs ${off.rps})`, pass: guardsRatio >= 0.9 });

    const ratio = results.all.rps / bare.rps;
    targets.push({ target: `token req/s, ${KEYPAIRS / 1000}k keypairs, embedded >= 0.8x baseline`, value: `${ratio.toFixed(2)}x (${results.all.rps} vs ${bare.rps})`, pass: ratio >= 0.8 });
    targets.push({ target: 'token p99 at 32 connections <= 25 ms', value: `${results.all.p99} ms`, pass: results.all.p99 <= 25 });
    const rpsCost = 1 - results.all.rps / results.thousand.rps;
    const p99Cost = results.all.p99 / results.thousand.p99 - 1;
    targets.push({ target: `1k -> ${KEYPAIRS / 1000}k keypairs costs <= 10% (req/s, p99)`, value: `${(rpsCost * 100).toFixed(1)}% req/s, ${(p99Cost * 100).toFixed(1)}% p99`, pass: rpsCost <= 0.1 && p99Cost <= 0.1 });
    targets.push({ target: 'server RSS under load <= 450 MiB (embedded)', value: `${results.rss} MiB`, pass: results.rss <= 450 });

    if (PG_URL) {
      const knex = knexFactory({ client: 'pg', connection: PG_URL });
      await knex.raw('drop schema public cascade; create schema public');
      await knex.destroy();
      const pgPort = port();
      const pgEnv = { DATABASE_URL: PG_URL, KEYS_FILE: path.join(work, 'jwks-pg.json'), PORT: pgPort, ISSUER: `http://127.0.0.1:${pgPort}`, MAX_ACTIVE_KEYPAIRS: '1000000' };
      const pgSeeded = await seed(pgEnv, { main: KEYPAIRS, list: 10_000 });
      const pg = await startServer(['bin/keygate.js', 'serve'], { ...pgEnv, LOG_LEVEL: 'info', RATE_LIMIT_PER_MINUTE: '1000000' }, /client cache preloaded/);
      const pgResults = await tokenCases('PostgreSQL', pg, pgSeeded.headers);
      await pg.stop();
      targets.push({ target: 'server RSS under load <= 200 MiB (PostgreSQL)', value: `${pgResults.rss} MiB`, pass: pgResults.rss <= 200 });

      // Two workers need two cores, so this case shares them with the load generator.
      const workersPort = port();
      const workers = await startServer(['bin/keygate.js', 'serve'], { ...pgEnv, PORT: workersPort, WORKERS: '2', LOG_LEVEL: 'info', RATE_LIMIT_PER_MINUTE: '1000000' }, /client cache preloaded[\s\S]*client cache preloaded/);
      const random = () => pgSeeded.headers[Math.floor(Math.random() * pgSeeded.headers.length)]!;
      await loadToken(workers.url, random, 2);
      rows.push({ case: `token, ${KEYPAIRS / 1000}k keypairs random, 2 workers (PostgreSQL, not pinned)`, ...(await loadToken(workers.url, random)) });
      await workers.stop();
    } else {
      rows.push({ case: 'PostgreSQL cases', note: 'skipped: set BENCH_DATABASE_URL (scripts/test-postgres.sh start prints one)' });
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }

  const table = [
    `| case | req/s | p50 ms | p99 ms | p99.9 ms | errors | RSS MiB |`,
    `| --- | ---: | ---: | ---: | ---: | ---: | ---: |`,
    ...rows.map((row) => (row.note ? `| ${row.case} | ${row.note} | | | | | |` : `| ${row.case} | ${row.rps ?? ''} | ${row.p50 ?? ''} | ${row.p99 ?? ''} | ${row.p999 ?? ''} | ${row.errors ?? ''} | ${row.rssMiB ?? ''} |`)),
    '',
    `| target | measured | |`,
    `| --- | --- | --- |`,
    ...targets.map((target) => `| ${target.target} | ${target.value} | ${target.pass ? 'PASS' : 'MISS'} |`),
  ].join('\n');
  process.stdout.write(`\n${table}\n\nfinished in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  const resultsDir = path.join(ROOT, 'bench', 'results');
  await mkdir(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, JSON.stringify({ date: new Date().toISOString(), node: process.version, cores, pinned, duration: DURATION, connections: CONNECTIONS, keypairs: KEYPAIRS, rows, targets }, null, 2));
  process.stdout.write(`results: ${path.relative(ROOT, file)}\n`);
  const errors = rows.reduce((sum, row) => sum + (row.errors ?? 0), 0);
  if (errors > 0) {
    process.stderr.write(`${errors} requests failed\n`);
    process.exit(1);
  }
  process.exit(0);
}

await main().catch(async (error: Error) => {
  process.stderr.write(`bench failed: ${error.stack ?? error.message}\n`);
  process.exit(1);
});

