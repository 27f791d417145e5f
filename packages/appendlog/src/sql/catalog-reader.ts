import type { ColumnType } from '../schema/column.js';
import { catalogName } from './names.js';

/** What reading the catalog needs of a handle: a `Session`, a migration's runner. */
export interface CatalogRunner {
  run<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<R[]>;
}

/** A table's definition as the schema history stores it (JSON, as `migrate` recorded it). */
export interface StoredDefinition {
  name?: string;
  columns: Array<{ sqlName: string; type: ColumnType; notNull?: boolean; default?: unknown; key?: string }>;
}

/**
 * The one reader of `appendlog_schema_history`, the source of truth for which tables a schema
 * holds and how each is defined: verify, checkpoints, inclusion proofs, the CAR export, change
 * feeds and the migration planner all ask here.
 */
export const catalog = {
  /** Whether the schema has appendlog's catalog at all (no `migrate` yet: it does not). */
  async exists(db: CatalogRunner, schema: string): Promise<boolean> {
    const [row] = await db.run<{ found: boolean }>(
      `SELECT pg_catalog.to_regclass($1::text) IS NOT NULL AS found`,
      [catalogName(schema, 'appendlog_schema_history')],
    );
    return row?.found === true;
  },

  /** Each table's latest recorded definition, by table name; empty without a catalog. */
  async latestDefinitions(db: CatalogRunner, schema: string): Promise<Map<string, StoredDefinition>> {
    const out = new Map<string, StoredDefinition>();
    if (!(await catalog.exists(db, schema))) return out;
    const rows = await db.run<{ table_name: string; definition: string }>(
      `SELECT DISTINCT ON (table_name) table_name, definition::text AS definition
         FROM ${catalogName(schema, 'appendlog_schema_history')}
        ORDER BY table_name, seq DESC`,
    );
    for (const r of rows) out.set(r.table_name, JSON.parse(r.definition) as StoredDefinition);
    return out;
  },

  /** Every recorded change's table, kind and resulting definition, oldest first; empty without a catalog. */
  async definitions(
    db: CatalogRunner,
    schema: string,
  ): Promise<Array<{ table: string; change: string; definition: StoredDefinition }>> {
    if (!(await catalog.exists(db, schema))) return [];
    const rows = await db.run<{ table_name: string; change: string; definition: string }>(
      `SELECT table_name, change, definition::text AS definition
         FROM ${catalogName(schema, 'appendlog_schema_history')} ORDER BY seq`,
    );
    return rows.map((r) => ({
      table: r.table_name,
      change: r.change,
      definition: JSON.parse(r.definition) as StoredDefinition,
    }));
  },
};
