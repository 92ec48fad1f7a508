#!/usr/bin/env node
// Runs the compiled CLI (`npm run build`, run by `npm ci` through `prepare`): no
// TypeScript is loaded at run time. The tests run the sources through
// test/support/keygate_source.js instead, so they never see a stale dist/.
await import('../dist/src/cli/main.js');
