import { CommanderError } from 'commander';
import { isAppendLogError } from '../errors.js';

/**
 * The line the CLI prints for an error, prefixed `appendlog:` once: messages raised in SQL, and
 * some raised in code, already start with it. Typed errors end with their code.
 *
 * @example
 * errorLine(new InvalidInputError('appendlog: bad flag', 'x')); // 'appendlog: bad flag (invalid_input)'
 */
export function errorLine(err: unknown): string {
  const message = (err instanceof Error ? err.message : String(err)).replace(/^(appendlog: )+/, '');
  return isAppendLogError(err) ? `appendlog: ${message} (${err.code})` : `appendlog: ${message}`;
}

/**
 * The exit code for an error, as docs/integrity.md lists them: 0 for `--help` and `--version`,
 * 2 for everything else that ends a command early (bad usage, no database, nothing to read).
 * Failures found by a command that ran (verify, check-car) exit 1 from the command itself.
 */
export function exitCodeOf(err: unknown): number {
  if (err instanceof CommanderError) {
    return ['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(err.code) ? 0 : 2;
  }
  return 2;
}
