/**
 * Every error appendlog raises extends {@link AppendLogError} and carries a string `code`.
 * Match on `code`, not on `instanceof`: two copies of the package in one process would
 * each have their own classes, while codes stay comparable.
 *
 * @example
 * try {
 *   await book.update(id, { city: 'Oslo' }, { expectedVersion: 3 });
 * } catch (err) {
 *   if (isAppendLogError(err) && err.code === 'version_conflict') {
 *     console.log(`someone else wrote version ${err.actual}`);
 *   }
 * }
 */
export type ErrorCode =
  | 'not_found'
  | 'version_conflict'
  | 'conflict'
  | 'duplicate'
  | 'timeout'
  | 'connection'
  | 'reason_required'
  | 'invalid_input'
  | 'invalid_state'
  | 'invalid_usage'
  | 'append_only'
  | 'destructive_migration'
  | 'integrity'
  | 'tx_ids_ahead';

export interface AppendLogErrorOptions {
  cause?: unknown;
  /** The PostgreSQL SQLSTATE when the error came from the database. */
  sqlState?: string;
  /** The statement that failed, when there was one. */
  query?: string;
}

/** Base class of every error raised by appendlog. */
export class AppendLogError extends Error {
  readonly code: ErrorCode;
  /** The PostgreSQL SQLSTATE (`40001`, `23505`, `AL002` …) when the database raised it. */
  readonly sqlState: string | undefined;
  readonly query: string | undefined;

  constructor(code: ErrorCode, message: string, options: AppendLogErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppendLogError';
    this.code = code;
    this.sqlState = options.sqlState;
    this.query = options.query;
  }
}

/** The entry (or the version asked for) does not exist, or is not live. */
export class NotFoundError extends AppendLogError {
  constructor(message: string, options?: AppendLogErrorOptions) {
    super('not_found', message, options);
    this.name = 'NotFoundError';
  }
}

/**
 * A concurrent writer got there first: the entry is at version `actual`, the caller expected
 * `expected`. Re-read, then retry or show the user what changed.
 */
export class VersionConflictError extends AppendLogError {
  readonly expected: number | null;
  readonly actual: number | null;

  constructor(
    message: string,
    expected: number | null,
    actual: number | null,
    options?: AppendLogErrorOptions,
  ) {
    super('version_conflict', message, options);
    this.name = 'VersionConflictError';
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * PostgreSQL aborted the transaction to resolve a clash with a concurrent one: a deadlock
 * (`40P01`) or a serialization failure (`40001` raised by PostgreSQL itself, under REPEATABLE READ
 * or SERIALIZABLE). Nothing of the transaction was written. Unlike a `version_conflict`, which
 * says the data moved on and the caller must re-read and decide, nothing was wrong with the
 * request: `retryable` is always `true`, and running the whole transaction again is the remedy.
 *
 * @example
 * for (let attempt = 1; ; attempt++) {
 *   try {
 *     return await db.transaction(async (tx) => transfer(tx, from, to));
 *   } catch (err) {
 *     if (!(isAppendLogError(err) && err.code === 'conflict') || attempt === 3) throw err;
 *   }
 * }
 */
export class ConflictError extends AppendLogError {
  /** Always `true`: run the transaction again. */
  readonly retryable = true;

  constructor(message: string, options?: AppendLogErrorOptions) {
    super('conflict', message, options);
    this.name = 'ConflictError';
  }
}

/**
 * The key is taken: an `insert` with an `entryId` that already exists (`sqlState` `40001`), or
 * that a concurrent insert created first (`23505`); or any other unique violation (`23505`), as
 * raw SQL can raise. Inserting the same id again fails the same way; after a lost connection it
 * tells that the earlier insert did commit (or someone else's did).
 *
 * @example
 * try {
 *   await book.insert({ name: 'Ada' }, { entryId: orderId });
 * } catch (err) {
 *   if (!(isAppendLogError(err) && err.code === 'duplicate')) throw err; // already recorded
 * }
 */
export class DuplicateError extends AppendLogError {
  constructor(message: string, options?: AppendLogErrorOptions) {
    super('duplicate', message, options);
    this.name = 'DuplicateError';
  }
}

/**
 * A statement was cancelled for waiting too long: `lock_timeout` or `NOWAIT` (`55P03`),
 * `statement_timeout` or a cancel request (`57014`). That aborts its transaction, so nothing of
 * it is written; retrying later may succeed.
 *
 * @example
 * await db.transaction(async (tx) => {
 *   await tx.query(`SET LOCAL lock_timeout = '2s'`);
 *   await tx.table(accounts).update(id, { balance: '90' }); // err.code === 'timeout' after 2 s
 * });
 */
export class TimeoutError extends AppendLogError {
  constructor(message: string, options?: AppendLogErrorOptions) {
    super('timeout', message, options);
    this.name = 'TimeoutError';
  }
}

/**
 * The database could not be reached, or the connection was lost (the server closed it,
 * `pg_terminate_backend`, a network error). `sqlState` is set when the server said why (class
 * `08`, `57P01` …), unset when the socket just went. A transaction whose connection was lost
 * before COMMIT was rolled back; one lost during COMMIT may have committed: re-read before
 * writing again. The pool opens a new connection for the next call.
 *
 * @example
 * const db = await connect({ url }).catch((err) => {
 *   if (isAppendLogError(err) && err.code === 'connection') console.error('database down:', err.message);
 *   throw err;
 * });
 */
export class ConnectionError extends AppendLogError {
  constructor(message: string, options?: AppendLogErrorOptions) {
    super('connection', message, options);
    this.name = 'ConnectionError';
  }
}

/** Deleting or forgetting needs a reason: pass `{ reason }` or `SET LOCAL appendlog.reason`. */
export class ReasonRequiredError extends AppendLogError {
  constructor(message: string, options?: AppendLogErrorOptions) {
    super('reason_required', message, options);
    this.name = 'ReasonRequiredError';
  }
}

/** A value, name or option was refused before anything was written. `field` names the culprit. */
export class InvalidInputError extends AppendLogError {
  readonly field: string | undefined;

  constructor(message: string, field?: string, options?: AppendLogErrorOptions) {
    super('invalid_input', message, options);
    this.name = 'InvalidInputError';
    this.field = field;
  }
}

/** The operation does not apply to the entry as it stands (restoring a live entry, say). */
export class InvalidStateError extends AppendLogError {
  constructor(message: string, options?: AppendLogErrorOptions) {
    super('invalid_state', message, options);
    this.name = 'InvalidStateError';
  }
}

/** The library was called in a way that cannot work (the outer handle inside a transaction). */
export class InvalidUsageError extends AppendLogError {
  constructor(message: string, options?: AppendLogErrorOptions) {
    super('invalid_usage', message, options);
    this.name = 'InvalidUsageError';
  }
}

/** Something tried to change or remove a logged version. */
export class AppendOnlyError extends AppendLogError {
  constructor(message: string, options?: AppendLogErrorOptions) {
    super('append_only', message, options);
    this.name = 'AppendOnlyError';
  }
}

/** One destructive schema change refused by `migrate`, with the additive way to get there. */
export interface DestructiveChange {
  table: string;
  column?: string;
  change: string;
  instead: string;
}

/** `migrate` refused: the definitions ask for a change that would break running code. */
export class DestructiveMigrationError extends AppendLogError {
  readonly changes: DestructiveChange[];

  constructor(changes: DestructiveChange[], options?: AppendLogErrorOptions) {
    const lines = changes.map(
      (c) => `- ${c.table}${c.column ? `.${c.column}` : ''}: ${c.change}. Instead: ${c.instead}`,
    );
    super(
      'destructive_migration',
      `migrate refused ${changes.length} destructive change(s); nothing was applied:\n${lines.join('\n')}`,
      options,
    );
    this.name = 'DestructiveMigrationError';
    this.changes = changes;
  }
}

/** Stored data does not match its hashes, chain or head table. */
export class IntegrityError extends AppendLogError {
  constructor(message: string, options?: AppendLogErrorOptions) {
    super('integrity', message, options);
    this.name = 'IntegrityError';
  }
}

/**
 * A log holds versions whose transaction ids this PostgreSQL cluster has not handed out yet: the
 * data was restored from a cluster whose transaction ids were ahead (pg_dump into a new cluster).
 * Versions written here would get lower ids than the restored ones, so change sets and checkpoints,
 * which order by transaction id, would miss or misplace them: `changes` and `checkpoint` refuse
 * until the cluster is ahead of the log (docs/operations.md, "Restore into another cluster").
 * `changes` also refuses a cursor `since` the cluster has not reached (read before a point-in-time
 * recovery or a failover to a lagging replica): versions written next would be skipped.
 *
 * @example
 * try {
 *   await db.changes({ since: cursor });
 * } catch (err) {
 *   if (isAppendLogError(err) && err.code === 'tx_ids_ahead') alertOperator(err.message);
 * }
 */
export class TransactionIdsAheadError extends AppendLogError {
  /** The table whose log holds the highest transaction id ahead; null when it is the cursor `since`. */
  readonly table: string | null;
  /** That transaction id, or the cursor (xid8, as text). */
  readonly txId: string;
  /** The cluster's next transaction id when it was read (xid8, as text). */
  readonly nextTxId: string;

  constructor(
    message: string,
    table: string | null,
    txId: string,
    nextTxId: string,
    options?: AppendLogErrorOptions,
  ) {
    super('tx_ids_ahead', message, options);
    this.name = 'TransactionIdsAheadError';
    this.table = table;
    this.txId = txId;
    this.nextTxId = nextTxId;
  }
}

/** True when `err` is an appendlog error, whichever copy of the package raised it. */
export function isAppendLogError(err: unknown): err is AppendLogError {
  return (
    err instanceof Error &&
    typeof (err as { code?: unknown }).code === 'string' &&
    ERROR_CODES.has((err as unknown as { code: string }).code)
  );
}

const ERROR_CODES = new Set<string>([
  'not_found',
  'version_conflict',
  'conflict',
  'duplicate',
  'timeout',
  'connection',
  'reason_required',
  'invalid_input',
  'invalid_state',
  'invalid_usage',
  'append_only',
  'destructive_migration',
  'integrity',
  'tx_ids_ahead',
]);
