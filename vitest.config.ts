import path from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // `keygate/verifier` resolves to dist/ through package.json's exports; the tests check the sources.
  resolve: { alias: { 'keygate/verifier': path.resolve(import.meta.dirname, 'src/verifier/index.ts') } },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global_setup.ts'],
    // Two files at a time, on PostgreSQL or on a PGlite per worker (global_setup.ts).
    maxWorkers: 2,
    // Generous: several tests start `keygate serve` on a fresh embedded database (PGlite's
    // first initdb is seconds of CPU), two at a time in the PostgreSQL pass, on 2 cores.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
  },
});
