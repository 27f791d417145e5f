import { FIELDS, type FieldKey, type Person } from './schema.js';

/** Messages to show next to the form fields they concern. */
export type FieldErrors = Partial<Record<FieldKey | 'reason' | 'actor' | 'at' | 'version', string>>;

const MAX_LENGTH = 200;
const CONTROL = /\p{Cc}/u;
const TEL = /^[0-9+()\-. ]*$/;

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });

/**
 * The length of a text as a person counts it: one per character seen, so an emoji, a flag or a
 * letter with combining accents is one, however many UTF-16 units it takes.
 */
export function visibleLength(text: string): number {
  let n = 0;
  for (const _ of graphemes.segment(text)) n++;
  return n;
}

/** Checks one optional text value: trimmed, empty means null. Returns the value or an error message. */
function text(value: unknown, max = MAX_LENGTH): { value: string | null } | { error: string } {
  if (value === undefined || value === null) return { value: null };
  if (typeof value !== 'string') return { error: 'must be text' };
  const trimmed = value.trim();
  if (CONTROL.test(trimmed)) return { error: 'contains control characters' };
  // The visible count is the rule; the byte cap keeps what one character can carry bounded.
  if (visibleLength(trimmed) > max || Buffer.byteLength(trimmed) > max * 8) {
    return { error: `is too long (at most ${max} characters)` };
  }
  return { value: trimmed === '' ? null : trimmed };
}

/**
 * Validates a person's fields from a form or a JSON body. With `partial`, absent fields stay
 * absent (a JSON PATCH); otherwise every field is read and the name is required.
 */
export function readPerson(
  input: Record<string, unknown>,
  partial = false,
): { data: Partial<Person>; errors: FieldErrors } {
  const data: Partial<Person> = {};
  const errors: FieldErrors = {};
  for (const { key, label } of FIELDS) {
    if (partial && !(key in input)) continue;
    const checked = text(input[key]);
    if ('error' in checked) {
      errors[key] = `${label} ${checked.error}`;
      continue;
    }
    if (key === 'name') {
      if (checked.value === null) errors.name = 'Name is required';
      else data.name = checked.value;
    } else if (key === 'tel' && checked.value !== null && !TEL.test(checked.value)) {
      errors.tel = 'Telephone may hold only digits, spaces and + ( ) - .';
    } else {
      data[key] = checked.value;
    }
  }
  for (const key of Object.keys(input)) {
    if (!FIELDS.some((f) => f.key === key)) errors[key as FieldKey] = `Unknown field "${key}"`;
  }
  return { data, errors };
}

/** What was typed into each person field, unchanged, to show the form again after an error. */
export function typedPerson(input: Record<string, unknown>): Record<FieldKey, string> {
  return Object.fromEntries(
    FIELDS.map(({ key }) => [key, typeof input[key] === 'string' ? input[key] : '']),
  ) as Record<FieldKey, string>;
}

/** A reason for a change: required for deletes, optional for edits. */
export function readReason(
  value: unknown,
  required: boolean,
): { reason: string | undefined; error?: string } {
  const checked = text(value, 500);
  if ('error' in checked) return { reason: undefined, error: `Reason ${checked.error}` };
  if (checked.value === null) {
    return required
      ? { reason: undefined, error: 'Please say why (a reason is required)' }
      : { reason: undefined };
  }
  return { reason: checked.value };
}

/** The "acting as" name: 1 to 60 characters of text. */
export function readActor(value: unknown): { actor: string } | { error: string } {
  const checked = text(value, 60);
  if ('error' in checked) return { error: `Your name ${checked.error}` };
  if (checked.value === null) return { error: 'Please give a name to act as' };
  return { actor: checked.value };
}

/** A positive integer version number from a form field or URL segment. */
export function readVersion(value: unknown): number | null {
  if (typeof value === 'number') return Number.isInteger(value) && value > 0 ? value : null;
  if (typeof value !== 'string' || !/^[1-9]\d{0,8}$/.test(value)) return null;
  return Number(value);
}

/**
 * A moment from a `datetime-local` field (read as UTC) or an ISO 8601 string with a zone, kept
 * to the microsecond (a version's `recordedAtIso` names exactly that version). Null when invalid.
 */
export function readInstant(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const text = value.trim();
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?$/.exec(
    text,
  );
  if (!m) return null;
  // Date.parse rolls February 30 over into March: check the calendar fields themselves.
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((f) => Number(f ?? 0)) as number[];
  const utc = new Date(Date.UTC(year!, month! - 1, day!, hour!, minute!, second!));
  const exists =
    utc.getUTCFullYear() === year &&
    utc.getUTCMonth() === month! - 1 &&
    utc.getUTCDate() === day &&
    utc.getUTCHours() === hour &&
    utc.getUTCMinutes() === minute &&
    utc.getUTCSeconds() === second;
  if (!exists || (m[8] !== undefined && !/^(Z|[+-](0\d|1[0-4]):[0-5]\d)$/.test(m[8]))) return null;
  return m[8] === undefined ? `${text}Z` : text;
}

/** True when `value` looks like an entry id; anything else is answered with a 404 before any query. */
export function isEntryId(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}
