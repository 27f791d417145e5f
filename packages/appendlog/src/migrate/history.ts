import { InvalidInputError } from '../errors.js';
import { utcIsoSql } from '../sql/canonical.js';
import { catalog } from '../sql/catalog-reader.js';
import { catalogName } from '../sql/names.js';
import { op } from '../sql/search-path.js';
import type { TableDefinition } from './definition.js';
import type { SqlRunner } from './sql-runner.js';

/**
 * The kinds of change the schema history records. `upgrade_code` regenerates a table's functions,
 * triggers and view from a newer appendlog, its columns unchanged.
 *
 * @example
 * const created = (await db.schemaHistory()).filter((r) => r.change === 'create_table');
 */
export type SchemaChangeKind = 'create_table' | 'add_columns' | 'set_defaults' | 'upgrade_code';

/**
 * One applied schema change. The history is append-only (UPDATE, DELETE and TRUNCATE are
 * refused); each record carries the table's whole resulting definition.
 *
 * @example
 * const [latest] = (await db.schemaHistory({ table: 'addresses' })).slice(-1);
 * console.log(latest?.appliedAtIso, latest?.summary, latest?.definition.columns.length);
 */
export interface SchemaHistoryRecord {
  /** Order of application across all tables of the schema. */
  seq: number;
  appliedAt: Date;
  /** `appliedAt` exactly, ISO 8601 in UTC with microseconds. */
  appliedAtIso: string;
  table: string;
  change: SchemaChangeKind;
  /** The columns the change created or whose default it set; null in records written before the catalog had it. */
  columns: string[] | null;
  /** A readable description (`add column tel text`); null in records written before it existed. */
  summary: string | null;
  /** The table's definition after the change. */
  definition: TableDefinition;
  /** The appendlog version that applied it. */
  libraryVersion: string;
  /** The database role that applied it; null in records written before it was recorded. */
  appliedBy: string | null;
  /** The SQL that ran. */
  statements: string;
}

/**
 * Options of `db.schemaHistory`.
 *
 * @example
 * await db.schemaHistory({ table: 'addresses' });
 */
export interface SchemaHistoryOptions {
  /** Only this table's records. */
  table?: string;
}

interface StoredRecord {
  seq: number;
  table_name: string;
  change: SchemaChangeKind;
  columns?: string[] | null;
  summary?: string | null;
  definition: TableDefinition;
  library_version: string;
  applied_by?: string | null;
  statements: string;
}

/**
 * Reads the schema history, oldest first. Works on a catalog of any appendlog version (columns a
 * version did not have read as null) and on a schema never migrated (no records).
 */
export async function readSchemaHistory(
  sql: SqlRunner,
  schema: string,
  options: SchemaHistoryOptions = {},
): Promise<SchemaHistoryRecord[]> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidInputError('schema history options must be an object', 'options');
  }
  if (options.table !== undefined && typeof options.table !== 'string') {
    throw new InvalidInputError('table must be a table name', 'table');
  }
  const history = catalogName(schema, 'appendlog_schema_history');
  if (!(await catalog.exists(sql, schema))) return [];
  // to_jsonb reads whichever columns this catalog has, so an old catalog reads fine before its upgrade.
  const rows = await sql.run<{ record: string; applied_at: string }>(
    `SELECT (pg_catalog.to_jsonb(h) ${op('-')} 'applied_at')::text AS record,
            ${utcIsoSql('h.applied_at')} AS applied_at
       FROM ${history} h
      WHERE $1::text IS NULL OR h.table_name = $1::text
      ORDER BY h.seq`,
    [options.table ?? null],
  );
  return rows.map((row) => {
    const r = JSON.parse(row.record) as StoredRecord;
    return {
      seq: Number(r.seq),
      appliedAt: new Date(row.applied_at),
      appliedAtIso: row.applied_at,
      table: r.table_name,
      change: r.change,
      columns: r.columns ?? null,
      summary: r.summary ?? null,
      definition: r.definition,
      libraryVersion: r.library_version,
      appliedBy: r.applied_by ?? null,
      statements: r.statements,
    };
  });
}

/**
 * What the planner needs of the history, without the statements each record carries (they
 * add up): table, change and resulting definition, oldest first.
 */
export async function readRecordedDefinitions(
  sql: SqlRunner,
  schema: string,
): Promise<Array<{ table: string; change: string; definition: TableDefinition }>> {
  return (await catalog.definitions(sql, schema)) as Array<{
    table: string;
    change: string;
    definition: TableDefinition;
  }>;
}
