import type { DestructiveChange } from '../errors.js';
import { quoteIdent } from '../schema/names.js';
import type { TableDef } from '../schema/table.js';
import { columnDefaultDdl, defaultSql } from '../sql/column-default.js';
import { catalogName, tableObjects } from '../sql/names.js';
import {
  addColumnDdl,
  type CodeOptions,
  codeDdl,
  createStorageDdl,
  HEAD_FIRST_REVISION,
  headFirstUpgradeDdl,
  LEAN_LOG_REVISION,
  leanLogUpgradeDdl,
  type StoredColumn,
  TABLE_CODE_REVISION,
} from '../sql/table-ddl.js';
import {
  describeColumn,
  sameColumns,
  sameDefault,
  storedColumns,
  type TableDefinition,
} from './definition.js';
import type { SchemaChangeKind } from './history.js';
import type { ExistingColumn } from './introspect.js';

/** One change to apply, as the schema history will record it. */
export interface SchemaChange {
  table: string;
  change: SchemaChangeKind;
  /** The columns created, or whose default is set. */
  columns: string[];
  summary: string;
  statements: string;
  definition: TableDefinition;
}

/** What the planner needs to know of a history record. */
export interface RecordedDefinition {
  table: string;
  change: string;
  definition: TableDefinition;
}

export interface MigrationPlan {
  /** Every statement, in order, as one script per step. */
  statements: string[];
  changes: SchemaChange[];
  destructive: DestructiveChange[];
  /** Tables whose definition is an older one from the history: old code, nothing to do. */
  behind: string[];
}

export interface PlanOptions {
  /** A role to grant the app's privileges to (and deny UPDATE/DELETE/TRUNCATE of the log). */
  appRole?: string | undefined;
  /** The definitions are every table of the schema: a recorded table missing from them is a drop. */
  all?: boolean | undefined;
  /** The catalog script, when the catalog is missing or older than this library's. */
  catalog?: string | undefined;
  /**
   * The code revision of each existing table (`readCodeRevisions`); a table missing here counts
   * as up to date.
   */
  codeRevisions?: Map<string, number> | undefined;
  /** The schema's tables are row-sharded on Citus: their code is generated for it ({@link codeDdl}). */
  sharded?: boolean | undefined;
}

/**
 * Compares the definitions with what the database has and plans only additive changes; every
 * destructive one is listed (and nothing planned is run when there is any).
 *
 * `existing` holds the user columns of each table whose log exists (for `all`, every recorded
 * table too); `history` is the schema history, oldest first.
 */
export function planMigration(
  schema: string,
  defs: readonly TableDef[],
  existing: Map<string, ExistingColumn[]>,
  history: readonly RecordedDefinition[],
  options: PlanOptions = {},
): MigrationPlan {
  const statements: string[] = [];
  const changes: SchemaChange[] = [];
  const destructive: DestructiveChange[] = [];
  const behind: string[] = [];
  const code = { sharded: options.sharded === true };

  for (const def of defs) {
    const wanted = storedColumns(def);
    const stored = existing.get(def.name);
    if (!stored) {
      const sql = createStorageDdl(schema, def.name, wanted) + codeDdl(schema, def.name, wanted, code);
      statements.push(sql);
      changes.push({
        table: def.name,
        change: 'create_table',
        columns: wanted.map((c) => c.sqlName),
        summary: `create table ${def.name} (${wanted.map(describeColumn).join(', ')})`,
        statements: sql,
        definition: { columns: wanted },
      });
      continue;
    }
    const recorded = history.filter((r) => r.table === def.name);
    const current = currentColumns(stored, recorded.at(-1));
    const revision = options.codeRevisions?.get(def.name) ?? TABLE_CODE_REVISION;
    const upToDate = sameColumns(wanted, current);
    // An app instance still running the old code (restarting mid-deploy, say) migrates with a
    // definition the history already has: nothing to do, and nothing to refuse.
    const isBehind = !upToDate && recorded.some((r) => sameColumns(r.definition.columns, wanted));
    if (isBehind) behind.push(def.name);
    if (upToDate || isBehind) {
      // Same columns, older generated code: regenerate it over the columns the database has.
      if (revision < TABLE_CODE_REVISION) {
        const sql =
          storageUpgradeDdl(schema, def.name, current, revision) + codeDdl(schema, def.name, current, code);
        statements.push(sql);
        changes.push({
          table: def.name,
          change: 'upgrade_code',
          columns: [],
          summary: `regenerate the table's code (revision ${revision} to ${TABLE_CODE_REVISION})`,
          statements: sql,
          definition: { columns: current },
        });
      }
      continue;
    }
    const step = planTable(schema, def.name, wanted, current, stored, revision, code);
    if (revision > TABLE_CODE_REVISION && step.changes.length > 0) {
      // Adding a column regenerates the table's code: here that would put older code in place.
      step.destructive.push({
        table: def.name,
        change: `replacing the table's code (revision ${revision}, from a newer appendlog) with this library's older revision ${TABLE_CODE_REVISION}`,
        instead: 'run this migration with the newer appendlog that made the code',
      });
    }
    destructive.push(...step.destructive);
    if (step.destructive.length > 0 || step.changes.length === 0) continue;
    statements.push(step.sql);
    changes.push(...step.changes);
  }

  if (options.all) {
    const listed = new Set(defs.map((d) => d.name));
    const recordedTables = new Set(history.filter((r) => r.change === 'create_table').map((r) => r.table));
    for (const name of recordedTables) {
      if (listed.has(name) || !existing.has(name)) continue;
      destructive.push({
        table: name,
        change:
          'dropping a table (it is in the schema history but not in the definitions, and { all: true } says they are complete)',
        instead:
          'keep the table in the definitions and stop using it in code; its history stays readable and verifiable',
      });
    }
  }

  if (options.catalog !== undefined) statements.unshift(options.catalog);
  if (options.appRole !== undefined) {
    statements.push(grantsDdl(schema, defs, options.appRole));
  }
  return { statements, changes, destructive, behind };
}

/** The stored columns with the defaults the latest history record gives them. */
function currentColumns(
  stored: readonly ExistingColumn[],
  latest: RecordedDefinition | undefined,
): StoredColumn[] {
  const recorded = new Map((latest?.definition.columns ?? []).map((c) => [c.sqlName, c]));
  return stored.map((s) => {
    const c: StoredColumn = { sqlName: s.sqlName, type: s.type, notNull: s.notNull };
    const r = recorded.get(s.sqlName);
    if (s.hasDefault && r?.default !== undefined) c.default = r.default;
    return c;
  });
}

interface TableStep {
  sql: string;
  changes: SchemaChange[];
  destructive: DestructiveChange[];
}

/** The storage change a table made by an older code revision needs before its code is regenerated. */
function storageUpgradeDdl(
  schema: string,
  table: string,
  current: readonly StoredColumn[],
  revision: number,
): string {
  return (
    (revision < HEAD_FIRST_REVISION ? headFirstUpgradeDdl(schema, table, current) : '') +
    (revision < LEAN_LOG_REVISION ? leanLogUpgradeDdl(schema, table) : '')
  );
}

function planTable(
  schema: string,
  table: string,
  wanted: readonly StoredColumn[],
  current: readonly StoredColumn[],
  stored: readonly ExistingColumn[],
  revision: number,
  code: CodeOptions,
): TableStep {
  const currentByName = new Map(current.map((c) => [c.sqlName, c]));
  const wantedByName = new Map(wanted.map((c) => [c.sqlName, c]));
  const added = wanted.filter((c) => !currentByName.has(c.sqlName));
  const kept = wanted.flatMap((col) => {
    const old = currentByName.get(col.sqlName);
    return old ? [{ col, old }] : [];
  });
  const sqlTypes = new Map(stored.map((c) => [c.sqlName, c.sqlType]));
  const destructive = [
    ...droppedColumns(table, current, wantedByName, added),
    ...addedWithoutDefault(table, added),
    ...kept.flatMap(({ col, old }) => changedColumn(table, col, old, sqlTypes.get(col.sqlName))),
  ];
  if (destructive.length > 0) return { sql: '', changes: [], destructive };
  const defaultsSet = kept.filter(({ col, old }) => !sameDefault(col, old)).map(({ col }) => col);
  if (added.length === 0 && defaultsSet.length === 0) return { sql: '', changes: [], destructive };

  // Code is regenerated over the physical column order, so views only ever gain columns at the end.
  const all: StoredColumn[] = [...current.map((c) => wantedByName.get(c.sqlName)!), ...added];
  const o = tableObjects(schema, table);
  const sql = [
    storageUpgradeDdl(schema, table, current, revision),
    ...added.map((c) => addColumnDdl(schema, table, c)),
    codeDdl(schema, table, all, code),
    ...defaultsSet.map((c) => columnDefaultDdl(o, c)),
  ].join('\n');
  return { sql, changes: changeRecords(table, added, defaultsSet, sql, { columns: all }), destructive };
}

/** Columns the definition no longer has: dropping one (or renaming it) breaks running code. */
function droppedColumns(
  table: string,
  current: readonly StoredColumn[],
  wantedByName: ReadonlyMap<string, StoredColumn>,
  added: readonly StoredColumn[],
): DestructiveChange[] {
  return current
    .filter((old) => !wantedByName.has(old.sqlName))
    .map((old) => {
      const renamedTo = added.filter((c) => c.type === old.type).map((c) => c.sqlName);
      return {
        table,
        column: old.sqlName,
        change:
          renamedTo.length > 0
            ? `the definition no longer has this column (dropped, or renamed to ${renamedTo.join(' or ')})`
            : 'the definition no longer has this column (dropped or renamed)',
        instead:
          'keep the column in the definition (code may stop using it); to rename, add the new column, write both, and move readers over',
      };
    });
}

/** New notNull columns without a default: code that does not know them could not insert. */
function addedWithoutDefault(table: string, added: readonly StoredColumn[]): DestructiveChange[] {
  return added
    .filter((col) => col.notNull && col.default === undefined)
    .map((col) => ({
      table,
      column: col.sqlName,
      change:
        'a new notNull column without a default: running code that does not know it could not insert any more',
      instead: `give it a default (c.${col.type}().notNull().default(…)), or add it nullable and enforce it in the application`,
    }));
}

/** What changing a kept column would break: its type, its notNull, the default of a notNull column. */
function changedColumn(
  table: string,
  col: StoredColumn,
  old: StoredColumn,
  oldSqlType: string | undefined,
): DestructiveChange[] {
  const refuse = (change: string, instead: string): DestructiveChange => ({
    table,
    column: col.sqlName,
    change,
    instead,
  });
  const out: DestructiveChange[] = [];
  if (old.type !== col.type) {
    out.push(
      refuse(
        `type change from ${oldSqlType ?? old.type} to ${col.type}`,
        `add a new column of type ${col.type} under another name and write both while readers move over`,
      ),
    );
  }
  if (col.notNull && !old.notNull) {
    out.push(
      refuse(
        'adding notNull to an existing column',
        'validate in the application; existing versions may hold nulls that history must keep (or add a new notNull column with a default)',
      ),
    );
  }
  if (!col.notNull && old.notNull) {
    out.push(
      refuse(
        'dropping notNull from a column running code relies on',
        'keep notNull, or add a new nullable column',
      ),
    );
  }
  if (!sameDefault(col, old) && col.default === undefined && col.notNull) {
    out.push(
      refuse(
        `removing the default of a notNull column: running code that does not know the column could not insert any more`,
        'keep a default (changing its value is fine)',
      ),
    );
  }
  return out;
}

/** The schema-history records of a table's step: columns added, defaults set (one script for both). */
function changeRecords(
  table: string,
  added: readonly StoredColumn[],
  defaultsSet: readonly StoredColumn[],
  sql: string,
  definition: { columns: StoredColumn[] },
): SchemaChange[] {
  const changes: SchemaChange[] = [];
  if (added.length > 0) {
    changes.push({
      table,
      change: 'add_columns',
      columns: added.map((c) => c.sqlName),
      summary: added.map((c) => `add column ${describeColumn(c)}`).join('; '),
      statements: sql,
      definition,
    });
  }
  if (defaultsSet.length > 0) {
    changes.push({
      table,
      change: 'set_defaults',
      columns: defaultsSet.map((c) => c.sqlName),
      summary: defaultsSet
        .map((c) =>
          c.default === undefined
            ? `drop default of ${c.sqlName}`
            : `set default of ${c.sqlName} to ${defaultSql(c)}`,
        )
        .join('; '),
      // One script per table: the add_columns record, when there is one, holds it.
      statements: added.length > 0 ? '' : sql,
      definition,
    });
  }
  return changes;
}

/** Privileges for an application role: read and append, never rewrite. */
export function grantsDdl(schema: string, defs: readonly TableDef[], role: string): string {
  const r = quoteIdent(role);
  const lines = [
    `GRANT USAGE ON SCHEMA ${quoteIdent(schema)} TO ${r};`,
    // Erasure status is readable; purging (the <t>_redact functions) stays with the owner.
    `GRANT SELECT ON ${catalogName(schema, 'appendlog_erasures')}, ${catalogName(schema, 'appendlog_retention')} TO ${r};`,
    // The tables' recorded definitions: db.changes() reads every table's columns from them.
    `GRANT SELECT ON ${catalogName(schema, 'appendlog_schema_history')} TO ${r};`,
    // Where the logs were archived: db.changes() starts after the latest archive.
    `GRANT SELECT ON ${catalogName(schema, 'appendlog_archives')} TO ${r};`,
    // Projections run as the app: they register themselves and advance their cursor; none is ever deleted.
    `GRANT SELECT, INSERT, UPDATE ON ${catalogName(schema, 'appendlog_projections')} TO ${r};`,
  ];
  for (const def of defs) {
    const o = tableObjects(schema, def.name);
    lines.push(
      // Versions are appended by the head's chain trigger, which runs as the owner: the log is read-only to the app.
      `GRANT SELECT ON ${o.log} TO ${r};`,
      `REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ${o.log} FROM ${r};`,
      // Every INSERT or UPDATE of the head goes through the chain trigger, which sets every column it keeps.
      `GRANT SELECT, INSERT, UPDATE ON ${o.head} TO ${r};`,
      `REVOKE DELETE, TRUNCATE, REFERENCES, TRIGGER ON ${o.head} FROM ${r};`,
      `GRANT SELECT, INSERT, UPDATE, DELETE ON ${o.view} TO ${r};`,
      `GRANT EXECUTE ON FUNCTION ${o.append}(text, uuid, integer, text, text, jsonb, jsonb) TO ${r};`,
      `GRANT EXECUTE ON FUNCTION ${o.insertMany}(jsonb, text, text, jsonb) TO ${r};`,
      `GRANT EXECUTE ON FUNCTION ${o.upsert}(jsonb, text, text, jsonb) TO ${r};`,
      `GRANT EXECUTE ON FUNCTION ${o.restore}(uuid, text, text, jsonb) TO ${r};`,
      `GRANT EXECUTE ON FUNCTION ${o.asOf}(timestamptz) TO ${r};`,
    );
  }
  return lines.join('\n');
}
