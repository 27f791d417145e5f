import type { Database, VerifyFailure, VerifyResult } from 'appendlog';
import { tableObjects } from 'appendlog';
import { addresses } from './schema.js';

/** A verification result and when it was taken. */
export interface IntegrityStatus extends VerifyResult {
  at: Date;
  /**
   * `full`: the whole log was verified. `incremental`: only the people written since the last
   * check, each whole chain of theirs; `checked` counts those versions only, while `failures`
   * keeps what earlier checks found.
   */
  scope: 'full' | 'incremental';
}

/**
 * Above this many people written since the last check, one full verification costs less than
 * one `book.verify(id)` per person.
 */
const MOST_PEOPLE_ONE_BY_ONE = 200;

/**
 * Keeps the last verification for the header badge without making pages wait for it, and keeps
 * its cost to what was written since. A page shows the last result (with its time) and, when that
 * is older than `intervalMs`, starts one check in the background for the pages after it:
 * incremental, it re-verifies only the chains of the people written since the last checked point
 * (a transaction id below the log's horizon, as `db.changes` reads it, so no commit is skipped),
 * not the whole log. `/integrity` runs the full verification on demand, which also catches a
 * rewrite of a version no one has touched since; only the very first page after start waits, for
 * the first (full) result.
 */
export class IntegrityMonitor {
  readonly #db: Database;
  readonly #intervalMs: number;
  #last: IntegrityStatus | null = null;
  #running: Promise<IntegrityStatus> | null = null;
  /** Every transaction up to this one has been verified (null: nothing verified yet). */
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
   * first) of each person with a version after it. Runs a full verification when there was no
   * check yet, or when more than a couple of hundred people changed.
   */
  since(): Promise<IntegrityStatus> {
    const from = this.#verifiedTo;
    if (from === null) return this.fresh();
    return this.#run(async () => {
      const { log } = tableObjects(this.#db.schema, 'addresses');
      const rows = await this.#db.query<{ entry_id: string; upto: string }>(
        `WITH horizon AS (SELECT pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot()) AS xmin)
         SELECT entry_id::text AS entry_id, max(tx_id)::text AS upto FROM ${log}
          WHERE tx_id > $1::xid8 AND tx_id < (SELECT xmin FROM horizon)
          GROUP BY entry_id LIMIT $2`,
        [from, MOST_PEOPLE_ONE_BY_ONE + 1],
      );
      if (rows.length > MOST_PEOPLE_ONE_BY_ONE) return null;
      const book = this.#db.table(addresses);
      let checked = 0;
      let erased = 0;
      const found: VerifyFailure[] = [];
      let upto = from;
      for (const row of rows) {
        const r = await book.verify(row.entry_id);
        checked += r.checked;
        erased += r.erased;
        found.push(...r.failures);
        if (BigInt(row.upto) > BigInt(upto)) upto = row.upto;
      }
      this.#verifiedTo = upto;
      // What an earlier check found stays until a full verification finds it gone.
      const failures = [...(this.#last?.failures ?? []), ...found];
      return { ok: failures.length === 0, checked, erased, failures, at: new Date(), scope: 'incremental' };
    }).then((status) => status ?? this.fresh());
  }

  /** The newest transaction below the log's horizon ('0' for an empty log). */
  async #horizon(): Promise<string> {
    const { log } = tableObjects(this.#db.schema, 'addresses');
    const [row] = await this.#db.query<{ upto: string }>(
      `SELECT coalesce(max(tx_id)::text, '0') AS upto FROM ${log}
        WHERE tx_id < pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())`,
    );
    return row!.upto;
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
