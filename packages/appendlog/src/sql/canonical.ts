import type { ColumnType } from '../schema/column.js';
import { quoteIdent, quoteLiteral } from '../schema/names.js';

/** The domain tag that opens every version-hash preimage; bumped with the spec version. */
export const HASH_DOMAIN = 'appendlog/v1';

/** `to_char` format of a canonical timestamp: UTC, microseconds, `Z`. */
export const TIMESTAMP_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"';

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
      return `pg_catalog.to_char(${expr} AT TIME ZONE 'UTC', ${quoteLiteral(TIMESTAMP_FORMAT)})`;
    default:
      return `(${expr})::text`;
  }
}

/** SQL for the length-prefixed field `F(x)` of the spec; `NULL` in gives `NULL` out. */
export function encSql(schema: string, textExpr: string): string {
  return `${quoteIdent(schema)}.appendlog_enc(${textExpr})`;
}

/** SQL for `F(x)` where a null is encoded as the four bytes `ff ff ff ff`. */
export function encNullableSql(schema: string, textExpr: string): string {
  return `coalesce(${encSql(schema, textExpr)}, '\\xffffffff'::bytea)`;
}

/**
 * SQL for the canonical content of the row `rec` (docs/spec.md §3): the non-null columns in
 * byte order of their SQL names, each as `F(name) ‖ F(value)`.
 */
export function canonicalContentSql(
  schema: string,
  rec: string,
  columns: readonly { sqlName: string; type: ColumnType }[],
): string {
  const sorted = [...columns].sort((a, b) => (a.sqlName < b.sqlName ? -1 : a.sqlName > b.sqlName ? 1 : 0));
  if (sorted.length === 0) return `'\\x'::bytea`;
  return sorted
    .map((c) => {
      const value = canonicalTextSql(`${rec}.${quoteIdent(c.sqlName)}`, c.type);
      return `coalesce(${encSql(schema, quoteLiteral(c.sqlName))} || ${encSql(schema, value)}, '\\x'::bytea)`;
    })
    .join('\n      || ');
}

/** SQL for the version hash of the row `rec` (docs/spec.md §4). */
export function versionHashSql(schema: string, tableName: string, rec: string): string {
  const f = (e: string) => encSql(schema, e);
  const n = (e: string) => encNullableSql(schema, e);
  return `pg_catalog.sha256(
      ${f(quoteLiteral(HASH_DOMAIN))}
      || ${f(quoteLiteral(tableName))}
      || ${f(`${rec}.entry_id::text`)}
      || ${f(`${rec}.version::text`)}
      || ${f(`${rec}.op`)}
      || ${f(canonicalTextSql(`${rec}.recorded_at`, 'timestamptz'))}
      || ${f(`${rec}.tx_id::text`)}
      || ${n(`${rec}.actor`)}
      || ${n(`${rec}.reason`)}
      || ${n(`${rec}.meta::text`)}
      || coalesce(${rec}.parent_hash, '\\x${'00'.repeat(32)}'::bytea)
      || ${rec}.content_hash)`;
}
