import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts', 'docs/**/*.test.ts'],
    globalSetup: ['packages/appendlog/test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: process.env.APPENDLOG_TEST_REPORT ? ['default', 'json'] : ['default'],
    outputFile: process.env.APPENDLOG_TEST_REPORT ? { json: process.env.APPENDLOG_TEST_REPORT } : {},
  },
});
