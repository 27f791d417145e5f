import type { Session } from '../session.js';

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
   * After erasing: `true` (default) runs `VACUUM (ANALYZE)` on each affected log and head, so the
   * old row versions and their statistics go; `'full'` runs `VACUUM (FULL, ANALYZE)`, which
   * rewrites them into new files (an exclusive lock while it runs); `false` leaves it to autovacuum.
   */
  vacuum?: boolean | 'full';
}

/**
 * One entry a purge erased (or, in a dry run, would erase).
 *
 * @example
 * for (const e of (await db.purge()).erased) log.info(`erased ${e.table} ${e.entryId}: ${e.reason}`);
 */
export interface PurgedEntry {
  table: string;
  entryId: string;
  /** The reason of the `forget` version. */
  reason: string | null;
  dueAt: Date;
  /** How many versions were (would be) redacted. */
  versions: number;
}

/**
 * A deleted entry whose retention ran out, forgotten by this purge (or, in a dry run, that would be).
 *
 * @example
 * const { scheduled } = await db.purge({ dryRun: true });
 * console.log(`${scheduled.length} entries left the recycle bin for good`);
 */
export interface ScheduledEntry {
  table: string;
  entryId: string;
  deletedAt: Date;
  /** The table's retention (`deletedFor`). */
  retention: string;
}

/**
 * What `db.purge()` did.
 *
 * @example
 * const r = await db.purge({ limit: 1000 });
 * if (r.more) console.log('more entries are due; run again');
 */
export interface PurgeResult {
  dryRun: boolean;
  /** Deleted entries past their table's retention, forgotten (due at once) by this run. */
  scheduled: ScheduledEntry[];
  /** Entries erased by this run. */
  erased: PurgedEntry[];
  /** Tables whose log and head were vacuumed afterwards. */
  vacuumed: string[];
  /**
   * True when due entries remain after the run: `limit` stopped it, or another transaction (a
   * second purge running at once) held some of them, which this run skipped. Run it again.
   */
  more: boolean;
}

/** @internal Test hooks (not exported from the package): a failure injected mid-batch. */
export interface PurgeHooks {
  afterRedact?(step: {
    tx: Session;
    table: string;
    entryId: string;
    batch: number;
    index: number;
  }): Promise<void>;
}
