import { field, versionHashPrefix } from '../hash/spec.js';
import { VERSION_HASH_FIELDS, type VersionHashField } from '../model/log-columns.js';
import type { ColumnType } from '../schema/column.js';
import { quoteIdent, quoteLiteral } from '../schema/names.js';

/** `to_char` format of a canonical timestamp: UTC, microseconds, `Z`. */
export const TIMESTAMP_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"';

/**
 * SQL giving the `timestamptz` expression `expr` as ISO 8601 text in UTC with microseconds (the
 * spec's form, and the only one every driver returns identically whatever the session's settings).
 */
export function utcIsoSql(expr: string): string {
  return `pg_catalog.to_char(${expr} AT TIME ZONE 'UTC', ${quoteLiteral(TIMESTAMP_FORMAT)})`;
}

/**
 * The SQL expression for a value's canonical text (docs/spec.md §2). Every branch is immune to
 * TimeZone, DateStyle and extra_float_digits: timestamps go through `AT TIME ZONE 'UTC'` and
 * `to_char`, and there are no floating-point types.
 */
export function canonicalTextSql(expr: string, type: ColumnType): string {
  switch (type) {
    case 'text':
      return expr;
    case 'date':
      return `pg_catalog.to_char(${expr}, 'YYYY-MM-DD')`;
    case 'timestamptz':
      return utcIsoSql(expr);
    default:
      return `(${expr})::text`;
  }
}

/** The bytes of `text` (UTF-8, whatever the database encoding), as the spec hashes them. */
function utf8Sql(textExpr: string): string {
  return `pg_catalog.convert_to(${textExpr}, 'UTF8')`;
}

/**
 * `F(x1) ‖ F(x2) ‖ …` of `bytea` expressions, in one call: `array_send` writes each element of
 * a one-dimensional array as its length (int4, big-endian) followed by its bytes, and a null
 * element as the int4 -1, `ff ff ff ff`: exactly the spec's `F` and its encoding of null. The
 * 20-byte header before the elements (dimensions, null flag, element type, length, lower bound)
 * is cut off; an empty array has a shorter header and comes out empty.
 *
 * Spelling `F` out per field instead (`int4send(octet_length(b)) || b`) costs five function
 * calls per field, and plpgsql sets up every call of an expression again in each transaction
 * (a catalog lookup and a permission check each): with two dozen fields that was a fifth of a
 * write. Here each field costs one call (`convert_to`).
 */
function fieldsSql(byteaArray: string): string {
  return `pg_catalog.substr(pg_catalog.array_send(${byteaArray}), 21)`;
}

/**
 * SQL for the canonical content of the row `rec` (docs/spec.md §3): the non-null columns in
 * byte order of their SQL names, each as `F(name) ‖ F(value)`. A null column contributes a null
 * name and a null value, and `array_remove` drops both before {@link fieldsSql} encodes the rest.
 */
export function canonicalContentSql(
  _schema: string,
  rec: string,
  columns: readonly { sqlName: string; type: ColumnType }[],
): string {
  const sorted = [...columns].sort((a, b) => (a.sqlName < b.sqlName ? -1 : a.sqlName > b.sqlName ? 1 : 0));
  if (sorted.length === 0) return `'\\x'::bytea`;
  const elements = sorted.flatMap((c) => {
    const ref = `${rec}.${quoteIdent(c.sqlName)}`;
    return [
      `CASE WHEN ${ref} IS NULL THEN NULL ELSE '\\x${Buffer.from(c.sqlName, 'utf8').toString('hex')}'::bytea END`,
      utf8Sql(canonicalTextSql(ref, c.type)),
    ];
  });
  return fieldsSql(`pg_catalog.array_remove(ARRAY[${elements.join(',\n        ')}]::bytea[], NULL)`);
}

/**
 * Where {@link versionHashSql} takes a version's recorded time and parent hash from, when not
 * from the row itself: the chain trigger's fast path hashes inside the head's `UPDATE`, where
 * both come from the head row.
 */
export interface HashSources {
  recordedAt?: string;
  parentHash?: string;
  contentHash?: string;
}

/** SQL for the version hash of the row `rec` (docs/spec.md §4). */
export function versionHashSql(
  _schema: string,
  tableName: string,
  rec: string,
  from: HashSources = {},
): string {
  const text: Record<VersionHashField, string> = {
    entry_id: `${rec}.entry_id::text`,
    version: `${rec}.version::text`,
    op: `${rec}.op`,
    recorded_at: canonicalTextSql(from.recordedAt ?? `${rec}.recorded_at`, 'timestamptz'),
    tx_id: `${rec}.tx_id::text`,
    actor: `${rec}.actor`,
    reason: `${rec}.reason`,
    meta: `${rec}.meta::text`,
  };
  const fields = VERSION_HASH_FIELDS.map((f) => utf8Sql(text[f]));
  // Only actor, reason and meta can be null, and a null field is `ff ff ff ff`, as the spec says.
  const prefix = versionHashPrefix(tableName).toString('hex');
  return `pg_catalog.sha256(
      '\\x${prefix}'::bytea
      || ${fieldsSql(`ARRAY[${fields.join(',\n        ')}]::bytea[]`)}
      || coalesce(${from.parentHash ?? `${rec}.parent_hash`}, '\\x${'00'.repeat(32)}'::bytea)
      || ${from.contentHash ?? `${rec}.content_hash`})`;
}

/**
 * The fields of a set-based load's version hash that every row of one load shares, as one
 * `bytea` to compute once per load: `F(tx_id) ‖ F(actor) ‖ F(reason) ‖ F(meta)` and the all-zero
 * parent of a first version. The arguments are SQL expressions (plpgsql variables in
 * `<t>_insert_many`).
 */
export function firstVersionSharedFieldsSql(
  txId: string,
  actor: string,
  reason: string,
  meta: string,
): string {
  const fields = [`${txId}::text`, actor, reason, `${meta}::text`];
  return `${fieldsSql(`ARRAY[${fields.map(utf8Sql).join(', ')}]::bytea[]`)} || '\\x${'00'.repeat(32)}'::bytea`;
}

/**
 * The version hash of a first version written by a set-based load (docs/spec.md §4), from its
 * entry id, its recorded time, the fields every row of the load shares
 * ({@link firstVersionSharedFieldsSql}) and its content hash: the same bytes as
 * {@link versionHashSql}, with a few function calls per row instead of a dozen. An entry id's
 * text is always 36 characters, and version and op are `1` and `insert`, so their `F` prefixes
 * are constants.
 */
export function firstVersionHashSql(
  tableName: string,
  entryId: string,
  recordedAt: string,
  shared: string,
  contentHash: string,
): string {
  const head = versionHashPrefix(tableName).toString('hex');
  const mid = Buffer.concat([field('1'), field('insert')]).toString('hex');
  const time = utf8Sql(canonicalTextSql(recordedAt, 'timestamptz'));
  return `pg_catalog.sha256('\\x${head}00000024'::bytea || ${utf8Sql(`${entryId}::text`)}
      || '\\x${mid}'::bytea || ${fieldsSql(`ARRAY[${time}]`)}
      || ${shared} || ${contentHash})`;
}
