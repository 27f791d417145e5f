import { InvalidInputError } from '../errors.js';

const UNITS = 'seconds?|secs?|minutes?|mins?|hours?|days?|weeks?|months?|mons?|years?';
/** `30 days`, `2 weeks 3 days`, `0 seconds`: one or more `<count> <unit>` pairs, never negative. */
const DURATION = new RegExp(`^\\s*(\\d{1,9}\\s*(${UNITS})\\s*)+$`, 'i');
const ISO_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)$/;

/** True when `value` is a duration the database reads as a non-negative `interval`. */
export function isDuration(value: unknown): value is string {
  return typeof value === 'string' && DURATION.test(value);
}

/** Validates a duration (`'90 days'`) and returns it trimmed; refuses anything else. */
export function checkDuration(value: unknown, field: string): string {
  if (!isDuration(value)) {
    throw new InvalidInputError(
      `${field} must be a duration such as '30 days', '12 hours' or '0 seconds', got ${JSON.stringify(value)}`,
      field,
    );
  }
  return value.trim().replace(/\s+/g, ' ');
}

/** What a `forget` asks of the database: wait this long, or until then (the default: 30 days). */
export type ForgetRequest = { after: string } | { dueAt: string } | Record<string, never>;

/**
 * Turns `forget`'s `after` option into the `erasure` object the chain trigger reads from the
 * version's metadata: a duration (`'30 days'`) or a due time (a `Date` or an ISO string with a
 * zone). The database computes the due time from its own clock and stores it in the version.
 */
export function forgetRequest(after: unknown): ForgetRequest {
  if (after === undefined) return {};
  if (after instanceof Date) {
    if (Number.isNaN(after.getTime())) throw new InvalidInputError('after must be a valid Date', 'after');
    return { dueAt: after.toISOString() };
  }
  if (typeof after === 'string' && ISO_TIME.test(after) && !Number.isNaN(Date.parse(after))) {
    return { dueAt: after };
  }
  return { after: checkDuration(after, 'after') };
}
