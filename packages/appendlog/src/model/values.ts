import { InvalidInputError } from '../errors.js';
import type { ColumnType } from '../schema/column.js';

/**
 * Values as appendlog accepts them, checked before anything is written: the limits, entry ids
 * and version numbers, JSON, one value for a column, and the labels of a write (actor, reason,
 * meta). The bottom layer: table definitions (defaults), the generated SQL (limits) and every
 * feature use it, and it imports nothing of theirs.
 */

/** What a value check needs to know of a column. */
export interface ValueColumn {
  /** The field name errors report. */
  readonly key: string;
  readonly type: ColumnType;
  readonly notNull: boolean;
}

/** Largest text or JSON value accepted, in UTF-8 bytes (1 MiB). */
export const MAX_VALUE_BYTES = 1_048_576;
/** Largest actor or reason accepted, in UTF-8 bytes. */
export const MAX_LABEL_BYTES = 4_096;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)$/;
const NUMERIC = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
/** numeric's special values, as PostgreSQL writes them (and reads them back): docs/spec.md §3. */
const NUMERIC_SPECIAL = new Set(['NaN', 'Infinity', '-Infinity']);
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Refuses strings PostgreSQL would reject or silently alter: NUL bytes and lone surrogates. */
export function checkString(value: string, field: string, maxBytes = MAX_VALUE_BYTES): void {
  if (value.includes('\u0000')) throw new InvalidInputError(`${field} contains a NUL byte`, field);
  if (!value.isWellFormed()) {
    throw new InvalidInputError(`${field} contains a lone surrogate (not valid Unicode)`, field);
  }
  // A UTF-16 code unit is at most 3 bytes of UTF-8: most values need no count.
  if (value.length * 3 <= maxBytes) return;
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > maxBytes) {
    throw new InvalidInputError(`${field} is ${bytes} bytes; the limit is ${maxBytes}`, field);
  }
}

/** Validates an entry id. */
export function checkEntryId(value: unknown, field = 'entryId'): string {
  if (typeof value !== 'string' || !UUID.test(value)) {
    throw new InvalidInputError(`${field} must be a UUID, got ${describeValue(value)}`, field);
  }
  return value.toLowerCase();
}

/** Validates a version number. */
export function checkVersionNumber(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 2_147_483_647) {
    throw new InvalidInputError(`${field} must be a positive integer, got ${describeValue(value)}`, field);
  }
  return value;
}

/** A short description of a value, for error messages. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof Date) return 'a Date';
  if (Array.isArray(value)) return 'an array';
  return value === null ? 'null' : typeof value === 'object' ? 'an object' : String(value);
}

/** Checks a JSON value deeply (strings, keys, no cycles, no BigInt) and returns its text. */
export function encodeJson(value: unknown, field: string): string {
  const walk = (v: unknown, depth: number): void => {
    if (depth > 100) throw new InvalidInputError(`${field} nests deeper than 100 levels`, field);
    if (typeof v === 'string') {
      checkString(v, field);
      return;
    }
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new InvalidInputError(`${field} holds a non-finite number`, field);
      return;
    }
    if (v === null || typeof v === 'boolean') return;
    if (Array.isArray(v)) {
      for (const item of v) walk(item, depth + 1);
      return;
    }
    if (typeof v === 'object' && !(v instanceof Date)) {
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) {
        throw new InvalidInputError(
          `${field} holds a ${proto?.constructor?.name ?? 'class'} instance; use plain objects`,
          field,
        );
      }
      for (const [k, item] of Object.entries(v)) {
        checkString(k, field);
        if (item !== undefined) walk(item, depth + 1);
      }
      return;
    }
    throw new InvalidInputError(`${field} holds ${describeValue(v)}, which JSON cannot represent`, field);
  };
  walk(value, 0);
  const text = JSON.stringify(value);
  checkString(text, field);
  return text;
}

/**
 * Validates one value for a column and returns it in the JSON form the database function
 * takes. Throws {@link InvalidInputError} naming the field.
 */
export function encodeValue(col: ValueColumn, value: unknown): unknown {
  const field = col.key;
  if (value === null) {
    if (col.notNull) throw new InvalidInputError(`${field} is required (notNull) and cannot be null`, field);
    return null;
  }
  const wrong = (expected: string): never => {
    throw new InvalidInputError(`${field} must be ${expected}, got ${describeValue(value)}`, field);
  };
  switch (col.type) {
    case 'text':
      if (typeof value !== 'string') wrong('a string');
      checkString(value as string, field);
      return value;
    case 'integer':
      if (
        typeof value !== 'number' ||
        !Number.isInteger(value) ||
        value < -2_147_483_648 ||
        value > 2_147_483_647
      ) {
        wrong('a 32-bit integer');
      }
      return value;
    case 'bigint': {
      let big: bigint;
      if (typeof value === 'bigint') big = value;
      else if (typeof value === 'number' && Number.isSafeInteger(value)) big = BigInt(value);
      else if (typeof value === 'string' && /^-?\d{1,19}$/.test(value)) big = BigInt(value);
      else return wrong('a 64-bit integer (bigint, safe integer number or decimal string)');
      if (big < INT64_MIN || big > INT64_MAX) wrong('within the 64-bit integer range');
      return big.toString();
    }
    case 'numeric':
      if (typeof value === 'number') {
        if (!Number.isFinite(value)) wrong('a finite number');
        return String(value);
      }
      if (
        typeof value !== 'string' ||
        !(NUMERIC.test(value) || NUMERIC_SPECIAL.has(value)) ||
        value.length > 1000
      )
        wrong("a decimal number or string, or 'NaN', 'Infinity' or '-Infinity'");
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') wrong('a boolean');
      return value;
    case 'date': {
      const m = typeof value === 'string' ? DATE.exec(value) : null;
      if (!m) return wrong("a date string 'YYYY-MM-DD'");
      const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
      const probe = new Date(Date.UTC(2000, mo - 1, d));
      probe.setUTCFullYear(y);
      if (y < 1 || probe.getUTCMonth() !== mo - 1 || probe.getUTCDate() !== d)
        wrong('a real calendar date from year 1 to 9999');
      return value;
    }
    case 'timestamptz': {
      let iso: string;
      if (value instanceof Date) {
        if (Number.isNaN(value.getTime())) wrong('a valid Date');
        iso = value.toISOString();
      } else if (typeof value === 'string' && TIMESTAMP.test(value) && !Number.isNaN(Date.parse(value))) {
        iso = value;
      } else {
        return wrong('a Date or an ISO 8601 string with a time zone');
      }
      const year = Number(iso.slice(0, 4));
      if (iso.startsWith('-') || iso.startsWith('+') || year < 1) wrong('a time from year 1 to 9999');
      return iso;
    }
    case 'jsonb':
      if (value === undefined) wrong('a JSON value');
      return JSON.parse(encodeJson(value, field));
    case 'uuid':
      return checkEntryId(value, field);
  }
}

/** Validates the actor/reason/meta of a write. */
export function checkLabel(value: unknown, field: 'actor' | 'reason'): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new InvalidInputError(`${field} must be a string`, field);
  checkString(value, field, MAX_LABEL_BYTES);
  return value;
}

export function checkMeta(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidInputError('meta must be a plain object', 'meta');
  }
  return encodeJson(value, 'meta');
}
