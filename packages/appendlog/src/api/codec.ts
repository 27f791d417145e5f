import { InvalidInputError } from '../errors.js';
import { describeValue, encodeValue } from '../model/values.js';
import type { Op, Version } from '../model/version.js';
import type { ColumnType } from '../schema/column.js';
import { quoteIdent } from '../schema/names.js';
import type { ResolvedColumn, TableDef } from '../schema/table.js';
import { utcIsoSql } from '../sql/canonical.js';
import { parentHashSql } from '../sql/version-fields.js';

const byKeyOf = new WeakMap<TableDef, ReadonlyMap<string, ResolvedColumn>>();

/** The table's columns by key, built once per definition (every write looks its input up in it). */
function columnsByKey(def: TableDef): ReadonlyMap<string, ResolvedColumn> {
  let byKey = byKeyOf.get(def);
  if (byKey === undefined) {
    byKey = new Map(def.columns.map((c) => [c.key, c]));
    byKeyOf.set(def, byKey);
  }
  return byKey;
}

/**
 * Validates `input` against the table and returns its values keyed by SQL column name, each in
 * the JSON form {@link encodeValue} gives it. `insert` mode also demands every notNull column.
 */
export function encodeFields(
  def: TableDef,
  input: unknown,
  mode: 'insert' | 'patch',
): Map<ResolvedColumn, unknown> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidInputError(
      `data must be an object of column values, got ${describeValue(input)}`,
      'data',
    );
  }
  const byKey = columnsByKey(def);
  const out = new Map<ResolvedColumn, unknown>();
  for (const [key, value] of Object.entries(input)) {
    const col = byKey.get(key);
    if (!col) {
      throw new InvalidInputError(
        `${def.name} has no column "${key}" (known: ${def.columns.map((c) => c.key).join(', ')})`,
        key,
      );
    }
    if (value === undefined) continue;
    out.set(col, encodeValue(col, value));
  }
  if (mode === 'insert') {
    for (const col of def.columns) {
      // A column with a default may be left out; the database fills the default in.
      const missing = out.has(col) ? out.get(col) === null : col.default === undefined;
      if (col.notNull && missing) {
        throw new InvalidInputError(`${col.key} is required (notNull)`, col.key);
      }
    }
  }
  return out;
}

/** The patch for the append function: {@link encodeFields} as a JSON object keyed by SQL name. */
export function patchJson(fields: ReadonlyMap<ResolvedColumn, unknown>): string {
  const out: Record<string, unknown> = {};
  for (const [col, value] of fields) out[col.sqlName] = value;
  return JSON.stringify(out);
}

/** Validates `input` and returns the patch for the append function (see {@link encodeFields}). */
export function encodeData(def: TableDef, input: unknown, mode: 'insert' | 'patch'): string {
  return patchJson(encodeFields(def, input, mode));
}

/** A value of {@link encodeFields} as a statement parameter, to be cast to the column's type. */
export function fieldParam(col: ResolvedColumn, value: unknown): unknown {
  return col.type === 'jsonb' && value !== null ? JSON.stringify(value) : value;
}

/** The SQL that reads a column in a form every driver returns identically. */
function readExpr(alias: string, col: { sqlName: string; type: ColumnType }): string {
  const ref = `${alias}.${quoteIdent(col.sqlName)}`;
  switch (col.type) {
    case 'text':
    case 'integer':
    case 'boolean':
      return ref;
    case 'date':
      return `pg_catalog.to_char(${ref}, 'YYYY-MM-DD')`;
    case 'timestamptz':
      return utcIsoSql(ref);
    default:
      return `${ref}::text`;
  }
}

const ts = utcIsoSql;

/**
 * Aliases of the head's columns that some reads select beside a version. A user column may be
 * called `head_op`, but no user column name has a dot in it (names match `^[a-z_][a-z0-9_]*$`),
 * so these never shadow one of the version's columns in the row.
 */
export const HEAD_OP = 'head.op';
export const HEAD_VERSION = 'head.version';

/**
 * The alias of a version's fixed-format fields, read as one text column: entry id, recorded time,
 * transaction, hash, parent hash and redaction time, separated by spaces (none of them can
 * contain one), `-` for a null. node-postgres sets up a converter for every column of every
 * result: five columns fewer took about 4 µs (6%) off a `get` (68 → 64 µs, interleaved; a
 * `list` of 50 measured the same). Dotted, like {@link HEAD_OP}, so no user column can be
 * called the same.
 */
const FIXED_FIELDS = 'version.fixed';

function fixedFieldsSql(alias: string, log: string | undefined): string {
  const parent = log === undefined ? `${alias}.parent_hash` : parentHashSql(alias, log);
  return `pg_catalog.concat_ws(' ', ${alias}.entry_id, ${ts(`${alias}.recorded_at`)}, ${alias}.tx_id,
    pg_catalog.encode(${alias}.hash, 'hex'), coalesce(pg_catalog.encode(${parent}, 'hex'), '-'),
    coalesce(${ts(`${alias}.redacted_at`)}, '-'))`;
}

/**
 * The select list of a version read from alias `l`: a row of the head, or of the log `log`,
 * whose parent hash is derived where the row leaves it null ({@link parentHashSql}).
 */
export function versionProjection(def: TableDef, alias = 'l', log?: string): string {
  const sys = [
    `${alias}.version`,
    `${alias}.op`,
    `${fixedFieldsSql(alias, log)} AS ${quoteIdent(FIXED_FIELDS)}`,
    `${alias}.actor`,
    `${alias}.reason`,
    `${alias}.meta::text AS meta`,
  ];
  const user = def.columns.map((c) => `${readExpr(alias, c)} AS ${quoteIdent(c.sqlName)}`);
  return [...sys, ...user].join(', ');
}

export type RawVersionRow = Record<string, unknown>;

function decodeValue(type: ColumnType, raw: unknown): unknown {
  if (raw === null || raw === undefined) return null;
  switch (type) {
    case 'timestamptz':
      return new Date(String(raw));
    case 'jsonb':
      return JSON.parse(String(raw));
    case 'integer':
      return Number(raw);
    case 'boolean':
      return raw === true || raw === 't' || raw === 'true';
    default:
      return String(raw);
  }
}

/**
 * The alias of {@link packedProjection}'s one column. Dotted, like {@link FIXED_FIELDS}, so no
 * user column can be called the same.
 */
const PACKED = 'version.packed';

/**
 * A version of the head (alias `l`) as one column: a JSON array of its version, op, fixed fields
 * ({@link FIXED_FIELDS}), actor, reason, meta and user columns, in {@link versionProjection}'s
 * order and forms. node-postgres describes and converts every column of every result; for one
 * row that is a large part of the client's work, and `get` read this way was 4–8% faster than
 * with a column per field (2026-12-06, docs/performance.md). Only `get` uses it: building the
 * JSON costs the server more than the client saves once a result has many rows (a `list` of 50
 * was 15% slower), and a write's `RETURNING` came out even.
 */
export function packedProjection(def: TableDef, alias = 'l'): string {
  const user = def.columns.map((c) => `, ${readExpr(alias, c)}`).join('');
  return `pg_catalog.json_build_array(${alias}.version, ${alias}.op, ${fixedFieldsSql(alias, undefined)},
    ${alias}.actor, ${alias}.reason, ${alias}.meta${user})::text AS ${quoteIdent(PACKED)}`;
}

/**
 * Turns a row selected with {@link versionProjection} or {@link packedProjection} into a
 * {@link Version}. Plain loops and `indexOf` rather than closures and `split`: a `list` of 50
 * decodes 50 rows, and this way took half the time (docs/performance.md, "The library's client
 * cost, second look").
 */
export function decodeVersion<T>(def: TableDef, row: RawVersionRow): Version<T> {
  const packed = row[PACKED];
  if (packed !== undefined) return decodePacked(def, packed);
  const cols = def.columns;
  const data: Record<string, unknown> = {};
  for (let i = 0; i < cols.length; i++) {
    const c = cols[i]!;
    data[c.key] = decodeValue(c.type, row[c.sqlName]);
  }
  const meta = row.meta === null || row.meta === undefined ? null : JSON.parse(String(row.meta));
  return assemble(row.version, row.op, String(row[FIXED_FIELDS]), row.actor, row.reason, meta, data);
}

/**
 * {@link decodeVersion} of a row read as an array (`runValues`): the values of
 * {@link versionProjection} in its order, or the one value of {@link packedProjection}, each
 * parsed or as the server's text (`'7'`, `'t'`): {@link decodeValue} reads both.
 */
export function decodeVersionValues<T>(def: TableDef, values: readonly unknown[]): Version<T> {
  if (values.length === 1) return decodePacked(def, values[0]);
  const meta = values[5] === null || values[5] === undefined ? null : JSON.parse(String(values[5]));
  return fromValues(def, values, meta);
}

function decodePacked<T>(def: TableDef, packed: unknown): Version<T> {
  const values = JSON.parse(String(packed)) as unknown[];
  return fromValues(def, values, values[5] ?? null);
}

/** A version from the values of {@link versionProjection}'s order, its meta already parsed. */
function fromValues<T>(def: TableDef, values: readonly unknown[], meta: unknown): Version<T> {
  const cols = def.columns;
  const data: Record<string, unknown> = {};
  for (let i = 0; i < cols.length; i++) {
    const c = cols[i]!;
    data[c.key] = decodeValue(c.type, values[6 + i]);
  }
  return assemble(values[0], values[1], String(values[2]), values[3], values[4], meta, data);
}

function assemble<T>(
  version: unknown,
  op: unknown,
  fixed: string,
  actor: unknown,
  reason: unknown,
  meta: unknown,
  data: Record<string, unknown>,
): Version<T> {
  // FIXED_FIELDS: entry id, recorded time, transaction, hash, parent hash, redaction time.
  const f1 = fixed.indexOf(' ');
  const f2 = f1 < 0 ? -1 : fixed.indexOf(' ', f1 + 1);
  const f3 = f2 < 0 ? -1 : fixed.indexOf(' ', f2 + 1);
  const f4 = f3 < 0 ? -1 : fixed.indexOf(' ', f3 + 1);
  const f5 = f4 < 0 ? -1 : fixed.indexOf(' ', f4 + 1);
  const field = (from: number, to: number, missing: string) =>
    from < 0 ? missing : fixed.slice(from + 1, to < 0 ? undefined : to);
  const recordedAtIso = field(f1, f2, '');
  const parentHash = field(f4, f5, '-');
  const redactedAt = field(f5, fixed.indexOf(' ', f5 + 1), '-');
  return {
    entryId: fixed.slice(0, f1 < 0 ? undefined : f1),
    version: Number(version),
    op: op as Op,
    recordedAt: new Date(recordedAtIso),
    recordedAtIso,
    txId: field(f2, f3, ''),
    actor: (actor as string | null) ?? null,
    reason: (reason as string | null) ?? null,
    meta: meta as Record<string, unknown> | null,
    hash: field(f3, f4, ''),
    parentHash: parentHash === '-' ? null : parentHash,
    redactedAt: redactedAt === '-' ? null : new Date(redactedAt),
    data: data as T,
  };
}

/**
 * Column types whose value a version holds exactly as the library sent it (a string, a 32-bit
 * integer, a boolean): a loaded version takes these from its input, not from the database.
 */
const SENT_AS_STORED: ReadonlySet<ColumnType> = new Set(['text', 'integer', 'boolean']);

/**
 * The columns of a set-based load (`insertMany`) whose values must come back from the database:
 * those of a type the database writes in its own form (dates, times, numbers, JSON), and those
 * some row of the batch leaves to the column's default.
 */
export function loadReadBack(
  def: TableDef,
  rows: readonly { fields: ReadonlyMap<ResolvedColumn, unknown> }[],
): ResolvedColumn[] {
  return def.columns.filter((c) => !SENT_AS_STORED.has(c.type) || rows.some((r) => !r.fields.has(c)));
}

/**
 * The select list of a call of `<t>_insert_many` (alias `l`, `WITH ORDINALITY`): per version one
 * JSON array of its time, hash and the columns of `readBack`; with the first version also the
 * fields every version of the call shares (transaction, actor, reason, meta). A load of thousands
 * of rows reads back what only the database knows, once per row, in one column, rather than each
 * version whole: the rest is the caller's input ({@link decodeLoaded}).
 */
export function loadedProjection(readBack: readonly ResolvedColumn[]): string {
  const cols = readBack.map((c) => `, ${readExpr('l', c)}`).join('');
  return `pg_catalog.json_build_array(${utcIsoSql('l.recorded_at')}, pg_catalog.encode(l.hash, 'hex')${cols})::text AS v,
       CASE WHEN l.ordinality = 1 THEN pg_catalog.json_build_array(l.tx_id::text, l.actor, l.reason, l.meta)::text END AS s`;
}

/** The fields a loaded batch shares, read from its first row's `s` ({@link loadedProjection}). */
export interface LoadShared {
  txId: string;
  actor: string | null;
  reason: string | null;
  /** The meta as JSON text, parsed once per version so that no two versions share an object. */
  meta: string | null;
}

export function decodeLoadShared(s: unknown): LoadShared {
  const [txId, actor, reason, meta] = JSON.parse(String(s)) as [
    string,
    string | null,
    string | null,
    unknown,
  ];
  return { txId, actor, reason, meta: meta === null ? null : JSON.stringify(meta) };
}

/**
 * A version written by a set-based load: version 1 of `entryId`, its data the row as given
 * (`fields`, already validated and encoded) where {@link SENT_AS_STORED}, the rest from `v`.
 */
export function decodeLoaded<T>(
  def: TableDef,
  readBack: readonly ResolvedColumn[],
  entryId: string,
  fields: ReadonlyMap<ResolvedColumn, unknown>,
  v: unknown,
  shared: LoadShared,
): Version<T> {
  const [recordedAtIso, hash, ...back] = JSON.parse(String(v)) as [string, string, ...unknown[]];
  const data = sentAndReadBack(def, fields, readBack, back, 0);
  return {
    entryId,
    version: 1,
    op: 'insert',
    recordedAt: new Date(recordedAtIso),
    recordedAtIso,
    txId: shared.txId,
    actor: shared.actor,
    reason: shared.reason,
    meta: shared.meta === null ? null : (JSON.parse(shared.meta) as Record<string, unknown>),
    hash,
    parentHash: null,
    redactedAt: null,
    data: data as T,
  };
}

/**
 * A version's data from what the caller sent (`fields`, validated and encoded) where
 * {@link SENT_AS_STORED}, and the columns of `readBack` from `values`, starting at `from`.
 */
function sentAndReadBack(
  def: TableDef,
  fields: ReadonlyMap<ResolvedColumn, unknown>,
  readBack: readonly ResolvedColumn[],
  values: readonly unknown[],
  from: number,
): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const c of def.columns) data[c.key] = fields.has(c) ? (fields.get(c) ?? null) : null;
  for (let i = 0; i < readBack.length; i++) {
    const c = readBack[i]!;
    data[c.key] = decodeValue(c.type, values[from + i]);
  }
  return data;
}

/**
 * The columns an `insert` or `update` that sent `given` must read back: every column it did not
 * send (a default, or a value carried forward from the version before), and those it sent of a
 * type the database stores in a form of its own (see {@link SENT_AS_STORED}).
 */
export function writtenReadBack(def: TableDef, given: readonly ResolvedColumn[]): ResolvedColumn[] {
  return def.columns.filter((c) => !SENT_AS_STORED.has(c.type) || !given.includes(c));
}

/**
 * The `RETURNING` list of a one-row `insert` or `update` of the head (alias `l`): the version's
 * number, its fixed fields, actor, reason and meta, and only the columns of `readBack`; the op
 * and the rest of the data are the caller's ({@link decodeWritten}). An insert of the bench's five
 * text columns reads back 5 columns instead of 11, which costs the server and node-postgres less
 * (docs/performance.md, "The write reads back what it did not send").
 */
export function writtenProjection(readBack: readonly ResolvedColumn[]): string {
  return [
    'l.version',
    `${fixedFieldsSql('l', undefined)} AS ${quoteIdent(FIXED_FIELDS)}`,
    'l.actor',
    'l.reason',
    'l.meta::text AS meta',
    ...readBack.map((c) => `${readExpr('l', c)} AS ${quoteIdent(c.sqlName)}`),
  ].join(', ');
}

/** The version an `insert` or `update` wrote, from {@link writtenProjection}'s values and its input. */
export function decodeWritten<T>(
  def: TableDef,
  op: Op,
  readBack: readonly ResolvedColumn[],
  fields: ReadonlyMap<ResolvedColumn, unknown>,
  values: readonly unknown[],
): Version<T> {
  const meta = values[4] === null || values[4] === undefined ? null : JSON.parse(String(values[4]));
  const data = sentAndReadBack(def, fields, readBack, values, 5);
  return assemble(values[0], op, String(values[1]), values[2], values[3], meta, data);
}
