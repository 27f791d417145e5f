import { InvalidStateError, InvalidUsageError } from '../errors.js';
import { quoteIdent, quoteLiteral } from '../schema/names.js';
import type { Session } from '../session.js';
import { utcIsoSql } from '../sql/canonical.js';
import { catalogName, tableObjects } from '../sql/names.js';
import { op } from '../sql/search-path.js';

/** A timestamp column as canonical UTC text. */
export const ts = utcIsoSql;

/** The appendlog tables of the schema: the heads carrying the chain trigger (readable by any role). */
export async function listTables(db: Session): Promise<string[]> {
  const rows = await db.run<{ table_name: string }>(
    `SELECT pg_catalog.left(c.relname, -5) AS table_name
       FROM pg_catalog.pg_trigger g
       JOIN pg_catalog.pg_class c ON c.oid = g.tgrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND g.tgname = 'appendlog_chain' AND c.relname ${op('~~')} '%\\_head'
      ORDER BY 1`,
    [db.schema],
  );
  return rows.map((r) => r.table_name);
}

/** Refuses, before anything is written, a role that cannot run the redaction. */
export async function checkCanRedact(db: Session, tables: readonly string[]): Promise<void> {
  for (const table of tables) {
    const fn = `${quoteIdent(db.schema)}.${quoteIdent(`${table}_redact`)}(uuid)`;
    const [row] = await db.run<{ present: boolean; allowed: boolean | null }>(
      `SELECT pg_catalog.to_regprocedure($1) IS NOT NULL AS present,
              CASE WHEN pg_catalog.to_regprocedure($1) IS NOT NULL
                   THEN pg_catalog.has_function_privilege(pg_catalog.to_regprocedure($1), 'EXECUTE') END AS allowed`,
      [fn],
    );
    if (!row?.present) {
      throw new InvalidStateError(
        `table ${table} has no erasure functions (${fn}); migrate it with this version first`,
      );
    }
    if (!row.allowed) {
      throw new InvalidUsageError(
        `purge must run as the role that owns the tables (the migration role): ${fn} is not executable by current_user`,
      );
    }
  }
}

/** SQL for the effective cut-off: `$1` (default: the database clock), capped by the database clock. */
export function cutoffSql(capped: boolean): string {
  return capped
    ? 'least(coalesce($1::timestamptz, pg_catalog.clock_timestamp()), pg_catalog.clock_timestamp())'
    : 'coalesce($1::timestamptz, pg_catalog.clock_timestamp())';
}

export interface SqlMode {
  /** Cap the cut-off by the database clock (every real run). */
  capped: boolean;
  /** Lock the rows taken, skipping rows another transaction holds (every real run). */
  lock: boolean;
}

export function retentionSql(db: Session, table: string, mode: SqlMode): string {
  const o = tableObjects(db.schema, table);
  return `SELECT h.entry_id::text AS entry_id, h.version, ${ts('h.recorded_at')} AS deleted_at
            FROM ${o.head} h
           WHERE h.op = 'delete'
             AND h.recorded_at <= ((${cutoffSql(mode.capped)} AT TIME ZONE 'UTC') - $2::interval) AT TIME ZONE 'UTC'
           ORDER BY h.recorded_at, h.entry_id
           LIMIT $3${mode.lock ? ' FOR UPDATE OF h SKIP LOCKED' : ''}`;
}

export function dueSql(db: Session, table: string, mode: SqlMode): string {
  const o = tableObjects(db.schema, table);
  const due = `(l.meta ${op('->')} 'erasure' ${op('->>')} 'dueAt')::timestamptz`;
  return `SELECT h.entry_id::text AS entry_id, h.version, l.reason, ${ts(due)} AS due_at
            FROM ${o.head} h
            JOIN ${o.log} l ON l.entry_id = h.entry_id AND l.version = h.version
           WHERE h.op = 'forget' AND ${due} <= ${cutoffSql(mode.capped)}
             AND NOT EXISTS (SELECT 1 FROM ${catalogName(db.schema, 'appendlog_erasures')} e
                              WHERE e.table_name = ${quoteLiteral(table)} AND e.entry_id = h.entry_id)
           ORDER BY ${due}, h.entry_id
           LIMIT $2${mode.lock ? ' FOR UPDATE OF h SKIP LOCKED' : ''}`;
}
