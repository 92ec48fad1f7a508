// `npm start`'s guard: rebuilds dist/ when it is missing or older than a source file, so
// a checkout that changed since `npm ci` (which builds through `prepare`) never serves
// stale JavaScript. A plain mtime walk: no build runs when nothing changed.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const SOURCES = ['src', 'migrations', 'packages/verifier/src', 'tsconfig.json', 'tsconfig.build.json', 'packages/verifier/tsconfig.json'];
const OUTPUTS = ['dist/src/cli/main.js', 'packages/verifier/dist/index.js'];

function newestMtime(entry) {
  const stat = statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(entry).map((name) => newestMtime(path.join(entry, name))));
}

function mtimeOrZero(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

const sourcesChanged = Math.max(...SOURCES.map((entry) => newestMtime(path.join(root, entry))));
const built = Math.min(...OUTPUTS.map((file) => mtimeOrZero(path.join(root, file))));
if (built < sourcesChanged) {
  console.error(built === 0 ? 'dist/ is missing: building' : 'dist/ is older than the sources: rebuilding');
  execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
}
