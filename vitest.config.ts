import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global_setup.ts'],
    // On the shared PGlite, files run one after another: pglite-socket can interleave
    // two connections' protocol messages (see src/db/database.ts). PostgreSQL takes two.
    fileParallelism: Boolean(process.env.TEST_DATABASE_URL),
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
  },
});
