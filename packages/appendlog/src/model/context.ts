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

/** SQL that sets the context for the rest of the current transaction (raw SQL writes see it). */
export function contextSettingsSql(ctx: ResolvedContext): { sql: string; params: (string | null)[] } | null {
  if (ctx.actor === null && ctx.reason === null && ctx.meta === null) return null;
  return {
    sql: `SELECT pg_catalog.set_config('appendlog.actor', coalesce($1, ''), true),
                 pg_catalog.set_config('appendlog.reason', coalesce($2, ''), true),
                 pg_catalog.set_config('appendlog.meta', coalesce($3, ''), true)`,
    params: [ctx.actor, ctx.reason, ctx.meta],
  };
}
