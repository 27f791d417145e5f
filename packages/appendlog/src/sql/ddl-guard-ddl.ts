import { SQLSTATE } from './sqlstate.js';

/** The schema of the DDL guard: one per database, since event triggers are per database. */
export const DDL_GUARD_SCHEMA = 'appendlog_ddl_guard';

/** The setting that lets one transaction change appendlog's objects by hand: `SET LOCAL appendlog.allow_ddl = 'on'`. */
export const ALLOW_DDL_SETTING = 'appendlog.allow_ddl';

/**
 * The DDL guard: two event triggers refusing, in every appendlog schema of the database, DDL on
 * appendlog's objects, unless the transaction set `appendlog.allow_ddl` to `on` (migrate does,
 * for its own statements). appendlog's objects are, in a schema that has an appendlog schema
 * history: every object named `appendlog_*`; for each table `t` of the history, the relations
 * `t`, `t_head` and `t_log` (with their columns, constraints, triggers and rules) and the functions
 * `t_*`.
 * - `sql_drop`: any of them dropped (`DROP … CASCADE`, `DROP SCHEMA`, `ALTER TABLE … DROP COLUMN`,
 *   `DROP TRIGGER`, `DROP FUNCTION`);
 * - `ddl_command_end`: any of them created, altered or replaced (`ALTER TABLE … DISABLE TRIGGER`,
 *   `CREATE OR REPLACE FUNCTION`, `CREATE TRIGGER` on a head), except `GRANT`, `REVOKE`,
 *   `COMMENT` and indexes of one's own (`CREATE INDEX` on a head).
 * The error is raised inside the command's transaction, so nothing of the command remains.
 * Event-trigger commands themselves (`ALTER EVENT TRIGGER … DISABLE`, `DROP EVENT TRIGGER`) do not
 * fire event triggers: the guard stops accidents and schema tools, not a superuser set on it.
 */
export function ddlGuardDdl(): string {
  const g = DDL_GUARD_SCHEMA;
  const refuse = (
    what: string,
  ) => `RAISE EXCEPTION 'appendlog: % refused: % is part of appendlog''s log', tag, ${what}
        USING ERRCODE = '${SQLSTATE.appendOnly}',
              HINT = 'Change appendlog''s tables with its migrate. To change them by hand on purpose, SET LOCAL ${ALLOW_DDL_SETTING} = ''on'' in the same transaction.';`;
  return `
CREATE SCHEMA IF NOT EXISTS ${g};
REVOKE ALL ON SCHEMA ${g} FROM PUBLIC;

-- Whether a relation (kind 'r') or function (kind 'f') of a schema is one of appendlog's.
CREATE OR REPLACE FUNCTION ${g}.is_guarded(p_schema text, p_name text, p_kind "char") RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  history regclass := pg_catalog.to_regclass(pg_catalog.quote_ident(p_schema) || '.appendlog_schema_history');
  guarded boolean;
BEGIN
  IF p_schema IS NULL OR p_name IS NULL OR history IS NULL THEN RETURN false; END IF;
  IF p_name LIKE 'appendlog\\_%' THEN RETURN true; END IF;
  EXECUTE pg_catalog.format(
    'SELECT EXISTS (SELECT 1 FROM %s h WHERE CASE $2 WHEN ''r'' THEN $1 IN (h.table_name, h.table_name || ''_head'', h.table_name || ''_log'')
                                                                    OR pg_catalog.left($1, pg_catalog.length(h.table_name) + 5) = h.table_name || ''_log_''
                                                 ELSE pg_catalog.left($1, pg_catalog.length(h.table_name) + 1) = h.table_name || ''_'' END)',
    history) INTO guarded USING p_name, p_kind;
  RETURN guarded;
END $fn$;

CREATE OR REPLACE FUNCTION ${g}.on_drop() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  o record;
  tag text := TG_TAG;
BEGIN
  IF pg_catalog.current_setting('${ALLOW_DDL_SETTING}', true) = 'on' THEN RETURN; END IF;
  FOR o IN SELECT * FROM pg_catalog.pg_event_trigger_dropped_objects() WHERE NOT is_temporary LOOP
    -- The schema history itself: once dropped, is_guarded can no longer tell the schema is appendlog's.
    IF (o.object_type = 'table' AND o.address_names[2] = 'appendlog_schema_history')
       OR (o.object_type IN ('table', 'view', 'materialized view', 'foreign table', 'sequence',
                          'table column', 'table constraint', 'trigger', 'rule', 'policy', 'default value')
        AND ${g}.is_guarded(o.address_names[1], o.address_names[2], 'r'))
       OR (o.object_type IN ('function', 'procedure') AND ${g}.is_guarded(o.address_names[1], o.address_names[2], 'f')) THEN
      ${refuse('o.object_identity')}
    END IF;
  END LOOP;
END $fn$;

CREATE OR REPLACE FUNCTION ${g}.on_ddl() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  c record;
  tag text := TG_TAG;
  nsp text;
  name text;
  kind "char";
BEGIN
  IF pg_catalog.current_setting('${ALLOW_DDL_SETTING}', true) = 'on'
     OR tag IN ('GRANT', 'REVOKE', 'COMMENT', 'SECURITY LABEL', 'CREATE INDEX', 'ALTER INDEX', 'CREATE STATISTICS') THEN
    RETURN;
  END IF;
  FOR c IN SELECT * FROM pg_catalog.pg_event_trigger_ddl_commands() WHERE NOT in_extension LOOP
    nsp := NULL;
    IF c.classid = 'pg_catalog.pg_class'::regclass THEN
      SELECT n.nspname, r.relname, 'r' INTO nsp, name, kind
        FROM pg_catalog.pg_class r JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace
       WHERE r.oid = c.objid AND r.relkind NOT IN ('i', 'I');
    ELSIF c.classid = 'pg_catalog.pg_proc'::regclass THEN
      SELECT n.nspname, p.proname, 'f' INTO nsp, name, kind
        FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE p.oid = c.objid;
    ELSIF c.classid IN ('pg_catalog.pg_trigger'::regclass, 'pg_catalog.pg_rewrite'::regclass, 'pg_catalog.pg_policy'::regclass) THEN
      SELECT n.nspname, r.relname, 'r' INTO nsp, name, kind
        FROM pg_catalog.pg_class r JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace
       WHERE r.oid = CASE c.classid WHEN 'pg_catalog.pg_trigger'::regclass THEN (SELECT tgrelid FROM pg_catalog.pg_trigger WHERE oid = c.objid)
                                    WHEN 'pg_catalog.pg_rewrite'::regclass THEN (SELECT ev_class FROM pg_catalog.pg_rewrite WHERE oid = c.objid)
                                    ELSE (SELECT polrelid FROM pg_catalog.pg_policy WHERE oid = c.objid) END;
    END IF;
    IF nsp IS NOT NULL AND ${g}.is_guarded(nsp, name, kind) THEN
      ${refuse('c.object_identity')}
    END IF;
  END LOOP;
END $fn$;

DO $do$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger WHERE evtname = 'appendlog_ddl_guard_drop') THEN
    CREATE EVENT TRIGGER appendlog_ddl_guard_drop ON sql_drop EXECUTE FUNCTION ${g}.on_drop();
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger WHERE evtname = 'appendlog_ddl_guard_ddl') THEN
    CREATE EVENT TRIGGER appendlog_ddl_guard_ddl ON ddl_command_end EXECUTE FUNCTION ${g}.on_ddl();
  END IF;
END $do$;
ALTER EVENT TRIGGER appendlog_ddl_guard_drop ENABLE;
ALTER EVENT TRIGGER appendlog_ddl_guard_ddl ENABLE;
`;
}
