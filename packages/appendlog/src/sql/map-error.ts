import {
  AppendLogError,
  AppendOnlyError,
  InvalidInputError,
  InvalidStateError,
  NotFoundError,
  ReasonRequiredError,
  VersionConflictError,
} from '../errors.js';
import { SQLSTATE } from './sqlstate.js';

interface DatabaseErrorShape {
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

/**
 * Turns a PostgreSQL error (from node-postgres or PGlite, which share the shape) into a typed
 * {@link AppendLogError}. Errors we do not recognise are returned unchanged, so callers can
 * still match the SQLSTATE on `err.code` as they would with the driver alone.
 */
export function mapDatabaseError(err: unknown, query?: string): unknown {
  if (!(err instanceof Error) || err instanceof AppendLogError) return err;
  const e = err as Error & DatabaseErrorShape;
  const sqlState = typeof e.code === 'string' ? e.code : undefined;
  if (!sqlState) return err;
  const message = String(e.message).replace(/^appendlog: /, '');
  const options = { cause: err, sqlState, query };
  switch (sqlState) {
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
    case SQLSTATE.versionConflict: {
      const { expected, actual } = versionsFromDetail(e.detail);
      return new VersionConflictError(message, expected, actual, options);
    }
    case SQLSTATE.uniqueViolation:
      if (typeof e.constraint === 'string' && /_head_pkey$|_log_entry_id_version_key$/.test(e.constraint)) {
        return new VersionConflictError(
          'a concurrent writer created or advanced this entry first',
          null,
          null,
          options,
        );
      }
      return err;
    default:
      if (INVALID_INPUT_STATES.has(sqlState)) {
        return new InvalidInputError(message, typeof e.column === 'string' ? e.column : undefined, options);
      }
      return err;
  }
}

function versionsFromDetail(detail: unknown): { expected: number | null; actual: number | null } {
  if (typeof detail !== 'string') return { expected: null, actual: null };
  try {
    const parsed = JSON.parse(detail) as { expected?: unknown; actual?: unknown };
    return {
      expected: typeof parsed.expected === 'number' ? parsed.expected : null,
      actual: typeof parsed.actual === 'number' ? parsed.actual : null,
    };
  } catch {
    return { expected: null, actual: null };
  }
}

function fieldFromDetail(detail: unknown): string | undefined {
  if (typeof detail !== 'string') return undefined;
  const match = /^field=(\S+)/.exec(detail);
  return match?.[1];
}
