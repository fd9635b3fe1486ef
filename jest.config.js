/**
 * @swc/jest rather than ts-jest: it only strips types, so a test file loads in milliseconds
 * instead of being type-checked again per file; `npm run typecheck` (tsc --noEmit over
 * everything, tests included) is the one place types are checked.
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
    // jose ships ES modules only; jest (unlike Node) cannot require them, so it gets compiled too.
    '/node_modules/jose/.+\\.js$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  // One Temporal dev server and one workflow bundle for the whole run (see test/global-setup.ts).
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  testTimeout: 60_000,
  // Two cores: one test file per core; every file brings its own workers and servers.
  maxWorkers: 2,
};
