import { quoteIdent } from '../schema/names.js';
import { contextFunctionDdl } from './context-ddl.js';
import { erasureCatalogDdl } from './erasure-ddl.js';
import { catalogName } from './names.js';
import { realtimeCatalogDdl } from './realtime-ddl.js';
import { TRUSTED_SEARCH_PATH } from './search-path.js';
import { SQLSTATE } from './sqlstate.js';

/** A statement trigger refusing UPDATE, DELETE and TRUNCATE of the append-only catalog table `table`. */
function appendOnly(s: string, name: string, table: string): string {
  return `DROP TRIGGER IF EXISTS ${name} ON ${table};
CREATE TRIGGER ${name} BEFORE UPDATE OR DELETE OR TRUNCATE ON ${table}
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.appendlog_refuse();`;
}

/**
 * The objects every appendlog schema shares: the field-encoding function of the hash spec,
 * the guard functions behind the append-only triggers, the append-only schema history, and
 * `appendlog_context`, the SQL way to set a transaction's actor, reason and meta.
 * Idempotent; run under the migration lock.
 */
export function catalogDdl(schema: string): string {
  const s = quoteIdent(schema);
  const history = catalogName(schema, 'appendlog_schema_history');
  const checkpoints = catalogName(schema, 'appendlog_checkpoints');
  const checkpointLeaves = catalogName(schema, 'appendlog_checkpoint_leaves');
  const nodeCheckpoints = catalogName(schema, 'appendlog_node_checkpoints');
  const nodeCheckpointLeaves = catalogName(schema, 'appendlog_node_checkpoint_leaves');
  const archives = catalogName(schema, 'appendlog_archives');
  return `
CREATE SCHEMA IF NOT EXISTS ${s};

-- F(x) of docs/spec.md: a 4-byte big-endian length, then the UTF-8 bytes. STRICT: F(NULL) is NULL.
CREATE OR REPLACE FUNCTION ${s}.appendlog_enc(t text) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = ${TRUSTED_SEARCH_PATH}
AS $fn$ SELECT pg_catalog.int4send(pg_catalog.octet_length(pg_catalog.convert_to(t, 'UTF8')))
        OPERATOR(pg_catalog.||) pg_catalog.convert_to(t, 'UTF8') $fn$;

CREATE OR REPLACE FUNCTION ${s}.appendlog_refuse() RETURNS trigger
LANGUAGE plpgsql SET search_path = ${TRUSTED_SEARCH_PATH} AS $fn$
BEGIN
  RAISE EXCEPTION 'appendlog: % on %.% refused: it is append-only', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = '${SQLSTATE.appendOnly}',
          HINT = 'Append a new version instead (insert, update or delete through the table''s view or the library).';
END $fn$;

-- The head guard of table code revisions 1 to 3 (kept: a table of those revisions still names it
-- until migrate upgrades it to head-first, whose chain trigger guards the head itself).
CREATE OR REPLACE FUNCTION ${s}.appendlog_head_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = ${TRUSTED_SEARCH_PATH} AS $fn$
BEGIN
  IF pg_catalog.pg_trigger_depth() < 2 THEN
    RAISE EXCEPTION 'appendlog: % on %.% refused: the head table is derived from the log and kept by its trigger',
      TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
      USING ERRCODE = '${SQLSTATE.appendOnly}';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $fn$;

-- Set-based loads (<t>_insert_many): the transactions, and tables, in which one is running. Only
-- the owner's code writes it, and each load deletes its row before it returns.
CREATE TABLE IF NOT EXISTS ${catalogName(schema, 'appendlog_bulk_loads')} (
  tx_id xid8 NOT NULL,
  table_name text NOT NULL,
  PRIMARY KEY (tx_id, table_name)
);
REVOKE ALL ON ${catalogName(schema, 'appendlog_bulk_loads')} FROM PUBLIC;

-- The log's INSERT refusal of table code revision 4, called from a trigger WHEN clause at trigger
-- depth 0: versions come from the head's chain trigger (which the WHEN lets through) or from a
-- set-based load of the same table running in this transaction. Kept unchanged: a library of
-- that revision re-creates it whenever it migrates, so its meaning must not change.
CREATE OR REPLACE FUNCTION ${s}.appendlog_refuse_log_insert() RETURNS trigger
LANGUAGE plpgsql SET search_path = ${TRUSTED_SEARCH_PATH} AS $fn$
BEGIN
  IF EXISTS (SELECT 1 FROM ${catalogName(schema, 'appendlog_bulk_loads')} b
              WHERE b.tx_id OPERATOR(pg_catalog.=) pg_catalog.pg_current_xact_id()
                AND b.table_name OPERATOR(pg_catalog.=) pg_catalog.left(TG_TABLE_NAME, -4)) THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION 'appendlog: % on %.% refused: versions are appended by writing the head', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = '${SQLSTATE.appendOnly}',
          HINT = 'Insert or update the table''s view or head, or use the library.';
END $fn$;

-- The same refusal for revision 5 on, with no WHEN clause (PostgreSQL reads one back from its
-- stored text on every INSERT): the chain trigger's INSERT fires this at trigger depth 2 and
-- passes; a direct INSERT (depth 1) passes only as a set-based load of the same table. Every write
-- calls it, so it is the one catalog function without a pinned search_path (the SET clause costs
-- each call a configuration save and restore): every name and operator in it is qualified, and it
-- runs with the caller's own rights, so no search_path changes what it does.
CREATE OR REPLACE FUNCTION ${s}.appendlog_guard_log_insert() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  IF pg_catalog.pg_trigger_depth() OPERATOR(pg_catalog.>) 1 THEN
    RETURN NULL;
  END IF;
  IF EXISTS (SELECT 1 FROM ${catalogName(schema, 'appendlog_bulk_loads')} b
              WHERE b.tx_id OPERATOR(pg_catalog.=) pg_catalog.pg_current_xact_id()
                AND b.table_name OPERATOR(pg_catalog.=) pg_catalog.left(TG_TABLE_NAME, -4)) THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION 'appendlog: % on %.% refused: versions are appended by writing the head', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = '${SQLSTATE.appendOnly}',
          HINT = 'Insert or update the table''s view or head, or use the library.';
END $fn$;

CREATE TABLE IF NOT EXISTS ${history} (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  table_name text NOT NULL,
  change text NOT NULL,
  definition jsonb NOT NULL,
  library_version text NOT NULL,
  statements text NOT NULL
);
DROP TRIGGER IF EXISTS appendlog_schema_history_refuse ON ${history};
CREATE TRIGGER appendlog_schema_history_refuse BEFORE UPDATE OR DELETE ON ${history}
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.appendlog_refuse();
DROP TRIGGER IF EXISTS appendlog_schema_history_refuse_truncate ON ${history};
CREATE TRIGGER appendlog_schema_history_refuse_truncate BEFORE TRUNCATE ON ${history}
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.appendlog_refuse();

-- Checkpoints (docs/spec.md §7): each Merkle tree head taken, and the leaf data it added; append-only.
CREATE TABLE IF NOT EXISTS ${checkpoints} (
  id bigint PRIMARY KEY,
  created_at timestamptz NOT NULL,
  tree_size bigint NOT NULL,
  root bytea NOT NULL,
  horizon xid8 NOT NULL,
  body jsonb NOT NULL
);
CREATE TABLE IF NOT EXISTS ${checkpointLeaves} (
  first_leaf bigint PRIMARY KEY,
  checkpoint_id bigint NOT NULL REFERENCES ${checkpoints} (id) DEFERRABLE INITIALLY DEFERRED,
  leaf_count integer NOT NULL,
  leaves bytea NOT NULL
);
${appendOnly(s, 'appendlog_checkpoints_refuse', checkpoints)}
${appendOnly(s, 'appendlog_checkpoint_leaves_refuse', checkpointLeaves)}

-- The checkpoints of a row-sharded schema (docs/spec.md §7.7): one tree per writing node, each kept
-- as the two tables above keep the schema's one tree.
CREATE TABLE IF NOT EXISTS ${nodeCheckpoints} (
  node integer NOT NULL,
  id bigint NOT NULL,
  created_at timestamptz NOT NULL,
  tree_size bigint NOT NULL,
  root bytea NOT NULL,
  horizon xid8 NOT NULL,
  body jsonb NOT NULL,
  PRIMARY KEY (node, id)
);
CREATE TABLE IF NOT EXISTS ${nodeCheckpointLeaves} (
  node integer NOT NULL,
  first_leaf bigint NOT NULL,
  checkpoint_id bigint NOT NULL,
  leaf_count integer NOT NULL,
  leaves bytea NOT NULL,
  PRIMARY KEY (node, first_leaf),
  FOREIGN KEY (node, checkpoint_id) REFERENCES ${nodeCheckpoints} (node, id) DEFERRABLE INITIALLY DEFERRED
);
${appendOnly(s, 'appendlog_node_checkpoints_refuse', nodeCheckpoints)}
${appendOnly(s, 'appendlog_node_checkpoint_leaves_refuse', nodeCheckpointLeaves)}

-- Archives of range-partitioned logs (docs/spec.md §7.8): each took every version below a
-- checkpoint's horizon out of the logs; the tree below it is that checkpoint's leaf index.
CREATE TABLE IF NOT EXISTS ${archives} (
  id bigint PRIMARY KEY,
  checkpoint_id bigint NOT NULL REFERENCES ${checkpoints} (id),
  created_at timestamptz NOT NULL,
  horizon xid8 NOT NULL,
  tree_size bigint NOT NULL,
  root bytea NOT NULL,
  body jsonb NOT NULL
);
${appendOnly(s, 'appendlog_archives_refuse', archives)}
${erasureCatalogDdl(schema)}${contextFunctionDdl(schema)}${realtimeCatalogDdl(schema)}`;
}
