ALTER TABLE "public"."orders_log" ADD COLUMN "country" text;
ALTER TABLE "public"."orders_log" ALTER COLUMN "country" SET DEFAULT 'NO'::text;
ALTER TABLE "public"."orders_log" ADD CONSTRAINT "country_required" CHECK (redacted_at IS NOT NULL OR "country" IS NOT NULL) NOT VALID;

CREATE OR REPLACE FUNCTION "public"."orders_log_chain"() RETURNS trigger
LANGUAGE plpgsql AS $fn$
-- appendlog table code revision 3: migrate replaces this table's code only with a newer revision.
DECLARE
  h "public"."orders_head"%ROWTYPE;
  current_version integer;
  forget_meta jsonb;
  prior_op text;
BEGIN
  IF NEW.actor IS NULL THEN NEW.actor := nullif(current_setting('appendlog.actor', true), ''); END IF;
  IF NEW.reason IS NULL THEN NEW.reason := nullif(current_setting('appendlog.reason', true), ''); END IF;
  IF NEW.meta IS NULL THEN NEW.meta := nullif(current_setting('appendlog.meta', true), '')::jsonb; END IF;
  -- What does not depend on the entry's state, whichever path follows.
  NEW.tx_id := pg_catalog.pg_current_xact_id();
  NEW.salt := pg_catalog.uuid_send(pg_catalog.gen_random_uuid());
  NEW.redacted_at := NULL;
  NEW.content_hash := pg_catalog.sha256(NEW.salt
      || pg_catalog.substr(pg_catalog.array_send(pg_catalog.array_remove(ARRAY[CASE WHEN NEW."country" IS NULL THEN NULL ELSE '\x636f756e747279'::bytea END,
        pg_catalog.convert_to(NEW."country", 'UTF8'),
        CASE WHEN NEW."item" IS NULL THEN NULL ELSE '\x6974656d'::bytea END,
        pg_catalog.convert_to(NEW."item", 'UTF8'),
        CASE WHEN NEW."qty" IS NULL THEN NULL ELSE '\x717479'::bytea END,
        pg_catalog.convert_to((NEW."qty")::text, 'UTF8')]::bytea[], NULL)), 21));

  -- Fast path: an update naming the version it expects (the library and the view always do).
  -- One UPDATE of the head checks what the checks below would (the entry exists, is live, is at
  -- the expected version), locks it, moves it, and computes the version hash from its old row:
  -- the parent hash, and the previous time that recorded_at must exceed. Its RETURNING reads
  -- the parent hash again through the statement's snapshot, which still holds the old row (the
  -- version test makes sure that a row re-read after a concurrent commit is never hashed on).
  -- When no row qualifies, the general path below finds out why and says so.
  IF NEW.op = 'update' AND NEW.version IS NOT NULL AND NEW.entry_id IS NOT NULL THEN
    NEW.recorded_at := pg_catalog.clock_timestamp();
    UPDATE "public"."orders_head" hd
       SET version = NEW.version, seq = NEW.seq, op = 'update', hash = pg_catalog.sha256(
      '\x0000000c617070656e646c6f672f7631000000066f7264657273'::bytea
      || pg_catalog.substr(pg_catalog.array_send(ARRAY[pg_catalog.convert_to(NEW.entry_id::text, 'UTF8'),
        pg_catalog.convert_to(NEW.version::text, 'UTF8'),
        pg_catalog.convert_to(NEW.op, 'UTF8'),
        pg_catalog.convert_to(pg_catalog.to_char(greatest(NEW.recorded_at, hd.updated_at + interval '1 microsecond') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), 'UTF8'),
        pg_catalog.convert_to(NEW.tx_id::text, 'UTF8'),
        pg_catalog.convert_to(NEW.actor, 'UTF8'),
        pg_catalog.convert_to(NEW.reason, 'UTF8'),
        pg_catalog.convert_to(NEW.meta::text, 'UTF8')]::bytea[]), 21)
      || coalesce(hd.hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)
      || NEW.content_hash),
           updated_at = greatest(NEW.recorded_at, hd.updated_at + interval '1 microsecond')
     WHERE hd.entry_id = NEW.entry_id AND hd.version = NEW.version - 1 AND NOT hd.deleted AND hd.op <> 'forget'
    RETURNING hd.updated_at, hd.hash, (SELECT o.hash FROM "public"."orders_head" o WHERE o.entry_id = hd.entry_id)
         INTO NEW.recorded_at, NEW.hash, NEW.parent_hash;
    IF FOUND THEN
      RETURN NEW;
    END IF;
  END IF;

  IF NEW.entry_id IS NULL THEN
    IF NEW.op IS DISTINCT FROM 'insert' THEN
      RAISE EXCEPTION 'appendlog: % on % needs an entry_id', NEW.op, 'orders'
        USING ERRCODE = 'AL005', DETAIL = 'field=entry_id';
    END IF;
    NEW.entry_id := pg_catalog.gen_random_uuid();
  ELSE
    SELECT * INTO h FROM "public"."orders_head" WHERE entry_id = NEW.entry_id FOR UPDATE;
  END IF;
  -- The usual write, an update of a live entry that meets its expectation, passes this one test;
  -- anything else goes through the checks below, which say what is wrong. (One expression instead
  -- of seven: plpgsql sets up every expression again in each transaction.)
  IF h.entry_id IS NULL OR h.deleted OR h.op = 'forget' OR NEW.op IS DISTINCT FROM 'update'
     OR NEW.version <> h.version + 1 THEN
    current_version := coalesce(h.version, 0);
    IF NEW.op IS NULL OR NEW.op NOT IN ('insert', 'update', 'delete', 'restore', 'forget') THEN
      RAISE EXCEPTION 'appendlog: % is not an operation (insert, update, delete, restore or forget)', NEW.op
        USING ERRCODE = 'AL005', DETAIL = 'field=op';
    END IF;
    IF NEW.version IS NOT NULL AND NEW.version <> current_version + 1 THEN
      RAISE EXCEPTION 'appendlog: version conflict on % entry %: expected version %, found %',
        'orders', NEW.entry_id, NEW.version - 1, current_version
        USING ERRCODE = '40001',
              DETAIL = json_build_object('expected', NEW.version - 1, 'actual', current_version)::text;
    END IF;
    IF h.entry_id IS NULL THEN
      IF NEW.op <> 'insert' THEN
        RAISE EXCEPTION 'appendlog: % entry % does not exist', 'orders', NEW.entry_id
          USING ERRCODE = 'AL003';
      END IF;
    ELSIF NEW.op = 'insert' THEN
      RAISE EXCEPTION 'appendlog: % entry % already exists (version %)', 'orders', NEW.entry_id, current_version
        USING ERRCODE = '40001',
              DETAIL = json_build_object('expected', 0, 'actual', current_version)::text;
    ELSIF h.op = 'forget' THEN
      -- Forgotten: only cancelForget, before the due time, may write (docs/erasure.md).
      SELECT l.meta INTO forget_meta FROM "public"."orders_log" l WHERE l.seq = h.seq;
      SELECT l.op INTO prior_op FROM "public"."orders_log" l WHERE l.entry_id = NEW.entry_id AND l.version = h.version - 1;
      PERFORM "public".appendlog_check_cancel_forget('orders', NEW.entry_id, NEW.op, NEW.reason, NEW.meta, forget_meta, prior_op);
    ELSIF NEW.op IN ('update', 'delete') AND h.deleted THEN
      RAISE EXCEPTION 'appendlog: % entry % is deleted; restore it first', 'orders', NEW.entry_id
        USING ERRCODE = 'AL003';
    ELSIF NEW.op = 'restore' AND NOT h.deleted THEN
      RAISE EXCEPTION 'appendlog: % entry % is not deleted, so it cannot be restored', 'orders', NEW.entry_id
        USING ERRCODE = 'AL004';
    END IF;
    IF NEW.op IN ('delete', 'forget') AND coalesce(btrim(NEW.reason), '') = '' THEN
      RAISE EXCEPTION 'appendlog: a % of % entry % needs a reason', NEW.op, 'orders', NEW.entry_id
        USING ERRCODE = 'AL002',
              HINT = 'Pass { reason } to the library, or SET LOCAL appendlog.reason = ''…'' before raw SQL.';
    END IF;
  END IF;

  NEW.version := coalesce(h.version, 0) + 1;
  -- Times strictly increase along an entry's chain, so "as of t" picks exactly one version.
  NEW.recorded_at := greatest(pg_catalog.clock_timestamp(), h.updated_at + interval '1 microsecond');
  IF NEW.op = 'forget' THEN
    NEW.meta := "public".appendlog_forget_meta(NEW.meta, NEW.recorded_at);
  END IF;
  NEW.parent_hash := h.hash;
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
      || NEW.content_hash);

  IF h.entry_id IS NULL THEN
    INSERT INTO "public"."orders_head" (entry_id, version, seq, op, deleted, hash, created_at, updated_at)
    VALUES (NEW.entry_id, NEW.version, NEW.seq, NEW.op, false, NEW.hash, NEW.recorded_at, NEW.recorded_at);
  ELSE
    UPDATE "public"."orders_head"
       SET version = NEW.version, seq = NEW.seq, op = NEW.op, deleted = NEW.op IN ('delete', 'forget'),
           hash = NEW.hash, updated_at = NEW.recorded_at
     WHERE entry_id = NEW.entry_id;
  END IF;
  RETURN NEW;
END $fn$;

DROP TRIGGER IF EXISTS appendlog_chain ON "public"."orders_log";
CREATE TRIGGER appendlog_chain BEFORE INSERT ON "public"."orders_log"
  FOR EACH ROW EXECUTE FUNCTION "public"."orders_log_chain"();


CREATE OR REPLACE FUNCTION "public"."orders_append"(
  p_op text, p_entry_id uuid, p_expected_version integer,
  p_actor text, p_reason text, p_meta jsonb, p_data jsonb
) RETURNS "public"."orders_log"
LANGUAGE plpgsql AS $fn$
DECLARE
  prev "public"."orders_log";
  latest_seq bigint;
  latest_version integer;
BEGIN
  IF p_op <> 'insert' THEN
    -- Lock the head first, then read the version it points at: a patch always lands on the latest.
    SELECT seq, version INTO latest_seq, latest_version FROM "public"."orders_head" WHERE entry_id = p_entry_id FOR UPDATE;
    IF FOUND THEN
      SELECT * INTO prev FROM "public"."orders_log" WHERE seq = latest_seq;
    END IF;
  ELSE
    prev."qty" := '2'::integer;
    prev."country" := 'NO'::text;
  END IF;
  IF p_data IS NOT NULL THEN
    prev := pg_catalog.jsonb_populate_record(prev, p_data);
  END IF;
  prev."country" := coalesce(prev."country", 'NO'::text);
  INSERT INTO "public"."orders_log" (entry_id, op, version, actor, reason, meta, "item", "qty", "country")
  -- The version locked above, unless the caller expects another (the trigger then refuses it):
  -- an update naming its version takes the chain trigger's fast path.
  VALUES (p_entry_id, p_op, coalesce(p_expected_version, latest_version) + 1, p_actor, p_reason, p_meta, prev."item", prev."qty", prev."country")
  RETURNING * INTO prev;
  RETURN prev;
END $fn$;


CREATE OR REPLACE VIEW "public"."orders" AS
SELECT h.entry_id, h.version, h.created_at, h.updated_at, l."item", l."qty", l."country"
  FROM "public"."orders_head" h
  JOIN "public"."orders_log" l ON l.seq = h.seq
 WHERE NOT h.deleted;
ALTER VIEW "public"."orders" ALTER COLUMN "qty" SET DEFAULT '2'::integer;
ALTER VIEW "public"."orders" ALTER COLUMN "country" SET DEFAULT 'NO'::text;

CREATE OR REPLACE FUNCTION "public"."orders_view_write"() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
  r "public"."orders_log";
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO "public"."orders_log" (entry_id, op, "item", "qty", "country")
    VALUES (NEW.entry_id, 'insert', NEW."item", NEW."qty", NEW."country")
    RETURNING * INTO r;
    NEW.entry_id := r.entry_id;
    NEW.version := r.version;
    NEW.created_at := r.recorded_at;
    NEW.updated_at := r.recorded_at;
    RETURN NEW;
  ELSIF TG_OP = 'UPDATE' THEN
    IF NEW.entry_id IS DISTINCT FROM OLD.entry_id OR NEW.version IS DISTINCT FROM OLD.version
       OR NEW.created_at IS DISTINCT FROM OLD.created_at OR NEW.updated_at IS DISTINCT FROM OLD.updated_at THEN
      RAISE EXCEPTION 'appendlog: entry_id, version, created_at and updated_at of % are kept by appendlog', 'orders'
        USING ERRCODE = 'AL005', DETAIL = 'field=entry_id';
    END IF;
    -- Expect the version this statement read: a concurrent commit in between is a conflict, not a lost update.
    INSERT INTO "public"."orders_log" (entry_id, op, version, "item", "qty", "country")
    VALUES (OLD.entry_id, 'update', OLD.version + 1, NEW."item", NEW."qty", CASE WHEN NEW."country" IS NULL AND OLD."country" IS NULL THEN 'NO'::text ELSE NEW."country" END)
    RETURNING * INTO r;
    NEW.version := r.version;
    NEW.updated_at := r.recorded_at;
    RETURN NEW;
  ELSE
    INSERT INTO "public"."orders_log" (entry_id, op, version, "item", "qty", "country")
    VALUES (OLD.entry_id, 'delete', OLD.version + 1, OLD."item", OLD."qty", coalesce(OLD."country", 'NO'::text));
    RETURN OLD;
  END IF;
END $fn$;

DROP TRIGGER IF EXISTS appendlog_view_write ON "public"."orders";
CREATE TRIGGER appendlog_view_write INSTEAD OF INSERT OR UPDATE OR DELETE ON "public"."orders"
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
LANGUAGE plpgsql AS $fn$
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
LANGUAGE plpgsql AS $fn$
DECLARE
  n integer;
BEGIN
  UPDATE "public"."orders_log"
     SET "item" = NULL, "qty" = NULL, "country" = NULL, salt = NULL, redacted_at = p_at
   WHERE entry_id = p_entry_id AND redacted_at IS NULL;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $fn$;
REVOKE ALL ON FUNCTION "public"."orders_erase_rows"(uuid, timestamptz) FROM PUBLIC;

CREATE OR REPLACE FUNCTION "public"."orders_redact"(p_entry_id uuid) RETURNS integer
LANGUAGE plpgsql AS $fn$
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

ALTER TABLE "public"."orders_log" ALTER COLUMN "qty" SET DEFAULT '2'::integer;
ALTER VIEW "public"."orders" ALTER COLUMN "qty" SET DEFAULT '2'::integer;