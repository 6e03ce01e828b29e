/**
 * Two projects: unit tests run alone (`npm run test:unit`); integration tests get one throwaway
 * PostgreSQL (embedded, or TEST_DATABASE_URL), a migrated template database, and a copy of it per
 * test file. TypeScript is compiled by @swc/jest; `tsc` only type-checks (see README).
 */
const transform = {
  '^.+\\.ts$': [
    '@swc/jest',
    { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
  ],
};

module.exports = {
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/global-setup.ts',
      globalTeardown: '<rootDir>/test/global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/helpers/consistency.ts'],
      slowTestThreshold: 20,
    },
  ],
  testTimeout: 60000,
};
