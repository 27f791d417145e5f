
ALTER TABLE "public"."orders_log" ADD COLUMN "country" text;
ALTER TABLE "public"."orders_head" ADD COLUMN "country" text;
ALTER TABLE "public"."orders_log" ALTER COLUMN "country" SET DEFAULT 'NO'::text;
ALTER TABLE "public"."orders_head" ALTER COLUMN "country" SET DEFAULT 'NO'::text;
ALTER TABLE "public"."orders_log" ADD CONSTRAINT "country_required" CHECK (redacted_at IS NOT NULL OR "country" IS NOT NULL) NOT VALID;

CREATE OR REPLACE FUNCTION "public"."orders_log_chain"() RETURNS trigger
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
      RAISE EXCEPTION 'appendlog: a new % entry gets its version, times, transaction and hashes from appendlog; this row brings its own', 'orders'
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
      RAISE EXCEPTION 'appendlog: a new % entry starts with an insert, not %', 'orders', NEW.op
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
         AND (NEW.actor, NEW.reason, NEW.meta, NEW."item", NEW."qty", NEW."country")
             IS NOT DISTINCT FROM (OLD.actor, OLD.reason, OLD.meta, OLD."item", OLD."qty", OLD."country") THEN
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
        RAISE EXCEPTION 'appendlog: the entry_id of % entry % is its identity and cannot change', 'orders', OLD.entry_id
          USING ERRCODE = 'AL005', DETAIL = 'field=entry_id';
      END IF;
      IF NEW.op IS NULL OR NEW.op NOT IN ('insert', 'update', 'delete', 'restore', 'forget') THEN
        RAISE EXCEPTION 'appendlog: % is not an operation (insert, update, delete, restore or forget)', NEW.op
          USING ERRCODE = 'AL005', DETAIL = 'field=op';
      END IF;
      IF OLD.op = 'forget' AND NOT declared AND NEW.op = 'update' AND NEW.version = OLD.version AND NEW."item" IS NULL AND NEW."qty" IS NULL AND NEW."country" IS NULL THEN
        -- Erasure's redaction of the head's copy: allowed only in the transaction that recorded
        -- the entry's erasure (which checked that it is forgotten and due). No version is appended.
        SELECT x.erased_at INTO erased FROM "public"."appendlog_erasures" x
         WHERE x.table_name = 'orders' AND x.entry_id = OLD.entry_id AND x.tx_id = pg_catalog.pg_current_xact_id();
        IF FOUND THEN
          NEW := OLD;
          NEW."item" := NULL;
          NEW."qty" := NULL;
          NEW."country" := NULL;
          NEW.redacted_at := erased;
          RETURN NEW;
        END IF;
      END IF;
      IF NEW.version IS DISTINCT FROM OLD.version + 1 AND (declared OR NEW.version IS DISTINCT FROM OLD.version) THEN
        IF declared THEN
          RAISE EXCEPTION 'appendlog: version conflict on % entry %: expected version %, found %',
            'orders', OLD.entry_id, NEW.version - 1, OLD.version
            USING ERRCODE = '40001',
                  DETAIL = pg_catalog.json_build_object('expected', NEW.version - 1, 'actual', OLD.version)::text;
        END IF;
        -- Raw SQL and ORMs: SET version = version + 1 (optimistic locking) or leave it as read.
        RAISE EXCEPTION 'appendlog: version conflict on % entry %: the statement sets version %, but the entry is at version % (a concurrent change came first)',
          'orders', OLD.entry_id, NEW.version, OLD.version
          USING ERRCODE = '40001', COLUMN = 'version',
                DETAIL = pg_catalog.json_build_object('expected', greatest(NEW.version - 1, 1), 'actual', OLD.version)::text,
                HINT = 'Set version = version + 1 to append the next version only if nobody else did, or leave version out.';
      END IF;
      IF NEW.op = 'insert' THEN
        RAISE EXCEPTION 'appendlog: % entry % already exists (version %)', 'orders', OLD.entry_id, OLD.version
          USING ERRCODE = '23505', CONSTRAINT = 'orders_head_pkey';
      ELSIF OLD.op = 'forget' THEN
        -- Forgotten: only cancelForget, before the due time, may write (docs/erasure.md).
        SELECT l.op INTO prior_op FROM "public"."orders_log" l WHERE l.entry_id = OLD.entry_id AND l.version = OLD.version - 1;
        PERFORM "public".appendlog_check_cancel_forget('orders', OLD.entry_id, NEW.op, NEW.reason, NEW.meta, OLD.meta, prior_op);
        -- The cancel's own time, not only the clock when it was checked, is before the due time.
        IF NEW.recorded_at >= (OLD.meta -> 'erasure' ->> 'dueAt')::timestamptz THEN
          RAISE EXCEPTION 'appendlog: the erasure of % entry % was due at %; it can no longer be cancelled',
            'orders', OLD.entry_id, OLD.meta -> 'erasure' ->> 'dueAt'
            USING ERRCODE = 'AL004';
        END IF;
      ELSIF NEW.op IN ('update', 'delete') AND OLD.deleted THEN
        RAISE EXCEPTION 'appendlog: % entry % is deleted; restore it first', 'orders', OLD.entry_id
          USING ERRCODE = 'AL003';
      ELSIF NEW.op = 'restore' AND NOT OLD.deleted THEN
        RAISE EXCEPTION 'appendlog: % entry % is not deleted, so it cannot be restored', 'orders', OLD.entry_id
          USING ERRCODE = 'AL004';
      END IF;
      IF NEW.op IN ('delete', 'forget') AND coalesce(pg_catalog.btrim(NEW.reason), '') = '' THEN
        RAISE EXCEPTION 'appendlog: a % of % entry % needs a reason', NEW.op, 'orders', OLD.entry_id
          USING ERRCODE = 'AL002',
                HINT = 'Pass { reason } to the library, or in SQL call SELECT appendlog_context(reason => ''…'') in the same transaction first.';
      END IF;
    END IF;
    NEW.version := OLD.version + 1;
    NEW.created_at := OLD.created_at;
    NEW.parent_hash := OLD.hash;
    IF NEW."country" IS NULL AND OLD."country" IS NULL THEN NEW."country" := 'NO'::text; END IF;
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
  v_content_hash := pg_catalog.sha256(v_salt || pg_catalog.substr(pg_catalog.array_send(pg_catalog.array_remove(ARRAY[CASE WHEN NEW."country" IS NULL THEN NULL ELSE '\x636f756e747279'::bytea END,
        pg_catalog.convert_to(NEW."country", 'UTF8'),
        CASE WHEN NEW."item" IS NULL THEN NULL ELSE '\x6974656d'::bytea END,
        pg_catalog.convert_to(NEW."item", 'UTF8'),
        CASE WHEN NEW."qty" IS NULL THEN NULL ELSE '\x717479'::bytea END,
        pg_catalog.convert_to((NEW."qty")::text, 'UTF8')]::bytea[], NULL)), 21));
  NEW.hash := pg_catalog.sha256(
      '\x0000000c617070656e646c6f672f7631000000066f7264657273'::bytea
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
    INSERT INTO "public"."orders_log" (entry_id, version, op, recorded_at, tx_id, actor, reason, meta, salt, content_hash, hash, "item", "qty", "country")
    VALUES (NEW.entry_id, NEW.version, NEW.op, NEW.recorded_at, NEW.tx_id, NEW.actor, NEW.reason, NEW.meta, v_salt, v_content_hash, NEW.hash, NEW."item", NEW."qty", NEW."country")
    ON CONFLICT DO NOTHING
    RETURNING seq INTO NEW.seq;
    IF NOT FOUND THEN
      -- Only an INSERT of an entry id the log holds gets here (every other write holds the head
      -- row): say what that entry is, under the SQLSTATE of any duplicate key.
      SELECT h.op, h.version INTO prior_op, NEW.version FROM "public"."orders_head" h WHERE h.entry_id = NEW.entry_id;
      RAISE EXCEPTION 'appendlog: % entry % %', 'orders', NEW.entry_id,
        CASE prior_op WHEN 'forget' THEN 'is forgotten (awaiting erasure); its id cannot be reused'
                      WHEN 'delete' THEN 'is deleted: restore it instead (restore() in the library, orders_restore(entry_id, reason) in SQL)'
                      ELSE 'already exists (version ' || coalesce(NEW.version::text, '1') || ')' END
        USING ERRCODE = '23505', CONSTRAINT = 'orders_head_pkey',
              DETAIL = 'Key (entry_id)=(' || NEW.entry_id || ') already exists.';
    END IF;
    RETURN NEW;
  END IF;
  -- An update holds the head row: its version cannot be in the log yet.
  INSERT INTO "public"."orders_log" (entry_id, version, op, recorded_at, tx_id, actor, reason, meta, salt, content_hash, hash, "item", "qty", "country")
  VALUES (NEW.entry_id, NEW.version, NEW.op, NEW.recorded_at, NEW.tx_id, NEW.actor, NEW.reason, NEW.meta, v_salt, v_content_hash, NEW.hash, NEW."item", NEW."qty", NEW."country")
  RETURNING seq INTO NEW.seq;
  RETURN NEW;
END $fn$;

DROP TRIGGER IF EXISTS appendlog_chain ON "public"."orders_head";
CREATE TRIGGER appendlog_chain BEFORE INSERT OR UPDATE ON "public"."orders_head"
  FOR EACH ROW EXECUTE FUNCTION "public"."orders_log_chain"();


CREATE OR REPLACE FUNCTION "public"."orders_append"(
  p_op text, p_entry_id uuid, p_expected_version integer,
  p_actor text, p_reason text, p_meta jsonb, p_data jsonb
) RETURNS "public"."orders_head"
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  r "public"."orders_head"%ROWTYPE;
BEGIN
  IF p_op = 'insert' THEN
    r."qty" := '2'::integer;
    r."country" := 'NO'::text;
    r := pg_catalog.jsonb_populate_record(r, coalesce(p_data, '{}'));
    INSERT INTO "public"."orders_head" (entry_id, version, actor, reason, meta, "item", "qty", "country")
    VALUES (coalesce(p_entry_id, pg_catalog.gen_random_uuid()), p_expected_version, p_actor, p_reason, p_meta, r."item", r."qty", r."country")
    RETURNING * INTO r;
    RETURN r;
  END IF;
  -- Lock the head first, then apply the patch to what it holds: a patch always lands on the latest.
  SELECT * INTO r FROM "public"."orders_head" WHERE entry_id = p_entry_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'appendlog: % entry % does not exist', 'orders', p_entry_id
      USING ERRCODE = 'AL003';
  END IF;
  IF p_data IS NOT NULL THEN
    r := pg_catalog.jsonb_populate_record(r, p_data);
  END IF;
  r."country" := coalesce(r."country", 'NO'::text);
  -- tx_id = NULL declares the op, actor, reason and meta; the named version is the expectation.
  UPDATE "public"."orders_head"
     SET op = p_op, version = coalesce(p_expected_version, r.version) + 1, tx_id = NULL,
         actor = p_actor, reason = p_reason, meta = p_meta, "item" = r."item", "qty" = r."qty", "country" = r."country"
   WHERE entry_id = p_entry_id
  RETURNING * INTO r;
  RETURN r;
END $fn$;


CREATE OR REPLACE FUNCTION "public"."orders_insert_many"(p_rows jsonb, p_actor text, p_reason text, p_meta jsonb)
RETURNS SETOF "public"."orders_head"
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  v_actor text := p_actor;
  v_reason text := p_reason;
  v_meta jsonb := p_meta;
  v_tx xid8 := pg_catalog.pg_current_xact_id();
  v_shared bytea;
  v_seq regclass := pg_catalog.pg_get_serial_sequence('"public"."orders_log"', 'seq')::regclass;
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
  INSERT INTO "public"."appendlog_bulk_loads" (tx_id, table_name) VALUES (v_tx, 'orders');
  -- The DDL guard (docs/sql-and-orms.md) lets appendlog's own switch through, and only it.
  v_allow_ddl := pg_catalog.current_setting('appendlog.allow_ddl', true);
  PERFORM pg_catalog.set_config('appendlog.allow_ddl', 'on', true);
  ALTER TABLE "public"."orders_head" DISABLE TRIGGER appendlog_chain;
  -- The chain trigger, which sends the wake-up of other writes, is off: the load sends its own.
  IF pg_catalog.current_setting('appendlog.notify', true) = 'on' THEN
    PERFORM pg_catalog.pg_notify('appendlog_changes', 'public');
  END IF;
  -- One statement for the whole load: the log's rows and the head's, each in the order of p_rows,
  -- with seq drawn up front so that the head's INSERT needs nothing back from the log's.
  RETURN QUERY
  WITH src AS (
    SELECT coalesce(r.entry_id, pg_catalog.gen_random_uuid()) AS entry_id, pg_catalog.nextval(v_seq) AS seq,
           pg_catalog.clock_timestamp() AS recorded_at, r."item", r."qty", r."country", e."load.n" AS "load.n"
      FROM pg_catalog.jsonb_array_elements(p_rows) WITH ORDINALITY AS e(j, "load.n"),
           LATERAL pg_catalog.jsonb_to_record('{"qty":2,"country":"NO"}'::jsonb || e.j) AS r(entry_id uuid, "item" text, "qty" integer, "country" text)
  ), salted AS (
    SELECT s.*, pg_catalog.substr(pg_catalog.sha256(v_salt_key
      || pg_catalog.uuid_send(s.entry_id) || pg_catalog.int4send(1)), 1, 16) AS salt FROM src s
  ), contented AS (
    SELECT s.*, pg_catalog.sha256(s.salt || pg_catalog.substr(pg_catalog.array_send(pg_catalog.array_remove(ARRAY[CASE WHEN s."country" IS NULL THEN NULL ELSE '\x636f756e747279'::bytea END,
        pg_catalog.convert_to(s."country", 'UTF8'),
        CASE WHEN s."item" IS NULL THEN NULL ELSE '\x6974656d'::bytea END,
        pg_catalog.convert_to(s."item", 'UTF8'),
        CASE WHEN s."qty" IS NULL THEN NULL ELSE '\x717479'::bytea END,
        pg_catalog.convert_to((s."qty")::text, 'UTF8')]::bytea[], NULL)), 21)) AS content_hash
      FROM salted s
  ), hashed AS (
    SELECT c.*, pg_catalog.sha256('\x0000000c617070656e646c6f672f7631000000066f726465727300000024'::bytea || pg_catalog.convert_to(c.entry_id::text, 'UTF8')
      || '\x000000013100000006696e73657274'::bytea || pg_catalog.substr(pg_catalog.array_send(ARRAY[pg_catalog.convert_to(pg_catalog.to_char(c.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), 'UTF8')]), 21)
      || v_shared || c.content_hash) AS hash
      FROM contented c
  ), logged AS (
    INSERT INTO "public"."orders_log" (seq, entry_id, version, op, recorded_at, tx_id, actor, reason, meta, salt, content_hash, hash, "item", "qty", "country") OVERRIDING SYSTEM VALUE
    SELECT h.seq, h.entry_id, 1, 'insert', h.recorded_at, v_tx, v_actor, v_reason, v_meta, h.salt, h.content_hash, h.hash, h."item", h."qty", h."country"
      FROM hashed h ORDER BY h."load.n"
  )
  INSERT INTO "public"."orders_head" AS x (entry_id, version, op, recorded_at, tx_id, actor, reason, meta, hash, seq, deleted, created_at, "item", "qty", "country")
  SELECT h.entry_id, 1, 'insert', h.recorded_at, v_tx, v_actor, v_reason, v_meta, h.hash, h.seq, false, h.recorded_at, h."item", h."qty", h."country"
    FROM hashed h ORDER BY h."load.n"
  RETURNING x.*;
  ALTER TABLE "public"."orders_head" ENABLE TRIGGER appendlog_chain;
  PERFORM pg_catalog.set_config('appendlog.allow_ddl', coalesce(v_allow_ddl, ''), true);
  DELETE FROM "public"."appendlog_bulk_loads" WHERE tx_id = v_tx AND table_name = 'orders';
END $fn$;
-- It writes as the owner: only roles migrate grants it to may call it.
REVOKE ALL ON FUNCTION "public"."orders_insert_many"(jsonb, text, text, jsonb) FROM PUBLIC;


CREATE OR REPLACE FUNCTION "public"."orders_upsert"(data jsonb, actor text DEFAULT NULL, reason text DEFAULT NULL, meta jsonb DEFAULT NULL)
RETURNS "public"."orders_head"
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  v_id uuid;
BEGIN
  IF pg_catalog.jsonb_typeof($1) IS DISTINCT FROM 'object' OR NOT ($1 ? 'entry_id') THEN
    RAISE EXCEPTION 'appendlog: %_upsert takes a JSON object of columns with the entry_id', 'orders'
      USING ERRCODE = 'AL005', DETAIL = 'field=entry_id';
  END IF;
  v_id := ($1 ->> 'entry_id')::uuid;
  LOOP
    PERFORM 1 FROM "public"."orders_head" h WHERE h.entry_id = v_id FOR UPDATE;
    IF FOUND THEN
      RETURN "public"."orders_append"('update', v_id, NULL, $2, $3, $4, $1 - 'entry_id');
    END IF;
    BEGIN
      RETURN "public"."orders_append"('insert', v_id, NULL, $2, $3, $4, $1 - 'entry_id');
    EXCEPTION WHEN unique_violation THEN
      -- Another transaction inserted this id first: go round and update it.
    END;
  END LOOP;
END $fn$;

CREATE OR REPLACE FUNCTION "public"."orders_restore"(entry_id uuid, reason text, actor text DEFAULT NULL, meta jsonb DEFAULT NULL)
RETURNS "public"."orders_head"
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $fn$
  SELECT * FROM "public"."orders_append"('restore', $1, NULL, $3, $2, $4, NULL)
$fn$;


CREATE OR REPLACE VIEW "public"."orders" AS
SELECT h.entry_id, h.version, h.created_at, h.recorded_at AS updated_at, h."item", h."qty", h."country"
  FROM "public"."orders_head" h
 WHERE NOT h.deleted;
ALTER VIEW "public"."orders" ALTER COLUMN "qty" SET DEFAULT '2'::integer;
ALTER VIEW "public"."orders" ALTER COLUMN "country" SET DEFAULT 'NO'::text;

CREATE OR REPLACE FUNCTION "public"."orders_view_write"() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  actual integer;
BEGIN
  -- A tombstone of the version this statement read: a concurrent commit in between is a conflict.
  UPDATE "public"."orders_head" SET op = 'delete' WHERE entry_id = OLD.entry_id AND version = OLD.version;
  IF NOT FOUND THEN
    SELECT version INTO actual FROM "public"."orders_head" WHERE entry_id = OLD.entry_id;
    RAISE EXCEPTION 'appendlog: version conflict on % entry %: expected version %, found %',
      'orders', OLD.entry_id, OLD.version, actual
      USING ERRCODE = '40001',
            DETAIL = pg_catalog.json_build_object('expected', OLD.version, 'actual', actual)::text;
  END IF;
  RETURN OLD;
END $fn$;

DROP TRIGGER IF EXISTS appendlog_view_write ON "public"."orders";
CREATE TRIGGER appendlog_view_write INSTEAD OF DELETE ON "public"."orders"
  FOR EACH ROW EXECUTE FUNCTION "public"."orders_view_write"();


DROP FUNCTION IF EXISTS "public"."orders_as_of"(timestamptz);
CREATE FUNCTION "public"."orders_as_of"(at timestamptz)
RETURNS TABLE (entry_id uuid, version integer, created_at timestamptz, updated_at timestamptz, "item" text, "qty" integer, "country" text)
LANGUAGE sql STABLE AS $fn$
  SELECT h.entry_id, l.version, h.created_at, l.recorded_at, l."item", l."qty", l."country"
    FROM "public"."orders_head" h
    CROSS JOIN LATERAL (
      SELECT * FROM "public"."orders_log" x
       WHERE x.entry_id = h.entry_id AND x.recorded_at <= $1
       ORDER BY x.recorded_at DESC
       LIMIT 1
    ) l
   WHERE h.created_at <= $1 AND h.op <> 'forget' AND l.op NOT IN ('delete', 'forget')
$fn$;


CREATE OR REPLACE FUNCTION "public"."orders_log_guard"() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  head_op text;
  at timestamptz;
BEGIN
  -- The single sanctioned UPDATE (DESIGN.md invariant 1): erasure's redaction, issued by the
  -- trigger of an erasure record written in this transaction, changing nothing but the content.
  IF TG_OP = 'UPDATE' AND pg_catalog.pg_trigger_depth() >= 2
     AND OLD.redacted_at IS NULL AND NEW.redacted_at IS NOT NULL AND NEW.salt IS NULL
     AND NEW."item" IS NULL
     AND NEW."qty" IS NULL
     AND NEW."country" IS NULL
     AND (NEW.seq, NEW.entry_id, NEW.version, NEW.op, NEW.recorded_at, NEW.tx_id, NEW.actor, NEW.reason, NEW.meta, NEW.content_hash, NEW.parent_hash, NEW.hash) IS NOT DISTINCT FROM (OLD.seq, OLD.entry_id, OLD.version, OLD.op, OLD.recorded_at, OLD.tx_id, OLD.actor, OLD.reason, OLD.meta, OLD.content_hash, OLD.parent_hash, OLD.hash) THEN
    SELECT h.op INTO head_op FROM "public"."orders_head" h WHERE h.entry_id = OLD.entry_id;
    SELECT x.erased_at INTO at FROM "public"."appendlog_erasures" x
     WHERE x.table_name = 'orders' AND x.entry_id = OLD.entry_id AND x.tx_id = pg_catalog.pg_current_xact_id();
    IF head_op = 'forget' AND at IS NOT NULL THEN
      NEW.redacted_at := at;
      RETURN NEW;
    END IF;
  END IF;
  RAISE EXCEPTION 'appendlog: % on %.% refused: it is append-only', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = 'AL001',
          HINT = 'Append a new version instead; personal data is erased by forget() and appendlog purge.';
END $fn$;

DROP TRIGGER IF EXISTS appendlog_refuse_change ON "public"."orders_log";
CREATE TRIGGER appendlog_refuse_change BEFORE UPDATE OR DELETE ON "public"."orders_log"
  FOR EACH ROW EXECUTE FUNCTION "public"."orders_log_guard"();

CREATE OR REPLACE FUNCTION "public"."orders_erase_rows"(p_entry_id uuid, p_at timestamptz) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  n integer;
BEGIN
  UPDATE "public"."orders_log"
     SET "item" = NULL, "qty" = NULL, "country" = NULL, salt = NULL, redacted_at = p_at
   WHERE entry_id = p_entry_id AND redacted_at IS NULL;
  GET DIAGNOSTICS n = ROW_COUNT;
  -- The head's copy of the latest version too (its chain trigger lets this one UPDATE through).
  UPDATE "public"."orders_head" SET "item" = NULL, "qty" = NULL, "country" = NULL WHERE entry_id = p_entry_id;
  RETURN n;
END $fn$;
REVOKE ALL ON FUNCTION "public"."orders_erase_rows"(uuid, timestamptz) FROM PUBLIC;

CREATE OR REPLACE FUNCTION "public"."orders_redact"(p_entry_id uuid) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  n integer;
BEGIN
  PERFORM 1 FROM "public"."orders_head" WHERE entry_id = p_entry_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'appendlog: % entry % does not exist', 'orders', p_entry_id
      USING ERRCODE = 'AL003';
  END IF;
  IF EXISTS (SELECT 1 FROM "public"."appendlog_erasures" WHERE table_name = 'orders' AND entry_id = p_entry_id) THEN
    RETURN 0;
  END IF;
  -- The record's triggers check that the entry is forgotten and due, then redact it.
  INSERT INTO "public"."appendlog_erasures" (table_name, entry_id) VALUES ('orders', p_entry_id) RETURNING versions INTO n;
  RETURN n;
END $fn$;
REVOKE ALL ON FUNCTION "public"."orders_redact"(uuid) FROM PUBLIC;


DROP TRIGGER IF EXISTS appendlog_notify ON "public"."orders_head";

ALTER TABLE "public"."orders_head" ALTER COLUMN "qty" SET DEFAULT '2'::integer;
ALTER TABLE "public"."orders_log" ALTER COLUMN "qty" SET DEFAULT '2'::integer;
ALTER VIEW "public"."orders" ALTER COLUMN "qty" SET DEFAULT '2'::integer;