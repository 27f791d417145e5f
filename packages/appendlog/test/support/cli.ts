// Running the `appendlog` command line in tests. Most tests are about what a command does and
// prints, not about starting a process: they run the CLI's own entry (`runCli`, which
// dist/cli/main.js calls) in this process, which spares a Node start and a module load per
// run. A few tests run the real command (bin/appendlog.js over dist/) to check the process's
// exit code and the bin shim.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runCli } from '../../src/cli/run.js';
import { type CliEnv, type CliRun, commandEnv, runInProcess } from './in-process.js';

export type { CliEnv, CliRun } from './in-process.js';

/** The package's directory. */
export const packageDir = fileURLToPath(new URL('../..', import.meta.url));
/** The command npm links as `appendlog`: a shim that runs dist/cli/main.js. */
export const binShim = fileURLToPath(new URL('../../bin/appendlog.js', import.meta.url));

/**
 * Runs `appendlog <args>` in this process (the sources' `runCli`), with `env` over the test run's
 * environment (minus DATABASE_URL and APPENDLOG_DATA_DIR) and `cwd` as the working directory:
 * see `runInProcess`.
 */
export function cliInProcess(args: string[], env: CliEnv = {}, cwd?: string): Promise<CliRun> {
  return runInProcess(() => runCli([process.execPath, 'appendlog', ...args]), env, cwd);
}

/**
 * Runs the real `appendlog` command, `node bin/appendlog.js <args>` (the shim over the build
 * in dist/), as a child process: for what only a process shows, its exit code and the shim.
 */
export function cliProcess(args: string[], env: CliEnv = {}, cwd?: string): CliRun {
  if (!existsSync(new URL('../../dist/cli/main.js', import.meta.url))) {
    throw new Error(`${packageDir}dist/cli/main.js is missing: run \`npm run build\` first (npm test does)`);
  }
  const r = spawnSync(process.execPath, [binShim, ...args], {
    encoding: 'utf8',
    env: commandEnv(env),
    ...(cwd === undefined ? {} : { cwd }),
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
