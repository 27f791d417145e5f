import type { Database, TableDef, VerifyFailure, VerifyResult } from 'appendlog';
import { tableObjects } from 'appendlog';
import { TABLES } from './setup.js';

/** A verification result and when it was taken. */
export interface IntegrityStatus extends VerifyResult {
  at: Date;
  /**
   * `full`: the whole log was verified. `incremental`: only the entries (people, accounts)
   * written since the last check, each whole chain of theirs; `checked` counts those versions
   * only, while `failures` keeps what earlier checks found.
   */
  scope: 'full' | 'incremental';
}

/**
 * Above this many entries written since the last check, one full verification costs less than
 * one `verify(id)` per entry.
 */
const MOST_ENTRIES_ONE_BY_ONE = 200;

/** The app's tables by SQL name, for verifying one entry's chain (`db.table(def).verify(id)`). */
const DEFINITIONS: ReadonlyMap<string, TableDef> = new Map(TABLES.map((t) => [t.name, t]));

/** An entry with a version written since the last check. */
interface Written {
  table: string;
  entryId: string;
}

/**
 * Keeps the last verification for the header badge without making pages wait for it, and keeps
 * its cost to what was written since. A page shows the last result (with its time) and, when that
 * is older than `intervalMs`, starts one check in the background for the pages after it:
 * incremental, it re-verifies only the chains of the entries written since the last check, in
 * every table of the schema history (people and accounts), every transaction below the log's
 * horizon (as `db.changes` reads it, so no commit is skipped), not the whole log. `/integrity`
 * runs the full verification on demand, which also catches a rewrite of a version no one has
 * touched since; only the very first page after start waits, for the first (full) result.
 */
export class IntegrityMonitor {
  readonly #db: Database;
  readonly #intervalMs: number;
  #last: IntegrityStatus | null = null;
  #running: Promise<IntegrityStatus> | null = null;
  /** Every transaction below this one has been verified (null: nothing verified yet). */
  #verifiedTo: string | null = null;

  constructor(db: Database, intervalMs = 60_000) {
    this.#db = db;
    this.#intervalMs = intervalMs;
  }

  /** The last result; starts a background check when it is stale (waits only when there is none). */
  current(): Promise<IntegrityStatus> {
    const last = this.#last;
    if (last === null) return this.#running ?? this.fresh();
    if (Date.now() - last.at.getTime() > this.#intervalMs && this.#running === null) {
      this.since().catch((err) => console.error('background verify failed:', err));
    }
    return Promise.resolve(last);
  }

  /** Verifies the whole log now (a run of its own, so it sees every write before it) and keeps the result. */
  fresh(): Promise<IntegrityStatus> {
    return this.#run(async () => {
      // Read before the verification's snapshot: whatever it also sees is checked again next time.
      const horizon = await this.#horizon();
      const r = await this.#db.verify();
      this.#verifiedTo = horizon;
      return { ...r, at: new Date(), scope: 'full' };
    });
  }

  /**
   * Verifies what was written since the last check: the whole chain (every version, from the
   * first) of each entry, of any table, with a version after it. Runs a full verification when
   * there was no check yet, when more than a couple of hundred entries changed, or when one of
   * them is in a table the app has no definition of.
   */
  since(): Promise<IntegrityStatus> {
    const from = this.#verifiedTo;
    if (from === null) return this.fresh();
    return this.#run(async () => {
      const horizon = await this.#horizon();
      const written = await this.#writtenBetween(from, horizon);
      if (written === null) return null;
      let checked = 0;
      let erased = 0;
      const found: VerifyFailure[] = [];
      for (const { table, entryId } of written) {
        const r = await this.#db.table(DEFINITIONS.get(table)!).verify(entryId);
        checked += r.checked;
        erased += r.erased;
        found.push(...r.failures);
      }
      this.#verifiedTo = horizon;
      // What an earlier check found stays until a full verification finds it gone.
      const failures = [...(this.#last?.failures ?? []), ...found];
      return { ok: failures.length === 0, checked, erased, failures, at: new Date(), scope: 'incremental' };
    }).then((status) => status ?? this.fresh());
  }

  /**
   * The entries with a version in a transaction from `from` up to (not including) `horizon`, in
   * every table the schema history records; null when there are too many to verify one by one,
   * or one is in a table the app does not define.
   */
  async #writtenBetween(from: string, horizon: string): Promise<Written[] | null> {
    const tables = new Set((await this.#db.schemaHistory()).map((r) => r.table));
    const written: Written[] = [];
    for (const table of tables) {
      const { log } = tableObjects(this.#db.schema, table);
      const rows = await this.#db.query<{ entry_id: string }>(
        `SELECT DISTINCT entry_id::text AS entry_id FROM ${log}
          WHERE tx_id >= $1::xid8 AND tx_id < $2::xid8 LIMIT $3`,
        [from, horizon, MOST_ENTRIES_ONE_BY_ONE + 1 - written.length],
      );
      if (rows.length > 0 && !DEFINITIONS.has(table)) return null;
      for (const row of rows) written.push({ table, entryId: row.entry_id });
      if (written.length > MOST_ENTRIES_ONE_BY_ONE) return null;
    }
    return written;
  }

  /** The log's horizon: every transaction below it has ended, so a snapshot taken now sees all it wrote. */
  async #horizon(): Promise<string> {
    const [row] = await this.#db.query<{ xmin: string }>(
      'SELECT pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())::text AS xmin',
    );
    return row!.xmin;
  }

  /** One run at a time: keeps its result, when it has one, as the last status. */
  #run<T extends IntegrityStatus | null>(work: () => Promise<T>): Promise<T> {
    const run = work().then((status) => {
      if (status !== null) this.#last = status;
      return status;
    });
    const mine = run as Promise<IntegrityStatus>;
    this.#running = mine;
    const done = () => {
      if (this.#running === mine) this.#running = null;
    };
    run.then(done, done);
    return run;
  }
}
