import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { curlSnippet, federatedCurlSnippet, type SnippetTarget } from '../../src/console/views/snippets.js';

/**
 * The console's curl lines as a shell reads them: run by bash with `curl` standing in as
 * a function that prints each argument it gets, so quoting shows in what curl would see.
 */
async function argumentsOf(snippet: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)('bash', ['-c', `curl() { printf '%s\\0' "$@"; }\n${snippet}`]);
  return stdout.split('\0').slice(0, -1);
}

const target = (audience: string): SnippetTarget => ({ clientId: 'kp_1', issuer: 'https://keygate.example', audience, namesResource: true, scope: 'read' });

describe('curl snippets', () => {
  it("hand curl a resource identifier with a query, a quote or spaces as one url-encoded argument, and run nothing else", async () => {
    for (const audience of ['https://api.example/v1?tenant=a&region=eu', "https://api.example/o'brien", 'https://api.example/$(echo injected)/ a']) {
      expect(await argumentsOf(curlSnippet(target(audience), 'kgs_secret'))).toEqual(['-s', '-u', 'kp_1:kgs_secret', '-d', 'grant_type=client_credentials', '--data-urlencode', `resource=${audience}`, 'https://keygate.example/token']);
      expect(await argumentsOf(federatedCurlSnippet(target(audience)))).toContain(`resource=${audience}`);
    }
  });
});
