import { LOG_OWN_COLUMN_NAMES } from '../model/log-columns.js';
import { quoteIdent, quoteLiteral } from '../schema/names.js';
import { TIMESTAMP_FORMAT } from './canonical.js';
import { catalogName, type TableObjects } from './names.js';
import { TRUSTED_SEARCH_PATH } from './search-path.js';
import { SQLSTATE } from './sqlstate.js';

/** The grace period of a `forget` that names none. */
export const DEFAULT_FORGET_AFTER = '30 days';

/** The per-table erasure functions, by suffix (each within `LONGEST_SUFFIX`). */
export function erasureObjects(o: TableObjects): { guard: string; redact: string; eraseRows: string } {
  const q = (suffix: string) => `${quoteIdent(o.schema)}.${quoteIdent(`${o.table}${suffix}`)}`;
  return { guard: q('_log_guard'), redact: q('_redact'), eraseRows: q('_erase_rows') };
}

/**
 * The catalog objects of erasure, shared by every table of the schema:
 * - `appendlog_forget_meta`: the chain trigger's normaliser of a `forget` version's metadata;
 *   it computes the due time from the database clock and stores it in `meta.erasure.dueAt`,
 *   so the due time is part of the hashed, immutable version;
 * - `appendlog_check_cancel_forget`: the one write a forgotten entry accepts;
 * - `appendlog_erasures`: one record per erased entry, append-only. Inserting a record is the
 *   single path to redaction: its BEFORE trigger checks the entry is forgotten and due and fills
 *   every column from the log; its AFTER trigger redacts the versions;
 * - `appendlog_retention`: the recycle-bin retention of each table, append-only (latest wins).
 */
export function erasureCatalogDdl(schema: string): string {
  return `
${forgetMetaDdl(schema)}${cancelForgetCheckDdl(schema)}${erasuresTableDdl(schema)}${retentionTableDdl(schema)}`;
}

/** The triggers that make a catalog table append-only. */
function refuseChangesDdl(schema: string, table: string, name: string): string {
  const s = quoteIdent(schema);
  return `
DROP TRIGGER IF EXISTS ${name}_refuse ON ${table};
CREATE TRIGGER ${name}_refuse BEFORE UPDATE OR DELETE ON ${table}
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.appendlog_refuse();
DROP TRIGGER IF EXISTS ${name}_refuse_truncate ON ${table};
CREATE TRIGGER ${name}_refuse_truncate BEFORE TRUNCATE ON ${table}
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.appendlog_refuse();`;
}

/** `appendlog_forget_meta`: a forget's due time, computed into its meta. */
function forgetMetaDdl(schema: string): string {
  const s = quoteIdent(schema);
  const fmt = quoteLiteral(TIMESTAMP_FORMAT);
  const utcPlus = (at: string, wait: string) => `((${at} AT TIME ZONE 'UTC') + ${wait}) AT TIME ZONE 'UTC'`;
  return `-- Erasure (docs/erasure.md). A forget version carries its due time in meta.erasure.dueAt.
CREATE OR REPLACE FUNCTION ${s}.appendlog_forget_meta(meta jsonb, recorded_at timestamptz) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = ${TRUSTED_SEARCH_PATH} AS $fn$
DECLARE
  req jsonb := coalesce(meta -> 'erasure', '{}'::jsonb);
  wait interval;
  due timestamptz;
BEGIN
  IF meta IS NOT NULL AND pg_catalog.jsonb_typeof(meta) <> 'object' THEN
    RAISE EXCEPTION 'appendlog: the meta of a forget must be a JSON object'
      USING ERRCODE = '${SQLSTATE.invalidInput}', DETAIL = 'field=meta';
  END IF;
  IF pg_catalog.jsonb_typeof(req) <> 'object' THEN
    RAISE EXCEPTION 'appendlog: meta.erasure of a forget must be a JSON object'
      USING ERRCODE = '${SQLSTATE.invalidInput}', DETAIL = 'field=meta';
  END IF;
  IF req ? 'after' THEN
    BEGIN
      wait := (req ->> 'after')::interval;
    EXCEPTION WHEN others THEN
      RAISE EXCEPTION 'appendlog: forget after % is not a duration such as ''30 days''', req -> 'after'
        USING ERRCODE = '${SQLSTATE.invalidInput}', DETAIL = 'field=after';
    END;
    IF wait IS NULL OR wait < interval '0' THEN
      RAISE EXCEPTION 'appendlog: forget after % is negative', req -> 'after'
        USING ERRCODE = '${SQLSTATE.invalidInput}', DETAIL = 'field=after';
    END IF;
    due := ${utcPlus('recorded_at', 'wait')};
  ELSIF req ? 'dueAt' THEN
    BEGIN
      due := (req ->> 'dueAt')::timestamptz;
    EXCEPTION WHEN others THEN
      RAISE EXCEPTION 'appendlog: forget due at % is not a time', req -> 'dueAt'
        USING ERRCODE = '${SQLSTATE.invalidInput}', DETAIL = 'field=after';
    END;
  ELSE
    due := ${utcPlus('recorded_at', `interval ${quoteLiteral(DEFAULT_FORGET_AFTER)}`)};
  END IF;
  IF due IS NULL OR NOT pg_catalog.isfinite(due) THEN
    RAISE EXCEPTION 'appendlog: a forget needs a finite due time'
      USING ERRCODE = '${SQLSTATE.invalidInput}', DETAIL = 'field=after';
  END IF;
  -- A due time in the past means "due now": erasure never runs earlier than the forget itself.
  due := greatest(due, recorded_at);
  RETURN coalesce(meta, '{}'::jsonb) || pg_catalog.jsonb_build_object('erasure',
    (req - 'after') || pg_catalog.jsonb_build_object('dueAt', pg_catalog.to_char(due AT TIME ZONE 'UTC', ${fmt})));
END $fn$;

`;
}

/** `appendlog_check_cancel_forget`: the one write a forgotten entry accepts. */
function cancelForgetCheckDdl(schema: string): string {
  const s = quoteIdent(schema);
  return `-- The one write a forgotten entry accepts: cancelForget, before the due time, back to the state
-- it had (a 'restore' if it was live, a 'delete' if it was in the recycle bin), with a reason.
CREATE OR REPLACE FUNCTION ${s}.appendlog_check_cancel_forget(
  tbl text, entry uuid, op text, reason text, meta jsonb, forget_meta jsonb, prior_op text
) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = ${TRUSTED_SEARCH_PATH} AS $fn$
DECLARE
  due timestamptz := (forget_meta -> 'erasure' ->> 'dueAt')::timestamptz;
  wanted text := CASE WHEN prior_op = 'delete' THEN 'delete' ELSE 'restore' END;
BEGIN
  IF (meta -> 'cancelForget') IS DISTINCT FROM 'true'::jsonb THEN
    RAISE EXCEPTION 'appendlog: % entry % is forgotten and awaits erasure (due %); only cancelForget can bring it back before then',
      tbl, entry, forget_meta -> 'erasure' ->> 'dueAt'
      USING ERRCODE = '${SQLSTATE.invalidState}';
  END IF;
  IF due IS NULL OR due <= pg_catalog.clock_timestamp() THEN
    RAISE EXCEPTION 'appendlog: the erasure of % entry % was due at %; it can no longer be cancelled',
      tbl, entry, forget_meta -> 'erasure' ->> 'dueAt'
      USING ERRCODE = '${SQLSTATE.invalidState}';
  END IF;
  IF op IS DISTINCT FROM wanted THEN
    RAISE EXCEPTION 'appendlog: cancelling the forget of % entry % appends a ''%'' version (it was % before), not ''%''',
      tbl, entry, wanted, CASE WHEN wanted = 'delete' THEN 'deleted' ELSE 'live' END, op
      USING ERRCODE = '${SQLSTATE.invalidState}';
  END IF;
  IF coalesce(pg_catalog.btrim(reason), '') = '' THEN
    RAISE EXCEPTION 'appendlog: cancelling the forget of % entry % needs a reason', tbl, entry
      USING ERRCODE = '${SQLSTATE.reasonRequired}';
  END IF;
END $fn$;

`;
}

/** `appendlog_erasures`: the record of every erasure, whose INSERT fills itself from the log and redacts. */
function erasuresTableDdl(schema: string): string {
  const s = quoteIdent(schema);
  const erasures = catalogName(schema, 'appendlog_erasures');
  const refuse = (table: string, name: string) => refuseChangesDdl(schema, table, name);
  return `CREATE TABLE IF NOT EXISTS ${erasures} (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  table_name text NOT NULL,
  entry_id uuid NOT NULL,
  erased_at timestamptz NOT NULL,
  tx_id xid8 NOT NULL,
  erased_by text NOT NULL,
  forget_version integer NOT NULL,
  forgotten_at timestamptz NOT NULL,
  forgotten_by text,
  reason text NOT NULL,
  due_at timestamptz NOT NULL,
  versions integer NOT NULL,
  CONSTRAINT appendlog_erasures_entry_key UNIQUE (table_name, entry_id)
);

-- Whatever the INSERT says, the record is what the log says: the caller names only the entry.
CREATE OR REPLACE FUNCTION ${s}.appendlog_erasure_fill() RETURNS trigger
LANGUAGE plpgsql SET search_path = ${TRUSTED_SEARCH_PATH} AS $fn$
DECLARE
  r record;
  n integer;
  due timestamptz;
BEGIN
  IF NEW.table_name IS NULL OR NEW.entry_id IS NULL
     OR pg_catalog.to_regclass(pg_catalog.format('%I.%I', TG_TABLE_SCHEMA, NEW.table_name || '_head')) IS NULL
     OR pg_catalog.to_regclass(pg_catalog.format('%I.%I', TG_TABLE_SCHEMA, NEW.table_name || '_log')) IS NULL THEN
    RAISE EXCEPTION 'appendlog: % is not an appendlog table of schema %', NEW.table_name, TG_TABLE_SCHEMA
      USING ERRCODE = '${SQLSTATE.invalidInput}', DETAIL = 'field=table';
  END IF;
  EXECUTE pg_catalog.format(
    'SELECT h.op, h.version, l.recorded_at, l.actor, l.reason, l.meta FROM %I.%I h JOIN %I.%I l ON l.entry_id = h.entry_id AND l.version = h.version
      WHERE h.entry_id = $1 FOR UPDATE OF h',
    TG_TABLE_SCHEMA, NEW.table_name || '_head', TG_TABLE_SCHEMA, NEW.table_name || '_log')
    INTO r USING NEW.entry_id;
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n = 0 THEN
    RAISE EXCEPTION 'appendlog: % entry % does not exist', NEW.table_name, NEW.entry_id
      USING ERRCODE = '${SQLSTATE.notFound}';
  END IF;
  IF r.op <> 'forget' THEN
    RAISE EXCEPTION 'appendlog: % entry % is not forgotten, so it cannot be erased', NEW.table_name, NEW.entry_id
      USING ERRCODE = '${SQLSTATE.invalidState}';
  END IF;
  due := (r.meta -> 'erasure' ->> 'dueAt')::timestamptz;
  IF due IS NULL OR due > pg_catalog.clock_timestamp() THEN
    RAISE EXCEPTION 'appendlog: % entry % is not due for erasure until %', NEW.table_name, NEW.entry_id,
      r.meta -> 'erasure' ->> 'dueAt'
      USING ERRCODE = '${SQLSTATE.invalidState}';
  END IF;
  NEW.erased_at := pg_catalog.clock_timestamp();
  NEW.tx_id := pg_catalog.pg_current_xact_id();
  NEW.erased_by := current_user;
  NEW.forget_version := r.version;
  NEW.forgotten_at := r.recorded_at;
  NEW.forgotten_by := r.actor;
  NEW.reason := r.reason;
  NEW.due_at := due;
  -- The versions in the log: all of them, or since an archive took the older ones (docs/scale-out.md).
  EXECUTE pg_catalog.format('SELECT pg_catalog.count(*) FROM %I.%I x WHERE x.entry_id = $1',
    TG_TABLE_SCHEMA, NEW.table_name || '_log')
    INTO n USING NEW.entry_id;
  NEW.versions := n;
  RETURN NEW;
END $fn$;

-- Redacts every version of the entry just recorded, through the table's guard.
CREATE OR REPLACE FUNCTION ${s}.appendlog_erasure_apply() RETURNS trigger
LANGUAGE plpgsql SET search_path = ${TRUSTED_SEARCH_PATH} AS $fn$
DECLARE
  n integer;
BEGIN
  EXECUTE pg_catalog.format('SELECT %I.%I($1, $2)', TG_TABLE_SCHEMA, NEW.table_name || '_erase_rows')
    INTO n USING NEW.entry_id, NEW.erased_at;
  IF n IS DISTINCT FROM NEW.versions THEN
    RAISE EXCEPTION 'appendlog: erasing % entry % redacted % of its % versions', NEW.table_name, NEW.entry_id, n, NEW.versions
      USING ERRCODE = '${SQLSTATE.appendOnly}';
  END IF;
  RETURN NULL;
END $fn$;

DROP TRIGGER IF EXISTS appendlog_erasures_fill ON ${erasures};
CREATE TRIGGER appendlog_erasures_fill BEFORE INSERT ON ${erasures}
  FOR EACH ROW EXECUTE FUNCTION ${s}.appendlog_erasure_fill();
DROP TRIGGER IF EXISTS appendlog_erasures_apply ON ${erasures};
CREATE TRIGGER appendlog_erasures_apply AFTER INSERT ON ${erasures}
  FOR EACH ROW EXECUTE FUNCTION ${s}.appendlog_erasure_apply();
${refuse(erasures, 'appendlog_erasures')}

`;
}

/** `appendlog_retention`: how long each table's deleted entries are kept, append-only. */
function retentionTableDdl(schema: string): string {
  const retention = catalogName(schema, 'appendlog_retention');
  const refuse = (table: string, name: string) => refuseChangesDdl(schema, table, name);
  return `CREATE TABLE IF NOT EXISTS ${retention} (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  set_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  table_name text NOT NULL,
  -- As given ('90 days'); NULL: no retention.
  deleted_for text CHECK (deleted_for::interval >= interval '0')
);
${refuse(retention, 'appendlog_retention')}
`;
}

/**
 * The per-table objects of erasure, regenerated with the table's code:
 * - `<t>_log_guard()`: the log's row trigger for UPDATE and DELETE. It refuses every DELETE and
 *   every UPDATE except the redaction run by an erasure record of this transaction: user columns
 *   and salt to NULL, `redacted_at` set, everything else identical, on a forgotten entry;
 * - `<t>_erase_rows(entry, at)`: that UPDATE, called only by the erasure record's trigger;
 * - `<t>_redact(entry)`: the purge's entry point; records the erasure (idempotent: 0 when the
 *   entry was erased before) and returns how many versions it redacted.
 * Neither function is executable by PUBLIC: only the owner (the migration role) can purge.
 */
export function erasureTableDdl(o: TableObjects, columns: readonly { sqlName: string }[]): string {
  const e = erasureObjects(o);
  const t = quoteLiteral(o.table);
  const erasures = catalogName(o.schema, 'appendlog_erasures');
  const cols = columns.map((c) => quoteIdent(c.sqlName));
  // Every column of the log's own but those the redaction changes.
  const kept = LOG_OWN_COLUMN_NAMES.filter((c) => c !== 'salt' && c !== 'redacted_at');
  const row = (rec: string) => `(${kept.map((c) => `${rec}.${c}`).join(', ')})`;
  return `
CREATE OR REPLACE FUNCTION ${e.guard}() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  head_op text;
  at timestamptz;
BEGIN
  -- The single sanctioned UPDATE (DESIGN.md invariant 1): erasure's redaction, issued by the
  -- trigger of an erasure record written in this transaction, changing nothing but the content.
  IF TG_OP = 'UPDATE' AND pg_catalog.pg_trigger_depth() >= 2
     AND OLD.redacted_at IS NULL AND NEW.redacted_at IS NOT NULL AND NEW.salt IS NULL${cols
       .map((c) => `\n     AND NEW.${c} IS NULL`)
       .join('')}
     AND ${row('NEW')} IS NOT DISTINCT FROM ${row('OLD')} THEN
    SELECT h.op INTO head_op FROM ${o.head} h WHERE h.entry_id = OLD.entry_id;
    SELECT x.erased_at INTO at FROM ${erasures} x
     WHERE x.table_name = ${t} AND x.entry_id = OLD.entry_id AND x.tx_id = pg_catalog.pg_current_xact_id();
    IF head_op = 'forget' AND at IS NOT NULL THEN
      NEW.redacted_at := at;
      RETURN NEW;
    END IF;
  END IF;
  RAISE EXCEPTION 'appendlog: % on %.% refused: it is append-only', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = '${SQLSTATE.appendOnly}',
          HINT = 'Append a new version instead; personal data is erased by forget() and appendlog purge.';
END $fn$;

DROP TRIGGER IF EXISTS appendlog_refuse_change ON ${o.log};
CREATE TRIGGER appendlog_refuse_change BEFORE UPDATE OR DELETE ON ${o.log}
  FOR EACH ROW EXECUTE FUNCTION ${e.guard}();

CREATE OR REPLACE FUNCTION ${e.eraseRows}(p_entry_id uuid, p_at timestamptz) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  n integer;
BEGIN
  UPDATE ${o.log}
     SET ${[...cols.map((c) => `${c} = NULL`), 'salt = NULL', 'redacted_at = p_at'].join(', ')}
   WHERE entry_id = p_entry_id AND redacted_at IS NULL;
  GET DIAGNOSTICS n = ROW_COUNT;
  -- The head's copy of the latest version too (its chain trigger lets this one UPDATE through).${
    cols.length === 0
      ? ''
      : `
  UPDATE ${o.head} SET ${cols.map((c) => `${c} = NULL`).join(', ')} WHERE entry_id = p_entry_id;`
  }
  RETURN n;
END $fn$;
REVOKE ALL ON FUNCTION ${e.eraseRows}(uuid, timestamptz) FROM PUBLIC;

CREATE OR REPLACE FUNCTION ${e.redact}(p_entry_id uuid) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  n integer;
BEGIN
  PERFORM 1 FROM ${o.head} WHERE entry_id = p_entry_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'appendlog: % entry % does not exist', ${t}, p_entry_id
      USING ERRCODE = '${SQLSTATE.notFound}';
  END IF;
  IF EXISTS (SELECT 1 FROM ${erasures} WHERE table_name = ${t} AND entry_id = p_entry_id) THEN
    RETURN 0;
  END IF;
  -- The record's triggers check that the entry is forgotten and due, then redact it.
  INSERT INTO ${erasures} (table_name, entry_id) VALUES (${t}, p_entry_id) RETURNING versions INTO n;
  RETURN n;
END $fn$;
REVOKE ALL ON FUNCTION ${e.redact}(uuid) FROM PUBLIC;
`;
}
