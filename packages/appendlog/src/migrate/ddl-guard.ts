import { createHash } from 'node:crypto';
import { quoteLiteral } from '../schema/names.js';
import { ALLOW_DDL_SETTING, DDL_GUARD_SCHEMA, ddlGuardDdl } from '../sql/ddl-guard-ddl.js';
import type { SqlRunner } from './sql-runner.js';

const MARK = `appendlog ddl guard ${createHash('sha256').update(ddlGuardDdl()).digest('hex').slice(0, 32)}`;

/** What migrate does about the DDL guard: install it (`statement`), nothing, or say why it cannot. */
export interface DdlGuardPlan {
  statement?: string;
  notice?: string;
}

/**
 * The DDL guard is installed by migrate when it is missing or older than this library's, unless
 * the database, role or session says `appendlog.ddl_guard = 'off'`. Creating an event trigger
 * takes a superuser (PostgreSQL 15 to 17): for any other role migrate goes on without it and
 * returns a notice saying so.
 */
export async function planDdlGuard(tx: SqlRunner): Promise<DdlGuardPlan> {
  const first = await guardState(tx);
  if (first === undefined || first.off || first.current) return {};
  if (first.superuser) {
    // Event triggers are per database and migrators of other schemas may be installing it too.
    await tx.run(`SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('appendlog.ddl_guard'))`);
  }
  const state = await guardState(tx);
  if (state === undefined || state.off || state.current) return {};
  if (!state.superuser) {
    return {
      notice:
        'the DDL guard is not installed: creating an event trigger takes a superuser. Without it, DROP … CASCADE, ' +
        'ALTER TABLE and schema tools (drizzle-kit push) can destroy the log. Run migrate once as a superuser, ' +
        "or set appendlog.ddl_guard = 'off' to silence this (docs/sql-and-orms.md).",
    };
  }
  return {
    statement: `${ddlGuardDdl()}COMMENT ON FUNCTION ${DDL_GUARD_SCHEMA}.on_ddl() IS ${quoteLiteral(MARK)};\n`,
  };
}

async function guardState(tx: SqlRunner) {
  const [state] = await tx.run<{ off: boolean; current: boolean; superuser: boolean }>(
    `SELECT coalesce(pg_catalog.current_setting('appendlog.ddl_guard', true), '') = 'off' AS off,
            coalesce(pg_catalog.obj_description(pg_catalog.to_regprocedure($1), 'pg_proc') = $2, false)
              AND (SELECT pg_catalog.count(*) FROM pg_catalog.pg_event_trigger
                    WHERE evtname IN ('appendlog_ddl_guard_drop', 'appendlog_ddl_guard_ddl') AND evtenabled <> 'D') = 2 AS current,
            (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) AS superuser`,
    [`${DDL_GUARD_SCHEMA}.on_ddl()`, MARK],
  );
  return state;
}

/** Runs `fn` with the guard's escape hatch open for this transaction, then puts the old value back. */
export async function withDdlAllowed<T>(tx: SqlRunner, fn: () => Promise<T>): Promise<T> {
  const [saved] = await tx.run<{ value: string | null }>(
    `SELECT pg_catalog.current_setting('${ALLOW_DDL_SETTING}', true) AS value`,
  );
  await tx.run(`SELECT pg_catalog.set_config('${ALLOW_DDL_SETTING}', 'on', true)`);
  const result = await fn();
  await tx.run(`SELECT pg_catalog.set_config('${ALLOW_DDL_SETTING}', $1, true)`, [saved?.value ?? '']);
  return result;
}
