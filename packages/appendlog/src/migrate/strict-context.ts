import { quoteIdent } from '../schema/names.js';
import type { SqlRunner } from './sql-runner.js';

/** The setting that makes the triggers take labels only from `appendlog_context` (docs/sql-and-orms.md). */
export const STRICT_CONTEXT_SETTING = 'appendlog.strict_context';

/** What migrate does about strict mode for the app role: set it (`statement`), nothing, or say why not. */
export interface StrictContextPlan {
  statement?: string;
  notice?: string;
}

/**
 * `migrate({ appRole })` turns strict mode on for the sessions of the application's role in this
 * database (`ALTER ROLE … IN DATABASE … SET appendlog.strict_context = on`), so that a reason or
 * actor a pooled connection carries over from an earlier transaction is refused. It leaves alone a
 * value already set for the role (in this database or all) or for the whole database, which is
 * the operator's. Setting a custom parameter for a role takes a superuser, or `GRANT SET ON
 * PARAMETER appendlog.strict_context` together with CREATEROLE (PostgreSQL 16 and later: with
 * ADMIN OPTION on the role) or being that role; without them migrate goes on and returns a notice.
 * Not on PGlite: its one session logs in as its own user, so a role's default never applies. Not
 * on Citus: `appendlog_context` does not reach the workers, where the chain trigger runs, and SQL
 * labels get there only as a propagated `SET LOCAL`, which strict mode refuses (docs/scale-out.md).
 */
export async function planStrictContext(
  tx: SqlRunner,
  where: { kind: 'pglite' | 'postgres'; citus: boolean },
  appRole: string | undefined,
  strictContext: boolean | undefined,
): Promise<StrictContextPlan> {
  if (appRole === undefined || strictContext === false || where.kind === 'pglite' || where.citus) return {};
  const [{ version } = { version: 0 }] = await tx.run<{ version: number }>(
    `SELECT pg_catalog.current_setting('server_version_num')::integer AS version`,
  );
  // Before 15 a custom parameter could be set for a role by a superuser only (and has_parameter_privilege did not exist).
  const granted =
    version < 150000
      ? 'false'
      : `NOT r.rolsuper AND pg_catalog.has_parameter_privilege($2, 'SET')
         AND (r.oid = me.oid OR (me.rolcreaterole AND ${version < 160000 ? 'true' : `pg_catalog.pg_has_role(me.oid, r.oid, 'MEMBER WITH ADMIN OPTION')`}))`;
  const [state] = await tx.run<{ explicit: boolean; allowed: boolean; login: boolean; database: string }>(
    `SELECT EXISTS (SELECT FROM pg_catalog.pg_db_role_setting s, pg_catalog.unnest(s.setconfig) AS c(item)
                     WHERE ((s.setrole = r.oid AND s.setdatabase IN (0, d.oid)) OR (s.setrole = 0 AND s.setdatabase = d.oid))
                       AND pg_catalog.split_part(c.item, '=', 1) = $2) AS explicit,
            me.rolsuper OR (${granted}) AS allowed,
            r.rolcanlogin AS login, d.datname AS database
       FROM pg_catalog.pg_roles r, pg_catalog.pg_roles me, pg_catalog.pg_database d
      WHERE r.rolname = $1 AND me.rolname = current_user AND d.datname = pg_catalog.current_database()`,
    [appRole, STRICT_CONTEXT_SETTING],
  );
  if (state === undefined || state.explicit) return {};
  if (!state.allowed) {
    return {
      notice:
        `strict mode is not on for the application role ${appRole}: setting ${STRICT_CONTEXT_SETTING} for a role takes a superuser, ` +
        `or GRANT SET ON PARAMETER ${STRICT_CONTEXT_SETTING} with CREATEROLE. Without it, a reason or actor set at session level ` +
        `outlives its request on a pooled connection. Have a superuser run ALTER ROLE ${quoteIdent(appRole)} ` +
        `SET ${STRICT_CONTEXT_SETTING} = on, or pass strictContext: false to silence this (docs/sql-and-orms.md).`,
    };
  }
  const statement = `ALTER ROLE ${quoteIdent(appRole)} IN DATABASE ${quoteIdent(state.database)} SET ${STRICT_CONTEXT_SETTING} = on;\n`;
  if (state.login) return { statement };
  return {
    statement,
    notice:
      `strict mode is on for ${appRole}, which cannot log in: a role's settings apply only to sessions that log in as it, ` +
      `not to its members or to SET ROLE. Set ${STRICT_CONTEXT_SETTING} = on for the roles the application logs in as (docs/sql-and-orms.md).`,
  };
}
