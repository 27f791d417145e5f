import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

const report = process.env.APPENDLOG_TEST_REPORT;

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'examples/*/test/**/*.test.ts', 'docs/**/*.test.ts'],
    testTimeout: 60_000,
    // The Address Book's password hashing at a test-sized cost (its default is 32 times more).
    env: { ADDRESS_BOOK_SCRYPT_N: '1024' },
    hookTimeout: 60_000,
    pool: 'forks',
    // A worker runs file after file in one process rather than a fresh process (and a fresh load
    // of vitest, the library and PGlite) per file: that start-up was a third of the run's CPU.
    // Test files share no state: each opens its own databases and closes them, and what changes
    // process-wide state (support/cli.ts) restores it.
    isolate: false,
    // Vitest's default is one worker per core but one, a single worker on a 2-core machine; many
    // files here wait on child processes (the CLI, tsx, Chromium), so two keep both cores busy.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // One fresh PGlite data directory for the whole run (tests start from copies of it), and no
    // DDL guard in the shared PostgreSQL database.
    globalSetup: ['packages/appendlog/test/support/global-setup.ts'],
    reporters: [
      'default',
      ...(report ? ['json'] : []),
      './packages/appendlog/test/support/skip-notice-reporter.ts',
    ],
    outputFile: report ? { json: report } : {},
  },
});
