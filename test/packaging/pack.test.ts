import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/cli.js';
import { waitFor } from '../support/wait.js';

/**
 * Both packages as a user gets them: `npm pack` of the dist/ built by the global setup,
 * the tarballs installed into scratch projects of plain JavaScript, then run on Node 20
 * (the running node) and on Node 22 (from the registry, as .ci/run does). Nothing here
 * reads the repository's sources or node_modules, and tsx is not installed, so a `.ts`
 * file loaded at run time would fail.
 *
 * It runs once per CI run: skipped in the PostgreSQL pass (TEST_DATABASE_URL set; the
 * installed server runs on its embedded database anyway) and in the Node 22 pass
 * (KEYGATE_PACK_TEST=skip, set by .ci/run), since it already runs Node 22 itself.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const skipped = Boolean(process.env.TEST_DATABASE_URL) || process.env.KEYGATE_PACK_TEST === 'skip';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, timeout: 300_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

async function succeeds(command: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<string> {
  const result = await run(command, args, cwd, env);
  expect(result.code, `${command} ${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(0);
  return result.stdout;
}

/** The packages' names in a project's install, from `npm ls --all --parseable` (one path per package). */
async function installedPackages(project: string): Promise<string[]> {
  const paths = (await succeeds('npm', ['ls', '--all', '--parseable'], project)).trim().split('\n').slice(1);
  return paths.map((entry) => path.relative(path.join(project, 'node_modules'), entry)).sort();
}

const VERIFY_ESM = `
import { createVerifier } from '@keygate/verifier';
import { createVerifier as fromServerPackage } from 'keygate/verifier';
const [issuer, token] = process.argv.slice(2);
const verified = await createVerifier({ issuer, audience: issuer + '/api' }).verify(token, { scopes: ['read'] });
const again = await fromServerPackage({ issuer, audience: issuer + '/api' }).verify(token);
console.log(JSON.stringify({ clientId: verified.clientId, scopes: verified.scopes, same: again.clientId === verified.clientId }));
`;

const VERIFY_CJS = `
const { createVerifier, VerifierError } = require('@keygate/verifier');
const [issuer, token] = process.argv.slice(2);
const verifier = createVerifier({ issuer, audience: issuer + '/api' });
verifier.verify(token, { scopes: ['read'] }).then(async (verified) => {
  const refused = await verifier.verify(token, { scopes: ['write'] }).catch((error) => error instanceof VerifierError && error.code);
  console.log(JSON.stringify({ clientId: verified.clientId, scopes: verified.scopes, refused }));
});
`;

let work: string;
let project: string;
const nodes: { name: string; binary: string }[] = [];

beforeAll(async () => {
  if (skipped) return;
  work = await mkdtemp(path.join(tmpdir(), 'keygate-pack-'));
  const tarballs = path.join(work, 'tarballs');
  await mkdir(tarballs);
  // Both packages' dist/ were built from the current sources by the global setup, before
  // any file ran. Packing leaves them as they are (no `prepare`): other files run the
  // built CLI at the same time, and a rebuild would rewrite it under them.
  await succeeds('npm', ['pack', '--ignore-scripts', '--pack-destination', tarballs], ROOT);
  await succeeds('npm', ['pack', '-w', 'packages/verifier', '--ignore-scripts', '--pack-destination', tarballs], ROOT);
  const [server, verifier] = ['keygate-0.1.0.tgz', 'keygate-verifier-0.1.0.tgz'].map((name) => path.join(tarballs, name));

  project = path.join(work, 'app');
  await mkdir(project);
  await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'scratch-app', private: true, type: 'module' }));
  await writeFile(path.join(project, 'verify.js'), VERIFY_ESM);
  await writeFile(path.join(project, 'verify.cjs'), VERIFY_CJS);
  await succeeds('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', verifier!, server!], project);

  const verifierOnly = path.join(work, 'verifier-only');
  await mkdir(verifierOnly);
  await writeFile(path.join(verifierOnly, 'package.json'), JSON.stringify({ name: 'scratch-resource-server', private: true }));
  await succeeds('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', verifier!], verifierOnly);
  verifierOnlyPackages = await installedPackages(verifierOnly);

  const node22 = (await succeeds('npx', ['-y', '-p', 'node@22', '--', 'node', '-p', 'process.execPath'], work)).trim();
  nodes.push({ name: `Node ${process.versions.node}`, binary: process.execPath }, { name: 'Node 22', binary: node22 });
}, 600_000);

let verifierOnlyPackages: string[] = [];
let servers: ChildProcess[] = [];

afterAll(async () => {
  for (const child of servers) if (child.exitCode === null) child.kill('SIGKILL');
  servers = [];
});

/** Starts the installed `keygate serve` under `node` on a fresh data dir and a free port. */
async function serveInstalled(node: string, dir: string): Promise<{ issuer: string; env: Record<string, string>; stop(): Promise<void> }> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const env = { PORT: String(port), ISSUER: issuer, DATA_DIR: path.join(dir, 'data'), KEYS_FILE: path.join(dir, 'keys', 'jwks.json'), LOG_LEVEL: 'warn' };
  const child = spawn(node, [path.join(project, 'node_modules/keygate/bin/keygate.js'), 'serve'], { cwd: dir, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  servers.push(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const listening = await waitFor(() => output.includes('Keygate listening') || child.exitCode !== null, { timeoutMs: 180_000 });
  expect(listening && output.includes('Keygate listening'), output).toBe(true);
  return {
    issuer,
    env,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

describe.skipIf(skipped)('the packages as a user installs them', () => {
  it('tarballs hold compiled JavaScript and no TypeScript, tests, bench or CI files', async () => {
    const files = await readdir(path.join(project, 'node_modules/keygate'), { recursive: true });
    expect(files).toContain(path.join('dist', 'src', 'cli', 'main.js'));
    expect(files.filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((file) => /^(test|bench|\.ci|scripts|examples)\b/.test(file))).toEqual([]);
    const verifierFiles = await readdir(path.join(project, 'node_modules/@keygate/verifier'), { recursive: true });
    expect(verifierFiles.filter((file) => !file.startsWith('dist')).sort()).toEqual(['README.md', 'package.json']);
    expect(verifierFiles).toEqual(expect.arrayContaining([path.join('dist', 'index.js'), path.join('dist', 'index.d.ts')]));
    // tsx is a devDependency: nothing installed could load TypeScript.
    expect(existsSync(path.join(project, 'node_modules/tsx'))).toBe(false);
  });

  it('installing the verifier alone installs jose and nothing else', () => {
    expect(verifierOnlyPackages).toEqual(['@keygate/verifier', 'jose']);
  });

  for (const index of [0, 1]) {
    it(`on ${index === 0 ? 'the running Node' : 'Node 22'}: keygate --help, serve, a keypair, a token verified by import and by require`, async () => {
      const node = nodes[index]!;
      const bin = path.join(project, 'node_modules/keygate/bin/keygate.js');
      const help = await succeeds(node.binary, [bin, '--help'], project);
      expect(help).toContain('keygate serve');

      const dir = await mkdtemp(path.join(work, 'serve-'));
      const server = await serveInstalled(node.binary, dir);
      try {
        const created = JSON.parse(await succeeds(node.binary, [bin, 'keypairs', 'create', '--name', 'packed', '--scopes', 'read', '--json'], dir, { ...server.env, KEYGATE_URL: server.issuer })) as { clientId: string; clientSecret: string };
        const response = await fetch(`${server.issuer}/token`, {
          method: 'POST',
          headers: { authorization: `Basic ${Buffer.from(`${created.clientId}:${created.clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=client_credentials&scope=read',
        });
        expect(response.status).toBe(200);
        const { access_token: token } = (await response.json()) as { access_token: string };

        const imported = JSON.parse(await succeeds(node.binary, ['verify.js', server.issuer, token], project));
        expect(imported, node.name).toEqual({ clientId: created.clientId, scopes: ['read'], same: true });
        const required = JSON.parse(await succeeds(node.binary, ['verify.cjs', server.issuer, token], project));
        expect(required, node.name).toEqual({ clientId: created.clientId, scopes: ['read'], refused: 'insufficient_scope' });
      } finally {
        await server.stop();
      }
    }, 300_000);
  }
});
