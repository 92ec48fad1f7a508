/**
 * keygate/verifier: the same library as the `@keygate/verifier` package (packages/verifier),
 * re-exported so code that imports it from the server package keeps working. Imported by
 * relative path so tests, tsx and the compiled build all read the current source.
 */
export * from '../../packages/verifier/src/index.js';
