import { InvalidInputError } from '../errors.js';
import { checkLabel, checkMeta } from './values.js';

/**
 * Who is acting, why, and anything else worth recording with the versions written under it.
 * Given per call, or for a block of calls with `db.withContext`.
 */
export interface WriteContext {
  actor?: string;
  reason?: string;
  meta?: Record<string, unknown>;
}

/** The validated labels of one write, ready to bind as parameters. */
export interface ResolvedContext {
  actor: string | null;
  reason: string | null;
  meta: string | null;
}

/** Merges a call's options over the surrounding context; the call wins, metas merge. */
export function resolveContext(outer: WriteContext, call: WriteContext | undefined): ResolvedContext {
  if (call !== undefined && (typeof call !== 'object' || call === null)) {
    throw new InvalidInputError('options must be an object', 'options');
  }
  for (const m of [outer.meta, call?.meta]) {
    if (m !== undefined && m !== null && (typeof m !== 'object' || Array.isArray(m))) {
      throw new InvalidInputError('meta must be a plain object', 'meta');
    }
  }
  const meta = outer.meta || call?.meta ? { ...outer.meta, ...call?.meta } : undefined;
  return {
    actor: checkLabel(call?.actor ?? outer.actor, 'actor'),
    reason: checkLabel(call?.reason ?? outer.reason, 'reason'),
    meta: checkMeta(meta),
  };
}

/**
 * What names the current transaction in `appendlog.context_tx`: the backend and the time the
 * transaction started, as text no session setting changes. Set only transaction-locally (by
 * `appendlog_context` and {@link contextSettingsSql}), so a later transaction never matches it,
 * even if it leaked. Strict mode (`appendlog.strict_context`) takes labels from the settings only
 * in a transaction so marked.
 */
export const CONTEXT_MARKER_SQL = `pg_catalog.pg_backend_pid()::text || ':' || EXTRACT(epoch FROM pg_catalog.transaction_timestamp())::text`;

/**
 * SQL that sets the context for the rest of the current transaction (raw SQL writes see it), and
 * marks the transaction as one whose labels appendlog set, as `appendlog_context` does: under
 * strict mode the triggers take labels from the settings only in such a transaction.
 */
export function contextSettingsSql(ctx: ResolvedContext): { sql: string; params: (string | null)[] } | null {
  if (ctx.actor === null && ctx.reason === null && ctx.meta === null) return null;
  return {
    sql: `SELECT pg_catalog.set_config('appendlog.actor', coalesce($1, ''), true),
                 pg_catalog.set_config('appendlog.reason', coalesce($2, ''), true),
                 pg_catalog.set_config('appendlog.meta', coalesce($3, ''), true),
                 pg_catalog.set_config('appendlog.context_tx', ${CONTEXT_MARKER_SQL}, true)`,
    params: [ctx.actor, ctx.reason, ctx.meta],
  };
}

/**
 * SQL reading the labels `withContext` puts back when its block ends. Before the transaction was
 * marked ({@link CONTEXT_MARKER_SQL}), what the settings hold came from outside it (a session-level
 * `SET`), and the block ends with them cleared instead, as `appendlog_context`'s first call clears them.
 */
export const SAVED_CONTEXT_SQL = `SELECT CASE WHEN marked THEN pg_catalog.current_setting('appendlog.actor', true) END AS actor,
       CASE WHEN marked THEN pg_catalog.current_setting('appendlog.reason', true) END AS reason,
       CASE WHEN marked THEN pg_catalog.current_setting('appendlog.meta', true) END AS meta
  FROM (SELECT pg_catalog.current_setting('appendlog.context_tx', true) IS NOT DISTINCT FROM ${CONTEXT_MARKER_SQL} AS marked) m`;
