import { createHash } from 'node:crypto';
import { VERSION_HASH_KEYS, type VersionFields } from '../model/log-columns.js';
import type { ColumnType } from '../schema/column.js';

/** The spec version these functions implement (docs/spec.md). */
export const SPEC_VERSION = 'appendlog/v1';

const NULL_FIELD = Buffer.from([0xff, 0xff, 0xff, 0xff]);
const ZERO_HASH = Buffer.alloc(32);

/** `F(x)`: a 4-byte big-endian byte length, then the UTF-8 bytes; `F(null)` is `ff ff ff ff`. */
export function field(value: string | null): Buffer {
  if (value === null) return NULL_FIELD;
  const bytes = Buffer.from(value, 'utf8');
  const out = Buffer.allocUnsafe(4 + bytes.length);
  out.writeUInt32BE(bytes.length, 0);
  bytes.copy(out, 4);
  return out;
}

/**
 * The canonical content of a version: its non-null columns in byte order of their SQL names,
 * each `F(name) ‖ F(canonical value)`. Values are canonical texts (see {@link canonicalText}).
 */
export function canonicalContent(values: Iterable<readonly [string, string | null]>): Buffer {
  const present = [...values].filter((v): v is readonly [string, string] => v[1] !== null);
  present.sort((a, b) => Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])));
  return Buffer.concat(present.flatMap(([name, value]) => [field(name), field(value)]));
}

/** `content_hash = SHA-256(salt ‖ canonical content)`. */
export function contentHash(salt: Uint8Array, content: Uint8Array): Buffer {
  return createHash('sha256').update(salt).update(content).digest();
}

/**
 * The fields a version hash covers: the table, the version's own fields as canonical texts (the
 * version as a number), its parent hash and its content hash.
 */
export interface VersionHashInput extends Omit<VersionFields, 'version'> {
  table: string;
  version: number;
  parentHash: Uint8Array | null;
  contentHash: Uint8Array;
}

/** `F(domain) ‖ F(table)`: how every version hash preimage of `table` starts (docs/spec.md §4). */
export function versionHashPrefix(table: string): Buffer {
  return Buffer.concat([field(SPEC_VERSION), field(table)]);
}

/** `hash = SHA-256(F(domain) ‖ F(table) ‖ … ‖ parent ‖ content_hash)`, per docs/spec.md §4. */
export function versionHash(v: VersionHashInput): Buffer {
  const text: VersionFields = { ...v, version: String(v.version) };
  const h = createHash('sha256').update(versionHashPrefix(v.table));
  for (const key of VERSION_HASH_KEYS) h.update(field(text[key]));
  return h
    .update(v.parentHash ?? ZERO_HASH)
    .update(v.contentHash)
    .digest();
}

/**
 * Turns a value's PostgreSQL text output, read under `TimeZone = 'UTC'` and `DateStyle = 'ISO'`,
 * into its canonical text. Only timestamps change form: `2026-01-02 03:04:05.5+00` becomes
 * `2026-01-02T03:04:05.500000Z`.
 */
export function canonicalText(type: ColumnType, text: string): string {
  return type === 'timestamptz' ? canonicalTimestamp(text) : text;
}

const ISO_OUTPUT = /^(\d{4,})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?\+00$/;

/** `2026-01-02 03:04:05.5+00` (ISO output in UTC) → `2026-01-02T03:04:05.500000Z`. */
export function canonicalTimestamp(text: string): string {
  const m = ISO_OUTPUT.exec(text);
  if (!m) throw new Error(`not a UTC ISO timestamp: ${JSON.stringify(text)}`);
  const micros = (m[7] ?? '').padEnd(6, '0');
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${micros}Z`;
}
