import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const VERIFIER_DIR = path.resolve(import.meta.dirname, '../../packages/verifier/src');

/** Every module a verifier file imports, from `import … from '…'` and `export … from '…'`. */
async function importsOf(file: string): Promise<string[]> {
  const source = await readFile(path.join(VERIFIER_DIR, file), 'utf8');
  return [...source.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'/gms)].map((match) => match[1]!);
}

describe('keygate/verifier stays a library of its own', () => {
  it('imports jose, node built-ins and its own files only', async () => {
    const files = (await readdir(VERIFIER_DIR)).filter((file) => file.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(1);
    for (const file of files) {
      for (const specifier of await importsOf(file)) {
        const allowed = specifier === 'jose' || specifier.startsWith('node:') || (specifier.startsWith('./') && !specifier.includes('/', 2));
        expect(allowed, `${file} imports ${specifier}`).toBe(true);
      }
    }
  });
});
