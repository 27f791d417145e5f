import { InvalidInputError } from '../errors.js';
import type { Session } from '../session.js';
import { tableObjects } from '../sql/names.js';
import { eraseBatch, previewDue, retentionReason, scheduleByRetention, scheduled } from './purge-batches.js';
import { checkCanRedact, dueSql, listTables, retentionSql, type SqlMode } from './purge-sql.js';
import type { PurgeHooks, PurgeOptions, PurgeResult } from './purge-types.js';
import { readRetention } from './retention.js';

const DEFAULT_BATCH = 100;

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

/**
 * Runs due erasures: first forgets deleted entries past their table's retention, then, batch by
 * batch (each its own transaction), erases every forgotten entry whose due time has passed
 * through the database's `<table>_redact` function, then VACUUMs the affected logs and heads.
 * Idempotent: an entry is erased once, with one catalog record; rerunning after a crash
 * finishes the job.
 */
export async function runPurge(
  db: Session,
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
        const { taken, erased } = await eraseBatch(db, table, now, n, batch, hooks);
        result.erased.push(...erased);
        remaining -= erased.length;
        if (taken < n) break;
      }
    }
    // A dry run lists everything due up to the limit. A real run also stops short of it when
    // SKIP LOCKED passed over entries another transaction holds (a purge running at once): they
    // are still due, so look whenever the run is real.
    if (!result.more && (remaining <= 0 || !dryRun)) {
      result.more = await hasMore(db, result, table, deletedFor, now, dryRun);
    }
  }
  if (!dryRun && options.vacuum !== false) {
    const full = options.vacuum === 'full';
    for (const table of new Set(result.erased.map((e) => e.table))) {
      // VACUUM cannot run inside a transaction: it runs on the database handle, after the batches.
      // The head too: it holds a copy of the latest version, which the purge nulled by an UPDATE.
      const o = tableObjects(db.schema, table);
      await db.exec(`VACUUM (${full ? 'FULL, ' : ''}ANALYZE) ${o.log}, ${o.head}`);
      result.vacuumed.push(table);
    }
  }
  return result;
}

/** After the run on a table: is anything left, locked or not, that this run would have taken? */
async function hasMore(
  db: Session,
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
