import type { Database, VerifyResult } from 'appendlog';

/** A verification result and when it was taken. */
export interface IntegrityStatus extends VerifyResult {
  at: Date;
}

/**
 * Keeps the last `db.verify()` for the header badge without making pages wait for it: a page
 * shows the last result (with its time) and, when that is older than `intervalMs`, starts one
 * verification in the background for the pages after it. Writes do not trigger one. Only the
 * very first page after start waits, for the first result. `/integrity` verifies on demand.
 *
 * Verifying recomputes every hash of the log, so it grows with the log (about 0.2 s at 20,000
 * versions): at most one runs at a time, and by default at most one every five minutes.
 */
export class IntegrityMonitor {
  readonly #db: Database;
  readonly #intervalMs: number;
  #last: IntegrityStatus | null = null;
  #running: Promise<IntegrityStatus> | null = null;

  constructor(db: Database, intervalMs = 5 * 60_000) {
    this.#db = db;
    this.#intervalMs = intervalMs;
  }

  /** The last result; starts a background run when it is stale (waits only when there is none). */
  current(): Promise<IntegrityStatus> {
    const last = this.#last;
    if (last === null) return this.#running ?? this.fresh();
    if (Date.now() - last.at.getTime() > this.#intervalMs && this.#running === null) {
      this.fresh().catch((err) => console.error('background verify failed:', err));
    }
    return Promise.resolve(last);
  }

  /** Verifies now (a run of its own, so it sees every write before it) and keeps the result. */
  fresh(): Promise<IntegrityStatus> {
    const run = this.#db.verify().then((r) => {
      const status = { ...r, at: new Date() };
      this.#last = status;
      return status;
    });
    this.#running = run;
    const done = () => {
      if (this.#running === run) this.#running = null;
    };
    run.then(done, done);
    return run;
  }
}
