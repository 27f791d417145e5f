import { columnKey, LOG_COLUMNS, type LogColumn } from '../model/log-columns.js';
import { quoteIdent } from '../schema/names.js';
import { utcIsoSql } from './canonical.js';

/**
 * SQL for the parent hash of the log row `alias` of log `log`: stored by table code before
 * revision 9, else the previous version's `hash` (one probe of the key; null for version 1).
 */
export function parentHashSql(alias: string, log: string): string {
  return `coalesce(${alias}.parent_hash, (SELECT p.hash FROM ${log} p WHERE p.entry_id = ${alias}.entry_id AND p.version = ${alias}.version - 1))`;
}

/**
 * The select list of a version's hashed fields read from the log alias `alias`, each as its
 * canonical text (docs/spec.md §2) under its key (`"entryId"`, `"recordedAt"`…): a row of it is
 * a `VersionFields`, whatever the session's TimeZone or DateStyle.
 *
 * @example
 * versionFieldsSql('l'); // 'l.entry_id::text AS "entryId", l.version::text AS "version", …'
 */
export function versionFieldsSql(alias: string): string {
  return LOG_COLUMNS.filter((c: LogColumn) => c.hashed)
    .map((c) => `${canonicalSql(`${alias}.${c.name}`, c.type)} AS ${quoteIdent(columnKey(c.name))}`)
    .join(', ');
}

/**
 * The select list of the log's `bytea` columns `names` read from `alias` as lower-case hex (null
 * stays null), each under its key: `content_hash` as `"contentHash"`. The parent hash of log `log`
 * is read as stored or derived ({@link parentHashSql}).
 */
export function hexColumnsSql(
  alias: string,
  names: readonly ('salt' | 'content_hash' | 'parent_hash' | 'hash')[],
  log: string,
): string {
  const value = (n: (typeof names)[number]) =>
    n === 'parent_hash' ? parentHashSql(alias, log) : `${alias}.${n}`;
  return names.map((n) => `pg_catalog.encode(${value(n)}, 'hex') AS ${quoteIdent(columnKey(n))}`).join(', ');
}

function canonicalSql(ref: string, type: LogColumn['type']): string {
  if (type === 'timestamptz') return utcIsoSql(ref);
  return type === 'text' ? ref : `${ref}::text`;
}
