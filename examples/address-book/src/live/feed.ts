import type { ChangeSet, Database, Subscription } from 'appendlog';
import { AccountStore } from '../accounts.js';
import { addresses } from '../schema.js';

/** One committed change set, as the browser's live script receives it: who, when, which people. */
export interface LiveChange {
  txId: string;
  /** Who made it: the display name the account had then (or the actor as recorded, if no account). */
  actor: string | null;
  at: string;
  changes: Array<{ id: string; op: string; version: number }>;
}

type Listener = (change: LiveChange) => void;

/**
 * One `db.subscribe` per server, fanned out to every open event stream. It runs only while a
 * page listens: the first stream starts it from now, the last one to leave stops it. The events
 * say who changed which person; pages fetch what changed themselves, through the same routes
 * (and the same checks) as any request.
 */
export class LiveFeed {
  readonly #db: Database;
  readonly #listeners = new Set<Listener>();
  #sub: Subscription | undefined;
  #closed = false;
  /** Starts and stops run one after the other, in the order asked. */
  #settling: Promise<void> = Promise.resolve();

  constructor(db: Database) {
    this.#db = db;
  }

  /**
   * Adds a listener. `ready` resolves once the subscription runs: every transaction that commits
   * after it reaches the listener. `leave` removes it.
   */
  join(listener: Listener): { ready: Promise<void>; leave: () => void } {
    if (this.#closed) return { ready: Promise.resolve(), leave: () => {} };
    this.#listeners.add(listener);
    this.#settle();
    return {
      ready: this.#settling,
      leave: () => {
        if (this.#listeners.delete(listener)) this.#settle();
      },
    };
  }

  /** Whether the subscription is running (for tests). */
  get running(): boolean {
    return this.#sub !== undefined;
  }

  /** Stops the subscription for good (before the database is closed). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#listeners.clear();
    this.#settle();
    await this.#settling;
  }

  #settle(): void {
    this.#settling = this.#settling
      .then(() => this.#reconcile())
      .catch((err) => {
        console.error('live updates:', err);
      });
  }

  async #reconcile(): Promise<void> {
    const wanted = !this.#closed && this.#listeners.size > 0;
    if (wanted && this.#sub === undefined) {
      // From now: every transaction that had not ended when the feed started, and those after.
      const start = await startingPoint(this.#db);
      const sub = this.#db.subscribe({ since: start.since, tables: [addresses] }, (set) => {
        if (!start.endedBefore(set.txId)) this.#send(set);
      });
      sub.done.catch((err) => {
        console.error('live updates stopped:', err);
        if (this.#sub === sub) this.#sub = undefined;
      });
      this.#sub = sub;
    } else if (!wanted && this.#sub !== undefined) {
      const sub = this.#sub;
      this.#sub = undefined;
      await sub.stop();
    }
  }

  async #send(set: ChangeSet): Promise<void> {
    const names = await AccountStore.for(this.#db).names();
    const change: LiveChange = {
      txId: set.txId,
      actor: set.actor === null ? null : names.nameAt(set.actor, new Date(set.recordedAtIso)),
      at: set.recordedAtIso,
      changes: set.versions.map((v) => ({ id: v.entryId, op: v.op, version: v.version })),
    };
    for (const listener of this.#listeners) listener(change);
  }
}

/**
 * Where a feed "from now" starts: the cursor just below the oldest transaction still running
 * (`changes` after it are those of every transaction that had not ended, and every later one),
 * and which transactions above that cursor had already ended, to leave out. Both from one
 * snapshot, `xmin:xmax:running,…`: a transaction below `xmax` and not running had ended.
 */
async function startingPoint(db: Database): Promise<{ since: string; endedBefore(txId: string): boolean }> {
  const [row] = await db.query<{ snapshot: string }>('SELECT pg_current_snapshot()::text AS snapshot');
  const [xmin, xmax, running] = row!.snapshot.split(':') as [string, string, string];
  const stillRunning = new Set(running === '' ? [] : running.split(','));
  const end = BigInt(xmax);
  return {
    since: (BigInt(xmin) - 1n).toString(),
    endedBefore: (txId) => BigInt(txId) < end && !stillRunning.has(txId),
  };
}
