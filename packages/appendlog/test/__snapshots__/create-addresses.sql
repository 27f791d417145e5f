
CREATE SCHEMA IF NOT EXISTS "public";

-- F(x) of docs/spec.md: a 4-byte big-endian length, then the UTF-8 bytes. STRICT: F(NULL) is NULL.
CREATE OR REPLACE FUNCTION "public".appendlog_enc(t text) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $fn$ SELECT pg_catalog.int4send(pg_catalog.octet_length(pg_catalog.convert_to(t, 'UTF8')))
        OPERATOR(pg_catalog.||) pg_catalog.convert_to(t, 'UTF8') $fn$;

CREATE OR REPLACE FUNCTION "public".appendlog_refuse() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION 'appendlog: % on %.% refused: it is append-only', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = 'AL001',
          HINT = 'Append a new version instead (insert, update or delete through the table''s view or the library).';
END $fn$;

CREATE OR REPLACE FUNCTION "public".appendlog_head_guard() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  IF pg_catalog.pg_trigger_depth() < 2 THEN
    RAISE EXCEPTION 'appendlog: % on %.% refused: the head table is derived from the log and kept by its trigger',
      TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
      USING ERRCODE = 'AL001';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
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

-- catalog change 1: the columns a change touched, a readable summary, and the role that applied it.
ALTER TABLE "public"."appendlog_schema_history" ADD COLUMN IF NOT EXISTS columns text[];
ALTER TABLE "public"."appendlog_schema_history" ADD COLUMN IF NOT EXISTS summary text;
ALTER TABLE "public"."appendlog_schema_history" ADD COLUMN IF NOT EXISTS applied_by text;
COMMENT ON TABLE "public"."appendlog_schema_history" IS 'appendlog catalog a0f2d96a2e077f1ffbe68624f8851939';

-- next step

CREATE TABLE "public"."addresses_log" (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  entry_id uuid NOT NULL,
  version integer NOT NULL CHECK (version > 0),
  op text NOT NULL CHECK (op IN ('insert', 'update', 'delete', 'restore', 'forget')),
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
  CONSTRAINT "addresses_log_entry_id_version_key" UNIQUE (entry_id, version)
);
CREATE INDEX "addresses_log_entry_time_idx" ON "public"."addresses_log" (entry_id, recorded_at);
-- Change readers (db.changes) walk the log in (tx_id, seq) order.
CREATE INDEX "addresses_log_tx_idx" ON "public"."addresses_log" (tx_id, seq);

CREATE TABLE "public"."addresses_head" (
  entry_id uuid PRIMARY KEY,
  version integer NOT NULL,
  seq bigint NOT NULL,
  op text NOT NULL,
  deleted boolean NOT NULL,
  hash bytea NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
) WITH (fillfactor = 80);
CREATE INDEX "addresses_head_created_idx" ON "public"."addresses_head" (created_at, entry_id);

CREATE TRIGGER appendlog_refuse_change BEFORE UPDATE OR DELETE ON "public"."addresses_log"
  FOR EACH ROW EXECUTE FUNCTION "public".appendlog_refuse();
CREATE TRIGGER appendlog_refuse_delete BEFORE DELETE ON "public"."addresses_log"
  FOR EACH STATEMENT EXECUTE FUNCTION "public".appendlog_refuse();
CREATE TRIGGER appendlog_refuse_truncate BEFORE TRUNCATE ON "public"."addresses_log"
  FOR EACH STATEMENT EXECUTE FUNCTION "public".appendlog_refuse();
CREATE TRIGGER appendlog_head_guard BEFORE INSERT OR UPDATE OR DELETE ON "public"."addresses_head"
  FOR EACH ROW EXECUTE FUNCTION "public".appendlog_head_guard();
CREATE TRIGGER appendlog_head_refuse_truncate BEFORE TRUNCATE ON "public"."addresses_head"
  FOR EACH STATEMENT EXECUTE FUNCTION "public".appendlog_refuse();

CREATE OR REPLACE FUNCTION "public"."addresses_log_chain"() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
  h "public"."addresses_head"%ROWTYPE;
  current_version integer;
BEGIN
  IF NEW.actor IS NULL THEN NEW.actor := nullif(current_setting('appendlog.actor', true), ''); END IF;
  IF NEW.reason IS NULL THEN NEW.reason := nullif(current_setting('appendlog.reason', true), ''); END IF;
  IF NEW.meta IS NULL THEN NEW.meta := nullif(current_setting('appendlog.meta', true), '')::jsonb; END IF;

  IF NEW.entry_id IS NULL THEN
    IF NEW.op IS DISTINCT FROM 'insert' THEN
      RAISE EXCEPTION 'appendlog: % on % needs an entry_id', NEW.op, 'addresses'
        USING ERRCODE = 'AL005', DETAIL = 'field=entry_id';
    END IF;
    NEW.entry_id := pg_catalog.gen_random_uuid();
  ELSE
    SELECT * INTO h FROM "public"."addresses_head" WHERE entry_id = NEW.entry_id FOR UPDATE;
  END IF;
  current_version := coalesce(h.version, 0);

  IF NEW.version IS NOT NULL AND NEW.version <> current_version + 1 THEN
    RAISE EXCEPTION 'appendlog: version conflict on % entry %: expected version %, found %',
      'addresses', NEW.entry_id, NEW.version - 1, current_version
      USING ERRCODE = '40001',
            DETAIL = json_build_object('expected', NEW.version - 1, 'actual', current_version)::text;
  END IF;
  IF h.entry_id IS NULL THEN
    IF NEW.op <> 'insert' THEN
      RAISE EXCEPTION 'appendlog: % entry % does not exist', 'addresses', NEW.entry_id
        USING ERRCODE = 'AL003';
    END IF;
  ELSIF NEW.op = 'insert' THEN
    RAISE EXCEPTION 'appendlog: % entry % already exists (version %)', 'addresses', NEW.entry_id, current_version
      USING ERRCODE = '40001',
            DETAIL = json_build_object('expected', 0, 'actual', current_version)::text;
  ELSIF h.op = 'forget' THEN
    RAISE EXCEPTION 'appendlog: % entry % is forgotten and awaits erasure', 'addresses', NEW.entry_id
      USING ERRCODE = 'AL004';
  ELSIF NEW.op IN ('update', 'delete') AND h.deleted THEN
    RAISE EXCEPTION 'appendlog: % entry % is deleted; restore it first', 'addresses', NEW.entry_id
      USING ERRCODE = 'AL003';
  ELSIF NEW.op = 'restore' AND NOT h.deleted THEN
    RAISE EXCEPTION 'appendlog: % entry % is not deleted, so it cannot be restored', 'addresses', NEW.entry_id
      USING ERRCODE = 'AL004';
  END IF;
  IF NEW.op IN ('delete', 'forget') AND coalesce(btrim(NEW.reason), '') = '' THEN
    RAISE EXCEPTION 'appendlog: a % of % entry % needs a reason', NEW.op, 'addresses', NEW.entry_id
      USING ERRCODE = 'AL002',
            HINT = 'Pass { reason } to the library, or SET LOCAL appendlog.reason = ''…'' before raw SQL.';
  END IF;

  NEW.version := current_version + 1;
  NEW.recorded_at := pg_catalog.clock_timestamp();
  -- Times strictly increase along an entry's chain, so "as of t" picks exactly one version.
  IF h.updated_at IS NOT NULL AND NEW.recorded_at <= h.updated_at THEN
    NEW.recorded_at := h.updated_at + interval '1 microsecond';
  END IF;
  NEW.tx_id := pg_catalog.pg_current_xact_id();
  NEW.salt := pg_catalog.uuid_send(pg_catalog.gen_random_uuid());
  NEW.redacted_at := NULL;
  NEW.parent_hash := h.hash;
  NEW.content_hash := pg_catalog.sha256(NEW.salt
      || coalesce("public".appendlog_enc('address_line_1') || "public".appendlog_enc(NEW."address_line_1"), '\x'::bytea)
      || coalesce("public".appendlog_enc('city') || "public".appendlog_enc(NEW."city"), '\x'::bytea)
      || coalesce("public".appendlog_enc('name') || "public".appendlog_enc(NEW."name"), '\x'::bytea)
      || coalesce("public".appendlog_enc('postcode') || "public".appendlog_enc(NEW."postcode"), '\x'::bytea)
      || coalesce("public".appendlog_enc('tel') || "public".appendlog_enc(NEW."tel"), '\x'::bytea));
  NEW.hash := pg_catalog.sha256(
      "public".appendlog_enc('appendlog/v1')
      || "public".appendlog_enc('addresses')
      || "public".appendlog_enc(NEW.entry_id::text)
      || "public".appendlog_enc(NEW.version::text)
      || "public".appendlog_enc(NEW.op)
      || "public".appendlog_enc(pg_catalog.to_char(NEW.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
      || "public".appendlog_enc(NEW.tx_id::text)
      || coalesce("public".appendlog_enc(NEW.actor), '\xffffffff'::bytea)
      || coalesce("public".appendlog_enc(NEW.reason), '\xffffffff'::bytea)
      || coalesce("public".appendlog_enc(NEW.meta::text), '\xffffffff'::bytea)
      || coalesce(NEW.parent_hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)
      || NEW.content_hash);

  IF h.entry_id IS NULL THEN
    INSERT INTO "public"."addresses_head" (entry_id, version, seq, op, deleted, hash, created_at, updated_at)
    VALUES (NEW.entry_id, NEW.version, NEW.seq, NEW.op, false, NEW.hash, NEW.recorded_at, NEW.recorded_at);
  ELSE
    UPDATE "public"."addresses_head"
       SET version = NEW.version, seq = NEW.seq, op = NEW.op, deleted = NEW.op IN ('delete', 'forget'),
           hash = NEW.hash, updated_at = NEW.recorded_at
     WHERE entry_id = NEW.entry_id;
  END IF;
  RETURN NEW;
END $fn$;

DROP TRIGGER IF EXISTS appendlog_chain ON "public"."addresses_log";
CREATE TRIGGER appendlog_chain BEFORE INSERT ON "public"."addresses_log"
  FOR EACH ROW EXECUTE FUNCTION "public"."addresses_log_chain"();


CREATE OR REPLACE FUNCTION "public"."addresses_append"(
  p_op text, p_entry_id uuid, p_expected_version integer,
  p_actor text, p_reason text, p_meta jsonb, p_data jsonb
) RETURNS "public"."addresses_log"
LANGUAGE plpgsql AS $fn$
DECLARE
  prev "public"."addresses_log";
  latest_seq bigint;
BEGIN
  IF p_op <> 'insert' THEN
    -- Lock the head first, then read the version it points at: a patch always lands on the latest.
    SELECT seq INTO latest_seq FROM "public"."addresses_head" WHERE entry_id = p_entry_id FOR UPDATE;
    IF FOUND THEN
      SELECT * INTO prev FROM "public"."addresses_log" WHERE seq = latest_seq;
    END IF;
  END IF;
  IF p_data IS NOT NULL THEN
    prev := pg_catalog.jsonb_populate_record(prev, p_data);
  END IF;
  INSERT INTO "public"."addresses_log" (entry_id, op, version, actor, reason, meta, "name", "address_line_1", "city", "postcode", "tel")
  VALUES (p_entry_id, p_op, p_expected_version + 1, p_actor, p_reason, p_meta, prev."name", prev."address_line_1", prev."city", prev."postcode", prev."tel")
  RETURNING * INTO prev;
  RETURN prev;
END $fn$;


CREATE OR REPLACE VIEW "public"."addresses" AS
SELECT h.entry_id, h.version, h.created_at, h.updated_at, l."name", l."address_line_1", l."city", l."postcode", l."tel"
  FROM "public"."addresses_head" h
  JOIN "public"."addresses_log" l ON l.seq = h.seq
 WHERE NOT h.deleted;

CREATE OR REPLACE FUNCTION "public"."addresses_view_write"() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
  r "public"."addresses_log";
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO "public"."addresses_log" (entry_id, op, "name", "address_line_1", "city", "postcode", "tel")
    VALUES (NEW.entry_id, 'insert', NEW."name", NEW."address_line_1", NEW."city", NEW."postcode", NEW."tel")
    RETURNING * INTO r;
    NEW.entry_id := r.entry_id;
    NEW.version := r.version;
    NEW.created_at := r.recorded_at;
    NEW.updated_at := r.recorded_at;
    RETURN NEW;
  ELSIF TG_OP = 'UPDATE' THEN
    IF NEW.entry_id IS DISTINCT FROM OLD.entry_id OR NEW.version IS DISTINCT FROM OLD.version
       OR NEW.created_at IS DISTINCT FROM OLD.created_at OR NEW.updated_at IS DISTINCT FROM OLD.updated_at THEN
      RAISE EXCEPTION 'appendlog: entry_id, version, created_at and updated_at of % are kept by appendlog', 'addresses'
        USING ERRCODE = 'AL005', DETAIL = 'field=entry_id';
    END IF;
    -- Expect the version this statement read: a concurrent commit in between is a conflict, not a lost update.
    INSERT INTO "public"."addresses_log" (entry_id, op, version, "name", "address_line_1", "city", "postcode", "tel")
    VALUES (OLD.entry_id, 'update', OLD.version + 1, NEW."name", NEW."address_line_1", NEW."city", NEW."postcode", NEW."tel")
    RETURNING * INTO r;
    NEW.version := r.version;
    NEW.updated_at := r.recorded_at;
    RETURN NEW;
  ELSE
    INSERT INTO "public"."addresses_log" (entry_id, op, version, "name", "address_line_1", "city", "postcode", "tel")
    VALUES (OLD.entry_id, 'delete', OLD.version + 1, OLD."name", OLD."address_line_1", OLD."city", OLD."postcode", OLD."tel");
    RETURN OLD;
  END IF;
END $fn$;

DROP TRIGGER IF EXISTS appendlog_view_write ON "public"."addresses";
CREATE TRIGGER appendlog_view_write INSTEAD OF INSERT OR UPDATE OR DELETE ON "public"."addresses"
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
