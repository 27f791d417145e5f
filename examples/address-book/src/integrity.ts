import type { Database, VerifyResult } from 'appendlog';

/** A verification result and when it was taken. */
export interface IntegrityStatus extends VerifyResult {
  at: Date;
}

/**
 * Runs `db.verify()` for the header badge: at most once per `ttlMs`, and again after any write.
 * Verifying recomputes every hash in TypeScript, which is quick for an address book; a big
 * database would verify on a schedule instead (`appendlog verify`).
 */
export class IntegrityMonitor {
  readonly #db: Database;
  readonly #ttlMs: number;
  #last: Promise<IntegrityStatus> | null = null;
  #takenAt = 0;

  constructor(db: Database, ttlMs = 30_000) {
    this.#db = db;
    this.#ttlMs = ttlMs;
  }

  /** The latest result, verifying again when it is stale. */
  current(): Promise<IntegrityStatus> {
    if (this.#last === null || Date.now() - this.#takenAt > this.#ttlMs) return this.fresh();
    return this.#last;
  }

  /** Verifies now. */
  fresh(): Promise<IntegrityStatus> {
    this.#takenAt = Date.now();
    const run = this.#db.verify().then((r) => ({ ...r, at: new Date() }));
    this.#last = run;
    run.catch(() => {
      if (this.#last === run) this.#last = null;
    });
    return run;
  }

  /** Something was written: the next page verifies again. */
  invalidate(): void {
    this.#last = null;
  }
}
