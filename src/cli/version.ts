import { readFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * The version in Keygate's package.json, found by walking up from this file: it is two
 * folders up from src/cli and three from dist/src/cli.
 */
export async function packageVersion(): Promise<string> {
  for (let dir = import.meta.dirname; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'keygate' && pkg.version) return pkg.version;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (path.dirname(dir) === dir) throw new Error('package.json not found');
  }
}
