import { resolveContext } from '../api/context.js';
import type { Database } from '../db.js';
import { InvalidInputError, InvalidStateError, InvalidUsageError } from '../errors.js';
import { quoteIdent, quoteLiteral } from '../schema/names.js';
import { TIMESTAMP_FORMAT } from '../sql/canonical.js';
import { erasureObjects } from '../sql/erasure-ddl.js';
import { catalogName, tableObjects } from '../sql/names.js';
import { readRetention } from './retention.js';

/**
 * Options of `db.purge()`.
 *
 * @example
 * await db.purge();                                   // erase everything due, then VACUUM
 * await db.purge({ dryRun: true });                   // what would be erased now
 * await db.purge({ dryRun: true, now: nextWeek });    // what will be due by next week
 * await db.purge({ limit: 1000, batchSize: 100 });    // at most 1000 entries, 100 per transaction
 */
export interface PurgeOptions {
  /**
   * The cut-off for "due". The database checks due times against its own clock, so a time later
   * than the database's clock never erases anything earlier; an earlier time erases less. A dry
   * run uses it as given, to preview what will be due by then.
   */
  now?: Date;
  /** Erase (and schedule by retention) at most this many entries in this run. */
  limit?: number;
  /** Report what would be scheduled and erased; write nothing. */
  dryRun?: boolean;
  /** Entries per transaction (default 100). Each batch commits on its own. */
  batchSize?: number;
  /**
   * After erasing: `true` (default) runs `VACUUM (ANALYZE)` on each affected log, so the old row
   * versions and their statistics go; `'full'` runs `VACUUM (FULL, ANALYZE)`, which rewrites the
   * table into new files (an exclusive lock while it runs); `false` leaves it to autovacuum.
   */
  vacuum?: boolean | 'full';
}

/** One entry a purge erased (or, in a dry run, would erase). */
export interface PurgedEntry {
  table: string;
  entryId: string;
  /** The reason of the `forget` version. */
  reason: string | null;
  dueAt: Date;
  /** How many versions were (would be) redacted. */
  versions: number;
}

/** A deleted entry whose retention ran out, forgotten by this purge (or, in a dry run, that would be). */
export interface ScheduledEntry {
  table: string;
  entryId: string;
  deletedAt: Date;
  /** The table's retention (`deletedFor`). */
  retention: string;
}

/** What `db.purge()` did. */
export interface PurgeResult {
  dryRun: boolean;
  /** Deleted entries past their table's retention, forgotten (due at once) by this run. */
  scheduled: ScheduledEntry[];
  /** Entries erased by this run. */
  erased: PurgedEntry[];
  /** Log tables vacuumed afterwards. */
  vacuumed: string[];
  /** True when `limit` stopped the run while due entries remained. */
  more: boolean;
}

/** @internal Test hooks (not exported from the package): a failure injected mid-batch. */
export interface PurgeHooks {
  afterRedact?(step: {
    tx: Database;
    table: string;
    entryId: string;
    batch: number;
    index: number;
  }): Promise<void>;
}

const DEFAULT_BATCH = 100;
const ts = (e: string) => `pg_catalog.to_char(${e} AT TIME ZONE 'UTC', ${quoteLiteral(TIMESTAMP_FORMAT)})`;

function checkOptions(options: PurgeOptions): Required<Pick<PurgeOptions, 'batchSize'>> & { limit: number } {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidInputError('purge options must be an object', 'options');
  }
  if (options.now !== undefined && (!(options.now instanceof Date) || Number.isNaN(options.now.getTime()))) {
    throw new InvalidInputError('now must be a valid Date', 'now');
  }
  const positive = (v: unknown, field: string, max: number) => {
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max)) {
      throw new InvalidInputError(`${field} must be an integer from 1 to ${max}`, field);
    }
  };
  positive(options.limit, 'limit', Number.MAX_SAFE_INTEGER);
  positive(options.batchSize, 'batchSize', 10_000);
  if (options.vacuum !== undefined && typeof options.vacuum !== 'boolean' && options.vacuum !== 'full') {
    throw new InvalidInputError("vacuum must be true, false or 'full'", 'vacuum');
  }
  return { batchSize: options.batchSize ?? DEFAULT_BATCH, limit: options.limit ?? Number.MAX_SAFE_INTEGER };
}

/** The appendlog tables of the schema: the logs carrying the chain trigger (readable by any role). */
async function listTables(db: Database): Promise<string[]> {
  const rows = await db.run<{ table_name: string }>(
    `SELECT pg_catalog.left(c.relname, -4) AS table_name
       FROM pg_catalog.pg_trigger g
       JOIN pg_catalog.pg_class c ON c.oid = g.tgrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND g.tgname = 'appendlog_chain' AND c.relname LIKE '%\\_log'
      ORDER BY 1`,
    [db.schema],
  );
  return rows.map((r) => r.table_name);
}

/** Refuses, before anything is written, a role that cannot run the redaction. */
async function checkCanRedact(db: Database, tables: readonly string[]): Promise<void> {
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
function cutoffSql(capped: boolean): string {
  return capped
    ? 'least(coalesce($1::timestamptz, pg_catalog.clock_timestamp()), pg_catalog.clock_timestamp())'
    : 'coalesce($1::timestamptz, pg_catalog.clock_timestamp())';
}

interface SqlMode {
  /** Cap the cut-off by the database clock (every real run). */
  capped: boolean;
  /** Lock the rows taken, skipping rows another transaction holds (every real run). */
  lock: boolean;
}

function retentionSql(db: Database, table: string, mode: SqlMode): string {
  const o = tableObjects(db.schema, table);
  return `SELECT h.entry_id::text AS entry_id, h.version, ${ts('h.updated_at')} AS deleted_at
            FROM ${o.head} h
           WHERE h.op = 'delete'
             AND h.updated_at <= ((${cutoffSql(mode.capped)} AT TIME ZONE 'UTC') - $2::interval) AT TIME ZONE 'UTC'
           ORDER BY h.updated_at, h.entry_id
           LIMIT $3${mode.lock ? ' FOR UPDATE OF h SKIP LOCKED' : ''}`;
}

function dueSql(db: Database, table: string, mode: SqlMode): string {
  const o = tableObjects(db.schema, table);
  const due = `(l.meta -> 'erasure' ->> 'dueAt')::timestamptz`;
  return `SELECT h.entry_id::text AS entry_id, h.version, l.reason, ${ts(due)} AS due_at
            FROM ${o.head} h
            JOIN ${o.log} l ON l.seq = h.seq
           WHERE h.op = 'forget' AND ${due} <= ${cutoffSql(mode.capped)}
             AND NOT EXISTS (SELECT 1 FROM ${catalogName(db.schema, 'appendlog_erasures')} e
                              WHERE e.table_name = ${quoteLiteral(table)} AND e.entry_id = h.entry_id)
           ORDER BY ${due}, h.entry_id
           LIMIT $2${mode.lock ? ' FOR UPDATE OF h SKIP LOCKED' : ''}`;
}

/**
 * Runs due erasures: first forgets deleted entries past their table's retention, then, batch by
 * batch (each its own transaction), erases every forgotten entry whose due time has passed
 * through the database's `<table>_redact` function, then VACUUMs the affected logs.
 * Idempotent: an entry is erased once, with one catalog record; rerunning after a crash
 * finishes the job.
 */
export async function runPurge(
  db: Database,
  options: PurgeOptions = {},
  hooks: PurgeHooks = {},
): Promise<PurgeResult> {
  const { batchSize, limit } = checkOptions(options);
  const dryRun = options.dryRun === true;
  const now = options.now?.toISOString() ?? null;
  const tables = await listTables(db);
  if (!dryRun) await checkCanRedact(db, tables);
  const retention = tables.length === 0 ? new Map<string, string>() : await readRetention(db);
  const result: PurgeResult = { dryRun, scheduled: [], erased: [], vacuumed: [], more: false };
  const preview: SqlMode = { capped: false, lock: false };
  let remaining = limit;

  for (const table of tables) {
    const deletedFor = retention.get(table);
    if (dryRun) {
      if (deletedFor !== undefined && remaining > 0) {
        const rows = await db.run<{ entry_id: string; version: number; deleted_at: string }>(
          retentionSql(db, table, preview),
          [now, deletedFor, remaining],
        );
        for (const r of rows) {
          result.scheduled.push(scheduled(table, r, deletedFor));
          // Forgotten due at once, so a real run erases them in the same run.
          result.erased.push({
            table,
            entryId: r.entry_id,
            reason: retentionReason(deletedFor),
            dueAt: options.now ?? new Date(),
            versions: Number(r.version) + 1,
          });
        }
        remaining -= rows.length;
      }
      if (remaining > 0) {
        const rows = await previewDue(db, table, now, remaining);
        result.erased.push(...rows);
        remaining -= rows.length;
      }
    } else {
      if (deletedFor !== undefined) {
        remaining -= await scheduleByRetention(db, table, deletedFor, now, remaining, batchSize, result);
      }
      for (let batch = 0; remaining > 0; batch++) {
        const n = Math.min(batchSize, remaining);
        const erased = await eraseBatch(db, table, now, n, batch, hooks);
        result.erased.push(...erased);
        remaining -= erased.length;
        if (erased.length < n) break;
      }
    }
    if (remaining <= 0 && !result.more) {
      result.more = await hasMore(db, result, table, deletedFor, now, dryRun);
    }
  }
  if (!dryRun && options.vacuum !== false) {
    const full = options.vacuum === 'full';
    for (const table of new Set(result.erased.map((e) => e.table))) {
      // VACUUM cannot run inside a transaction: it runs on the database handle, after the batches.
      await db.exec(`VACUUM (${full ? 'FULL, ' : ''}ANALYZE) ${tableObjects(db.schema, table).log}`);
      result.vacuumed.push(table);
    }
  }
  return result;
}

/** After `limit` ran out: is anything left that this run would have taken? */
async function hasMore(
  db: Database,
  result: PurgeResult,
  table: string,
  deletedFor: string | undefined,
  now: string | null,
  dryRun: boolean,
): Promise<boolean> {
  // A real run has erased what it listed; a dry run has not, so look one past the listed ones.
  const listed = dryRun ? count(result, table) : { due: 0, bin: 0 };
  const mode: SqlMode = { capped: !dryRun, lock: false };
  const due = await db.run(dueSql(db, table, mode), [now, listed.due + 1]);
  if (due.length > listed.due) return true;
  if (deletedFor === undefined) return false;
  const bin = await db.run(retentionSql(db, table, mode), [now, deletedFor, listed.bin + 1]);
  return bin.length > listed.bin;
}

function count(result: PurgeResult, table: string): { due: number; bin: number } {
  const bin = result.scheduled.filter((e) => e.table === table).length;
  return { due: result.erased.filter((e) => e.table === table).length - bin, bin };
}

function scheduled(
  table: string,
  r: { entry_id: string; deleted_at: string },
  deletedFor: string,
): ScheduledEntry {
  return { table, entryId: r.entry_id, deletedAt: new Date(r.deleted_at), retention: deletedFor };
}

function retentionReason(deletedFor: string): string {
  return `recycle-bin retention: deleted and not restored within ${deletedFor}`;
}

async function scheduleByRetention(
  db: Database,
  table: string,
  deletedFor: string,
  now: string | null,
  max: number,
  batchSize: number,
  result: PurgeResult,
): Promise<number> {
  const o = tableObjects(db.schema, table);
  const sql = retentionSql(db, table, { capped: true, lock: true });
  let count = 0;
  while (count < max) {
    const n = Math.min(batchSize, max - count);
    const rows = await db.transaction(async (tx) => {
      const taken = await tx.run<{ entry_id: string; version: number; deleted_at: string }>(sql, [
        now,
        deletedFor,
        n,
      ]);
      const ctx = resolveContext(tx.context, {
        actor: tx.context.actor ?? 'appendlog purge',
        reason: retentionReason(deletedFor),
        meta: { erasure: { after: '0 seconds', retention: deletedFor } },
      });
      for (const r of taken) {
        await tx.run(`SELECT version FROM ${o.append}('forget', $1, $2, $3, $4, $5::jsonb, NULL)`, [
          r.entry_id,
          Number(r.version),
          ctx.actor,
          ctx.reason,
          ctx.meta,
        ]);
      }
      return taken;
    });
    for (const r of rows) result.scheduled.push(scheduled(table, r, deletedFor));
    count += rows.length;
    if (rows.length < n) break;
  }
  return count;
}

async function previewDue(
  db: Database,
  table: string,
  now: string | null,
  n: number,
): Promise<PurgedEntry[]> {
  const rows = await db.run<{ entry_id: string; version: number; reason: string | null; due_at: string }>(
    dueSql(db, table, { capped: false, lock: false }),
    [now, n],
  );
  return rows.map((r) => ({
    table,
    entryId: r.entry_id,
    reason: r.reason,
    dueAt: new Date(r.due_at),
    versions: Number(r.version),
  }));
}

async function eraseBatch(
  db: Database,
  table: string,
  now: string | null,
  n: number,
  batch: number,
  hooks: PurgeHooks,
): Promise<PurgedEntry[]> {
  const redact = erasureObjects(tableObjects(db.schema, table)).redact;
  return db.transaction(async (tx) => {
    const due = await tx.run<{ entry_id: string }>(dueSql(db, table, { capped: true, lock: true }), [now, n]);
    for (const [index, row] of due.entries()) {
      await tx.run(`SELECT ${redact}($1::uuid)`, [row.entry_id]);
      await hooks.afterRedact?.({ tx, table, entryId: row.entry_id, batch, index });
    }
    const done = await tx.run<{ entry_id: string; reason: string; due_at: string; versions: number }>(
      `SELECT entry_id::text AS entry_id, reason, ${ts('due_at')} AS due_at, versions
         FROM ${catalogName(db.schema, 'appendlog_erasures')}
        WHERE table_name = $1 AND tx_id = pg_catalog.pg_current_xact_id()
        ORDER BY seq`,
      [table],
    );
    return done.map((r) => ({
      table,
      entryId: r.entry_id,
      reason: r.reason,
      dueAt: new Date(r.due_at),
      versions: Number(r.versions),
    }));
  });
}
