// Running the `appendlog` command line in tests. Most tests are about what a command does and
// prints, not about starting a process: they run the CLI's own entry (`runCli`, which
// dist/cli/main.js calls) in this process, which spares a Node start and a module load per
// run. A few tests run the real command (bin/appendlog.js over dist/) to check the process's
// exit code and the bin shim.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { format } from 'node:util';
import { runCli } from '../../src/cli/run.js';

/** What a run of the command printed, and its exit code. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Environment for a run: a variable set to undefined is removed. */
export type CliEnv = Record<string, string | undefined>;

/** The package's directory. */
export const packageDir = fileURLToPath(new URL('../..', import.meta.url));
/** The command npm links as `appendlog`: a shim that runs dist/cli/main.js. */
export const binShim = fileURLToPath(new URL('../../bin/appendlog.js', import.meta.url));

/** Neither variable leaks in from the test run unless a test sets it. */
const CLEARED: CliEnv = { DATABASE_URL: undefined, APPENDLOG_DATA_DIR: undefined };

/**
 * Runs `appendlog <args>` in this process, with `env` over the test run's environment (minus
 * DATABASE_URL and APPENDLOG_DATA_DIR) and `cwd` as the working directory, and gives back what
 * it printed and the exit code it set. Runs one at a time: it swaps process-wide state (the
 * output streams, the environment, the working directory, `process.exitCode`) and restores it.
 */
export async function cliInProcess(args: string[], env: CliEnv = {}, cwd?: string): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const saved = {
    exitCode: process.exitCode,
    cwd: process.cwd(),
    env: new Map<string, string | undefined>(),
    stdoutWrite: process.stdout.write,
    stderrWrite: process.stderr.write,
    log: console.log,
    info: console.info,
    error: console.error,
    warn: console.warn,
  };
  const capture =
    (into: string[]) =>
    (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      into.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      done?.();
      return true;
    };
  const line =
    (into: string[]) =>
    (...values: unknown[]): void => {
      into.push(`${format(...values)}\n`);
    };
  for (const [key, value] of Object.entries({ ...CLEARED, ...env })) {
    saved.env.set(key, process.env[key]);
    setEnv(key, value);
  }
  process.exitCode = undefined;
  process.stdout.write = capture(out) as typeof process.stdout.write;
  process.stderr.write = capture(err) as typeof process.stderr.write;
  console.log = console.info = line(out);
  console.error = console.warn = line(err);
  try {
    if (cwd !== undefined) process.chdir(cwd);
    await runCli([process.execPath, 'appendlog', ...args]);
    return { code: Number(process.exitCode ?? 0), stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = saved.stdoutWrite;
    process.stderr.write = saved.stderrWrite;
    Object.assign(console, { log: saved.log, info: saved.info, error: saved.error, warn: saved.warn });
    process.chdir(saved.cwd);
    for (const [key, value] of saved.env) setEnv(key, value);
    process.exitCode = saved.exitCode;
  }
}

function setEnv(key: string, value: string | undefined): void {
  if (value === undefined) delete process.env[key];
  else process.env[key] = value;
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
    env: { ...process.env, ...CLEARED, ...env },
    ...(cwd === undefined ? {} : { cwd }),
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
