import { InvalidInputError } from '../errors.js';
import { checkDuration } from './duration.js';

/**
 * How long a table's recycle bin keeps deleted entries. An entry deleted and not restored for
 * `deletedFor` is forgotten (due at once) and erased by the next `db.purge()`.
 *
 * @example
 * const addresses = table('addresses', { name: c.text() }, { retention: { deletedFor: '90 days' } });
 */
export interface RetentionPolicy {
  /** A duration such as `'90 days'`; `'0 days'` empties the recycle bin at every purge. */
  deletedFor: string;
}

/** Validates a retention policy given to `table()`; returns a frozen, normalised copy. */
export function checkRetention(value: unknown): RetentionPolicy | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidInputError("retention must be an object such as { deletedFor: '90 days' }", 'retention');
  }
  const unknown = Object.keys(value).filter((k) => k !== 'deletedFor');
  if (unknown.length > 0) {
    throw new InvalidInputError(`retention has no option "${unknown[0]}" (known: deletedFor)`, 'retention');
  }
  const deletedFor = checkDuration((value as { deletedFor?: unknown }).deletedFor, 'retention.deletedFor');
  return Object.freeze({ deletedFor });
}
