import { CommanderError } from 'commander';
import { errorLine, exitCodeOf } from './errors.js';
import { buildProgram } from './program.js';

/**
 * Runs the `appendlog` command line on `argv` (laid out as `process.argv`: node, the script,
 * then the arguments). What a command prints goes to stdout and stderr; the exit code is left
 * in `process.exitCode`, as the `appendlog` command exits with it (docs/integrity.md).
 *
 * @example
 * await runCli(['node', 'appendlog', 'verify', '--data-dir', '.data']);
 */
export async function runCli(argv: readonly string[]): Promise<void> {
  try {
    await buildProgram().parseAsync([...argv]);
  } catch (err) {
    // Commander has printed its own usage error (or the help) already.
    if (!(err instanceof CommanderError)) console.error(errorLine(err));
    process.exitCode = exitCodeOf(err);
  }
}
