// The CLI as the tests run it: src/cli/main.ts through tsx, so every test exercises the
// current sources whatever state dist/ is in. Users run bin/keygate.js (compiled JavaScript).
import { register } from 'tsx/esm/api';

register();
await import('../../src/cli/main.ts');
