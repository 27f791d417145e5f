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
  | 'reason_required'
  | 'invalid_input'
  | 'invalid_state'
  | 'invalid_usage'
  | 'append_only'
  | 'destructive_migration'
  | 'integrity';

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
  'reason_required',
  'invalid_input',
  'invalid_state',
  'invalid_usage',
  'append_only',
  'destructive_migration',
  'integrity',
]);
