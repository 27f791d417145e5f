import { OPS } from '../api/version.js';
import { quoteIdent, quoteLiteral } from '../schema/names.js';
import type { ResolvedColumn } from '../schema/table.js';
import { asOfFromSql } from './as-of.js';
import { canonicalContentSql, versionHashSql } from './canonical.js';
import {
  assignDefaultsSql,
  defaultSql,
  fillRequiredDefaultsSql,
  logDefaultDdl,
  viewDefaultDdl,
  viewDeleteValueSql,
  viewUpdateValueSql,
} from './column-default.js';
import { erasureTableDdl } from './erasure-ddl.js';
import { type TableObjects, tableObjects } from './names.js';
import { SQLSTATE } from './sqlstate.js';

/** A column as stored: SQL name, type, whether versions must carry a value, and its default. */
export type StoredColumn = Pick<ResolvedColumn, 'sqlName' | 'type' | 'notNull' | 'default'>;

/** The ops as a SQL list, for the chain trigger's check. */
const OPS_SQL = OPS.map(quoteLiteral).join(', ');

/**
 * The revision of the per-table code ({@link codeDdl}) this library generates. The chain function
 * carries it in a comment line ({@link codeRevisionSql} reads it back; code from before revisions
 * were marked counts as 1), and `migrate` regenerates a table's code when the database holds an
 * older revision, never a newer one. Bump it with every change to the generated code;
 * `ddl-snapshot.test.ts` pins the code's digest to it, so a change without a bump fails there.
 *
 * 2: the hash preimages encoded with `array_send`; one test for the usual update in the chain
 *    trigger; `op` validated by the trigger (new tables no longer have the `op` and `version` CHECKs).
 * 3: the chain trigger's fast path: an update that names the version it expects checks, locks
 *    and moves the head in one `UPDATE`, which also computes the version hash; the append
 *    function names the version it locked.
 */
export const TABLE_CODE_REVISION = 3;

const CODE_REVISION_MARK = 'appendlog table code revision';

/**
 * SQL giving the code revision of the chain function whose `pg_proc` row is `p` (null when the
 * function has no mark: code made before revisions were marked, revision 1).
 */
export function codeRevisionSql(p: string): string {
  return `pg_catalog.substring(${p}.prosrc, '${CODE_REVISION_MARK} ([0-9]+)')::integer`;
}

/** Per-column CHECK constraints: not-null (until redaction) and the spec's date/time range. */
export function columnChecks(c: StoredColumn): string[] {
  const col = quoteIdent(c.sqlName);
  const checks: string[] = [];
  if (c.notNull)
    checks.push(
      `CONSTRAINT ${quoteIdent(`${c.sqlName}_required`)} CHECK (redacted_at IS NOT NULL OR ${col} IS NOT NULL)`,
    );
  if (c.type === 'date')
    checks.push(
      `CONSTRAINT ${quoteIdent(`${c.sqlName}_in_range`)} CHECK (${col} BETWEEN DATE '0001-01-01' AND DATE '9999-12-31')`,
    );
  if (c.type === 'timestamptz') {
    checks.push(
      `CONSTRAINT ${quoteIdent(`${c.sqlName}_in_range`)} CHECK (${col} BETWEEN TIMESTAMPTZ '0001-01-01 00:00:00+00' AND TIMESTAMPTZ '9999-12-31 23:59:59.999999+00')`,
    );
  }
  return checks;
}

/** The log's own columns, before the table's. */
const LOG_OWN_COLUMNS = [
  'seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY',
  'entry_id uuid NOT NULL',
  'version integer NOT NULL',
  'op text NOT NULL',
  'recorded_at timestamptz NOT NULL',
  'tx_id xid8 NOT NULL',
  'actor text',
  'reason text',
  'meta jsonb',
  'salt bytea',
  'content_hash bytea NOT NULL',
  'parent_hash bytea',
  'hash bytea NOT NULL',
  'redacted_at timestamptz',
];

/**
 * How many columns of its own the log has before the table's. The library's update statement
 * counts on it to see that the log has no columns it does not know.
 */
export const LOG_SYSTEM_COLUMNS = LOG_OWN_COLUMNS.length;

/** The storage of one table: the log, the head, their indexes and guard triggers. Run once. */
export function createStorageDdl(schema: string, table: string, columns: readonly StoredColumn[]): string {
  const o = tableObjects(schema, table);
  const s = quoteIdent(schema);
  const userCols = columns.map(
    (c) =>
      `  ${quoteIdent(c.sqlName)} ${c.type}${c.default === undefined ? '' : ` DEFAULT ${defaultSql(c)}`}`,
  );
  const checks = columns.flatMap(columnChecks).map((c) => `  ${c}`);
  return `
CREATE TABLE ${o.log} (
${[...LOG_OWN_COLUMNS.map((c) => `  ${c}`), ...userCols, ...checks].join(',\n')},
  CONSTRAINT ${quoteIdent(`${table}_log_entry_id_version_key`)} UNIQUE (entry_id, version)
);
CREATE INDEX ${quoteIdent(`${table}_log_entry_time_idx`)} ON ${o.log} (entry_id, recorded_at);
-- Change readers (db.changes) walk the log in (tx_id, seq) order.
CREATE INDEX ${quoteIdent(`${table}_log_tx_idx`)} ON ${o.log} (tx_id, seq);

CREATE TABLE ${o.head} (
  entry_id uuid PRIMARY KEY,
  version integer NOT NULL,
  seq bigint NOT NULL,
  op text NOT NULL,
  deleted boolean NOT NULL,
  hash bytea NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
) WITH (fillfactor = 80);
CREATE INDEX ${quoteIdent(`${table}_head_created_idx`)} ON ${o.head} (created_at, entry_id);

CREATE TRIGGER appendlog_refuse_change BEFORE UPDATE OR DELETE ON ${o.log}
  FOR EACH ROW EXECUTE FUNCTION ${s}.appendlog_refuse();
CREATE TRIGGER appendlog_refuse_delete BEFORE DELETE ON ${o.log}
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.appendlog_refuse();
CREATE TRIGGER appendlog_refuse_truncate BEFORE TRUNCATE ON ${o.log}
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.appendlog_refuse();
-- The chain trigger writes the head from inside a trigger: WHEN skips the guard's call for those writes.
CREATE TRIGGER appendlog_head_guard BEFORE INSERT OR UPDATE OR DELETE ON ${o.head}
  FOR EACH ROW WHEN (pg_catalog.pg_trigger_depth() < 1) EXECUTE FUNCTION ${s}.appendlog_head_guard();
CREATE TRIGGER appendlog_head_refuse_truncate BEFORE TRUNCATE ON ${o.head}
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.appendlog_refuse();
`;
}

/** Adds one column to an existing log (additive migration); old versions keep their hashes. */
export function addColumnDdl(schema: string, table: string, c: StoredColumn): string {
  const o = tableObjects(schema, table);
  // NOT VALID: the checks bind new versions only; versions written before the column existed stay as they were.
  const checks = columnChecks(c).map((check) => `ALTER TABLE ${o.log} ADD ${check} NOT VALID;`);
  // The default is set by a separate statement: ADD COLUMN … DEFAULT would fill it into every old version.
  const defaults = c.default === undefined ? [] : [logDefaultDdl(o, c)];
  return [`ALTER TABLE ${o.log} ADD COLUMN ${quoteIdent(c.sqlName)} ${c.type};`, ...defaults, ...checks].join(
    '\n',
  );
}

/**
 * The code of one table: the chain trigger, the append function, the view with its
 * INSTEAD OF trigger and the as-of function. Regenerated whenever the columns change.
 */
export function codeDdl(schema: string, table: string, columns: readonly StoredColumn[]): string {
  const o = tableObjects(schema, table);
  return [
    chainFunctionDdl(o, columns),
    appendFunctionDdl(o, columns),
    viewDdl(o, columns),
    asOfFunctionDdl(o, columns),
    erasureTableDdl(o, columns),
  ].join('\n');
}

function chainFunctionDdl(o: TableObjects, columns: readonly StoredColumn[]): string {
  const t = quoteLiteral(o.table);
  // The fast path's time: the clock, or just after the head's time when the clock is not past it
  // (the same expression twice, for the hash and for the head, over the same two values).
  const fastTime = `greatest(NEW.recorded_at, hd.updated_at + interval '1 microsecond')`;
  const fastHash = versionHashSql(o.schema, o.table, 'NEW', { recordedAt: fastTime, parentHash: 'hd.hash' });
  return `
CREATE OR REPLACE FUNCTION ${o.chainFn}() RETURNS trigger
LANGUAGE plpgsql AS $fn$
-- ${CODE_REVISION_MARK} ${TABLE_CODE_REVISION}: migrate replaces this table's code only with a newer revision.
DECLARE
  h ${o.head}%ROWTYPE;
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
      || ${canonicalContentSql(o.schema, 'NEW', columns)});

  -- Fast path: an update naming the version it expects (the library and the view always do).
  -- One UPDATE of the head checks what the checks below would (the entry exists, is live, is at
  -- the expected version), locks it, moves it, and computes the version hash from its old row:
  -- the parent hash, and the previous time that recorded_at must exceed. Its RETURNING reads
  -- the parent hash again through the statement's snapshot, which still holds the old row (the
  -- version test makes sure that a row re-read after a concurrent commit is never hashed on).
  -- When no row qualifies, the general path below finds out why and says so.
  IF NEW.op = 'update' AND NEW.version IS NOT NULL AND NEW.entry_id IS NOT NULL THEN
    NEW.recorded_at := pg_catalog.clock_timestamp();
    UPDATE ${o.head} hd
       SET version = NEW.version, seq = NEW.seq, op = 'update', hash = ${fastHash},
           updated_at = ${fastTime}
     WHERE hd.entry_id = NEW.entry_id AND hd.version = NEW.version - 1 AND NOT hd.deleted AND hd.op <> 'forget'
    RETURNING hd.updated_at, hd.hash, (SELECT o.hash FROM ${o.head} o WHERE o.entry_id = hd.entry_id)
         INTO NEW.recorded_at, NEW.hash, NEW.parent_hash;
    IF FOUND THEN
      RETURN NEW;
    END IF;
  END IF;

  IF NEW.entry_id IS NULL THEN
    IF NEW.op IS DISTINCT FROM 'insert' THEN
      RAISE EXCEPTION 'appendlog: % on % needs an entry_id', NEW.op, ${t}
        USING ERRCODE = '${SQLSTATE.invalidInput}', DETAIL = 'field=entry_id';
    END IF;
    NEW.entry_id := pg_catalog.gen_random_uuid();
  ELSE
    SELECT * INTO h FROM ${o.head} WHERE entry_id = NEW.entry_id FOR UPDATE;
  END IF;
  -- The usual write, an update of a live entry that meets its expectation, passes this one test;
  -- anything else goes through the checks below, which say what is wrong. (One expression instead
  -- of seven: plpgsql sets up every expression again in each transaction.)
  IF h.entry_id IS NULL OR h.deleted OR h.op = 'forget' OR NEW.op IS DISTINCT FROM 'update'
     OR NEW.version <> h.version + 1 THEN
    current_version := coalesce(h.version, 0);
    IF NEW.op IS NULL OR NEW.op NOT IN (${OPS_SQL}) THEN
      RAISE EXCEPTION 'appendlog: % is not an operation (insert, update, delete, restore or forget)', NEW.op
        USING ERRCODE = '${SQLSTATE.invalidInput}', DETAIL = 'field=op';
    END IF;
    IF NEW.version IS NOT NULL AND NEW.version <> current_version + 1 THEN
      RAISE EXCEPTION 'appendlog: version conflict on % entry %: expected version %, found %',
        ${t}, NEW.entry_id, NEW.version - 1, current_version
        USING ERRCODE = '${SQLSTATE.versionConflict}',
              DETAIL = json_build_object('expected', NEW.version - 1, 'actual', current_version)::text;
    END IF;
    IF h.entry_id IS NULL THEN
      IF NEW.op <> 'insert' THEN
        RAISE EXCEPTION 'appendlog: % entry % does not exist', ${t}, NEW.entry_id
          USING ERRCODE = '${SQLSTATE.notFound}';
      END IF;
    ELSIF NEW.op = 'insert' THEN
      RAISE EXCEPTION 'appendlog: % entry % already exists (version %)', ${t}, NEW.entry_id, current_version
        USING ERRCODE = '${SQLSTATE.versionConflict}',
              DETAIL = json_build_object('expected', 0, 'actual', current_version)::text;
    ELSIF h.op = 'forget' THEN
      -- Forgotten: only cancelForget, before the due time, may write (docs/erasure.md).
      SELECT l.meta INTO forget_meta FROM ${o.log} l WHERE l.seq = h.seq;
      SELECT l.op INTO prior_op FROM ${o.log} l WHERE l.entry_id = NEW.entry_id AND l.version = h.version - 1;
      PERFORM ${quoteIdent(o.schema)}.appendlog_check_cancel_forget(${t}, NEW.entry_id, NEW.op, NEW.reason, NEW.meta, forget_meta, prior_op);
    ELSIF NEW.op IN ('update', 'delete') AND h.deleted THEN
      RAISE EXCEPTION 'appendlog: % entry % is deleted; restore it first', ${t}, NEW.entry_id
        USING ERRCODE = '${SQLSTATE.notFound}';
    ELSIF NEW.op = 'restore' AND NOT h.deleted THEN
      RAISE EXCEPTION 'appendlog: % entry % is not deleted, so it cannot be restored', ${t}, NEW.entry_id
        USING ERRCODE = '${SQLSTATE.invalidState}';
    END IF;
    IF NEW.op IN ('delete', 'forget') AND coalesce(btrim(NEW.reason), '') = '' THEN
      RAISE EXCEPTION 'appendlog: a % of % entry % needs a reason', NEW.op, ${t}, NEW.entry_id
        USING ERRCODE = '${SQLSTATE.reasonRequired}',
              HINT = 'Pass { reason } to the library, or SET LOCAL appendlog.reason = ''…'' before raw SQL.';
    END IF;
  END IF;

  NEW.version := coalesce(h.version, 0) + 1;
  -- Times strictly increase along an entry's chain, so "as of t" picks exactly one version.
  NEW.recorded_at := greatest(pg_catalog.clock_timestamp(), h.updated_at + interval '1 microsecond');
  IF NEW.op = 'forget' THEN
    NEW.meta := ${quoteIdent(o.schema)}.appendlog_forget_meta(NEW.meta, NEW.recorded_at);
  END IF;
  NEW.parent_hash := h.hash;
  NEW.hash := ${versionHashSql(o.schema, o.table, 'NEW')};

  IF h.entry_id IS NULL THEN
    INSERT INTO ${o.head} (entry_id, version, seq, op, deleted, hash, created_at, updated_at)
    VALUES (NEW.entry_id, NEW.version, NEW.seq, NEW.op, false, NEW.hash, NEW.recorded_at, NEW.recorded_at);
  ELSE
    UPDATE ${o.head}
       SET version = NEW.version, seq = NEW.seq, op = NEW.op, deleted = NEW.op IN ('delete', 'forget'),
           hash = NEW.hash, updated_at = NEW.recorded_at
     WHERE entry_id = NEW.entry_id;
  END IF;
  RETURN NEW;
END $fn$;

DROP TRIGGER IF EXISTS appendlog_chain ON ${o.log};
CREATE TRIGGER appendlog_chain BEFORE INSERT ON ${o.log}
  FOR EACH ROW EXECUTE FUNCTION ${o.chainFn}();
`;
}

function appendFunctionDdl(o: TableObjects, columns: readonly StoredColumn[]): string {
  const cols = columns.map((c) => quoteIdent(c.sqlName));
  return `
CREATE OR REPLACE FUNCTION ${o.append}(
  p_op text, p_entry_id uuid, p_expected_version integer,
  p_actor text, p_reason text, p_meta jsonb, p_data jsonb
) RETURNS ${o.log}
LANGUAGE plpgsql AS $fn$
DECLARE
  prev ${o.log};
  latest_seq bigint;
  latest_version integer;
BEGIN
  IF p_op <> 'insert' THEN
    -- Lock the head first, then read the version it points at: a patch always lands on the latest.
    SELECT seq, version INTO latest_seq, latest_version FROM ${o.head} WHERE entry_id = p_entry_id FOR UPDATE;
    IF FOUND THEN
      SELECT * INTO prev FROM ${o.log} WHERE seq = latest_seq;
    END IF;${
      assignDefaultsSql('prev', columns).length === 0
        ? ''
        : `
  ELSE${indent(assignDefaultsSql('prev', columns), 4)}`
    }
  END IF;
  IF p_data IS NOT NULL THEN
    prev := pg_catalog.jsonb_populate_record(prev, p_data);
  END IF;${indent(fillRequiredDefaultsSql('prev', columns), 2)}
  INSERT INTO ${o.log} (entry_id, op, version, actor, reason, meta${cols.map((c) => `, ${c}`).join('')})
  -- The version locked above, unless the caller expects another (the trigger then refuses it):
  -- an update naming its version takes the chain trigger's fast path.
  VALUES (p_entry_id, p_op, coalesce(p_expected_version, latest_version) + 1, p_actor, p_reason, p_meta${cols
    .map((c) => `, prev.${c}`)
    .join('')})
  RETURNING * INTO prev;
  RETURN prev;
END $fn$;
`;
}

function viewDdl(o: TableObjects, columns: readonly StoredColumn[]): string {
  const cols = columns.map((c) => quoteIdent(c.sqlName));
  const t = quoteLiteral(o.table);
  return `
CREATE OR REPLACE VIEW ${o.view} AS
SELECT h.entry_id, h.version, h.created_at, h.updated_at${cols.map((c) => `, l.${c}`).join('')}
  FROM ${o.head} h
  JOIN ${o.log} l ON l.seq = h.seq
 WHERE NOT h.deleted;
${columns
  .filter((c) => c.default !== undefined)
  .map((c) => `${viewDefaultDdl(o, c)}\n`)
  .join('')}
CREATE OR REPLACE FUNCTION ${o.viewWriteFn}() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
  r ${o.log};
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO ${o.log} (entry_id, op${cols.map((c) => `, ${c}`).join('')})
    VALUES (NEW.entry_id, 'insert'${cols.map((c) => `, NEW.${c}`).join('')})
    RETURNING * INTO r;
    NEW.entry_id := r.entry_id;
    NEW.version := r.version;
    NEW.created_at := r.recorded_at;
    NEW.updated_at := r.recorded_at;
    RETURN NEW;
  ELSIF TG_OP = 'UPDATE' THEN
    IF NEW.entry_id IS DISTINCT FROM OLD.entry_id OR NEW.version IS DISTINCT FROM OLD.version
       OR NEW.created_at IS DISTINCT FROM OLD.created_at OR NEW.updated_at IS DISTINCT FROM OLD.updated_at THEN
      RAISE EXCEPTION 'appendlog: entry_id, version, created_at and updated_at of % are kept by appendlog', ${t}
        USING ERRCODE = '${SQLSTATE.invalidInput}', DETAIL = 'field=entry_id';
    END IF;
    -- Expect the version this statement read: a concurrent commit in between is a conflict, not a lost update.
    INSERT INTO ${o.log} (entry_id, op, version${cols.map((c) => `, ${c}`).join('')})
    VALUES (OLD.entry_id, 'update', OLD.version + 1${columns.map((c) => `, ${viewUpdateValueSql(c)}`).join('')})
    RETURNING * INTO r;
    NEW.version := r.version;
    NEW.updated_at := r.recorded_at;
    RETURN NEW;
  ELSE
    INSERT INTO ${o.log} (entry_id, op, version${cols.map((c) => `, ${c}`).join('')})
    VALUES (OLD.entry_id, 'delete', OLD.version + 1${columns.map((c) => `, ${viewDeleteValueSql(c)}`).join('')});
    RETURN OLD;
  END IF;
END $fn$;

DROP TRIGGER IF EXISTS appendlog_view_write ON ${o.view};
CREATE TRIGGER appendlog_view_write INSTEAD OF INSERT OR UPDATE OR DELETE ON ${o.view}
  FOR EACH ROW EXECUTE FUNCTION ${o.viewWriteFn}();
`;
}

function asOfFunctionDdl(o: TableObjects, columns: readonly StoredColumn[]): string {
  const cols = columns.map((c) => quoteIdent(c.sqlName));
  const outCols = columns.map((c) => `${quoteIdent(c.sqlName)} ${c.type}`);
  return `
DROP FUNCTION IF EXISTS ${o.asOf}(timestamptz);
CREATE FUNCTION ${o.asOf}(at timestamptz)
RETURNS TABLE (entry_id uuid, version integer, created_at timestamptz, updated_at timestamptz${outCols
    .map((c) => `, ${c}`)
    .join('')})
LANGUAGE sql STABLE AS $fn$
  SELECT h.entry_id, l.version, h.created_at, l.recorded_at${cols.map((c) => `, l.${c}`).join('')}
    ${asOfFromSql(o, '$1')}
$fn$;
`;
}

function indent(lines: readonly string[], spaces: number): string {
  return lines.map((l) => `\n${' '.repeat(spaces)}${l}`).join('');
}
