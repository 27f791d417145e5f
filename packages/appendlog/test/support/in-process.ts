// Running a command's entry function in the test process, as if it were the command: what it
// printed and the exit code it set. support/cli.ts runs the `appendlog` command line this way;
// this file imports nothing of the library, so a test of another package (examples/orm) can run
// the built command's entry with it without type-checking the library's sources again.
import { format } from 'node:util';

/** What a run of the command printed, and its exit code. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Environment for a run: a variable set to undefined is removed. */
export type CliEnv = Record<string, string | undefined>;

/** Neither variable leaks in from the test run unless a test sets it. */
const CLEARED: CliEnv = { DATABASE_URL: undefined, APPENDLOG_DATA_DIR: undefined };

/**
 * Runs `entry` (a command line's main function, which leaves its exit code in
 * `process.exitCode`) with `env` over the test run's environment (minus DATABASE_URL and
 * APPENDLOG_DATA_DIR) and `cwd` as the working directory, and gives back what it printed and the
 * exit code it set. Runs one at a time: it swaps process-wide state (the output streams, the
 * environment, the working directory, `process.exitCode`) and restores it.
 *
 * @example
 * const r = await runInProcess(() => runCli(['node', 'appendlog', '--version']));
 */
export async function runInProcess(
  entry: () => Promise<void>,
  env: CliEnv = {},
  cwd?: string,
): Promise<CliRun> {
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
    await entry();
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

/** The environment a child process of the command gets: the test run's, minus what CLEARED removes. */
export function commandEnv(env: CliEnv): NodeJS.ProcessEnv {
  return { ...process.env, ...CLEARED, ...env };
}
