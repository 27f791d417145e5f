
CREATE SCHEMA IF NOT EXISTS "public";

-- F(x) of docs/spec.md: a 4-byte big-endian length, then the UTF-8 bytes. STRICT: F(NULL) is NULL.
CREATE OR REPLACE FUNCTION "public".appendlog_enc(t text) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $fn$ SELECT pg_catalog.int4send(pg_catalog.octet_length(pg_catalog.convert_to(t, 'UTF8')))
        OPERATOR(pg_catalog.||) pg_catalog.convert_to(t, 'UTF8') $fn$;

CREATE OR REPLACE FUNCTION "public".appendlog_refuse() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  RAISE EXCEPTION 'appendlog: % on %.% refused: it is append-only', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = 'AL001',
          HINT = 'Append a new version instead (insert, update or delete through the table''s view or the library).';
END $fn$;

-- The head guard of table code revisions 1 to 3 (kept: a table of those revisions still names it
-- until migrate upgrades it to head-first, whose chain trigger guards the head itself).
CREATE OR REPLACE FUNCTION "public".appendlog_head_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  IF pg_catalog.pg_trigger_depth() < 2 THEN
    RAISE EXCEPTION 'appendlog: % on %.% refused: the head table is derived from the log and kept by its trigger',
      TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
      USING ERRCODE = 'AL001';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $fn$;

-- Set-based loads (<t>_insert_many): the transactions, and tables, in which one is running. Only
-- the owner's code writes it, and each load deletes its row before it returns.
CREATE TABLE IF NOT EXISTS "public"."appendlog_bulk_loads" (
  tx_id xid8 NOT NULL,
  table_name text NOT NULL,
  PRIMARY KEY (tx_id, table_name)
);
REVOKE ALL ON "public"."appendlog_bulk_loads" FROM PUBLIC;

-- The log's INSERT refusal of table code revision 4, called from a trigger WHEN clause at trigger
-- depth 0: versions come from the head's chain trigger (which the WHEN lets through) or from a
-- set-based load of the same table running in this transaction. Kept unchanged: a library of
-- that revision re-creates it whenever it migrates, so its meaning must not change.
CREATE OR REPLACE FUNCTION "public".appendlog_refuse_log_insert() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  IF EXISTS (SELECT 1 FROM "public"."appendlog_bulk_loads" b
              WHERE b.tx_id OPERATOR(pg_catalog.=) pg_catalog.pg_current_xact_id()
                AND b.table_name OPERATOR(pg_catalog.=) pg_catalog.left(TG_TABLE_NAME, -4)) THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION 'appendlog: % on %.% refused: versions are appended by writing the head', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = 'AL001',
          HINT = 'Insert or update the table''s view or head, or use the library.';
END $fn$;

-- The same refusal for revision 5 on, with no WHEN clause (PostgreSQL reads one back from its
-- stored text on every INSERT): the chain trigger's INSERT fires this at trigger depth 2 and
-- passes; a direct INSERT (depth 1) passes only as a set-based load of the same table. Every write
-- calls it, so it is the one catalog function without a pinned search_path (the SET clause costs
-- each call a configuration save and restore): every name and operator in it is qualified, and it
-- runs with the caller's own rights, so no search_path changes what it does.
CREATE OR REPLACE FUNCTION "public".appendlog_guard_log_insert() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  IF pg_catalog.pg_trigger_depth() OPERATOR(pg_catalog.>) 1 THEN
    RETURN NULL;
  END IF;
  IF EXISTS (SELECT 1 FROM "public"."appendlog_bulk_loads" b
              WHERE b.tx_id OPERATOR(pg_catalog.=) pg_catalog.pg_current_xact_id()
                AND b.table_name OPERATOR(pg_catalog.=) pg_catalog.left(TG_TABLE_NAME, -4)) THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION 'appendlog: % on %.% refused: versions are appended by writing the head', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = 'AL001',
          HINT = 'Insert or update the table''s view or head, or use the library.';
END $fn$;

CREATE TABLE IF NOT EXISTS "public"."appendlog_schema_history" (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  table_name text NOT NULL,
  change text NOT NULL,
  definition jsonb NOT NULL,
  library_version text NOT NULL,
  statements text NOT NULL
);
DROP TRIGGER IF EXISTS appendlog_schema_history_refuse ON "public"."appendlog_schema_history";
CREATE TRIGGER appendlog_schema_history_refuse BEFORE UPDATE OR DELETE ON "public"."appendlog_schema_history"
  FOR EACH STATEMENT EXECUTE FUNCTION "public".appendlog_refuse();
DROP TRIGGER IF EXISTS appendlog_schema_history_refuse_truncate ON "public"."appendlog_schema_history";
CREATE TRIGGER appendlog_schema_history_refuse_truncate BEFORE TRUNCATE ON "public"."appendlog_schema_history"
  FOR EACH STATEMENT EXECUTE FUNCTION "public".appendlog_refuse();

-- Checkpoints (docs/spec.md §7): each Merkle tree head taken, and the leaf data it added; append-only.
CREATE TABLE IF NOT EXISTS "public"."appendlog_checkpoints" (
  id bigint PRIMARY KEY,
  created_at timestamptz NOT NULL,
  tree_size bigint NOT NULL,
  root bytea NOT NULL,
  horizon xid8 NOT NULL,
  body jsonb NOT NULL
);
CREATE TABLE IF NOT EXISTS "public"."appendlog_checkpoint_leaves" (
  first_leaf bigint PRIMARY KEY,
  checkpoint_id bigint NOT NULL REFERENCES "public"."appendlog_checkpoints" (id) DEFERRABLE INITIALLY DEFERRED,
  leaf_count integer NOT NULL,
  leaves bytea NOT NULL
);
DROP TRIGGER IF EXISTS appendlog_checkpoints_refuse ON "public"."appendlog_checkpoints";
CREATE TRIGGER appendlog_checkpoints_refuse BEFORE UPDATE OR DELETE OR TRUNCATE ON "public"."appendlog_checkpoints"
  FOR EACH STATEMENT EXECUTE FUNCTION "public".appendlog_refuse();
DROP TRIGGER IF EXISTS appendlog_checkpoint_leaves_refuse ON "public"."appendlog_checkpoint_leaves";
CREATE TRIGGER appendlog_checkpoint_leaves_refuse BEFORE UPDATE OR DELETE OR TRUNCATE ON "public"."appendlog_checkpoint_leaves"
  FOR EACH STATEMENT EXECUTE FUNCTION "public".appendlog_refuse();

-- The checkpoints of a row-sharded schema (docs/spec.md §7.7): one tree per writing node, each kept
-- as the two tables above keep the schema's one tree.
CREATE TABLE IF NOT EXISTS "public"."appendlog_node_checkpoints" (
  node integer NOT NULL,
  id bigint NOT NULL,
  created_at timestamptz NOT NULL,
  tree_size bigint NOT NULL,
  root bytea NOT NULL,
  horizon xid8 NOT NULL,
  body jsonb NOT NULL,
  PRIMARY KEY (node, id)
);
CREATE TABLE IF NOT EXISTS "public"."appendlog_node_checkpoint_leaves" (
  node integer NOT NULL,
  first_leaf bigint NOT NULL,
  checkpoint_id bigint NOT NULL,
  leaf_count integer NOT NULL,
  leaves bytea NOT NULL,
  PRIMARY KEY (node, first_leaf),
  FOREIGN KEY (node, checkpoint_id) REFERENCES "public"."appendlog_node_checkpoints" (node, id) DEFERRABLE INITIALLY DEFERRED
);
DROP TRIGGER IF EXISTS appendlog_node_checkpoints_refuse ON "public"."appendlog_node_checkpoints";
CREATE TRIGGER appendlog_node_checkpoints_refuse BEFORE UPDATE OR DELETE OR TRUNCATE ON "public"."appendlog_node_checkpoints"
  FOR EACH STATEMENT EXECUTE FUNCTION "public".appendlog_refuse();
DROP TRIGGER IF EXISTS appendlog_node_checkpoint_leaves_refuse ON "public"."appendlog_node_checkpoint_leaves";
CREATE TRIGGER appendlog_node_checkpoint_leaves_refuse BEFORE UPDATE OR DELETE OR TRUNCATE ON "public"."appendlog_node_checkpoint_leaves"
  FOR EACH STATEMENT EXECUTE FUNCTION "public".appendlog_refuse();

-- Archives of range-partitioned logs (docs/spec.md §7.8): each took every version below a
-- checkpoint's horizon out of the logs; the tree below it is that checkpoint's leaf index.
CREATE TABLE IF NOT EXISTS "public"."appendlog_archives" (
  id bigint PRIMARY KEY,
  checkpoint_id bigint NOT NULL REFERENCES "public"."appendlog_checkpoints" (id),
  created_at timestamptz NOT NULL,
  horizon xid8 NOT NULL,
  tree_size bigint NOT NULL,
  root bytea NOT NULL,
  body jsonb NOT NULL
);
DROP TRIGGER IF EXISTS appendlog_archives_refuse ON "public"."appendlog_archives";
CREATE TRIGGER appendlog_archives_refuse BEFORE UPDATE OR DELETE OR TRUNCATE ON "public"."appendlog_archives"
  FOR EACH STATEMENT EXECUTE FUNCTION "public".appendlog_refuse();

-- Erasure (docs/erasure.md). A forget version carries its due time in meta.erasure.dueAt.
CREATE OR REPLACE FUNCTION "public".appendlog_forget_meta(meta jsonb, recorded_at timestamptz) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  req jsonb := coalesce(meta -> 'erasure', '{}'::jsonb);
  wait interval;
  due timestamptz;
BEGIN
  IF meta IS NOT NULL AND pg_catalog.jsonb_typeof(meta) <> 'object' THEN
    RAISE EXCEPTION 'appendlog: the meta of a forget must be a JSON object'
      USING ERRCODE = 'AL005', DETAIL = 'field=meta';
  END IF;
  IF pg_catalog.jsonb_typeof(req) <> 'object' THEN
    RAISE EXCEPTION 'appendlog: meta.erasure of a forget must be a JSON object'
      USING ERRCODE = 'AL005', DETAIL = 'field=meta';
  END IF;
  IF req ? 'after' THEN
    BEGIN
      wait := (req ->> 'after')::interval;
    EXCEPTION WHEN others THEN
      RAISE EXCEPTION 'appendlog: forget after % is not a duration such as ''30 days''', req -> 'after'
        USING ERRCODE = 'AL005', DETAIL = 'field=after';
    END;
    IF wait IS NULL OR wait < interval '0' THEN
      RAISE EXCEPTION 'appendlog: forget after % is negative', req -> 'after'
        USING ERRCODE = 'AL005', DETAIL = 'field=after';
    END IF;
    due := ((recorded_at AT TIME ZONE 'UTC') + wait) AT TIME ZONE 'UTC';
  ELSIF req ? 'dueAt' THEN
    BEGIN
      due := (req ->> 'dueAt')::timestamptz;
    EXCEPTION WHEN others THEN
      RAISE EXCEPTION 'appendlog: forget due at % is not a time', req -> 'dueAt'
        USING ERRCODE = 'AL005', DETAIL = 'field=after';
    END;
  ELSE
    due := ((recorded_at AT TIME ZONE 'UTC') + interval '30 days') AT TIME ZONE 'UTC';
  END IF;
  IF due IS NULL OR NOT pg_catalog.isfinite(due) THEN
    RAISE EXCEPTION 'appendlog: a forget needs a finite due time'
      USING ERRCODE = 'AL005', DETAIL = 'field=after';
  END IF;
  -- A due time in the past means "due now": erasure never runs earlier than the forget itself.
  due := greatest(due, recorded_at);
  RETURN coalesce(meta, '{}'::jsonb) || pg_catalog.jsonb_build_object('erasure',
    (req - 'after') || pg_catalog.jsonb_build_object('dueAt', pg_catalog.to_char(due AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')));
END $fn$;

-- The one write a forgotten entry accepts: cancelForget, before the due time, back to the state
-- it had (a 'restore' if it was live, a 'delete' if it was in the recycle bin), with a reason.
CREATE OR REPLACE FUNCTION "public".appendlog_check_cancel_forget(
  tbl text, entry uuid, op text, reason text, meta jsonb, forget_meta jsonb, prior_op text
) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  due timestamptz := (forget_meta -> 'erasure' ->> 'dueAt')::timestamptz;
  wanted text := CASE WHEN prior_op = 'delete' THEN 'delete' ELSE 'restore' END;
BEGIN
  IF (meta -> 'cancelForget') IS DISTINCT FROM 'true'::jsonb THEN
    RAISE EXCEPTION 'appendlog: % entry % is forgotten and awaits erasure (due %); only cancelForget can bring it back before then',
      tbl, entry, forget_meta -> 'erasure' ->> 'dueAt'
      USING ERRCODE = 'AL004';
  END IF;
  IF due IS NULL OR due <= pg_catalog.clock_timestamp() THEN
    RAISE EXCEPTION 'appendlog: the erasure of % entry % was due at %; it can no longer be cancelled',
      tbl, entry, forget_meta -> 'erasure' ->> 'dueAt'
      USING ERRCODE = 'AL004';
  END IF;
  IF op IS DISTINCT FROM wanted THEN
    RAISE EXCEPTION 'appendlog: cancelling the forget of % entry % appends a ''%'' version (it was % before), not ''%''',
      tbl, entry, wanted, CASE WHEN wanted = 'delete' THEN 'deleted' ELSE 'live' END, op
      USING ERRCODE = 'AL004';
  END IF;
  IF coalesce(pg_catalog.btrim(reason), '') = '' THEN
    RAISE EXCEPTION 'appendlog: cancelling the forget of % entry % needs a reason', tbl, entry
      USING ERRCODE = 'AL002';
  END IF;
END $fn$;

CREATE TABLE IF NOT EXISTS "public"."appendlog_erasures" (
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
CREATE OR REPLACE FUNCTION "public".appendlog_erasure_fill() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  r record;
  n integer;
  due timestamptz;
BEGIN
  IF NEW.table_name IS NULL OR NEW.entry_id IS NULL
     OR pg_catalog.to_regclass(pg_catalog.format('%I.%I', TG_TABLE_SCHEMA, NEW.table_name || '_head')) IS NULL
     OR pg_catalog.to_regclass(pg_catalog.format('%I.%I', TG_TABLE_SCHEMA, NEW.table_name || '_log')) IS NULL THEN
    RAISE EXCEPTION 'appendlog: % is not an appendlog table of schema %', NEW.table_name, TG_TABLE_SCHEMA
      USING ERRCODE = 'AL005', DETAIL = 'field=table';
  END IF;
  EXECUTE pg_catalog.format(
    'SELECT h.op, h.version, l.recorded_at, l.actor, l.reason, l.meta FROM %I.%I h JOIN %I.%I l ON l.entry_id = h.entry_id AND l.version = h.version
      WHERE h.entry_id = $1 FOR UPDATE OF h',
    TG_TABLE_SCHEMA, NEW.table_name || '_head', TG_TABLE_SCHEMA, NEW.table_name || '_log')
    INTO r USING NEW.entry_id;
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n = 0 THEN
    RAISE EXCEPTION 'appendlog: % entry % does not exist', NEW.table_name, NEW.entry_id
      USING ERRCODE = 'AL003';
  END IF;
  IF r.op <> 'forget' THEN
    RAISE EXCEPTION 'appendlog: % entry % is not forgotten, so it cannot be erased', NEW.table_name, NEW.entry_id
      USING ERRCODE = 'AL004';
  END IF;
  due := (r.meta -> 'erasure' ->> 'dueAt')::timestamptz;
  IF due IS NULL OR due > pg_catalog.clock_timestamp() THEN
    RAISE EXCEPTION 'appendlog: % entry % is not due for erasure until %', NEW.table_name, NEW.entry_id,
      r.meta -> 'erasure' ->> 'dueAt'
      USING ERRCODE = 'AL004';
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
CREATE OR REPLACE FUNCTION "public".appendlog_erasure_apply() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  n integer;
BEGIN
  EXECUTE pg_catalog.format('SELECT %I.%I($1, $2)', TG_TABLE_SCHEMA, NEW.table_name || '_erase_rows')
    INTO n USING NEW.entry_id, NEW.erased_at;
  IF n IS DISTINCT FROM NEW.versions THEN
    RAISE EXCEPTION 'appendlog: erasing % entry % redacted % of its % versions', NEW.table_name, NEW.entry_id, n, NEW.versions
      USING ERRCODE = 'AL001';
  END IF;
  RETURN NULL;
END $fn$;

DROP TRIGGER IF EXISTS appendlog_erasures_fill ON "public"."appendlog_erasures";
CREATE TRIGGER appendlog_erasures_fill BEFORE INSERT ON "public"."appendlog_erasures"
  FOR EACH ROW EXECUTE FUNCTION "public".appendlog_erasure_fill();
DROP TRIGGER IF EXISTS appendlog_erasures_apply ON "public"."appendlog_erasures";
CREATE TRIGGER appendlog_erasures_apply AFTER INSERT ON "public"."appendlog_erasures"
  FOR EACH ROW EXECUTE FUNCTION "public".appendlog_erasure_apply();

DROP TRIGGER IF EXISTS appendlog_erasures_refuse ON "public"."appendlog_erasures";
CREATE TRIGGER appendlog_erasures_refuse BEFORE UPDATE OR DELETE ON "public"."appendlog_erasures"
  FOR EACH STATEMENT EXECUTE FUNCTION "public".appendlog_refuse();
DROP TRIGGER IF EXISTS appendlog_erasures_refuse_truncate ON "public"."appendlog_erasures";
CREATE TRIGGER appendlog_erasures_refuse_truncate BEFORE TRUNCATE ON "public"."appendlog_erasures"
  FOR EACH STATEMENT EXECUTE FUNCTION "public".appendlog_refuse();

CREATE TABLE IF NOT EXISTS "public"."appendlog_retention" (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  set_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  table_name text NOT NULL,
  -- As given ('90 days'); NULL: no retention.
  deleted_for text CHECK (deleted_for::interval >= interval '0')
);

DROP TRIGGER IF EXISTS appendlog_retention_refuse ON "public"."appendlog_retention";
CREATE TRIGGER appendlog_retention_refuse BEFORE UPDATE OR DELETE ON "public"."appendlog_retention"
  FOR EACH STATEMENT EXECUTE FUNCTION "public".appendlog_refuse();
DROP TRIGGER IF EXISTS appendlog_retention_refuse_truncate ON "public"."appendlog_retention";
CREATE TRIGGER appendlog_retention_refuse_truncate BEFORE TRUNCATE ON "public"."appendlog_retention"
  FOR EACH STATEMENT EXECUTE FUNCTION "public".appendlog_refuse();

CREATE OR REPLACE FUNCTION "public".appendlog_context(actor text DEFAULT NULL, reason text DEFAULT NULL, meta jsonb DEFAULT NULL)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  IF pg_catalog.octet_length(actor) OPERATOR(pg_catalog.>) 4096 OR pg_catalog.octet_length(reason) OPERATOR(pg_catalog.>) 4096
     OR pg_catalog.octet_length(meta::text) OPERATOR(pg_catalog.>) 1048576
     OR pg_catalog.jsonb_typeof(meta) OPERATOR(pg_catalog.<>) 'object' THEN
    RAISE EXCEPTION 'appendlog: the actor and reason of a version hold at most 4096 bytes, and its meta is a JSON object of at most 1048576 bytes'
      USING ERRCODE = 'AL005',
            DETAIL = 'field=' || CASE WHEN pg_catalog.octet_length(actor) OPERATOR(pg_catalog.>) 4096 THEN 'actor'
                                      WHEN pg_catalog.octet_length(reason) OPERATOR(pg_catalog.>) 4096 THEN 'reason'
                                      ELSE 'meta' END;
  END IF;
  IF pg_catalog.current_setting('appendlog.context_tx', true) IS DISTINCT FROM pg_catalog.pg_backend_pid()::text || ':' || EXTRACT(epoch FROM pg_catalog.transaction_timestamp())::text THEN
    -- The first call of the transaction: what it leaves out is cleared, not inherited from
    -- before the transaction (a session-level SET), and the transaction is marked as set up here.
    PERFORM pg_catalog.set_config('appendlog.actor', coalesce(actor, ''), true),
            pg_catalog.set_config('appendlog.reason', coalesce(reason, ''), true),
            pg_catalog.set_config('appendlog.meta', coalesce(meta::text, ''), true),
            pg_catalog.set_config('appendlog.context_tx', pg_catalog.pg_backend_pid()::text || ':' || EXTRACT(epoch FROM pg_catalog.transaction_timestamp())::text, true);
    RETURN;
  END IF;
  IF actor IS NOT NULL THEN PERFORM pg_catalog.set_config('appendlog.actor', actor, true); END IF;
  IF reason IS NOT NULL THEN PERFORM pg_catalog.set_config('appendlog.reason', reason, true); END IF;
  IF meta IS NOT NULL THEN PERFORM pg_catalog.set_config('appendlog.meta', meta::text, true); END IF;
END $fn$;
COMMENT ON FUNCTION "public".appendlog_context(text, text, jsonb) IS
  'Sets appendlog.actor, appendlog.reason and appendlog.meta for the current transaction only; NULL leaves one as an earlier call in the same transaction set it (or clears it, on the first call), '''' clears it.';
GRANT EXECUTE ON FUNCTION "public".appendlog_context(text, text, jsonb) TO PUBLIC;

-- Realtime (docs/architecture.md, "Realtime"): a wake-up for subscribers, once per writing statement,
-- from sessions that opt in (appendlog.notify = on): PostgreSQL serializes the commits of all
-- notifying transactions, through their WAL flush, so notifying by default would cost every writer.
CREATE OR REPLACE FUNCTION "public".appendlog_notify_changes() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  IF pg_catalog.current_setting('appendlog.notify', true) = 'on' THEN
    PERFORM pg_catalog.pg_notify('appendlog_changes', TG_TABLE_SCHEMA);
  END IF;
  RETURN NULL;
END $fn$;

CREATE TABLE IF NOT EXISTS "public"."appendlog_projections" (
  name text PRIMARY KEY,
  cursor xid8,
  tables text[] NOT NULL DEFAULT '{}',
  needs_reset boolean NOT NULL DEFAULT false,
  applied_sets bigint NOT NULL DEFAULT 0,
  applied_at timestamptz,
  rebuilt_at timestamptz
);
REVOKE ALL ON "public"."appendlog_projections" FROM PUBLIC;

-- catalog change 1: the columns a change touched, a readable summary, and the role that applied it.
ALTER TABLE "public"."appendlog_schema_history" ADD COLUMN IF NOT EXISTS columns text[];
ALTER TABLE "public"."appendlog_schema_history" ADD COLUMN IF NOT EXISTS summary text;
ALTER TABLE "public"."appendlog_schema_history" ADD COLUMN IF NOT EXISTS applied_by text;
COMMENT ON TABLE "public"."appendlog_schema_history" IS 'appendlog catalog 9085ed5da220b6d05f6dc3c16334f41c';

-- next step

CREATE TABLE "public"."addresses_log" (
  seq bigint GENERATED ALWAYS AS IDENTITY,
  entry_id uuid NOT NULL,
  version integer NOT NULL,
  op text NOT NULL,
  recorded_at timestamptz NOT NULL,
  tx_id xid8 NOT NULL,
  actor text,
  reason text,
  meta jsonb,
  salt bytea,
  content_hash bytea NOT NULL,
  parent_hash bytea,
  hash bytea NOT NULL,
  redacted_at timestamptz,
  "name" text,
  "address_line_1" text,
  "city" text,
  "postcode" text,
  "tel" text,
  CONSTRAINT "name_required" CHECK (redacted_at IS NOT NULL OR "name" IS NOT NULL),
  -- One row per version of an entry: no fork can be stored, whatever wrote it.
  CONSTRAINT "addresses_log_pkey" PRIMARY KEY (entry_id, version)
);
CREATE INDEX "addresses_log_entry_time_idx" ON "public"."addresses_log" (entry_id, recorded_at);
-- Change readers (db.changes) and the Merkle leaves walk the log in (tx_id, seq) order; seq, an
-- identity, orders the versions of one transaction and needs no index of its own.
CREATE INDEX "addresses_log_tx_idx" ON "public"."addresses_log" (tx_id, seq);

CREATE TABLE "public"."addresses_head" (
  entry_id uuid PRIMARY KEY DEFAULT pg_catalog.gen_random_uuid(),
  version integer NOT NULL,
  op text NOT NULL,
  recorded_at timestamptz NOT NULL,
  tx_id xid8 NOT NULL,
  actor text,
  reason text,
  meta jsonb,
  hash bytea NOT NULL,
  parent_hash bytea,
  redacted_at timestamptz,
  seq bigint NOT NULL,
  deleted boolean NOT NULL,
  created_at timestamptz NOT NULL,
  "name" text,
  "address_line_1" text,
  "city" text,
  "postcode" text,
  "tel" text
) WITH (fillfactor = 80);
CREATE INDEX "addresses_head_created_idx" ON "public"."addresses_head" (created_at, entry_id);

CREATE TRIGGER appendlog_refuse_insert BEFORE INSERT ON "public"."addresses_log"
  FOR EACH STATEMENT EXECUTE FUNCTION "public".appendlog_guard_log_insert();
CREATE TRIGGER appendlog_refuse_change BEFORE UPDATE OR DELETE ON "public"."addresses_log"
  FOR EACH ROW EXECUTE FUNCTION "public".appendlog_refuse();
CREATE TRIGGER appendlog_refuse_delete BEFORE DELETE ON "public"."addresses_log"
  FOR EACH STATEMENT EXECUTE FUNCTION "public".appendlog_refuse();
CREATE TRIGGER appendlog_refuse_truncate BEFORE TRUNCATE ON "public"."addresses_log"
  FOR EACH STATEMENT EXECUTE FUNCTION "public".appendlog_refuse();
CREATE TRIGGER appendlog_head_refuse_delete BEFORE DELETE ON "public"."addresses_head"
  FOR EACH STATEMENT EXECUTE FUNCTION "public".appendlog_refuse();
CREATE TRIGGER appendlog_head_refuse_truncate BEFORE TRUNCATE ON "public"."addresses_head"
  FOR EACH STATEMENT EXECUTE FUNCTION "public".appendlog_refuse();

CREATE OR REPLACE FUNCTION "public"."addresses_log_chain"() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
-- appendlog table code revision 10: migrate replaces this table's code only with a newer revision.
DECLARE
  declared boolean := NEW.tx_id IS NULL;
  v_salt bytea;
  v_content_hash bytea;
  prior_op text;
  erased timestamptz;
BEGIN
  -- The wake-up of db.subscribe and projections, from sessions that opt in (docs/realtime.md).
  IF pg_catalog.current_setting('appendlog.notify', true) = 'on' THEN
    PERFORM pg_catalog.pg_notify('appendlog_changes', TG_TABLE_SCHEMA);
  END IF;
  IF TG_OP = 'INSERT' THEN
    -- A row that brings its own version, transaction or hashes (a data-only restore through
    -- this trigger, say) is refused rather than silently chained anew.
    IF coalesce(NEW.version, 1) <> 1
       OR NEW.tx_id IS NOT NULL
       OR NEW.hash IS NOT NULL
       OR NEW.parent_hash IS NOT NULL
       OR NEW.seq IS NOT NULL
       OR NEW.redacted_at IS NOT NULL
       OR NEW.deleted IS NOT NULL THEN
      RAISE EXCEPTION 'appendlog: a new % entry gets its version, times, transaction and hashes from appendlog; this row brings its own', 'addresses'
        USING ERRCODE = 'AL005',
              DETAIL = 'field=' || CASE
                WHEN coalesce(NEW.version, 1) <> 1 THEN 'version'
                WHEN NEW.tx_id IS NOT NULL THEN 'tx_id'
                WHEN NEW.hash IS NOT NULL THEN 'hash'
                WHEN NEW.parent_hash IS NOT NULL THEN 'parent_hash'
                WHEN NEW.seq IS NOT NULL THEN 'seq'
                WHEN NEW.redacted_at IS NOT NULL THEN 'redacted_at'
                WHEN NEW.deleted IS NOT NULL THEN 'deleted' END,
              HINT = 'To restore a dump, restore the schema and data together (pg_restore), or load data with --disable-triggers; see docs/operations.md.';
    END IF;
    IF coalesce(NEW.op, 'insert') <> 'insert' THEN
      RAISE EXCEPTION 'appendlog: a new % entry starts with an insert, not %', 'addresses', NEW.op
        USING ERRCODE = 'AL005', DETAIL = 'field=op';
    END IF;
    NEW.op := 'insert';
    NEW.version := 1;
    NEW.entry_id := coalesce(NEW.entry_id, pg_catalog.gen_random_uuid());
    NEW.recorded_at := pg_catalog.clock_timestamp();
    NEW.created_at := NEW.recorded_at;
    NEW.parent_hash := NULL;
    IF (NEW.actor IS NULL AND nullif(pg_catalog.current_setting('appendlog.actor', true), '') IS NOT NULL)
       OR (NEW.reason IS NULL AND nullif(pg_catalog.current_setting('appendlog.reason', true), '') IS NOT NULL)
       OR (NEW.meta IS NULL AND nullif(pg_catalog.current_setting('appendlog.meta', true), '') IS NOT NULL) THEN
      NEW.actor := coalesce(NEW.actor, nullif(pg_catalog.current_setting('appendlog.actor', true), ''));
      NEW.reason := coalesce(NEW.reason, nullif(pg_catalog.current_setting('appendlog.reason', true), ''));
      NEW.meta := coalesce(NEW.meta, nullif(pg_catalog.current_setting('appendlog.meta', true), '')::jsonb);
      IF pg_catalog.current_setting('appendlog.strict_context', true) = 'on'
         AND pg_catalog.current_setting('appendlog.context_tx', true) IS DISTINCT FROM pg_catalog.pg_backend_pid()::text || ':' || EXTRACT(epoch FROM pg_catalog.transaction_timestamp())::text THEN
        RAISE EXCEPTION 'appendlog: the actor, reason or meta of this write comes from a setting that appendlog_context() did not make in this transaction (strict_context is on)'
          USING ERRCODE = 'AL004',
                DETAIL = 'A session-level SET of appendlog.actor, appendlog.reason or appendlog.meta outlives its request on a pooled connection.',
                HINT = 'Call SELECT appendlog_context(actor => …, reason => …) in the same transaction, or pass them to the library.';
      END IF;
    END IF;
  ELSE
    IF NOT declared THEN
      -- An UPDATE that changes nothing (an ORM's full-object save, SET name = name) appends no
      -- version, as PaperTrail and Logidze skip unchanged saves: the head row stays as it was.
      IF NOT OLD.deleted AND NEW.entry_id = OLD.entry_id AND NEW.op IS NOT DISTINCT FROM OLD.op
         AND (NEW.version = OLD.version OR NEW.version = OLD.version + 1)
         AND (NEW.actor, NEW.reason, NEW.meta, NEW."name", NEW."address_line_1", NEW."city", NEW."postcode", NEW."tel")
             IS NOT DISTINCT FROM (OLD.actor, OLD.reason, OLD.meta, OLD."name", OLD."address_line_1", OLD."city", OLD."postcode", OLD."tel") THEN
        RETURN OLD;
      END IF;
      -- Only what the statement changed is its own; the rest comes from the transaction's settings.
      NEW.op := CASE WHEN NEW.op IS NOT DISTINCT FROM OLD.op THEN 'update' ELSE NEW.op END;
      NEW.actor := CASE WHEN NEW.actor IS NOT DISTINCT FROM OLD.actor THEN NULL ELSE NEW.actor END;
      NEW.reason := CASE WHEN NEW.reason IS NOT DISTINCT FROM OLD.reason THEN NULL ELSE NEW.reason END;
      NEW.meta := CASE WHEN NEW.meta IS NOT DISTINCT FROM OLD.meta THEN NULL ELSE NEW.meta END;
    END IF;
    IF (NEW.actor IS NULL AND nullif(pg_catalog.current_setting('appendlog.actor', true), '') IS NOT NULL)
       OR (NEW.reason IS NULL AND nullif(pg_catalog.current_setting('appendlog.reason', true), '') IS NOT NULL)
       OR (NEW.meta IS NULL AND nullif(pg_catalog.current_setting('appendlog.meta', true), '') IS NOT NULL) THEN
      NEW.actor := coalesce(NEW.actor, nullif(pg_catalog.current_setting('appendlog.actor', true), ''));
      NEW.reason := coalesce(NEW.reason, nullif(pg_catalog.current_setting('appendlog.reason', true), ''));
      NEW.meta := coalesce(NEW.meta, nullif(pg_catalog.current_setting('appendlog.meta', true), '')::jsonb);
      IF pg_catalog.current_setting('appendlog.strict_context', true) = 'on'
         AND pg_catalog.current_setting('appendlog.context_tx', true) IS DISTINCT FROM pg_catalog.pg_backend_pid()::text || ':' || EXTRACT(epoch FROM pg_catalog.transaction_timestamp())::text THEN
        RAISE EXCEPTION 'appendlog: the actor, reason or meta of this write comes from a setting that appendlog_context() did not make in this transaction (strict_context is on)'
          USING ERRCODE = 'AL004',
                DETAIL = 'A session-level SET of appendlog.actor, appendlog.reason or appendlog.meta outlives its request on a pooled connection.',
                HINT = 'Call SELECT appendlog_context(actor => …, reason => …) in the same transaction, or pass them to the library.';
      END IF;
    END IF;
    -- Times strictly increase along an entry's chain, so "as of t" picks exactly one version.
    NEW.recorded_at := greatest(pg_catalog.clock_timestamp(), OLD.recorded_at + interval '1 microsecond');
    -- The usual write, an update of a live entry that meets its expectation (the version a
    -- statement names, which a declared one always does, must be the next one), passes this one test; anything else goes through
    -- the checks below, which say what is wrong.
    IF OLD.deleted OR NEW.op IS DISTINCT FROM 'update' OR NEW.entry_id <> OLD.entry_id
       OR (NEW.version IS DISTINCT FROM OLD.version + 1 AND (declared OR NEW.version IS DISTINCT FROM OLD.version)) THEN
      IF NEW.entry_id <> OLD.entry_id THEN
        RAISE EXCEPTION 'appendlog: the entry_id of % entry % is its identity and cannot change', 'addresses', OLD.entry_id
          USING ERRCODE = 'AL005', DETAIL = 'field=entry_id';
      END IF;
      IF NEW.op IS NULL OR NEW.op NOT IN ('insert', 'update', 'delete', 'restore', 'forget') THEN
        RAISE EXCEPTION 'appendlog: % is not an operation (insert, update, delete, restore or forget)', NEW.op
          USING ERRCODE = 'AL005', DETAIL = 'field=op';
      END IF;
      IF OLD.op = 'forget' AND NOT declared AND NEW.op = 'update' AND NEW.version = OLD.version AND NEW."name" IS NULL AND NEW."address_line_1" IS NULL AND NEW."city" IS NULL AND NEW."postcode" IS NULL AND NEW."tel" IS NULL THEN
        -- Erasure's redaction of the head's copy: allowed only in the transaction that recorded
        -- the entry's erasure (which checked that it is forgotten and due). No version is appended.
        SELECT x.erased_at INTO erased FROM "public"."appendlog_erasures" x
         WHERE x.table_name = 'addresses' AND x.entry_id = OLD.entry_id AND x.tx_id = pg_catalog.pg_current_xact_id();
        IF FOUND THEN
          NEW := OLD;
          NEW."name" := NULL;
          NEW."address_line_1" := NULL;
          NEW."city" := NULL;
          NEW."postcode" := NULL;
          NEW."tel" := NULL;
          NEW.redacted_at := erased;
          RETURN NEW;
        END IF;
      END IF;
      IF NEW.version IS DISTINCT FROM OLD.version + 1 AND (declared OR NEW.version IS DISTINCT FROM OLD.version) THEN
        IF declared THEN
          RAISE EXCEPTION 'appendlog: version conflict on % entry %: expected version %, found %',
            'addresses', OLD.entry_id, NEW.version - 1, OLD.version
            USING ERRCODE = '40001',
                  DETAIL = pg_catalog.json_build_object('expected', NEW.version - 1, 'actual', OLD.version)::text;
        END IF;
        -- Raw SQL and ORMs: SET version = version + 1 (optimistic locking) or leave it as read.
        RAISE EXCEPTION 'appendlog: version conflict on % entry %: the statement sets version %, but the entry is at version % (a concurrent change came first)',
          'addresses', OLD.entry_id, NEW.version, OLD.version
          USING ERRCODE = '40001', COLUMN = 'version',
                DETAIL = pg_catalog.json_build_object('expected', greatest(NEW.version - 1, 1), 'actual', OLD.version)::text,
                HINT = 'Set version = version + 1 to append the next version only if nobody else did, or leave version out.';
      END IF;
      IF NEW.op = 'insert' THEN
        RAISE EXCEPTION 'appendlog: % entry % already exists (version %)', 'addresses', OLD.entry_id, OLD.version
          USING ERRCODE = '23505', CONSTRAINT = 'addresses_head_pkey';
      ELSIF OLD.op = 'forget' THEN
        -- Forgotten: only cancelForget, before the due time, may write (docs/erasure.md).
        SELECT l.op INTO prior_op FROM "public"."addresses_log" l WHERE l.entry_id = OLD.entry_id AND l.version = OLD.version - 1;
        PERFORM "public".appendlog_check_cancel_forget('addresses', OLD.entry_id, NEW.op, NEW.reason, NEW.meta, OLD.meta, prior_op);
        -- The cancel's own time, not only the clock when it was checked, is before the due time.
        IF NEW.recorded_at >= (OLD.meta -> 'erasure' ->> 'dueAt')::timestamptz THEN
          RAISE EXCEPTION 'appendlog: the erasure of % entry % was due at %; it can no longer be cancelled',
            'addresses', OLD.entry_id, OLD.meta -> 'erasure' ->> 'dueAt'
            USING ERRCODE = 'AL004';
        END IF;
      ELSIF NEW.op IN ('update', 'delete') AND OLD.deleted THEN
        RAISE EXCEPTION 'appendlog: % entry % is deleted; restore it first', 'addresses', OLD.entry_id
          USING ERRCODE = 'AL003';
      ELSIF NEW.op = 'restore' AND NOT OLD.deleted THEN
        RAISE EXCEPTION 'appendlog: % entry % is not deleted, so it cannot be restored', 'addresses', OLD.entry_id
          USING ERRCODE = 'AL004';
      END IF;
      IF NEW.op IN ('delete', 'forget') AND coalesce(pg_catalog.btrim(NEW.reason), '') = '' THEN
        RAISE EXCEPTION 'appendlog: a % of % entry % needs a reason', NEW.op, 'addresses', OLD.entry_id
          USING ERRCODE = 'AL002',
                HINT = 'Pass { reason } to the library, or in SQL call SELECT appendlog_context(reason => ''…'') in the same transaction first.';
      END IF;
    END IF;
    NEW.version := OLD.version + 1;
    NEW.created_at := OLD.created_at;
    NEW.parent_hash := OLD.hash;
  END IF;

  IF pg_catalog.octet_length(NEW.actor) > 4096 OR pg_catalog.octet_length(NEW.reason) > 4096
     OR pg_catalog.octet_length(NEW.meta::text) > 1048576 OR pg_catalog.jsonb_typeof(NEW.meta) <> 'object' THEN
    RAISE EXCEPTION 'appendlog: the actor and reason of a version hold at most 4096 bytes, and its meta is a JSON object of at most 1048576 bytes'
      USING ERRCODE = 'AL005',
            DETAIL = 'field=' || CASE WHEN pg_catalog.octet_length(NEW.actor) > 4096 THEN 'actor'
                                      WHEN pg_catalog.octet_length(NEW.reason) > 4096 THEN 'reason'
                                      ELSE 'meta' END;
  END IF;
  IF NEW.op = 'forget' THEN
    NEW.meta := "public".appendlog_forget_meta(NEW.meta, NEW.recorded_at);
  END IF;
  NEW.deleted := NEW.op IN ('delete', 'forget');
  NEW.redacted_at := NULL;
  NEW.tx_id := pg_catalog.pg_current_xact_id();
  v_salt := pg_catalog.substr(pg_catalog.sha256(pg_catalog.convert_to(coalesce(nullif(pg_catalog.current_setting('appendlog.salt_key', true), ''),
      pg_catalog.set_config('appendlog.salt_key', pg_catalog.encode(pg_catalog.uuid_send(pg_catalog.gen_random_uuid())
        || pg_catalog.uuid_send(pg_catalog.gen_random_uuid()), 'hex'), false)), 'UTF8')
      || pg_catalog.uuid_send(NEW.entry_id) || pg_catalog.int4send(NEW.version)), 1, 16);
  v_content_hash := pg_catalog.sha256(v_salt || pg_catalog.substr(pg_catalog.array_send(pg_catalog.array_remove(ARRAY[CASE WHEN NEW."address_line_1" IS NULL THEN NULL ELSE '\x616464726573735f6c696e655f31'::bytea END,
        pg_catalog.convert_to(NEW."address_line_1", 'UTF8'),
        CASE WHEN NEW."city" IS NULL THEN NULL ELSE '\x63697479'::bytea END,
        pg_catalog.convert_to(NEW."city", 'UTF8'),
        CASE WHEN NEW."name" IS NULL THEN NULL ELSE '\x6e616d65'::bytea END,
        pg_catalog.convert_to(NEW."name", 'UTF8'),
        CASE WHEN NEW."postcode" IS NULL THEN NULL ELSE '\x706f7374636f6465'::bytea END,
        pg_catalog.convert_to(NEW."postcode", 'UTF8'),
        CASE WHEN NEW."tel" IS NULL THEN NULL ELSE '\x74656c'::bytea END,
        pg_catalog.convert_to(NEW."tel", 'UTF8')]::bytea[], NULL)), 21));
  NEW.hash := pg_catalog.sha256(
      '\x0000000c617070656e646c6f672f763100000009616464726573736573'::bytea
      || pg_catalog.substr(pg_catalog.array_send(ARRAY[pg_catalog.convert_to(NEW.entry_id::text, 'UTF8'),
        pg_catalog.convert_to(NEW.version::text, 'UTF8'),
        pg_catalog.convert_to(NEW.op, 'UTF8'),
        pg_catalog.convert_to(pg_catalog.to_char(NEW.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), 'UTF8'),
        pg_catalog.convert_to(NEW.tx_id::text, 'UTF8'),
        pg_catalog.convert_to(NEW.actor, 'UTF8'),
        pg_catalog.convert_to(NEW.reason, 'UTF8'),
        pg_catalog.convert_to(NEW.meta::text, 'UTF8')]::bytea[]), 21)
      || coalesce(NEW.parent_hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)
      || v_content_hash);
  IF TG_OP = 'INSERT' THEN
    INSERT INTO "public"."addresses_log" (entry_id, version, op, recorded_at, tx_id, actor, reason, meta, salt, content_hash, hash, "name", "address_line_1", "city", "postcode", "tel")
    VALUES (NEW.entry_id, NEW.version, NEW.op, NEW.recorded_at, NEW.tx_id, NEW.actor, NEW.reason, NEW.meta, v_salt, v_content_hash, NEW.hash, NEW."name", NEW."address_line_1", NEW."city", NEW."postcode", NEW."tel")
    ON CONFLICT DO NOTHING
    RETURNING seq INTO NEW.seq;
    IF NOT FOUND THEN
      -- Only an INSERT of an entry id the log holds gets here (every other write holds the head
      -- row): say what that entry is, under the SQLSTATE of any duplicate key.
      SELECT h.op, h.version INTO prior_op, NEW.version FROM "public"."addresses_head" h WHERE h.entry_id = NEW.entry_id;
      RAISE EXCEPTION 'appendlog: % entry % %', 'addresses', NEW.entry_id,
        CASE prior_op WHEN 'forget' THEN 'is forgotten (awaiting erasure); its id cannot be reused'
                      WHEN 'delete' THEN 'is deleted: restore it instead (restore() in the library, addresses_restore(entry_id, reason) in SQL)'
                      ELSE 'already exists (version ' || coalesce(NEW.version::text, '1') || ')' END
        USING ERRCODE = '23505', CONSTRAINT = 'addresses_head_pkey',
              DETAIL = 'Key (entry_id)=(' || NEW.entry_id || ') already exists.';
    END IF;
    RETURN NEW;
  END IF;
  -- An update holds the head row: its version cannot be in the log yet.
  INSERT INTO "public"."addresses_log" (entry_id, version, op, recorded_at, tx_id, actor, reason, meta, salt, content_hash, hash, "name", "address_line_1", "city", "postcode", "tel")
  VALUES (NEW.entry_id, NEW.version, NEW.op, NEW.recorded_at, NEW.tx_id, NEW.actor, NEW.reason, NEW.meta, v_salt, v_content_hash, NEW.hash, NEW."name", NEW."address_line_1", NEW."city", NEW."postcode", NEW."tel")
  RETURNING seq INTO NEW.seq;
  RETURN NEW;
END $fn$;

DROP TRIGGER IF EXISTS appendlog_chain ON "public"."addresses_head";
CREATE TRIGGER appendlog_chain BEFORE INSERT OR UPDATE ON "public"."addresses_head"
  FOR EACH ROW EXECUTE FUNCTION "public"."addresses_log_chain"();


CREATE OR REPLACE FUNCTION "public"."addresses_append"(
  p_op text, p_entry_id uuid, p_expected_version integer,
  p_actor text, p_reason text, p_meta jsonb, p_data jsonb
) RETURNS "public"."addresses_head"
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  r "public"."addresses_head"%ROWTYPE;
BEGIN
  IF p_op = 'insert' THEN
    r := pg_catalog.jsonb_populate_record(r, coalesce(p_data, '{}'));
    INSERT INTO "public"."addresses_head" (entry_id, version, actor, reason, meta, "name", "address_line_1", "city", "postcode", "tel")
    VALUES (coalesce(p_entry_id, pg_catalog.gen_random_uuid()), p_expected_version, p_actor, p_reason, p_meta, r."name", r."address_line_1", r."city", r."postcode", r."tel")
    RETURNING * INTO r;
    RETURN r;
  END IF;
  -- Lock the head first, then apply the patch to what it holds: a patch always lands on the latest.
  SELECT * INTO r FROM "public"."addresses_head" WHERE entry_id = p_entry_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'appendlog: % entry % does not exist', 'addresses', p_entry_id
      USING ERRCODE = 'AL003';
  END IF;
  IF p_data IS NOT NULL THEN
    r := pg_catalog.jsonb_populate_record(r, p_data);
  END IF;
  -- tx_id = NULL declares the op, actor, reason and meta; the named version is the expectation.
  UPDATE "public"."addresses_head"
     SET op = p_op, version = coalesce(p_expected_version, r.version) + 1, tx_id = NULL,
         actor = p_actor, reason = p_reason, meta = p_meta, "name" = r."name", "address_line_1" = r."address_line_1", "city" = r."city", "postcode" = r."postcode", "tel" = r."tel"
   WHERE entry_id = p_entry_id
  RETURNING * INTO r;
  RETURN r;
END $fn$;


CREATE OR REPLACE FUNCTION "public"."addresses_insert_many"(p_rows jsonb, p_actor text, p_reason text, p_meta jsonb)
RETURNS SETOF "public"."addresses_head"
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  v_actor text := p_actor;
  v_reason text := p_reason;
  v_meta jsonb := p_meta;
  v_tx xid8 := pg_catalog.pg_current_xact_id();
  v_shared bytea;
  v_seq regclass := pg_catalog.pg_get_serial_sequence('"public"."addresses_log"', 'seq')::regclass;
  v_allow_ddl text;
  -- Read once for the whole load, not once per row.
  v_salt_key bytea := pg_catalog.convert_to(coalesce(nullif(pg_catalog.current_setting('appendlog.salt_key', true), ''),
      pg_catalog.set_config('appendlog.salt_key', pg_catalog.encode(pg_catalog.uuid_send(pg_catalog.gen_random_uuid())
        || pg_catalog.uuid_send(pg_catalog.gen_random_uuid()), 'hex'), false)), 'UTF8');
BEGIN
  IF pg_catalog.jsonb_typeof(p_rows) IS DISTINCT FROM 'array' THEN
    RAISE EXCEPTION 'appendlog: insert_many takes a JSON array of rows'
      USING ERRCODE = 'AL005', DETAIL = 'field=rows';
  END IF;
    IF (v_actor IS NULL AND nullif(pg_catalog.current_setting('appendlog.actor', true), '') IS NOT NULL)
       OR (v_reason IS NULL AND nullif(pg_catalog.current_setting('appendlog.reason', true), '') IS NOT NULL)
       OR (v_meta IS NULL AND nullif(pg_catalog.current_setting('appendlog.meta', true), '') IS NOT NULL) THEN
      v_actor := coalesce(v_actor, nullif(pg_catalog.current_setting('appendlog.actor', true), ''));
      v_reason := coalesce(v_reason, nullif(pg_catalog.current_setting('appendlog.reason', true), ''));
      v_meta := coalesce(v_meta, nullif(pg_catalog.current_setting('appendlog.meta', true), '')::jsonb);
      IF pg_catalog.current_setting('appendlog.strict_context', true) = 'on'
         AND pg_catalog.current_setting('appendlog.context_tx', true) IS DISTINCT FROM pg_catalog.pg_backend_pid()::text || ':' || EXTRACT(epoch FROM pg_catalog.transaction_timestamp())::text THEN
        RAISE EXCEPTION 'appendlog: the actor, reason or meta of this write comes from a setting that appendlog_context() did not make in this transaction (strict_context is on)'
          USING ERRCODE = 'AL004',
                DETAIL = 'A session-level SET of appendlog.actor, appendlog.reason or appendlog.meta outlives its request on a pooled connection.',
                HINT = 'Call SELECT appendlog_context(actor => …, reason => …) in the same transaction, or pass them to the library.';
      END IF;
    END IF;
  IF pg_catalog.octet_length(v_actor) > 4096 OR pg_catalog.octet_length(v_reason) > 4096
     OR pg_catalog.octet_length(v_meta::text) > 1048576 OR pg_catalog.jsonb_typeof(v_meta) <> 'object' THEN
    RAISE EXCEPTION 'appendlog: the actor and reason of a version hold at most 4096 bytes, and its meta is a JSON object of at most 1048576 bytes'
      USING ERRCODE = 'AL005',
            DETAIL = 'field=' || CASE WHEN pg_catalog.octet_length(v_actor) > 4096 THEN 'actor'
                                      WHEN pg_catalog.octet_length(v_reason) > 4096 THEN 'reason'
                                      ELSE 'meta' END;
  END IF;
  v_shared := pg_catalog.substr(pg_catalog.array_send(ARRAY[pg_catalog.convert_to(v_tx::text, 'UTF8'), pg_catalog.convert_to(v_actor, 'UTF8'), pg_catalog.convert_to(v_reason, 'UTF8'), pg_catalog.convert_to(v_meta::text, 'UTF8')]::bytea[]), 21) || '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
  INSERT INTO "public"."appendlog_bulk_loads" (tx_id, table_name) VALUES (v_tx, 'addresses');
  -- The DDL guard (docs/sql-and-orms.md) lets appendlog's own switch through, and only it.
  v_allow_ddl := pg_catalog.current_setting('appendlog.allow_ddl', true);
  PERFORM pg_catalog.set_config('appendlog.allow_ddl', 'on', true);
  ALTER TABLE "public"."addresses_head" DISABLE TRIGGER appendlog_chain;
  -- The chain trigger, which sends the wake-up of other writes, is off: the load sends its own.
  IF pg_catalog.current_setting('appendlog.notify', true) = 'on' THEN
    PERFORM pg_catalog.pg_notify('appendlog_changes', 'public');
  END IF;
  -- One statement for the whole load: the log's rows and the head's, each in the order of p_rows,
  -- with seq drawn up front so that the head's INSERT needs nothing back from the log's.
  RETURN QUERY
  WITH src AS (
    SELECT coalesce(r.entry_id, pg_catalog.gen_random_uuid()) AS entry_id, pg_catalog.nextval(v_seq) AS seq,
           pg_catalog.clock_timestamp() AS recorded_at, r."name", r."address_line_1", r."city", r."postcode", r."tel", r."load.n" AS "load.n"
      FROM ROWS FROM (pg_catalog.jsonb_to_recordset(p_rows) AS (entry_id uuid, "name" text, "address_line_1" text, "city" text, "postcode" text, "tel" text)) WITH ORDINALITY AS r(entry_id, "name", "address_line_1", "city", "postcode", "tel", "load.n")
  ), salted AS (
    SELECT s.*, pg_catalog.substr(pg_catalog.sha256(v_salt_key
      || pg_catalog.uuid_send(s.entry_id) || pg_catalog.int4send(1)), 1, 16) AS salt FROM src s
  ), contented AS (
    SELECT s.*, pg_catalog.sha256(s.salt || pg_catalog.substr(pg_catalog.array_send(pg_catalog.array_remove(ARRAY[CASE WHEN s."address_line_1" IS NULL THEN NULL ELSE '\x616464726573735f6c696e655f31'::bytea END,
        pg_catalog.convert_to(s."address_line_1", 'UTF8'),
        CASE WHEN s."city" IS NULL THEN NULL ELSE '\x63697479'::bytea END,
        pg_catalog.convert_to(s."city", 'UTF8'),
        CASE WHEN s."name" IS NULL THEN NULL ELSE '\x6e616d65'::bytea END,
        pg_catalog.convert_to(s."name", 'UTF8'),
        CASE WHEN s."postcode" IS NULL THEN NULL ELSE '\x706f7374636f6465'::bytea END,
        pg_catalog.convert_to(s."postcode", 'UTF8'),
        CASE WHEN s."tel" IS NULL THEN NULL ELSE '\x74656c'::bytea END,
        pg_catalog.convert_to(s."tel", 'UTF8')]::bytea[], NULL)), 21)) AS content_hash
      FROM salted s
  ), hashed AS (
    SELECT c.*, pg_catalog.sha256('\x0000000c617070656e646c6f672f76310000000961646472657373657300000024'::bytea || pg_catalog.convert_to(c.entry_id::text, 'UTF8')
      || '\x000000013100000006696e73657274'::bytea || pg_catalog.substr(pg_catalog.array_send(ARRAY[pg_catalog.convert_to(pg_catalog.to_char(c.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), 'UTF8')]), 21)
      || v_shared || c.content_hash) AS hash
      FROM contented c
  ), logged AS (
    INSERT INTO "public"."addresses_log" (seq, entry_id, version, op, recorded_at, tx_id, actor, reason, meta, salt, content_hash, hash, "name", "address_line_1", "city", "postcode", "tel") OVERRIDING SYSTEM VALUE
    SELECT h.seq, h.entry_id, 1, 'insert', h.recorded_at, v_tx, v_actor, v_reason, v_meta, h.salt, h.content_hash, h.hash, h."name", h."address_line_1", h."city", h."postcode", h."tel"
      FROM hashed h ORDER BY h."load.n"
  )
  INSERT INTO "public"."addresses_head" AS x (entry_id, version, op, recorded_at, tx_id, actor, reason, meta, hash, seq, deleted, created_at, "name", "address_line_1", "city", "postcode", "tel")
  SELECT h.entry_id, 1, 'insert', h.recorded_at, v_tx, v_actor, v_reason, v_meta, h.hash, h.seq, false, h.recorded_at, h."name", h."address_line_1", h."city", h."postcode", h."tel"
    FROM hashed h ORDER BY h."load.n"
  RETURNING x.*;
  ALTER TABLE "public"."addresses_head" ENABLE TRIGGER appendlog_chain;
  PERFORM pg_catalog.set_config('appendlog.allow_ddl', coalesce(v_allow_ddl, ''), true);
  DELETE FROM "public"."appendlog_bulk_loads" WHERE tx_id = v_tx AND table_name = 'addresses';
END $fn$;
-- It writes as the owner: only roles migrate grants it to may call it.
REVOKE ALL ON FUNCTION "public"."addresses_insert_many"(jsonb, text, text, jsonb) FROM PUBLIC;


CREATE OR REPLACE FUNCTION "public"."addresses_upsert"(data jsonb, actor text DEFAULT NULL, reason text DEFAULT NULL, meta jsonb DEFAULT NULL)
RETURNS "public"."addresses_head"
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  v_id uuid;
BEGIN
  IF pg_catalog.jsonb_typeof($1) IS DISTINCT FROM 'object' OR NOT ($1 ? 'entry_id') THEN
    RAISE EXCEPTION 'appendlog: %_upsert takes a JSON object of columns with the entry_id', 'addresses'
      USING ERRCODE = 'AL005', DETAIL = 'field=entry_id';
  END IF;
  v_id := ($1 ->> 'entry_id')::uuid;
  LOOP
    PERFORM 1 FROM "public"."addresses_head" h WHERE h.entry_id = v_id FOR UPDATE;
    IF FOUND THEN
      RETURN "public"."addresses_append"('update', v_id, NULL, $2, $3, $4, $1 - 'entry_id');
    END IF;
    BEGIN
      RETURN "public"."addresses_append"('insert', v_id, NULL, $2, $3, $4, $1 - 'entry_id');
    EXCEPTION WHEN unique_violation THEN
      -- Another transaction inserted this id first: go round and update it.
    END;
  END LOOP;
END $fn$;

CREATE OR REPLACE FUNCTION "public"."addresses_restore"(entry_id uuid, reason text, actor text DEFAULT NULL, meta jsonb DEFAULT NULL)
RETURNS "public"."addresses_head"
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $fn$
  SELECT * FROM "public"."addresses_append"('restore', $1, NULL, $3, $2, $4, NULL)
$fn$;


CREATE OR REPLACE VIEW "public"."addresses" AS
SELECT h.entry_id, h.version, h.created_at, h.recorded_at AS updated_at, h."name", h."address_line_1", h."city", h."postcode", h."tel"
  FROM "public"."addresses_head" h
 WHERE NOT h.deleted;

CREATE OR REPLACE FUNCTION "public"."addresses_view_write"() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  actual integer;
BEGIN
  -- A tombstone of the version this statement read: a concurrent commit in between is a conflict.
  UPDATE "public"."addresses_head" SET op = 'delete' WHERE entry_id = OLD.entry_id AND version = OLD.version;
  IF NOT FOUND THEN
    SELECT version INTO actual FROM "public"."addresses_head" WHERE entry_id = OLD.entry_id;
    RAISE EXCEPTION 'appendlog: version conflict on % entry %: expected version %, found %',
      'addresses', OLD.entry_id, OLD.version, actual
      USING ERRCODE = '40001',
            DETAIL = pg_catalog.json_build_object('expected', OLD.version, 'actual', actual)::text;
  END IF;
  RETURN OLD;
END $fn$;

DROP TRIGGER IF EXISTS appendlog_view_write ON "public"."addresses";
CREATE TRIGGER appendlog_view_write INSTEAD OF DELETE ON "public"."addresses"
  FOR EACH ROW EXECUTE FUNCTION "public"."addresses_view_write"();


DROP FUNCTION IF EXISTS "public"."addresses_as_of"(timestamptz);
CREATE FUNCTION "public"."addresses_as_of"(at timestamptz)
RETURNS TABLE (entry_id uuid, version integer, created_at timestamptz, updated_at timestamptz, "name" text, "address_line_1" text, "city" text, "postcode" text, "tel" text)
LANGUAGE sql STABLE AS $fn$
  SELECT h.entry_id, l.version, h.created_at, l.recorded_at, l."name", l."address_line_1", l."city", l."postcode", l."tel"
    FROM "public"."addresses_head" h
    CROSS JOIN LATERAL (
      SELECT * FROM "public"."addresses_log" x
       WHERE x.entry_id = h.entry_id AND x.recorded_at <= $1
       ORDER BY x.recorded_at DESC
       LIMIT 1
    ) l
   WHERE h.created_at <= $1 AND h.op <> 'forget' AND l.op NOT IN ('delete', 'forget')
$fn$;


CREATE OR REPLACE FUNCTION "public"."addresses_log_guard"() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  head_op text;
  at timestamptz;
BEGIN
  -- The single sanctioned UPDATE (DESIGN.md invariant 1): erasure's redaction, issued by the
  -- trigger of an erasure record written in this transaction, changing nothing but the content.
  IF TG_OP = 'UPDATE' AND pg_catalog.pg_trigger_depth() >= 2
     AND OLD.redacted_at IS NULL AND NEW.redacted_at IS NOT NULL AND NEW.salt IS NULL
     AND NEW."name" IS NULL
     AND NEW."address_line_1" IS NULL
     AND NEW."city" IS NULL
     AND NEW."postcode" IS NULL
     AND NEW."tel" IS NULL
     AND (NEW.seq, NEW.entry_id, NEW.version, NEW.op, NEW.recorded_at, NEW.tx_id, NEW.actor, NEW.reason, NEW.meta, NEW.content_hash, NEW.parent_hash, NEW.hash) IS NOT DISTINCT FROM (OLD.seq, OLD.entry_id, OLD.version, OLD.op, OLD.recorded_at, OLD.tx_id, OLD.actor, OLD.reason, OLD.meta, OLD.content_hash, OLD.parent_hash, OLD.hash) THEN
    SELECT h.op INTO head_op FROM "public"."addresses_head" h WHERE h.entry_id = OLD.entry_id;
    SELECT x.erased_at INTO at FROM "public"."appendlog_erasures" x
     WHERE x.table_name = 'addresses' AND x.entry_id = OLD.entry_id AND x.tx_id = pg_catalog.pg_current_xact_id();
    IF head_op = 'forget' AND at IS NOT NULL THEN
      NEW.redacted_at := at;
      RETURN NEW;
    END IF;
  END IF;
  RAISE EXCEPTION 'appendlog: % on %.% refused: it is append-only', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = 'AL001',
          HINT = 'Append a new version instead; personal data is erased by forget() and appendlog purge.';
END $fn$;

DROP TRIGGER IF EXISTS appendlog_refuse_change ON "public"."addresses_log";
CREATE TRIGGER appendlog_refuse_change BEFORE UPDATE OR DELETE ON "public"."addresses_log"
  FOR EACH ROW EXECUTE FUNCTION "public"."addresses_log_guard"();

CREATE OR REPLACE FUNCTION "public"."addresses_erase_rows"(p_entry_id uuid, p_at timestamptz) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  n integer;
BEGIN
  UPDATE "public"."addresses_log"
     SET "name" = NULL, "address_line_1" = NULL, "city" = NULL, "postcode" = NULL, "tel" = NULL, salt = NULL, redacted_at = p_at
   WHERE entry_id = p_entry_id AND redacted_at IS NULL;
  GET DIAGNOSTICS n = ROW_COUNT;
  -- The head's copy of the latest version too (its chain trigger lets this one UPDATE through).
  UPDATE "public"."addresses_head" SET "name" = NULL, "address_line_1" = NULL, "city" = NULL, "postcode" = NULL, "tel" = NULL WHERE entry_id = p_entry_id;
  RETURN n;
END $fn$;
REVOKE ALL ON FUNCTION "public"."addresses_erase_rows"(uuid, timestamptz) FROM PUBLIC;

CREATE OR REPLACE FUNCTION "public"."addresses_redact"(p_entry_id uuid) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  n integer;
BEGIN
  PERFORM 1 FROM "public"."addresses_head" WHERE entry_id = p_entry_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'appendlog: % entry % does not exist', 'addresses', p_entry_id
      USING ERRCODE = 'AL003';
  END IF;
  IF EXISTS (SELECT 1 FROM "public"."appendlog_erasures" WHERE table_name = 'addresses' AND entry_id = p_entry_id) THEN
    RETURN 0;
  END IF;
  -- The record's triggers check that the entry is forgotten and due, then redact it.
  INSERT INTO "public"."appendlog_erasures" (table_name, entry_id) VALUES ('addresses', p_entry_id) RETURNING versions INTO n;
  RETURN n;
END $fn$;
REVOKE ALL ON FUNCTION "public"."addresses_redact"(uuid) FROM PUBLIC;


DROP TRIGGER IF EXISTS appendlog_notify ON "public"."addresses_head";
