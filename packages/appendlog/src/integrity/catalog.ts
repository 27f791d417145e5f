import { SYSTEM_COLUMNS } from '../model/log-columns.js';
import { type ColumnType, columnTypeOfSql } from '../schema/column.js';
import type { Session } from '../session.js';
import { catalog } from '../sql/catalog-reader.js';
import type { Report } from './report.js';

/** A table as the schema history records it. */
export interface RecordedTable {
  table: string;
  columns: Array<{ sqlName: string; type: ColumnType }>;
  /** The columns as recorded, with `notNull` and `default`: what the table's code was generated from. */
  definition: Array<{ sqlName: string; type: ColumnType; notNull: boolean; default?: unknown }>;
}

/**
 * The tables of the schema, from the append-only schema history (each table's latest recorded
 * definition), optionally narrowed to `only`. Returns an empty list when the catalog is absent.
 */
export async function recordedTables(tx: Session, only?: readonly string[]): Promise<RecordedTable[]> {
  const tables = [...(await catalog.latestDefinitions(tx, tx.schema))].map(([table, def]) => {
    const columns = (def.columns ?? []).map((c) => ({
      sqlName: String(c.sqlName),
      type: String(c.type) as ColumnType,
    }));
    const definition = (def.columns ?? []).map((c, i) => ({
      ...columns[i]!,
      notNull: c.notNull === true,
      ...(c.default === undefined ? {} : { default: c.default }),
    }));
    return { table, columns, definition };
  });
  return only === undefined ? tables : tables.filter((t) => only.includes(t.table));
}

/**
 * Compares a table's log with its recorded definition. Reports missing tables and columns,
 * changed types and columns nobody recorded. Returns the recorded columns that can be read
 * (null when the log itself is missing).
 */
export async function checkStoredColumns(
  tx: Session,
  t: RecordedTable,
  report: Report,
): Promise<RecordedTable['columns'] | null> {
  const rows = await tx.run<{ name: string; type: string }>(
    `SELECT a.attname AS name, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_catalog.pg_attribute a
       JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped`,
    [tx.schema, `${t.table}_log`],
  );
  if (rows.length === 0) {
    report.fail(t.table, null, null, 'table_missing', `the log table ${t.table}_log is gone`);
    return null;
  }
  const actual = new Map(rows.map((r) => [r.name, columnTypeOfSql(r.type) ?? r.type]));
  const readable: RecordedTable['columns'] = [];
  for (const c of t.columns) {
    const type = actual.get(c.sqlName);
    if (type === undefined) {
      report.fail(
        t.table,
        null,
        null,
        'column_missing',
        `column ${c.sqlName} is recorded in the schema history but missing from the log`,
      );
    } else if (type !== c.type) {
      report.fail(
        t.table,
        null,
        null,
        'column_type_changed',
        `column ${c.sqlName} was recorded as ${c.type} but is ${type}`,
      );
    } else {
      readable.push(c);
    }
  }
  const recorded = new Set(t.columns.map((c) => c.sqlName));
  for (const name of actual.keys()) {
    if (!recorded.has(name) && !SYSTEM_COLUMNS.includes(name)) {
      report.fail(
        t.table,
        null,
        null,
        'column_unexpected',
        `column ${name} is in the log but not in the schema history`,
      );
    }
  }
  return readable;
}
