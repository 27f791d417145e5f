import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import type { PGlite } from '@electric-sql/pglite';
import type { Pool, PoolConfig } from 'pg';
import { type ChangesOptions, type ChangesResult, changes as readChanges } from './api/changes.js';
import { Table } from './api/table.js';
import { openPostgres, postgresDriver } from './driver/node-postgres.js';
import { openPGlite, pgliteDriver } from './driver/pglite.js';
import type { Driver, Listener, Queryable, QueryOptions } from './driver/types.js';
import { runPurge } from './erasure/purge.js';
import type { PurgeOptions, PurgeResult } from './erasure/purge-types.js';
import { syncRetention } from './erasure/retention.js';
import { ConnectionError, InvalidInputError, InvalidUsageError } from './errors.js';
import { type ArchiveOptions, type ArchiveResult, archiveLogs, dropArchive } from './integrity/archive.js';
import { type CheckpointOptions, takeCheckpoint, takeClusterCheckpoint } from './integrity/checkpoint.js';
import type { Checkpoint } from './integrity/checkpoint-format.js';
import {
  buildConsistencyProof,
  type ConsistencyProof,
  type ConsistencyProofOptions,
} from './integrity/consistency-proof.js';
import {
  buildInclusionProof,
  type InclusionProof,
  type InclusionProofOptions,
  type VersionRef,
} from './integrity/inclusion.js';
import type { VerifyResult } from './integrity/report.js';
import { type VerifyOptions, verifyDatabase } from './integrity/verify.js';
import { readSchemaHistory, type SchemaHistoryOptions, type SchemaHistoryRecord } from './migrate/history.js';
import { checkMigrateInput, type MigrateOptions, type MigrateResult, runMigration } from './migrate/run.js';
import { contextSettingsSql, resolveContext, SAVED_CONTEXT_SQL, type WriteContext } from './model/context.js';
import { Projection, type ProjectionDefinition, rebuildProjection } from './realtime/projection.js';
import { type ProjectionStatus, projectionStatus } from './realtime/projection-status.js';
import {
  type ChangeHandler,
  type SubscribeOptions,
  type Subscription,
  subscribe as subscribeToChanges,
} from './realtime/subscribe.js';
import { redactUrl } from './redact-url.js';
import { quoteIdent, validateSchemaName } from './schema/names.js';
import type { ColumnMap, TableDef } from './schema/table.js';
import { mapDatabaseError, sqlStateOf } from './sql/map-error.js';
import { PIN_SEARCH_PATH_SQL, RESTORE_SEARCH_PATH_SQL } from './sql/search-path.js';

export type { MigrateOptions, MigrateResult } from './migrate/run.js';

/** How to reach the database. With no option at all: embedded PGlite, in memory. */
export interface ConnectOptions {
  /** A PostgreSQL connection string; uses node-postgres. */
  url?: string;
  /** A directory for embedded PGlite to keep its data in. */
  dataDir?: string;
  /** An existing node-postgres `Pool` or `PGlite` instance; the caller keeps ownership. */
  client?: Pool | PGlite;
  /** The schema holding appendlog's tables (default `public`). */
  schema?: string;
  /** Extra node-postgres pool settings (`max`, timeouts …) when connecting by `url`. */
  pool?: PoolConfig;
  /**
   * Wake `db.subscribe` and projections at once after this handle's writes (`appendlog.notify =
   * on`, a NOTIFY per writing statement). Off by default on PostgreSQL: PostgreSQL serializes the
   * commits of notifying transactions, which halved the throughput of 4 concurrent writers here;
   * subscribers then notice writes by polling. With `url`; a `Pool` of your own gets it from its
   * own `options: '-c appendlog.notify=on'`. Always on with PGlite (one connection, no cost).
   */
  notify?: boolean;
}

interface TxScope {
  driver: Driver;
  conn: Queryable;
}

/**
 * The connection one transaction holds, shared by its `tx` handle and every handle made from it
 * (`withContext`, nested savepoints). `ended` turns true as soon as the callback settles, before
 * COMMIT or ROLLBACK: from then on the connection may be back in the pool serving someone else
 * (node-postgres) or closed to statements (PGlite), so a kept handle must not reach it.
 */
interface Session {
  readonly conn: Queryable;
  ended: boolean;
}

/** Which transaction (if any) the current async call chain runs inside. */
const txScope = new AsyncLocalStorage<TxScope>();
const statementNames = new Map<string, string>();
let savepointCounter = 0;

function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (name === undefined) {
    name = `appendlog_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`;
    statementNames.set(sql, name);
  }
  return name;
}

/**
 * How `db.transaction` runs its transaction: the isolation level (PostgreSQL's default, read
 * committed, unless given) and whether it may write. A read-only transaction refuses every
 * write, chained or not, with `invalid_usage`; serializable transactions can fail with `conflict`
 * (retryable) where PostgreSQL finds a dangerous pattern.
 *
 * @example
 * await db.transaction(async (tx) => report(await tx.table(people).list()), { isolation: 'repeatable read', readOnly: true });
 */
export interface TransactionOptions {
  isolation?: 'read committed' | 'repeatable read' | 'serializable';
  readOnly?: boolean;
}

const ISOLATION_LEVELS = new Set(['read committed', 'repeatable read', 'serializable']);

/** `SET TRANSACTION …` for `options`, or null when they ask for the defaults. */
function transactionCharacteristicsSql(options: TransactionOptions): string | null {
  if (typeof options !== 'object' || options === null)
    throw new InvalidInputError('transaction options must be an object', 'options');
  const parts: string[] = [];
  if (options.isolation !== undefined) {
    if (!ISOLATION_LEVELS.has(options.isolation))
      throw new InvalidInputError(
        `isolation must be 'read committed', 'repeatable read' or 'serializable', not ${JSON.stringify(options.isolation)}`,
        'isolation',
      );
    parts.push(`ISOLATION LEVEL ${options.isolation.toUpperCase()}`);
  }
  if (options.readOnly !== undefined) {
    if (typeof options.readOnly !== 'boolean')
      throw new InvalidInputError('readOnly must be a boolean', 'readOnly');
    if (options.readOnly) parts.push('READ ONLY');
  }
  return parts.length === 0 ? null : `SET TRANSACTION ${parts.join(', ')}`;
}

function isPGlite(client: unknown): client is PGlite {
  const c = client as { exec?: unknown; transaction?: unknown; waitReady?: unknown };
  return typeof c.exec === 'function' && typeof c.transaction === 'function' && 'waitReady' in c;
}

function isPool(client: unknown): client is Pool {
  const c = client as { connect?: unknown; query?: unknown; totalCount?: unknown };
  return typeof c.connect === 'function' && typeof c.query === 'function' && typeof c.totalCount === 'number';
}

/**
 * Opens a database. Embedded PGlite in memory by default, on disk with `dataDir`, a PostgreSQL
 * server with `url`, or whatever client you pass.
 *
 * @example
 * const db = await connect();                                   // PGlite, in memory
 * const db = await connect({ dataDir: '.data' });               // PGlite, on disk
 * const db = await connect({ url: process.env.DATABASE_URL });  // PostgreSQL
 */
export async function connect(options: ConnectOptions = {}): Promise<Database> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidInputError('connect() takes an options object', 'options');
  }
  const schema = options.schema ?? 'public';
  validateSchemaName(schema);
  const chosen = [options.url, options.dataDir, options.client].filter((o) => o !== undefined).length;
  if (chosen > 1) {
    throw new InvalidInputError('pass only one of url, dataDir and client to connect()', 'options');
  }
  let driver: Driver;
  if (options.url !== undefined) {
    checkUrl(options.url);
    // Raw SQL through this handle sees appendlog's schema first, as the library does; server
    // options of the caller's own (`pool.options`, e.g. `-c role=app`) come on top, not instead.
    const startup = [
      schema === 'public' ? undefined : `-c search_path=${quoteIdent(schema)},public`,
      options.notify === true ? '-c appendlog.notify=on' : undefined,
      options.pool?.options,
    ].filter((o) => o !== undefined);
    driver = await openPostgres(options.url, {
      ...options.pool,
      ...(startup.length > 0 && { options: startup.join(' ') }),
    });
  } else if (options.client !== undefined) {
    if (isPGlite(options.client)) driver = pgliteDriver(options.client, false);
    else if (isPool(options.client)) driver = postgresDriver(options.client, false);
    else throw new InvalidInputError('client must be a node-postgres Pool or a PGlite instance', 'client');
  } else {
    driver = await openPGlite(options.dataDir);
  }
  const server = await checkServer(driver, options.url);
  // PGlite has one connection: its notifications serialize nothing, so they are always on.
  const pglite = options.url === undefined && (options.client === undefined || isPGlite(options.client));
  if (pglite) {
    await driver.query(`SELECT pg_catalog.set_config('appendlog.notify', 'on', false)`);
  }
  return new Database(driver, schema, undefined, {}, server.citus);
}

/**
 * A connection string node-postgres reads as meant: `postgres://` or `postgresql://`, or a socket
 * directory. Anything else it would resolve against a host named `base`, and fail far from the typo.
 */
function checkUrl(url: string): void {
  const expected = 'expected postgres://user:password@host:5432/database';
  if (typeof url !== 'string' || !/^(postgres(ql)?:\/\/|\/)/i.test(url.trim())) {
    throw new InvalidInputError(
      `"${redactUrl(String(url))}" is not a PostgreSQL connection URL (${expected})`,
      'url',
    );
  }
  if (url.startsWith('/')) return;
  try {
    new URL(url);
  } catch (cause) {
    throw new InvalidInputError(
      `"${redactUrl(url)}" is not a valid connection URL: ${(cause as Error).message} (${expected})`,
      'url',
      { cause },
    );
  }
}

/**
 * Fails fast, with a clear message, when the server is unreachable or too old; says whether it
 * runs Citus (whose library, once loaded, defines the `citus.version` setting).
 */
async function checkServer(driver: Driver, url: string | undefined): Promise<{ citus: boolean }> {
  let versionNum: number;
  let citus: boolean;
  try {
    const { rows } = await driver.query<{ v: string; citus: boolean }>(
      `SELECT pg_catalog.current_setting('server_version_num') AS v,
              pg_catalog.current_setting('citus.version', true) IS NOT NULL AS citus`,
    );
    versionNum = Number(rows[0]?.v);
    citus = rows[0]?.citus === true;
  } catch (cause) {
    await driver.close().catch(() => {});
    const where = url ? ` at ${redactUrl(url)}` : '';
    // Refused, unknown host, bad password, no such database: whatever the reason, no session.
    throw new ConnectionError(`cannot reach the database${where}: ${(cause as Error).message}`, {
      cause,
      sqlState: sqlStateOf(cause),
    });
  }
  if (versionNum < 130000) {
    await driver.close().catch(() => {});
    throw new Error(`appendlog: PostgreSQL 13 or newer is required (server reports ${versionNum})`);
  }
  return { citus };
}

/**
 * A connection to an appendlog database: migrations, tables, transactions and context.
 * Inside `transaction` and `withContext` you get another `Database` bound to that scope.
 */
export class Database {
  /** The schema holding the tables. */
  readonly schema: string;
  /** `pglite` or `postgres`. */
  readonly kind: 'pglite' | 'postgres';
  /** @internal Whether the server runs Citus (docs/scale-out.md, "Schema-per-tenant on Citus"). */
  readonly citus: boolean;
  readonly #driver: Driver;
  readonly #session: Session | undefined;
  readonly #context: WriteContext;

  /** @internal Use {@link connect}. */
  constructor(
    driver: Driver,
    schema: string,
    session: Session | undefined,
    context: WriteContext,
    citus = false,
  ) {
    this.#driver = driver;
    this.schema = schema;
    this.kind = driver.kind;
    this.citus = citus;
    this.#session = session;
    this.#context = context;
  }

  /** @internal The write context in force (actor, reason, meta). */
  get context(): WriteContext {
    return this.#context;
  }

  /**
   * The API of one table.
   *
   * @example
   * const book = db.table(addresses);
   * const v1 = await book.insert({ name: 'Thor' });
   */
  table<C extends ColumnMap>(def: TableDef<C>): Table<C> {
    return new Table(this, def);
  }

  /**
   * Creates or extends the tables, additively only, under an advisory lock so several app
   * instances can call it at start-up. Destructive changes are refused before anything runs;
   * old code migrating with its older definition changes nothing. See docs/migrations.md.
   *
   * @example
   * await db.migrate([addresses]);
   * const { statements } = await db.migrate([addresses], { dryRun: true });
   */
  async migrate(tables: readonly TableDef[], options: MigrateOptions = {}): Promise<MigrateResult> {
    checkMigrateInput(tables, options);
    return this.pinnedTransaction(async (tx) => {
      const result = await runMigration(tx, this.kind, this.schema, tables, options);
      // The recycle-bin retention (docs/erasure.md); old code running behind a newer migration changes none.
      if (!options.dryRun)
        await syncRetention(
          tx,
          tables.filter((t) => !result.behind.includes(t.name)),
        );
      return result;
    });
  }

  /**
   * The schema history, oldest first: every change `migrate` applied, when, by which library
   * version and role, with the table's resulting definition. It is append-only.
   *
   * @example
   * for (const r of await db.schemaHistory({ table: 'addresses' })) console.log(r.seq, r.change, r.summary);
   */
  async schemaHistory(options: SchemaHistoryOptions = {}): Promise<SchemaHistoryRecord[]> {
    return readSchemaHistory(this, this.schema, options);
  }

  /**
   * Runs due erasures: forgets deleted entries past their table's retention, then erases every
   * forgotten entry whose due time has passed (user columns and salt of all its versions, through
   * the database's single sanctioned path), in batches that each commit, then VACUUMs. Run it as
   * the role that owns the tables, on the database handle (not inside a transaction).
   *
   * @example
   * const { erased } = await db.purge();
   * const preview = await db.purge({ dryRun: true });
   */
  async purge(options: PurgeOptions = {}): Promise<PurgeResult> {
    if (this.#session !== undefined) {
      throw new InvalidUsageError(
        'purge() commits batch by batch and then VACUUMs: call it outside db.transaction()',
      );
    }
    return runPurge(this, options);
  }

  /**
   * Runs `fn` in one transaction: everything it writes commits together or not at all. Use the
   * `tx` handle inside; the outer handle is refused there (on PGlite it would wait forever).
   * Nested calls become savepoints. The `tx` handle, and any table handle taken from it, ends with
   * the callback: used after the callback settled it throws `invalid_usage` and runs nothing.
   *
   * @example
   * await db.transaction(async (tx) => {
   *   const a = await tx.table(accounts).update(from, { balance: '90' });
   *   await tx.table(accounts).update(to, { balance: '110' });
   * });
   */
  async transaction<T>(fn: (tx: Database) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    if (typeof fn !== 'function') throw new InvalidInputError('transaction() takes a callback', 'fn');
    const characteristics = transactionCharacteristicsSql(options);
    if (this.#session !== undefined) {
      if (characteristics !== null) {
        throw new InvalidUsageError(
          'a nested transaction is a savepoint of the outer one, which cannot change its isolation or read-only mode: pass them to the outermost db.transaction()',
        );
      }
      const savepoint = quoteIdent(`appendlog_sp_${++savepointCounter}`);
      await this.run(`SAVEPOINT ${savepoint}`);
      try {
        const result = await fn(this);
        await this.run(`RELEASE SAVEPOINT ${savepoint}`);
        return result;
      } catch (err) {
        await this.run(`ROLLBACK TO SAVEPOINT ${savepoint}`);
        throw err;
      }
    }
    return this.#begin(async (tx) => {
      // SET TRANSACTION must come before any query of the transaction.
      if (characteristics !== null) await tx.run(characteristics);
      const settings = contextSettingsSql(resolveContext(this.#context, undefined));
      if (settings) await tx.run(settings.sql, settings.params);
    }, fn);
  }

  /**
   * Runs `fn` with a handle whose writes record this actor, reason and metadata unless a call
   * says otherwise. Raw SQL run through that handle sees them too (as `appendlog.*` settings).
   *
   * @example
   * await db.withContext({ actor: 'alice', meta: { ip } }, async (db) => {
   *   await db.table(addresses).update(id, { city: 'Oslo' });
   * });
   */
  async withContext<T>(context: WriteContext, fn: (db: Database) => Promise<T>): Promise<T> {
    const merged = { ...this.#context, ...context, meta: { ...this.#context.meta, ...context?.meta } };
    const resolved = resolveContext(merged, undefined);
    this.#assertNotEnded();
    const scoped = new Database(this.#driver, this.schema, this.#session, merged, this.citus);
    const settings = this.#session === undefined ? null : contextSettingsSql(resolved);
    if (settings === null) return fn(scoped);
    // Inside a transaction raw SQL reads the context from settings; put the old ones back afterwards.
    const [saved] = await this.run<{ actor: string | null; reason: string | null; meta: string | null }>(
      SAVED_CONTEXT_SQL,
    );
    await this.run(settings.sql, settings.params);
    try {
      return await fn(scoped);
    } finally {
      await this.run(settings.sql, [saved?.actor ?? null, saved?.reason ?? null, saved?.meta ?? null]);
    }
  }

  /**
   * Raw SQL on this handle's connection (inside a transaction, on the transaction). The
   * database enforces the append-only rules here too.
   *
   * @example
   * const rows = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM addresses');
   */
  async query<R = Record<string, unknown>>(sql: string, params: readonly unknown[] = []): Promise<R[]> {
    if (this.#session === undefined) {
      const settings = contextSettingsSql(resolveContext(this.#context, undefined));
      if (settings) return this.transaction((tx) => tx.query<R>(sql, params));
    }
    return this.run<R>(sql, params);
  }

  /**
   * Recomputes every hash from the column values (never trusting one the database computed),
   * checks every chain link, versions 1..n and the head table, in one snapshot, streaming.
   * With `against`, also proves the log still extends that checkpoint. See docs/integrity.md.
   *
   * @example
   * const { ok, checked, erased, failures } = await db.verify();
   * const r = await db.verify({ against: readFileSync('checkpoint', 'utf8'), publicKey });
   */
  async verify(options: VerifyOptions = {}): Promise<VerifyResult> {
    return verifyDatabase(this, options);
  }

  /**
   * Takes a checkpoint: the Merkle tree head over every version committed so far, stored in the
   * catalog and returned to keep elsewhere, optionally signed with Ed25519. `checkpointNote(cp)`
   * is its C2SP tlog-checkpoint signed note.
   *
   * @example
   * const cp = await db.checkpoint({ signKey: readFileSync('checkpoint-key.pem', 'utf8') });
   * writeFileSync('checkpoint', checkpointNote(cp));
   */
  async checkpoint(options: CheckpointOptions = {}): Promise<Checkpoint> {
    return takeCheckpoint(this, options);
  }

  /**
   * Takes the checkpoints of a row-sharded schema on Citus: one Merkle tree per writing node (each
   * worker numbers its own transactions, so each is a log of its own, docs/spec.md §7.7), one
   * checkpoint per node that has written versions, each with its `node` and the origin
   * `<origin>/node-<group>`. Keep them together; `db.verify({ against: checkpoints })` checks each.
   *
   * @example
   * const cps = await db.clusterCheckpoint({ signKey });
   * for (const cp of cps) writeFileSync(`checkpoint.node-${cp.node}`, checkpointNote(cp));
   */
  async clusterCheckpoint(options: CheckpointOptions = {}): Promise<Checkpoint[]> {
    return takeClusterCheckpoint(this, options);
  }

  /**
   * Archives a schema whose logs are range-partitioned (`migrate(tables, { partitioned: true })`):
   * every version below a checkpoint's horizon (the latest checkpoint's by default) leaves the
   * logs for a detached table per log, to export (`exportCar(db, file, { archive: id })`) and then
   * drop (`db.dropArchive(id)`). The log stays verifiable: the tree below the horizon is the
   * checkpoint's leaf index, and each entry's last archived version stays in the log. See
   * docs/scale-out.md, "Range-partitioned logs and archives".
   *
   * @example
   * await db.checkpoint();
   * const { id } = await db.archive();
   * await exportCar(db, `archive-${id}.car`, { archive: id });
   * await db.dropArchive(id);
   */
  async archive(options: ArchiveOptions = {}): Promise<ArchiveResult> {
    return archiveLogs(this, options);
  }

  /** Drops the detached tables of archive `id`, once exported; returns their names. See {@link archive}. */
  async dropArchive(id: number): Promise<string[]> {
    return dropArchive(this, id);
  }

  /**
   * The RFC 9162 consistency proof from the tree of the first `oldSize` versions to a stored
   * checkpoint (the latest by default), built from the catalog's leaf index: what a witness
   * checks before it cosigns (`witnessCheckpoint`).
   *
   * @example
   * const { checkpoint, proof } = await db.consistencyProof(lastCosigned.treeSize);
   */
  async consistencyProof(oldSize: number, options: ConsistencyProofOptions = {}): Promise<ConsistencyProof> {
    return buildConsistencyProof(this, oldSize, options);
  }

  /**
   * Proves that one version is in a checkpoint's tree (the latest one by default); check it
   * offline with `verifyInclusionProof`.
   *
   * @example
   * const proof = await db.inclusionProof({ table: 'addresses', entryId, version: 2 });
   * verifyInclusionProof(proof, checkpoint).ok; // true
   */
  async inclusionProof(version: VersionRef, options: InclusionProofOptions = {}): Promise<InclusionProof> {
    return buildInclusionProof(this, version, options);
  }

  /**
   * @internal Runs `fn` in one REPEATABLE READ snapshot (read only), its search_path pinned as in
   * {@link pinnedTransaction}. Inside a transaction, in it.
   */
  async snapshot<T>(fn: (tx: Database) => Promise<T>): Promise<T> {
    if (this.#session !== undefined) {
      this.#assertNotEnded();
      return this.#pinned(fn, true);
    }
    return this.#begin(
      async (tx) => {
        await tx.run('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      },
      (tx) => tx.#pinned(fn, false),
    );
  }

  /**
   * @internal A transaction (a savepoint inside one) whose search_path is `pg_catalog, pg_temp`,
   * as in every tool the owner runs: its statements, and the triggers and functions they fire,
   * resolve no name in a schema another role may create objects in. The caller's search_path is
   * back afterwards. See "search_path" in docs/architecture.md.
   */
  async pinnedTransaction<T>(fn: (tx: Database) => Promise<T>): Promise<T> {
    const nested = this.#session !== undefined;
    return this.transaction((tx) => tx.#pinned(fn, nested));
  }

  /**
   * Runs `fn` on this transaction handle with the search_path pinned; with `restore` (inside a
   * caller's transaction), puts the caller's back afterwards. Not after an error: the connection
   * may be unusable (a COPY left halfway), and a rollback (to the savepoint, when nested) undoes
   * the pin with the rest. A caller that catches an error of a snapshot taken inside its own
   * transaction keeps the pinned path until that transaction ends.
   */
  async #pinned<T>(fn: (tx: Database) => Promise<T>, restore: boolean): Promise<T> {
    const [saved] = await this.run<{ path: string }>(PIN_SEARCH_PATH_SQL);
    const result = await fn(this);
    if (restore) await this.run(RESTORE_SEARCH_PATH_SQL, [saved!.path]);
    return result;
  }

  /**
   * Change sets: every version each transaction wrote, across tables, oldest transaction first,
   * after the cursor `since`. A transaction still running holds back those that committed after
   * it, so a reader that stores the cursor never misses one.
   *
   * @example
   * const { changes, cursor } = await db.changes({ since: saved, limit: 50 });
   * for (const set of changes) console.log(set.txId, set.actor, set.versions.map((v) => `${v.table}:${v.op}`));
   * saved = cursor;
   */
  async changes(options?: ChangesOptions): Promise<ChangesResult> {
    return readChanges(this, options);
  }

  /**
   * Pushes change sets to `handler` as transactions commit: every set after `since`, once each,
   * in `changes` order (gap-free: a transaction still open holds back those after it), the next
   * set only after the handler's promise settled. Woken by LISTEN/NOTIFY (a connection of its own
   * on PostgreSQL; in-process on PGlite), polling every `interval` ms where it cannot listen.
   * Call it on the database handle, not inside a transaction.
   *
   * @example
   * const sub = db.subscribe({ since: saved, tables: [people] }, async (set) => {
   *   for (const v of set.versions) console.log(v.table, v.entryId, v.op, 'by', v.actor);
   * });
   * sub.done.catch((err) => console.error('subscription ended', err));
   * await sub.stop(); // later; sub.cursor is where to resume
   */
  subscribe(options: SubscribeOptions, handler: ChangeHandler): Subscription {
    this.#refuseInTransaction('subscribe()');
    return subscribeToChanges(this, options, handler);
  }

  /**
   * A durable projection named `name`: `apply(changeSet, tx)` runs in a transaction that also
   * moves the projection's cursor (stored in `appendlog_projections`), so its effects happen
   * exactly once whatever crashes. `start()` follows the log, `catchUp()` applies what there is,
   * `status()` tells the lag, `rebuild()` starts over. See docs/api.md, "Realtime".
   *
   * @example
   * const activity = db.projection('activity', {
   *   tables: [people],
   *   apply: async (set, tx) => {
   *     await tx.query('INSERT INTO activity (actor, n) VALUES ($1, 1) ON CONFLICT (actor) DO UPDATE SET n = activity.n + 1', [set.actor]);
   *   },
   *   reset: async (tx) => { await tx.query('DELETE FROM activity'); },
   * });
   * const run = activity.start();
   */
  projection(name: string, definition: ProjectionDefinition): Projection {
    this.#refuseInTransaction('projection()');
    return new Projection(this, name, definition);
  }

  /** @internal The status of one projection, or of every one: what `appendlog projection status` shows. */
  async projectionStatus(name?: string): Promise<ProjectionStatus[]> {
    return projectionStatus(this, name);
  }

  /** @internal Sets a projection back to the beginning (`appendlog projection rebuild`). */
  async rebuildProjection(name: string): Promise<void> {
    return rebuildProjection(this, name);
  }

  /** @internal LISTEN on a connection of its own (PostgreSQL) or on the instance (PGlite). */
  async listen(
    channel: string,
    onNotify: (payload: string) => void,
    onLost: (err: Error) => void,
  ): Promise<Listener> {
    this.#refuseInTransaction('listen()');
    return this.#driver.listen(channel, onNotify, onLost);
  }

  #refuseInTransaction(what: string): void {
    if (this.#session !== undefined)
      throw new InvalidUsageError(
        `${what} runs on its own connections: call it on the database handle, not a transaction handle`,
      );
  }

  /** Closes the connection (the pool, or the embedded database) if appendlog opened it. */
  async close(): Promise<void> {
    if (this.#session !== undefined)
      throw new InvalidUsageError('close() the outer database, not a transaction handle');
    await this.#driver.close();
  }

  /** @internal One statement, prepared by name on PostgreSQL, errors mapped to typed errors. */
  run<R = Record<string, unknown>>(
    sql: string,
    params: readonly unknown[] = [],
    prepare = false,
  ): Promise<R[]> {
    return this.#query<R>(sql, params, prepare ? { name: statementName(sql) } : {});
  }

  /**
   * @internal {@link run}, each row the array of its values in select-list order, as the server's
   * text where the driver can give it so (a prepared statement), else parsed (QueryOptions.rowMode `text`).
   */
  runValues(sql: string, params: readonly unknown[] = [], prepare = false): Promise<unknown[][]> {
    return this.#query<unknown[]>(
      sql,
      params,
      prepare ? { name: statementName(sql), rowMode: 'text' } : { rowMode: 'text' },
    );
  }

  async #query<R>(sql: string, params: readonly unknown[], options: QueryOptions): Promise<R[]> {
    const conn = this.#connection();
    try {
      return (await conn.query<R>(sql, params, options)).rows;
    } catch (err) {
      throw mapDatabaseError(err, sql);
    }
  }

  /** @internal A multi-statement script (DDL). */
  async exec(sql: string): Promise<void> {
    const conn = this.#connection();
    try {
      await conn.exec(sql);
    } catch (err) {
      throw mapDatabaseError(err, sql);
    }
  }

  /**
   * @internal The rows of `select` in binary COPY format (see `Queryable.copyBinary`), on this
   * transaction's connection; errors mapped to typed errors.
   */
  async copyBinary(select: string, onChunk: (chunk: Uint8Array) => void): Promise<void> {
    const copy = this.#session === undefined ? undefined : this.#connection().copyBinary;
    if (copy === undefined) throw new InvalidUsageError('copyBinary() needs a transaction handle');
    try {
      await copy.copy(select, onChunk);
    } catch (err) {
      throw mapDatabaseError(err, select);
    }
  }

  /** @internal Whether {@link copyBinary} streams (else it hands the whole result over at the end). */
  get copyStreams(): boolean {
    return this.#session?.conn.copyBinary?.streams ?? false;
  }

  /**
   * BEGIN … COMMIT on one connection: `prepare`, then `fn`, get a handle that ends when they
   * settle. What they throw reaches the caller as it is; a failure of the transaction itself
   * (checking out a connection, BEGIN, COMMIT) is mapped to a typed error.
   */
  async #begin<T>(prepare: (tx: Database) => Promise<void>, fn: (tx: Database) => Promise<T>): Promise<T> {
    this.#assertOutsideTransaction();
    let thrown: { err: unknown } | undefined;
    try {
      return await this.#driver.transaction(async (conn) => {
        const session: Session = { conn, ended: false };
        const tx = new Database(this.#driver, this.schema, session, this.#context, this.citus);
        try {
          return await txScope.run({ driver: this.#driver, conn }, async () => {
            await prepare(tx);
            return await fn(tx);
          });
        } catch (err) {
          thrown = { err };
          throw err;
        } finally {
          session.ended = true;
        }
      });
    } catch (err) {
      throw thrown?.err === err ? err : mapDatabaseError(err);
    }
  }

  /** The connection this handle's statements go to: its transaction's, or the driver's. */
  #connection(): Queryable {
    if (this.#session === undefined) {
      this.#assertOutsideTransaction();
      return this.#driver;
    }
    this.#assertNotEnded();
    return this.#session.conn;
  }

  #assertNotEnded(): void {
    if (this.#session?.ended) {
      throw new InvalidUsageError(
        'a transaction handle was used after its db.transaction() callback had settled: the transaction ' +
          'has committed or rolled back and its connection is no longer its own. Use it only inside the callback',
      );
    }
  }

  #assertOutsideTransaction(): void {
    const scope = txScope.getStore();
    if (scope !== undefined && scope.driver === this.#driver) {
      throw new InvalidUsageError(
        'the outer database handle was used inside db.transaction(); use the tx handle passed to the callback' +
          (this.kind === 'pglite'
            ? ' (on PGlite the outer handle would wait for the transaction forever)'
            : ''),
      );
    }
  }
}
