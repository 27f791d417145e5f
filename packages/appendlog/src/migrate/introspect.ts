import { SYSTEM_COLUMNS } from '../model/log-columns.js';
import { type ColumnType, columnTypeOfSql } from '../schema/column.js';
import { op } from '../sql/search-path.js';
import { codeRevisionSql, type StoredColumn } from '../sql/table-ddl.js';
import type { SqlRunner } from './sql-runner.js';

/** A user column as the database has it; `type` is the SQL type name when appendlog does not know it. */
export interface ExistingColumn extends StoredColumn {
  sqlType: string;
  /** Whether the log column has a default (its value is known from the schema history). */
  hasDefault: boolean;
}

/**
 * Reads the user columns of each table's log, in physical order, with their not-null flag
 * taken from the `<column>_required` check constraint. Tables without a log are absent.
 */
export async function readExistingTables(
  sql: SqlRunner,
  schema: string,
  tables: readonly string[],
): Promise<Map<string, ExistingColumn[]>> {
  const logs = tables.map((t) => `${t}_log`);
  const rows = await sql.run<{
    relname: string;
    attname: string;
    type: string;
    required: boolean;
    has_default: boolean;
  }>(
    `SELECT c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type, a.atthasdef AS has_default,
            EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k
                     WHERE k.conrelid = c.oid AND k.contype = 'c' AND k.conname = a.attname ${op('||')} '_required') AS required
       FROM pg_catalog.pg_attribute a
       JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = ANY($2::text[]) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY c.relname, a.attnum`,
    [schema, logs],
  );
  const result = new Map<string, ExistingColumn[]>();
  for (const t of tables) {
    const mine = rows.filter((r) => r.relname === `${t}_log`);
    if (mine.length === 0) continue;
    result.set(
      t,
      mine
        .filter((r) => !SYSTEM_COLUMNS.includes(r.attname))
        .map((r) => ({
          sqlName: r.attname,
          sqlType: r.type,
          type: columnTypeOfSql(r.type) ?? (r.type as ColumnType),
          notNull: r.required,
          hasDefault: r.has_default,
        })),
    );
  }
  return result;
}

/**
 * The code revision of each table's generated code, read from its chain function (see
 * `TABLE_CODE_REVISION`); 1 for code made before revisions were marked. Tables without a chain
 * function are absent.
 */
export async function readCodeRevisions(
  sql: SqlRunner,
  schema: string,
  tables: readonly string[],
): Promise<Map<string, number>> {
  const rows = await sql.run<{ table_name: string; revision: number | null }>(
    `SELECT t AS table_name, ${codeRevisionSql('p')} AS revision
       FROM pg_catalog.unnest($2::text[]) t
       JOIN pg_catalog.pg_proc p ON p.oid = pg_catalog.to_regprocedure(pg_catalog.format('%I.%I()', $1::text, t || '_log_chain'))`,
    [schema, tables],
  );
  return new Map(rows.map((r) => [r.table_name, r.revision === null ? 1 : Number(r.revision)]));
}
