import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** The image's own stage: everything after the Dockerfile's last FROM. */
async function runtimeStage(): Promise<string> {
  const dockerfile = await readFile(path.join(ROOT, 'Dockerfile'), 'utf8');
  return dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
}

describe('the container and bin/keygate.js run compiled JavaScript', () => {
  it('the image copies dist/ and the production node_modules, no TypeScript sources', async () => {
    const stage = await runtimeStage();
    const copied = [...stage.matchAll(/^COPY (?:--from=\w+ )?(\S+)/gm)].map((match) => match[1]);
    expect(copied).toEqual(expect.arrayContaining(['/app/dist', '/app/node_modules', 'bin']));
    expect(copied.filter((source) => /(^|\/)(src|migrations|test)$|\.ts$|tsconfig/.test(source!))).toEqual([]);
    expect(stage).toMatch(/CMD \["node", "bin\/keygate.js", "serve"\]/);
    // The production install (an earlier stage) leaves tsx and typescript out.
    expect(await readFile(path.join(ROOT, 'Dockerfile'), 'utf8')).toMatch(/npm ci --omit=dev/);
  });

  it('bin/keygate.js imports the compiled CLI and registers no TypeScript loader', async () => {
    const bin = await readFile(path.join(ROOT, 'bin/keygate.js'), 'utf8');
    const code = bin.replace(/^\s*\/\/.*$/gm, '');
    expect(code).toContain("import('../dist/src/cli/main.js')");
    expect(code).not.toMatch(/tsx|\.ts['"]/);
    const manifest = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; scripts: Record<string, string> };
    expect(manifest.dependencies).not.toHaveProperty('tsx');
    expect(manifest.scripts.start).toBe('node bin/keygate.js serve');
  });
});
