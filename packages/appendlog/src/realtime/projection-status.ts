import type { Session } from '../session.js';
import { catalog } from '../sql/catalog-reader.js';
import { tableObjects } from '../sql/names.js';
import { type ProjectionRow, projectionRows } from './projection-sql.js';

/**
 * Where a projection is, and why it is behind.
 *
 * @example
 * const s = await activity.status();
 * if (s.heldBack > 0) console.log(`waiting for transaction of pid ${s.heldBy?.pid} to end`);
 */
export interface ProjectionStatus {
  name: string;
  /** The `txId` of the last change set applied; null before the first (or after a rebuild). */
  cursor: string | null;
  /** The tables it reads; empty: every table of the schema. */
  tables: string[];
  /** Change sets applied since it started (or was rebuilt). */
  appliedSets: number;
  /** When it last applied something. */
  appliedAt: Date | null;
  /** A rebuild was asked for and has not started applying yet. */
  rebuildPending: boolean;
  /** Versions committed after the cursor that it has not applied: its lag. */
  lagVersions: number;
  /** How old the oldest of them is, in seconds (0 when there is none). */
  lagSeconds: number;
  /**
   * Of the lagging versions, those no reader may take yet: committed above the xmin horizon, after
   * a transaction that is still open (on PostgreSQL, in any database of the server). The feed
   * stalls on them, and loses none, until that transaction ends.
   */
  heldBack: number;
  /** When versions are held back: the oldest open transaction holding the horizon, where the role may see it. */
  heldBy: { pid: number; startedAt: Date | null } | null;
}

interface LagRow {
  lag: string;
  held: string;
  seconds: number | null;
}

/** The status of one projection, or of every one when `name` is undefined. */
export async function projectionStatus(db: Session, name?: string): Promise<ProjectionStatus[]> {
  if (!(await catalog.exists(db, db.schema))) return [];
  const known = [...(await catalog.latestDefinitions(db, db.schema)).keys()];
  const rows = await projectionRows.read(db, db.schema, name);
  const out: ProjectionStatus[] = [];
  for (const row of rows) out.push(await statusOf(db, row, known));
  return out;
}

async function statusOf(
  db: Session,
  row: ProjectionRow,
  known: readonly string[],
): Promise<ProjectionStatus> {
  const tables = row.tables.length === 0 ? known : row.tables.filter((t) => known.includes(t));
  const lag = await lagOf(db, tables, row.cursor);
  const heldBack = Number(lag.held);
  return {
    name: row.name,
    cursor: row.cursor,
    tables: row.tables,
    appliedSets: Number(row.applied_sets),
    appliedAt: row.applied_at,
    rebuildPending: row.needs_reset,
    lagVersions: Number(lag.lag),
    lagSeconds: Math.max(0, lag.seconds ?? 0),
    heldBack,
    heldBy: heldBack > 0 ? await oldestOpenTransaction(db) : null,
  };
}

/** Versions after `cursor` in `tables`: how many, how many above the horizon, the oldest's age. */
async function lagOf(db: Session, tables: readonly string[], cursor: string | null): Promise<LagRow> {
  if (tables.length === 0) return { lag: '0', held: '0', seconds: null };
  const logs = tables
    .map(
      (t) =>
        `SELECT l.tx_id, l.recorded_at FROM ${tableObjects(db.schema, t).log} l WHERE l.tx_id > $1::xid8`,
    )
    .join(' UNION ALL ');
  const [row] = await db.run<LagRow>(
    `WITH horizon AS MATERIALIZED (
       SELECT pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot()) AS xmin
     )
     SELECT pg_catalog.count(*)::text AS lag,
            (pg_catalog.count(*) FILTER (WHERE v.tx_id >= (SELECT xmin FROM horizon)))::text AS held,
            pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() - pg_catalog.min(v.recorded_at))::float8 AS seconds
       FROM (${logs}) v`,
    [cursor ?? '0'],
  );
  return row ?? { lag: '0', held: '0', seconds: null };
}

/** The open transaction with the oldest transaction id, if the role may see it (pg_read_all_stats or its own). */
async function oldestOpenTransaction(db: Session): Promise<ProjectionStatus['heldBy']> {
  const [row] = await db.run<{ pid: number; started_at: Date | null }>(
    `SELECT a.pid, a.xact_start AS started_at FROM pg_catalog.pg_stat_activity a
      WHERE a.backend_xid IS NOT NULL
      ORDER BY pg_catalog.age(a.backend_xid) DESC LIMIT 1`,
  );
  return row === undefined ? null : { pid: row.pid, startedAt: row.started_at };
}
