import { InvalidInputError } from '../errors.js';
import { checkVersionNumber } from '../model/values.js';

/**
 * A moment in time: a `Date` (millisecond precision) or an ISO 8601 string with a time zone and
 * up to six fractional digits (microsecond precision, as in `Version.recordedAtIso`).
 *
 * @example
 * await book.listAt(new Date('2026-01-01T00:00:00Z'));
 * await book.listAt(v2.recordedAtIso); // exactly as it stood once v2 was recorded
 */
export type Instant = Date | string;

/**
 * Where to look in an entry's history: a moment ({@link Instant}) or one version by number.
 *
 * @example
 * await book.at(id, { version: 3 });
 * await book.at(id, '2026-11-26T09:25:10.123456Z');
 */
export type AsOf = Instant | { version: number };

const ISO_INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(:(\d{2})(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)$/i;

/**
 * Validates an {@link Instant} and returns the text to bind as a `timestamptz` parameter.
 * Refuses invalid dates, strings without a time zone (they would depend on the server's
 * TimeZone setting), more than microsecond precision, and years outside 1–9999.
 */
export function checkInstant(value: unknown, field = 'at'): string {
  if (value instanceof Date) {
    const ms = value.getTime();
    if (Number.isNaN(ms)) throw new InvalidInputError(`${field} is an invalid Date`, field);
    const iso = value.toISOString();
    if (!/^\d{4}-/.test(iso) || iso.startsWith('0000')) {
      throw new InvalidInputError(`${field} must be a time from year 1 to 9999, got ${iso}`, field);
    }
    return iso;
  }
  if (typeof value !== 'string') {
    throw new InvalidInputError(`${field} must be a Date or an ISO 8601 string with a time zone`, field);
  }
  const m = ISO_INSTANT.exec(value);
  if (!m) {
    throw new InvalidInputError(
      `${field} must be an ISO 8601 time with a time zone and at most 6 fractional digits, got ${JSON.stringify(
        value.length > 40 ? `${value.slice(0, 40)}…` : value,
      )}`,
      field,
    );
  }
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[7] ?? '0'].map(
    Number,
  ) as [number, number, number, number, number, number];
  const probe = new Date(Date.UTC(2000, month - 1, day));
  probe.setUTCFullYear(year);
  if (
    year < 1 ||
    probe.getUTCMonth() !== month - 1 ||
    probe.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    throw new InvalidInputError(`${field} is not a real calendar time: ${JSON.stringify(value)}`, field);
  }
  return value;
}

/** Validates an {@link AsOf}: either `{ version }` or an instant. */
export function checkAsOf(value: unknown): { version: number } | { at: string } {
  if (typeof value === 'object' && value !== null && !(value instanceof Date)) {
    const keys = Object.keys(value);
    if (keys.length !== 1 || keys[0] !== 'version') {
      throw new InvalidInputError('at() takes a Date, an ISO string or { version: n }', 'at');
    }
    return { version: checkVersionNumber((value as { version: unknown }).version, 'version') };
  }
  return { at: checkInstant(value) };
}
