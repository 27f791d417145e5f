import {
  AppendLogError,
  type AppendLogErrorOptions,
  AppendOnlyError,
  ConflictError,
  ConnectionError,
  DuplicateError,
  InvalidInputError,
  InvalidStateError,
  InvalidUsageError,
  NotFoundError,
  ReasonRequiredError,
  TimeoutError,
  VersionConflictError,
} from '../errors.js';
import { SQLSTATE } from './sqlstate.js';

export interface DatabaseErrorShape {
  code?: unknown;
  message?: unknown;
  detail?: unknown;
  column?: unknown;
  constraint?: unknown;
}

/** SQLSTATEs that mean "the value was refused" (data exceptions and constraint checks). */
const INVALID_INPUT_STATES = new Set([
  '22P02',
  '22021',
  '22001',
  '22003',
  '22007',
  '22008',
  '22023',
  '23502',
  '23514',
  '22P05',
]);

/** Node's codes for a socket that could not connect or went away (these are not SQLSTATEs). */
const NETWORK_ERRNOS = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** node-postgres raises these, with no code at all, when the connection ends or cannot be made. */
const LOST_CONNECTION_MESSAGE =
  /^(Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect)/;

/**
 * Turns a PostgreSQL error (from node-postgres or PGlite, which share the shape) into a typed
 * {@link AppendLogError}, keeping the SQLSTATE on `sqlState` and the driver's error on `cause`.
 * Errors we do not recognise are returned unchanged, so callers can still match the SQLSTATE on
 * `err.code` as they would with the driver alone.
 */
export function mapDatabaseError(err: unknown, query?: string): unknown {
  if (!(err instanceof Error) || err instanceof AppendLogError) return err;
  const e = err as Error & DatabaseErrorShape;
  const sqlState = sqlStateOf(err);
  if (isConnectionLoss(e, sqlState)) {
    return new ConnectionError(`database connection failed: ${e.message}`, { cause: err, sqlState, query });
  }
  if (sqlState === undefined) return err;
  return mapSqlState(e, { cause: err, sqlState, query });
}

/** The SQLSTATE of a driver error, if it has one (node's socket errors carry an errno name instead). */
export function sqlStateOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !NETWORK_ERRNOS.has(code)
    ? code
    : undefined;
}

function isConnectionLoss(e: Error & DatabaseErrorShape, sqlState: string | undefined): boolean {
  // Class 08 is connection_exception; 57P01–57P05 end the session (admin or crash shutdown,
  // cannot connect now, database dropped, idle session timeout).
  if (sqlState !== undefined) return sqlState.startsWith('08') || /^57P0[1-5]$/.test(sqlState);
  return (
    (typeof e.code === 'string' && NETWORK_ERRNOS.has(e.code)) || LOST_CONNECTION_MESSAGE.test(e.message)
  );
}

export function mapSqlState(e: Error & DatabaseErrorShape, options: AppendLogErrorOptions): unknown {
  const message = e.message.replace(/^appendlog: /, '');
  switch (options.sqlState) {
    case SQLSTATE.appendOnly:
      return new AppendOnlyError(message, options);
    case SQLSTATE.reasonRequired:
      return new ReasonRequiredError(message, options);
    case SQLSTATE.notFound:
      return new NotFoundError(message, options);
    case SQLSTATE.invalidState:
      return new InvalidStateError(message, options);
    case SQLSTATE.invalidInput:
      return new InvalidInputError(message, fieldFromDetail(e.detail), options);
    case SQLSTATE.versionConflict:
      return mapSerializationFailure(e, message, options);
    case SQLSTATE.deadlock:
      return new ConflictError(`${message}; the transaction was aborted, run it again`, options);
    case SQLSTATE.uniqueViolation:
      return mapUniqueViolation(e, message, options);
    case SQLSTATE.lockNotAvailable:
    case SQLSTATE.queryCanceled:
      return new TimeoutError(message, options);
    case '25006':
      return new InvalidUsageError(
        `${message}: this transaction is read-only: either it was opened with db.transaction(fn, { readOnly: true }) (write in another one) or the database is a streaming replica in recovery (write to the primary)`,
        options,
      );
    case '42601':
      // Both engines parse a query as one prepared statement, which refuses a script, unrun.
      if (/multiple commands/.test(message)) {
        return new InvalidUsageError(
          'query() runs one SQL statement at a time, and this text holds several; nothing was run. Send them one by one (in a transaction if they belong together)',
          options,
        );
      }
      return e;
    default:
      if (options.sqlState !== undefined && INVALID_INPUT_STATES.has(options.sqlState)) {
        return new InvalidInputError(message, typeof e.column === 'string' ? e.column : undefined, options);
      }
      return e;
  }
}

/**
 * `40001` is raised by appendlog's trigger, with `{"expected","actual"}` in DETAIL, and by
 * PostgreSQL itself for a serialization failure, without. The trigger's conflict whose writer
 * expected no entry at all (version 0) is an insert of an id that exists.
 */
function mapSerializationFailure(
  e: DatabaseErrorShape,
  message: string,
  options: AppendLogErrorOptions,
): AppendLogError {
  const versions = versionsFromDetail(e.detail);
  if (versions === null) {
    return new ConflictError(`${message}; the transaction was aborted, run it again`, options);
  }
  if (versions.expected === 0) return new DuplicateError(message, options);
  return new VersionConflictError(message, versions.expected, versions.actual, options);
}

/**
 * A unique violation on an entry's head or on `(entry_id, version)` is a second insert of an entry
 * id that exists (the chain trigger appends version 1 before the head row goes in, so the log's key
 * is usually the one that fires). Every other write locks the head row first, so it never races
 * there. Any other unique key (raw SQL) is reported as PostgreSQL words it.
 */
function mapUniqueViolation(
  e: DatabaseErrorShape,
  message: string,
  options: AppendLogErrorOptions,
): AppendLogError {
  // The chain trigger's own words (an entry id that exists, is deleted or is forgotten).
  if (typeof e.message === 'string' && e.message.startsWith('appendlog: '))
    return new DuplicateError(message, options);
  const key =
    typeof e.constraint === 'string'
      ? /^(.*)(?:_head_pkey|_log_pkey|_log_entry_id_version_key)$/.exec(e.constraint)
      : null;
  if (key) {
    const id =
      typeof e.detail === 'string'
        ? /\(entry_id(?:, version)?\)=\(([0-9a-f-]{36})/i.exec(e.detail)?.[1]
        : undefined;
    return new DuplicateError(
      id === undefined ? `${key[1]} entry already exists` : `${key[1]} entry ${id} already exists`,
      options,
    );
  }
  return new DuplicateError(message, options);
}

function versionsFromDetail(detail: unknown): { expected: number | null; actual: number | null } | null {
  if (typeof detail !== 'string') return null;
  try {
    const parsed = JSON.parse(detail) as { expected?: unknown; actual?: unknown };
    if (typeof parsed !== 'object' || parsed === null) return null;
    return {
      expected: typeof parsed.expected === 'number' ? parsed.expected : null,
      actual: typeof parsed.actual === 'number' ? parsed.actual : null,
    };
  } catch {
    return null;
  }
}

function fieldFromDetail(detail: unknown): string | undefined {
  if (typeof detail !== 'string') return undefined;
  const match = /^field=(\S+)/.exec(detail);
  return match?.[1];
}
