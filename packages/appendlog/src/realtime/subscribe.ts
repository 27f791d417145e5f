import { type ChangeSet, type ChangesOptions, changes, checkSince } from '../api/changes.js';
import { cursorAfter, isNodeCursor, parseNodeCursor } from '../api/changes-sharded.js';
import { InvalidInputError, isAppendLogError } from '../errors.js';
import type { TableDef } from '../schema/table.js';
import type { Session } from '../session.js';
import { ChangeListener } from './listen.js';
import { Waker } from './wake.js';

/**
 * Where a subscription starts and what it reads.
 *
 * @example
 * const sub = db.subscribe({ since: savedCursor, tables: [people] }, async (set) => show(set));
 */
export interface SubscribeOptions {
  /** The cursor to continue after (as `changes` and `Subscription.cursor` give it); omit for the beginning. */
  since?: string | null;
  /** The tables to read (default: every table of the schema history), as in `db.changes`. */
  tables?: readonly TableDef[];
  /**
   * The longest wait, in ms, between two reads when nothing wakes the subscriber (default 500). A
   * commit wakes it sooner through LISTEN/NOTIFY where it can listen; without, this is the polling period.
   */
  interval?: number;
  /** How many change sets one read fetches at most (default 100). */
  batchSize?: number;
  /** Set false to poll only, never LISTEN (default true). */
  listen?: boolean;
}

/**
 * A running subscription.
 *
 * @example
 * const sub = db.subscribe({}, async (set) => console.log(set.txId, set.versions.length));
 * // …
 * await sub.stop();
 * save(sub.cursor); // resume later with db.subscribe({ since: sub.cursor }, …)
 */
export interface Subscription {
  /**
   * Stops reading: the handler running now (if any) finishes, no other starts, the LISTEN
   * connection closes. Resolves when all of that is done. Idempotent.
   */
  stop(): Promise<void>;
  /**
   * Settles when the subscription ends: resolves after `stop()`, rejects with the error that
   * ended it (the handler threw, or a read failed). Await it, or attach a `catch`.
   */
  readonly done: Promise<void>;
  /**
   * Where the handler got to: the `txId` of the last change set it finished (on a row-sharded
   * schema, a position per node), the `since` given before the first.
   */
  readonly cursor: string | null;
  /**
   * Whether a LISTEN wakes it now. When its listening connection is lost it polls every
   * `interval` and LISTENs again within 5 s; where LISTEN cannot be had at all, it polls.
   */
  readonly listening: boolean;
  /**
   * The connection error (code `connection`) it is retrying after, or null while it reads: a
   * lost connection does not end a subscription, it reads again, 100 ms doubling to 5 s apart.
   */
  readonly connectionError: Error | null;
}

/** What the subscriber is handed, one change set at a time; the next waits for its promise. */
export type ChangeHandler = (set: ChangeSet) => void | Promise<void>;

const DEFAULT_INTERVAL_MS = 500;
const DEFAULT_BATCH = 100;
/** After a wake-up that found nothing (a commit above the xmin horizon), the first retry. */
const STALLED_RETRY_MS = 25;

/** The options checked, with their defaults. */
export interface FeedSettings {
  interval: number;
  batchSize: number;
  listen: boolean;
}

/** Refuses an interval, batch size or listen flag that is not one. */
export function feedSettings(options: {
  interval?: unknown;
  batchSize?: unknown;
  listen?: unknown;
}): FeedSettings {
  const interval = options.interval ?? DEFAULT_INTERVAL_MS;
  if (typeof interval !== 'number' || !Number.isFinite(interval) || interval < 1 || interval > 3_600_000)
    throw new InvalidInputError('interval must be a number of milliseconds from 1 to 3600000', 'interval');
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  if (!Number.isInteger(batchSize) || (batchSize as number) < 1)
    throw new InvalidInputError('batchSize must be a positive integer', 'batchSize');
  const listen = options.listen ?? true;
  if (typeof listen !== 'boolean') throw new InvalidInputError('listen must be a boolean', 'listen');
  return { interval, batchSize: batchSize as number, listen };
}

/** After a read failed for want of a connection, the first retry; it doubles up to {@link LOST_RETRY_MAX_MS}. */
const LOST_RETRY_MS = 100;
const LOST_RETRY_MAX_MS = 5_000;

/** A read that failed for want of a connection (code `connection`): the feed waits and reads again. */
class LostConnection {
  readonly cause: unknown;
  constructor(cause: unknown) {
    this.cause = cause;
  }
}

/** Refuses a `tables` option that is not a non-empty array of `table()` definitions. */
export function checkTables(tables: unknown): void {
  if (tables === undefined) return;
  if (!Array.isArray(tables) || tables.length === 0)
    throw new InvalidInputError(
      'tables must be a non-empty array of table definitions (omit it to read every table)',
      'tables',
    );
  for (const def of tables as unknown[]) {
    const d = def as Partial<TableDef> | null;
    if (typeof d !== 'object' || d === null || typeof d.name !== 'string' || !Array.isArray(d.columns))
      throw new InvalidInputError('tables must be table definitions made with table()', 'tables');
  }
}

/**
 * The loop under `db.subscribe` and projections: read the next change sets behind the horizon,
 * hand them over, sleep until a notification or `interval`. `step` handles one read's sets and
 * returns how many it consumed (all of them, or fewer when stopped); the cursor is the caller's.
 */
export class Feed {
  readonly waker = new Waker();
  readonly #listener: ChangeListener | undefined;
  readonly #settings: FeedSettings;
  #stopped = false;
  #lostConnection: Error | null = null;

  constructor(db: Session, settings: FeedSettings) {
    this.#settings = settings;
    this.#listener = settings.listen ? new ChangeListener(db, this.waker) : undefined;
  }

  get batchSize(): number {
    return this.#settings.batchSize;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  get listening(): boolean {
    return this.#listener?.listening ?? false;
  }

  /** The connection error the feed is retrying after, or null when its last read succeeded. */
  get lostConnection(): Error | null {
    return this.#lostConnection;
  }

  /**
   * Runs `fn`, a read whose failure for want of a connection the feed survives: `run` waits and
   * starts the round again. What a handler throws is not passed through here, and ends the feed.
   */
  async retrying<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isAppendLogError(err) && err.code === 'connection') throw new LostConnection(err);
      throw err;
    }
  }

  /**
   * Runs `round` until stopped: `round` reads and handles what there is and says whether it found
   * anything and whether more is waiting. LISTEN is set up before the first read, so a commit
   * between that read and the first sleep still wakes it. A round that failed in {@link retrying}
   * is tried again, waiting 100 ms doubling to 5 s, until a read succeeds or the feed is stopped;
   * while LISTEN is lost, the feed sleeps no longer than until its next attempt to LISTEN again.
   */
  async run(round: () => Promise<{ found: boolean; more: boolean }>): Promise<void> {
    const { interval } = this.#settings;
    let stalled = 0; // the retry wait while a wake-up's commit is still above the horizon; 0 when not
    let lost = 0; // the retry wait after a lost connection; 0 when the last round succeeded
    let notified = false;
    try {
      while (!this.#stopped) {
        await this.#listener?.ensure();
        let result: { found: boolean; more: boolean };
        try {
          result = await round();
          lost = 0;
          this.#lostConnection = null;
        } catch (err) {
          if (!(err instanceof LostConnection)) throw err;
          if (this.#stopped) throw err.cause;
          this.#lostConnection = err.cause as Error;
          lost = lost === 0 ? LOST_RETRY_MS : Math.min(lost * 2, LOST_RETRY_MAX_MS);
          await this.waker.sleep(lost);
          continue;
        }
        if (result.more) continue;
        // Woken for nothing: a commit above the horizon (or a write of no version). Retry soon,
        // backing off to `interval`, until a read finds something.
        if (result.found) stalled = 0;
        else if (notified || stalled > 0)
          stalled = stalled === 0 ? STALLED_RETRY_MS : Math.min(stalled * 2, interval);
        if (this.#stopped) break;
        const relisten = this.#listener?.retryIn() ?? Number.POSITIVE_INFINITY;
        notified = await this.waker.sleep(Math.min(stalled || interval, relisten));
      }
    } finally {
      await this.#listener?.close();
    }
  }

  stop(): void {
    this.#stopped = true;
    this.waker.notify();
  }
}

/** A feed of `changes` after `since`, handed to `handler` one set at a time. See `Database.subscribe`. */
export function subscribe(db: Session, options: SubscribeOptions, handler: ChangeHandler): Subscription {
  if (typeof options !== 'object' || options === null)
    throw new InvalidInputError('subscribe options must be an object', 'options');
  if (typeof handler !== 'function')
    throw new InvalidInputError('subscribe takes a handler function', 'handler');
  if (isNodeCursor(options.since)) parseNodeCursor(options.since);
  else checkSince(options.since);
  checkTables(options.tables);
  const feed = new Feed(db, feedSettings(options));
  const read: ChangesOptions = { since: options.since ?? null, limit: feed.batchSize };
  if (options.tables !== undefined) read.tables = options.tables;
  let cursor = read.since ?? null;
  const done = Promise.resolve().then(() =>
    feed.run(async () => {
      const page = await feed.retrying(() => changes(db, { ...read, since: cursor }));
      for (const set of page.changes) {
        if (feed.stopped) return { found: true, more: false };
        await handler(set);
        cursor = cursorAfter(cursor, set);
      }
      return { found: page.changes.length > 0, more: page.changes.length === read.limit };
    }),
  );
  return {
    async stop() {
      feed.stop();
      await done.catch(() => {});
    },
    done,
    get cursor() {
      return cursor;
    },
    get listening() {
      return feed.listening;
    },
    get connectionError() {
      return feed.lostConnection;
    },
  };
}
