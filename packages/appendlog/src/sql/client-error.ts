import { AppendLogError } from '../errors.js';
import { type DatabaseErrorShape, mapDatabaseError, mapSqlState, sqlStateOf } from './map-error.js';

/** What a client's wrapper keeps of the server's error, in node-postgres's names. */
interface FoundError extends DatabaseErrorShape {
  code: string;
  message: string;
}

/**
 * Turns an error thrown by any PostgreSQL client into appendlog's typed error when the database
 * raised one of the SQLSTATEs appendlog uses or types (`40001`, `23505`, `AL001`–`AL005` …),
 * wherever the client keeps it: node-postgres and PGlite on `code`, postgres.js on `code` (with
 * `constraint_name`), Drizzle on `cause.code`, TypeORM on `driverError.code`, Prisma's driver
 * adapters on `meta.driverAdapterError.cause.originalCode`. The client's error stays on `cause`;
 * anything else is returned unchanged.
 *
 * @example
 * try {
 *   await prisma.$executeRaw`DELETE FROM addresses WHERE entry_id = ${id}::uuid`;
 * } catch (err) {
 *   const e = toAppendLogError(err);
 *   if (isAppendLogError(e) && e.code === 'reason_required') return askForAReason();
 *   throw e;
 * }
 */
export function toAppendLogError(err: unknown): unknown {
  if (err instanceof AppendLogError) return err;
  const found = findDatabaseError(err, 0);
  if (found === undefined) return mapDatabaseError(err);
  const shape = Object.assign(new Error(found.message), found);
  const mapped = mapSqlState(shape, { cause: err, sqlState: found.code });
  return mapped === shape ? err : mapped;
}

/** The first error along the client's wrappers that carries a SQLSTATE. */
function findDatabaseError(err: unknown, depth: number): FoundError | undefined {
  if (typeof err !== 'object' || err === null || depth > 5) return undefined;
  const e = err as Record<string, unknown>;
  const adapterCause = (e.meta as { driverAdapterError?: { cause?: Record<string, unknown> } } | undefined)
    ?.driverAdapterError?.cause;
  if (adapterCause !== undefined) {
    const code = sqlStateOf({ code: adapterCause.originalCode });
    if (code !== undefined) {
      return {
        code,
        message: String(adapterCause.originalMessage ?? adapterCause.message ?? e.message),
        detail: adapterCause.detail,
        column: adapterCause.column,
        constraint: (adapterCause.constraint as { index?: unknown } | undefined)?.index,
      };
    }
  }
  const code = sqlStateOf(err);
  if (code !== undefined && typeof e.message === 'string') {
    return {
      code,
      message: e.message,
      detail: e.detail,
      column: e.column ?? e.column_name,
      constraint: e.constraint ?? e.constraint_name,
    };
  }
  return findDatabaseError(e.driverError, depth + 1) ?? findDatabaseError(e.cause, depth + 1);
}
