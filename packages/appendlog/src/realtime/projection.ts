import { type ChangeSet, type ChangesOptions, changes } from '../api/changes.js';
import { listTables } from '../erasure/purge-sql.js';
import { InvalidInputError, InvalidStateError, InvalidUsageError, NotFoundError } from '../errors.js';
import { findShardedLogs } from '../integrity/tx-ids-ahead.js';
import type { TableDef } from '../schema/table.js';
import type { Session } from '../session.js';
import { type ProjectionRow, projectionRows } from './projection-sql.js';
import { type ProjectionStatus, projectionStatus } from './projection-status.js';
import { checkTables, Feed, feedSettings } from './subscribe.js';

/**
 * The transaction a projection's `apply` (and `reset`) runs in: its writes commit together with
 * the projection's cursor, or not at all.
 *
 * @example
 * apply: async (set, tx) => {
 *   await tx.query('INSERT INTO activity (day, n) VALUES ($1, $2) ON CONFLICT (day) DO UPDATE SET n = activity.n + $2', [day(set), set.versions.length]);
 * }
 */
export interface ProjectionTx {
  /** One SQL statement with `$1…` parameters, in the projection's transaction; the rows it returned. */
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<R[]>;
}

/**
 * A durable projection: what it reads and how it applies a change set.
 *
 * @example
 * db.projection('activity', {
 *   tables: [people],
 *   apply: async (set, tx) => { for (const v of set.versions) await tx.query('…', [v.op]); },
 *   reset: async (tx) => { await tx.query('DELETE FROM activity'); },
 * });
 */
export interface ProjectionDefinition {
  /** The tables it reads (default: every table of the schema history). */
  tables?: readonly TableDef[];
  /** Applies one change set, in the transaction that also moves the projection's cursor past it. */
  apply(set: ChangeSet, tx: ProjectionTx): Promise<void> | void;
  /**
   * Empties what `apply` wrote, in the transaction of the first change set after a rebuild.
   * Without it a rebuild (`rebuild()`, `appendlog projection rebuild`) stops the projection with
   * `invalid_state`, since applying everything again over the old state would count it twice.
   */
  reset?(tx: ProjectionTx): Promise<void> | void;
  /** The longest wait (ms) between reads when nothing wakes it (default 500), as in `subscribe`. */
  interval?: number;
  /** How many change sets one transaction applies at most (default 100). */
  batchSize?: number;
  /** Set false to poll only, never LISTEN (default true). */
  listen?: boolean;
}

/**
 * A running projection.
 *
 * @example
 * const run = projection.start();
 * process.on('SIGTERM', () => run.stop());
 * await run.done;
 */
export interface ProjectionRun {
  /** Stops after the transaction in progress (if any) commits. Idempotent. */
  stop(): Promise<void>;
  /** Resolves after `stop()`; rejects with the error that stopped it (`apply` threw, a read failed). */
  readonly done: Promise<void>;
  /** Whether a LISTEN wakes it now (else it polls every `interval`). */
  readonly listening: boolean;
  /**
   * The connection error (code `connection`) it is retrying after, or null while it reads: a lost
   * connection does not stop it, it tries again, 100 ms doubling to 5 s apart.
   */
  readonly connectionError: Error | null;
}

const NAME = /^[A-Za-z0-9_.:-]{1,100}$/;

/** The outcome of one applying round. */
interface Round {
  /** Change sets applied. */
  applied: number;
  /** The read was full (more may be waiting) or another process moved the cursor (read again). */
  more: boolean;
}

/**
 * A durable projection of the log. Its cursor lives in `appendlog_projections` and moves in the
 * same transaction as `apply`'s writes, so a crash anywhere applies each change set exactly once.
 * Two processes may run the same projection: a round locks the projection's row (skipping it when
 * another holds it) and checks that the cursor is still the one its read started from, so a
 * change set is never applied by both.
 *
 * @example
 * const activity = db.projection('activity', { tables: [people], apply, reset });
 * const run = activity.start();            // follows the log until run.stop()
 * await activity.catchUp();                // or: apply what there is now, and return
 * const { lagVersions, lagSeconds } = await activity.status();
 */
export class Projection {
  readonly name: string;
  readonly #db: Session;
  readonly #def: ProjectionDefinition;
  readonly #read: ChangesOptions;

  /** @internal Use `db.projection(name, definition)`. */
  constructor(db: Session, name: string, def: ProjectionDefinition) {
    if (typeof name !== 'string' || !NAME.test(name))
      throw new InvalidInputError(
        'a projection name is 1 to 100 letters, digits and _ . : - (it names the projection in the catalog and the CLI)',
        'name',
      );
    if (typeof def !== 'object' || def === null || typeof def.apply !== 'function')
      throw new InvalidInputError('a projection needs an apply(changeSet, tx) function', 'apply');
    if (def.reset !== undefined && typeof def.reset !== 'function')
      throw new InvalidInputError('reset must be a function', 'reset');
    checkTables(def.tables);
    const settings = feedSettings(def);
    this.#db = db;
    this.name = name;
    this.#def = def;
    this.#read = { limit: settings.batchSize, ...(def.tables === undefined ? {} : { tables: def.tables }) };
  }

  /**
   * Follows the log: applies every change set as it becomes readable, until `stop()`.
   *
   * @example
   * const run = db.projection('activity', { apply }).start();
   * await run.stop();
   */
  start(): ProjectionRun {
    const feed = new Feed(this.#db, feedSettings(this.#def));
    let registered = false;
    const done = Promise.resolve().then(() =>
      // A lost connection, even mid-transaction, is retried: the cursor commits with the writes,
      // so the round that failed is applied again from where the catalog says, once.
      feed.run(async () => {
        if (!registered) await feed.retrying(() => this.#register());
        registered = true;
        const r = await feed.retrying(() => this.#round());
        return { found: r.applied > 0, more: r.more };
      }),
    );
    return {
      async stop() {
        feed.stop();
        await done.catch(() => {});
      },
      done,
      get listening() {
        return feed.listening;
      },
      get connectionError() {
        return feed.lostConnection;
      },
    };
  }

  /**
   * Applies every change set readable now (behind the xmin horizon), then returns how many it
   * applied. For scripts, cron jobs and tests; `start()` keeps following.
   *
   * @example
   * await db.projection('activity', { apply }).catchUp();
   */
  async catchUp(): Promise<number> {
    await this.#register();
    let total = 0;
    for (;;) {
      const { applied, more } = await this.#round();
      total += applied;
      if (!more) return total;
    }
  }

  /**
   * Where the projection is: its cursor, and how far behind the log it is (see {@link ProjectionStatus}).
   *
   * @example
   * const { lagVersions, lagSeconds, heldBack } = await activity.status();
   */
  async status(): Promise<ProjectionStatus> {
    const [status] = await projectionStatus(this.#db, this.name);
    if (status === undefined)
      throw new NotFoundError(`projection ${this.name} has never run in schema ${this.#db.schema}`);
    return status;
  }

  /**
   * Starts the projection over from the beginning of the log: its cursor goes back to zero, and
   * its next round (here or in whichever process runs it) calls `reset` and applies everything
   * again, in one transaction with the first change sets.
   *
   * @example
   * await activity.rebuild();
   * await activity.catchUp();
   */
  async rebuild(): Promise<void> {
    await this.#register();
    await rebuildProjection(this.#db, this.name);
  }

  async #register(): Promise<void> {
    const tables = (this.#def.tables ?? []).map((t) => t.name);
    // Only Citus has row-sharded logs: elsewhere no catalog query is spent on the question.
    const [sharded] = this.#db.citus
      ? await findShardedLogs(this.#db, tables.length > 0 ? tables : await listTables(this.#db))
      : [];
    if (sharded !== undefined) {
      throw new InvalidUsageError(
        `projection ${this.name} refused: ${this.#db.schema}.${sharded}_log is row-sharded on Citus, whose change feed keeps a position per node, and a projection's catalog row keeps one transaction id; follow the feed with db.subscribe() and keep its cursor yourself (docs/scale-out.md#row-sharded-tables-on-citus)`,
      );
    }
    await projectionRows.register(this.#db, this.#db.schema, this.name, tables);
  }

  /** Reads after the stored cursor, then applies what it read in one transaction with the cursor. */
  async #round(): Promise<Round> {
    const [seen] = await projectionRows.read(this.#db, this.#db.schema, this.name);
    if (seen === undefined) throw new NotFoundError(`projection ${this.name} is not registered`);
    const page = await changes(this.#db, { ...this.#read, since: seen.cursor });
    if (page.changes.length === 0 && !seen.needs_reset) return { applied: 0, more: false };
    const outcome = await this.#db.transaction(async (tx) => {
      const row = await projectionRows.lock(tx, tx.schema, this.name);
      // Another process is applying (it holds the row), or applied since the read: read again later.
      if (row === undefined || !sameStart(row, seen)) return 'moved' as const;
      const handle = projectionTx(tx);
      if (row.needs_reset) {
        if (this.#def.reset === undefined)
          throw new InvalidStateError(
            `projection ${this.name} was asked to rebuild, but its definition has no reset(tx) to empty what it wrote: add one`,
          );
        await this.#def.reset(handle);
      }
      for (const set of page.changes) await this.#def.apply(set, handle);
      await projectionRows.advance(tx, tx.schema, this.name, page.cursor, page.changes.length);
      return 'applied' as const;
    });
    if (outcome === 'moved') return { applied: 0, more: false };
    return { applied: page.changes.length, more: page.changes.length === this.#read.limit };
  }
}

/** Whether the row still starts where the read did: same cursor, same rebuild state. */
function sameStart(row: ProjectionRow, seen: ProjectionRow): boolean {
  return row.cursor === seen.cursor && row.needs_reset === seen.needs_reset;
}

/** The `tx` handed to `apply`: statements on the projection's transaction, nothing else. */
function projectionTx(tx: Session): ProjectionTx {
  return {
    query: <R>(sql: string, params: readonly unknown[] = []) => {
      if (typeof sql !== 'string') throw new InvalidInputError('query takes a SQL string', 'sql');
      return tx.run<R>(sql, params);
    },
  };
}

/** Sets a projection back to the beginning; `not_found` when no projection has that name. */
export async function rebuildProjection(db: Session, name: string): Promise<void> {
  if (!(await projectionRows.rebuild(db, db.schema, name)))
    throw new NotFoundError(`projection ${name} has never run in schema ${db.schema}`);
}
