import type { Session } from '../session.js';
import { CHANGES_CHANNEL } from '../sql/realtime-ddl.js';
import type { Waker } from './wake.js';

/** How long a feed waits before it tries to LISTEN again after its listening connection failed. */
const RELISTEN_MS = 5_000;

/**
 * The LISTEN side of a feed: wakes `waker` when a transaction that wrote to this schema commits.
 * Optional by nature: when LISTEN cannot be set up (a pooler in transaction mode, a role that
 * cannot connect twice) or its connection drops, the feed polls and tries again
 * {@link RELISTEN_MS} later ({@link ChangeListener.retryIn} bounds the feed's sleep meanwhile).
 */
export class ChangeListener {
  #listener: { close(): Promise<void> } | undefined;
  #retryAt = 0;
  #closed = false;
  readonly #db: Session;
  readonly #waker: Waker;

  constructor(db: Session, waker: Waker) {
    this.#db = db;
    this.#waker = waker;
  }

  /** Whether a LISTEN is in force. */
  get listening(): boolean {
    return this.#listener !== undefined;
  }

  /** Milliseconds until {@link ensure} will try to LISTEN again; Infinity while listening or closed. */
  retryIn(): number {
    if (this.#listener !== undefined || this.#closed) return Number.POSITIVE_INFINITY;
    return Math.max(0, this.#retryAt - Date.now());
  }

  /** LISTENs unless it already does, or tried and failed less than {@link RELISTEN_MS} ago. */
  async ensure(): Promise<void> {
    if (this.#listener !== undefined || this.#closed || Date.now() < this.#retryAt) return;
    // Which LISTEN a loss belongs to: the connection can fail before `listen` has returned.
    const attempt: { listener?: { close(): Promise<void> }; lost: boolean } = { lost: false };
    try {
      attempt.listener = await this.#db.listen(
        CHANGES_CHANNEL,
        (payload) => {
          if (payload === this.#db.schema) this.#waker.notify();
        },
        () => {
          attempt.lost = true;
          if (this.#listener === attempt.listener) this.#listener = undefined;
          this.#retryAt = Date.now() + RELISTEN_MS;
          // Whatever committed while the connection was failing must be read now.
          this.#waker.notify();
        },
      );
      if (this.#closed || attempt.lost) await attempt.listener.close();
      else this.#listener = attempt.listener;
    } catch {
      this.#retryAt = Date.now() + RELISTEN_MS;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const listener = this.#listener;
    this.#listener = undefined;
    await listener?.close();
  }
}
