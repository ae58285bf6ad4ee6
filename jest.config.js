/** Jest runs TypeScript through swc (type checking is `npm run typecheck`). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }] },
  testTimeout: 120_000,
  // Each file starts its own Temporal dev server / simulator; two cores, so two files at a time.
  maxWorkers: 2,
  // The slow suites first, so that the run does not end on one of them alone (see the file).
  testSequencer: '<rootDir>/jest.sequencer.js',
  forceExit: false,
};
