import type { DestructiveChange } from '../errors.js';
import { quoteIdent } from '../schema/names.js';
import type { TableDef } from '../schema/table.js';
import { catalogDdl } from '../sql/catalog-ddl.js';
import { tableObjects } from '../sql/names.js';
import { addColumnDdl, codeDdl, createStorageDdl, type StoredColumn } from '../sql/table-ddl.js';
import type { ExistingColumn } from './introspect.js';

/** One applied change, as recorded in the schema history. */
export interface SchemaChange {
  table: string;
  change: 'create_table' | 'add_columns';
  columns: string[];
  statements: string;
  definition: { columns: StoredColumn[] };
}

export interface MigrationPlan {
  /** Every statement, in order, as one script per step. */
  statements: string[];
  changes: SchemaChange[];
  destructive: DestructiveChange[];
}

export interface PlanOptions {
  /** A role to grant the app's privileges to (and deny UPDATE/DELETE/TRUNCATE of the log). */
  appRole?: string | undefined;
}

/** Compares the definitions with what the database has and plans only additive changes. */
export function planMigration(
  schema: string,
  defs: readonly TableDef[],
  existing: Map<string, ExistingColumn[]>,
  options: PlanOptions = {},
): MigrationPlan {
  const statements = [catalogDdl(schema)];
  const changes: SchemaChange[] = [];
  const destructive: DestructiveChange[] = [];

  for (const def of defs) {
    const stored = existing.get(def.name);
    const wanted: StoredColumn[] = def.columns.map((c) => ({
      sqlName: c.sqlName,
      type: c.type,
      notNull: c.notNull,
    }));
    if (!stored) {
      const sql = createStorageDdl(schema, def.name, wanted) + codeDdl(schema, def.name, wanted);
      statements.push(sql);
      changes.push({
        table: def.name,
        change: 'create_table',
        columns: wanted.map((c) => c.sqlName),
        statements: sql,
        definition: { columns: wanted },
      });
      continue;
    }
    const byName = new Map(stored.map((c) => [c.sqlName, c]));
    const wantedNames = new Set(wanted.map((c) => c.sqlName));
    for (const old of stored) {
      if (!wantedNames.has(old.sqlName)) {
        destructive.push({
          table: def.name,
          column: old.sqlName,
          change: 'the definition no longer has this column (drop or rename)',
          instead:
            'keep the column in the definition; to rename, add the new column, write both, and stop reading the old one',
        });
      }
    }
    const added: StoredColumn[] = [];
    for (const col of wanted) {
      const old = byName.get(col.sqlName);
      if (!old) {
        if (col.notNull) {
          destructive.push({
            table: def.name,
            column: col.sqlName,
            change: 'a new notNull column would make every existing entry invalid',
            instead:
              'add it nullable, backfill the entries that need a value, and enforce it in the application',
          });
        }
        added.push(col);
        continue;
      }
      if (old.type !== col.type) {
        destructive.push({
          table: def.name,
          column: col.sqlName,
          change: `type change from ${old.sqlType} to ${col.type}`,
          instead: `add a new column of type ${col.type} under another name and write both while readers move over`,
        });
      }
      if (col.notNull && !old.notNull) {
        destructive.push({
          table: def.name,
          column: col.sqlName,
          change: 'adding notNull to an existing column',
          instead: 'validate in the application; existing versions may hold nulls that history must keep',
        });
      }
      if (!col.notNull && old.notNull) {
        destructive.push({
          table: def.name,
          column: col.sqlName,
          change: 'dropping notNull from a column running code relies on',
          instead: 'keep notNull, or add a new nullable column',
        });
      }
    }
    if (added.length > 0) {
      // Code is regenerated over the physical column order, so views only ever gain columns at the end.
      const all: StoredColumn[] = [...stored, ...added];
      const sql = [
        ...added.map((c) => addColumnDdl(schema, def.name, c)),
        codeDdl(schema, def.name, all),
      ].join('\n');
      statements.push(sql);
      changes.push({
        table: def.name,
        change: 'add_columns',
        columns: added.map((c) => c.sqlName),
        statements: sql,
        definition: { columns: all },
      });
    }
  }
  if (options.appRole !== undefined) {
    statements.push(grantsDdl(schema, defs, options.appRole));
  }
  return { statements, changes, destructive };
}

/** Privileges for an application role: read and append, never rewrite. */
export function grantsDdl(schema: string, defs: readonly TableDef[], role: string): string {
  const r = quoteIdent(role);
  const lines = [`GRANT USAGE ON SCHEMA ${quoteIdent(schema)} TO ${r};`];
  for (const def of defs) {
    const o = tableObjects(schema, def.name);
    lines.push(
      `GRANT SELECT, INSERT ON ${o.log} TO ${r};`,
      `REVOKE UPDATE, DELETE, TRUNCATE ON ${o.log} FROM ${r};`,
      // The chain trigger runs as the writer: it locks and upserts the head (its guard refuses direct writes).
      `GRANT SELECT, INSERT, UPDATE ON ${o.head} TO ${r};`,
      `REVOKE DELETE, TRUNCATE ON ${o.head} FROM ${r};`,
      `GRANT SELECT, INSERT, UPDATE, DELETE ON ${o.view} TO ${r};`,
      `GRANT EXECUTE ON FUNCTION ${o.append}(text, uuid, integer, text, text, jsonb, jsonb) TO ${r};`,
      `GRANT EXECUTE ON FUNCTION ${o.asOf}(timestamptz) TO ${r};`,
    );
  }
  return lines.join('\n');
}
