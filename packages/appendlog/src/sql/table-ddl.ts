import {
  HEAD_COPY_COLUMNS,
  HEAD_OWN_COLUMNS,
  LOG_OWN_COLUMNS,
  STORED_VERSION_COLUMNS,
  VERSION_COLUMNS,
} from '../model/log-columns.js';
import { MAX_LABEL_BYTES, MAX_VALUE_BYTES } from '../model/values.js';
import { OPS } from '../model/version.js';
import { quoteIdent, quoteLiteral } from '../schema/names.js';
import type { ResolvedColumn } from '../schema/table.js';
import { asOfFromSql } from './as-of.js';
import {
  canonicalContentSql,
  firstVersionHashSql,
  firstVersionSharedFieldsSql,
  versionHashSql,
} from './canonical.js';
import {
  assignDefaultsSql,
  bodyDefaultSql,
  defaultSql,
  fillRequiredDefaultsSql,
  headDefaultDdl,
  logDefaultDdl,
  viewDefaultDdl,
} from './column-default.js';
import { strictContextSql } from './context-ddl.js';
import { erasureTableDdl } from './erasure-ddl.js';
import { catalogName, type TableObjects, tableObjects } from './names.js';
import { dropStatementNotifyDdl, notifySql } from './realtime-ddl.js';
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
 * 4: head-first: the head holds the latest version whole, and the chain trigger moves from the
 *    log to the head (an UPDATE of the head appends the version); SECURITY DEFINER and a pinned
 *    search_path; the view is a simple view of the head. Storage changes too
 *    ({@link headFirstUpgradeDdl}).
 * 5: lean log storage ({@link leanLogUpgradeDdl}): the primary key `(entry_id, version)`, no index
 *    on `seq`, the INSERT refusal without a `WHEN` clause; the set-based load switches the chain
 *    trigger off for its own INSERT of the head instead of the trigger testing every row.
 * 6: the set-based load reads its rows with one typed `jsonb_to_recordset` (or `jsonb_to_record`
 *    where columns have defaults), computes the version-hash fields its rows share once, draws
 *    `seq` up front and writes log and head in one statement.
 * 7: the head's statement-level `appendlog_notify` trigger, the wake-up of `db.subscribe` and
 *    projections (dropped by revision 8, {@link dropStatementNotifyDdl}).
 * 8: the wake-up moves into the chain trigger (one `current_setting` per row costs less than an
 *    AFTER statement trigger on every write), and the set-based load sends its own; each
 *    version's salt is derived from a per-session random key ({@link saltSql}) instead of drawn
 *    from the strong random source.
 * 9: the chain trigger and the set-based load leave the log's `parent_hash` null (it is the
 *    previous version's `hash`; readers derive it, docs/spec.md §10.2); the labels' settings are read
 *    with one test when none is set. No storage change: the column was nullable.
 * 10: an INSERT's `created_at` and `recorded_at` (the view's `updated_at`) are overwritten, not
 *    refused, as an update's are; the refusal of a row that brings its own bookkeeping names the
 *    column in its DETAIL (it said `field=version` whatever the column).
 */
export const TABLE_CODE_REVISION = 10;

/** The first revision with head-first storage: older tables get {@link headFirstUpgradeDdl} first. */
export const HEAD_FIRST_REVISION = 4;

/** The first revision with lean log storage: older tables get {@link leanLogUpgradeDdl} first. */
export const LEAN_LOG_REVISION = 5;

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

/** A user column's definition in the log or the head: its type and default. */
function columnSql(c: StoredColumn): string {
  return `${quoteIdent(c.sqlName)} ${c.type}${c.default === undefined ? '' : ` DEFAULT ${defaultSql(c)}`}`;
}

/**
 * The storage of one table: the log, the head, their indexes and the triggers that refuse what
 * is never allowed (the chain trigger on the head comes with the code). Run once.
 */
export function createStorageDdl(schema: string, table: string, columns: readonly StoredColumn[]): string {
  const o = tableObjects(schema, table);
  const userCols = columns.map((c) => `  ${columnSql(c)}`);
  const checks = columns.flatMap(columnChecks).map((c) => `  ${c}`);
  return `
CREATE TABLE ${o.log} (
${[...LOG_OWN_COLUMNS.map((c) => `  ${c}`), ...userCols, ...checks].join(',\n')},
  -- One row per version of an entry: no fork can be stored, whatever wrote it.
  CONSTRAINT ${quoteIdent(`${table}_log_pkey`)} PRIMARY KEY (entry_id, version)
);
CREATE INDEX ${quoteIdent(`${table}_log_entry_time_idx`)} ON ${o.log} (entry_id, recorded_at);
-- Change readers (db.changes) and the Merkle leaves walk the log in (tx_id, seq) order; seq, an
-- identity, orders the versions of one transaction and needs no index of its own.
CREATE INDEX ${quoteIdent(`${table}_log_tx_idx`)} ON ${o.log} (tx_id, seq);

CREATE TABLE ${o.head} (
${[...HEAD_OWN_COLUMNS.map((c) => `  ${c}`), ...userCols].join(',\n')}
) WITH (fillfactor = 80);
CREATE INDEX ${quoteIdent(`${table}_head_created_idx`)} ON ${o.head} (created_at, entry_id);
${refuseTriggersDdl(o)}`;
}

/**
 * The log refuses an INSERT but the chain trigger's, UPDATE (but erasure's), DELETE and TRUNCATE;
 * the head refuses DELETE and TRUNCATE.
 */
function refuseTriggersDdl(o: TableObjects): string {
  const s = quoteIdent(o.schema);
  return `${refuseLogInsertDdl(o)}
CREATE TRIGGER appendlog_refuse_change BEFORE UPDATE OR DELETE ON ${o.log}
  FOR EACH ROW EXECUTE FUNCTION ${s}.appendlog_refuse();
CREATE TRIGGER appendlog_refuse_delete BEFORE DELETE ON ${o.log}
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.appendlog_refuse();
CREATE TRIGGER appendlog_refuse_truncate BEFORE TRUNCATE ON ${o.log}
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.appendlog_refuse();
CREATE TRIGGER appendlog_head_refuse_delete BEFORE DELETE ON ${o.head}
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.appendlog_refuse();
CREATE TRIGGER appendlog_head_refuse_truncate BEFORE TRUNCATE ON ${o.head}
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.appendlog_refuse();
`;
}

/**
 * Versions reach the log only from the chain trigger on the head (whose INSERT runs at trigger
 * depth 2) or a set-based load: a direct INSERT, even one that brings every column, would put a
 * version in the log that nothing chained and the head does not hold, and the entry's next write
 * would then collide with it. The function tests the depth itself: a `WHEN` clause would be read
 * back from its stored text by every INSERT, which costs an update more than the call.
 */
function refuseLogInsertDdl(o: TableObjects): string {
  return `
CREATE TRIGGER appendlog_refuse_insert BEFORE INSERT ON ${o.log}
  FOR EACH STATEMENT EXECUTE FUNCTION ${quoteIdent(o.schema)}.appendlog_guard_log_insert();`;
}

/**
 * Revision 4 storage to revision 5: `seq` keeps its identity but loses its primary key and index,
 * and the INSERT refusal loses its `WHEN` clause. The unique key `(entry_id, version)` the log had
 * stays as it is: making it the primary key would rebuild the index under a lock that stops every
 * read, for no difference in what it enforces. (New tables declare it as the primary key.)
 */
export function leanLogUpgradeDdl(schema: string, table: string): string {
  const o = tableObjects(schema, table);
  return `
DROP TRIGGER IF EXISTS appendlog_refuse_insert ON ${o.log};
ALTER TABLE ${o.log} DROP CONSTRAINT ${quoteIdent(`${table}_log_pkey`)};${refuseLogInsertDdl(o)}
`;
}

/**
 * Turns the storage of a table made by code revisions 1 to 3 (a head of bookkeeping columns
 * pointing at its log row, a chain trigger on the log) into head-first storage: the head gains
 * the latest version's own and user columns, filled from the log row it points at. Runs before
 * {@link codeDdl} regenerates the code, with the old triggers dropped first so that nothing
 * fires while the head is filled.
 */
export function headFirstUpgradeDdl(schema: string, table: string, columns: readonly StoredColumn[]): string {
  const o = tableObjects(schema, table);
  const copied = [...HEAD_COPY_COLUMNS, ...columns.map((c) => c.sqlName)];
  return `
DROP TRIGGER IF EXISTS appendlog_chain ON ${o.log};
DROP TRIGGER IF EXISTS appendlog_head_guard ON ${o.head};
DROP TRIGGER IF EXISTS appendlog_view_write ON ${o.view};
DROP FUNCTION IF EXISTS ${o.append}(text, uuid, integer, text, text, jsonb, jsonb);
ALTER TABLE ${o.head} RENAME COLUMN updated_at TO recorded_at;
ALTER TABLE ${o.head}
  ALTER COLUMN entry_id SET DEFAULT pg_catalog.gen_random_uuid(),
  ADD COLUMN tx_id xid8,
  ADD COLUMN actor text,
  ADD COLUMN reason text,
  ADD COLUMN meta jsonb,
  ADD COLUMN parent_hash bytea,
  ADD COLUMN redacted_at timestamptz${columns.map((c) => `,\n  ADD COLUMN ${columnSql(c)}`).join('')};
UPDATE ${o.head} h
   SET ${copied.map((c) => `${quoteIdent(c)} = l.${quoteIdent(c)}`).join(', ')}
  FROM ${o.log} l
 WHERE l.seq = h.seq;
ALTER TABLE ${o.head} ALTER COLUMN tx_id SET NOT NULL;${refuseLogInsertDdl(o)}
CREATE TRIGGER appendlog_head_refuse_delete BEFORE DELETE ON ${o.head}
  FOR EACH STATEMENT EXECUTE FUNCTION ${quoteIdent(o.schema)}.appendlog_refuse();
`;
}

/** Adds one column to an existing table (additive migration); old versions keep their hashes. */
export function addColumnDdl(schema: string, table: string, c: StoredColumn): string {
  const o = tableObjects(schema, table);
  // NOT VALID: the checks bind new versions only; versions written before the column existed stay as they were.
  const checks = columnChecks(c).map((check) => `ALTER TABLE ${o.log} ADD ${check} NOT VALID;`);
  // The default is set by a separate statement: ADD COLUMN … DEFAULT would fill it into every old version.
  const defaults = c.default === undefined ? [] : [logDefaultDdl(o, c), headDefaultDdl(o, c)];
  const col = `${quoteIdent(c.sqlName)} ${c.type}`;
  return [
    `ALTER TABLE ${o.log} ADD COLUMN ${col};`,
    `ALTER TABLE ${o.head} ADD COLUMN ${col};`,
    ...defaults,
    ...checks,
  ].join('\n');
}

/** How a table's code is generated. */
export interface CodeOptions {
  /** The table is row-sharded on Citus (docs/scale-out.md): its as-of function is plpgsql. */
  sharded?: boolean;
}

/**
 * The code of one table: the chain trigger on the head, the append function, the view with its
 * DELETE trigger, the as-of function, the erasure functions and the wake-up trigger. Regenerated whenever the columns
 * change.
 */
export function codeDdl(
  schema: string,
  table: string,
  columns: readonly StoredColumn[],
  options: CodeOptions = {},
): string {
  const o = tableObjects(schema, table);
  return [
    chainFunctionDdl(o, columns),
    appendFunctionDdl(o, columns),
    insertManyFunctionDdl(o, columns),
    sqlWritesDdl(o),
    viewDdl(o, columns),
    asOfFunctionDdl(o, columns, options.sharded === true),
    erasureTableDdl(o, columns),
    dropStatementNotifyDdl(o),
  ].join('\n');
}

/** Generated functions resolve names in the system catalog only: no caller's search_path reaches them. */
const PINNED_SEARCH_PATH = 'SET search_path = pg_catalog, pg_temp';

/** A transaction's `appendlog.<name>` setting, NULL when unset or empty. */
function settingSql(name: 'actor' | 'reason' | 'meta'): string {
  return `nullif(pg_catalog.current_setting('appendlog.${name}', true), '')`;
}

/**
 * plpgsql filling the NULL labels of a write from the transaction's `appendlog.*` settings, then
 * applying strict mode ({@link strictContextSql}). The usual write names its labels or has none
 * set, and passes one test (nine statements, one per assignment, cost an update about 3%).
 */
function labelsFromSettingsSql(actor: string, reason: string, meta: string): string {
  const fromSetting = (target: string, name: 'actor' | 'reason' | 'meta') =>
    `(${target} IS NULL AND ${settingSql(name)} IS NOT NULL)`;
  const fill = (target: string, name: 'actor' | 'reason' | 'meta', cast = '') =>
    `      ${target} := coalesce(${target}, ${settingSql(name)}${cast});`;
  const strict = strictContextSql()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
  return `    IF ${fromSetting(actor, 'actor')}
       OR ${fromSetting(reason, 'reason')}
       OR ${fromSetting(meta, 'meta')} THEN
${fill(actor, 'actor')}
${fill(reason, 'reason')}
${fill(meta, 'meta', '::jsonb')}
${strict}
    END IF;`;
}

/** plpgsql refusing an actor, reason or meta past the documented limits, whatever wrote them. */
function labelLimitsSql(actor: string, reason: string, meta: string): string {
  const over = (e: string) => `pg_catalog.octet_length(${e}) > ${MAX_LABEL_BYTES}`;
  return `  IF ${over(actor)} OR ${over(reason)}
     OR pg_catalog.octet_length(${meta}::text) > ${MAX_VALUE_BYTES} OR pg_catalog.jsonb_typeof(${meta}) <> 'object' THEN
    RAISE EXCEPTION 'appendlog: the actor and reason of a version hold at most ${MAX_LABEL_BYTES} bytes, and its meta is a JSON object of at most ${MAX_VALUE_BYTES} bytes'
      USING ERRCODE = '${SQLSTATE.invalidInput}',
            DETAIL = 'field=' || CASE WHEN ${over(actor)} THEN 'actor'
                                      WHEN ${over(reason)} THEN 'reason'
                                      ELSE 'meta' END;
  END IF;`;
}

/**
 * The chain trigger, BEFORE INSERT OR UPDATE on the head: the one code that writes versions.
 * An INSERT starts an entry at version 1; an UPDATE appends the next version, carrying forward
 * whatever the statement did not set. Either way it checks the write, assigns the version, time,
 * transaction and hashes, inserts the version into the log, and lets the head row become it.
 *
 * Who, why and the op: a statement that sets `tx_id` to NULL declares them (the library's
 * statements and the append function do; NULL actor, reason or meta then come from the
 * transaction's `appendlog.*` settings). Any other UPDATE (the view's, raw SQL) gives only the
 * values it changes; the others come from the settings, and the op is `update` unless changed.
 *
 * SECURITY DEFINER: the trigger inserts into the log as its owner, so the application's role needs
 * no privilege on the log but SELECT, and cannot write a version any other way.
 */
function chainFunctionDdl(o: TableObjects, columns: readonly StoredColumn[]): string {
  return `
CREATE OR REPLACE FUNCTION ${o.chainFn}() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER ${PINNED_SEARCH_PATH} AS $fn$
-- ${CODE_REVISION_MARK} ${TABLE_CODE_REVISION}: migrate replaces this table's code only with a newer revision.
DECLARE
  declared boolean := NEW.tx_id IS NULL;
  v_salt bytea;
  v_content_hash bytea;
  prior_op text;
  erased timestamptz;
BEGIN
  -- The wake-up of db.subscribe and projections, from sessions that opt in (docs/realtime.md).
${notifySql('  ', 'TG_TABLE_SCHEMA')}
  IF TG_OP = 'INSERT' THEN
${chainInsertSql(o)}  ELSE
${chainUpdateSql(o, columns)}  END IF;

${chainHashAndLogSql(o, columns)}END $fn$;

DROP TRIGGER IF EXISTS appendlog_chain ON ${o.head};
CREATE TRIGGER appendlog_chain BEFORE INSERT OR UPDATE ON ${o.head}
  FOR EACH ROW EXECUTE FUNCTION ${o.chainFn}();
`;
}

/**
 * The chain trigger's INSERT branch: a new entry starts at version 1. Its times are always the
 * trigger's, so a row's `created_at` and `recorded_at` (the view's `updated_at`, which ORMs set
 * on insert) are overwritten, as an update's are; a row that brings its own version, transaction,
 * hashes or other bookkeeping is refused, the DETAIL naming the first such column.
 */
function chainInsertSql(o: TableObjects): string {
  const t = quoteLiteral(o.table);
  // The bookkeeping columns an INSERT may not bring, in the order the refusal names them.
  const own: Array<[string, string]> = [
    ['version', 'coalesce(NEW.version, 1) <> 1'],
    ['tx_id', 'NEW.tx_id IS NOT NULL'],
    ['hash', 'NEW.hash IS NOT NULL'],
    ['parent_hash', 'NEW.parent_hash IS NOT NULL'],
    ['seq', 'NEW.seq IS NOT NULL'],
    ['redacted_at', 'NEW.redacted_at IS NOT NULL'],
    ['deleted', 'NEW.deleted IS NOT NULL'],
  ];
  return `    -- A row that brings its own version, transaction or hashes (a data-only restore through
    -- this trigger, say) is refused rather than silently chained anew.
    IF ${own.map(([, test]) => test).join('\n       OR ')} THEN
      RAISE EXCEPTION 'appendlog: a new % entry gets its version, times, transaction and hashes from appendlog; this row brings its own', ${t}
        USING ERRCODE = '${SQLSTATE.invalidInput}',
              DETAIL = 'field=' || CASE${own.map(([name, test]) => `\n                WHEN ${test} THEN ${quoteLiteral(name)}`).join('')} END,
              HINT = 'To restore a dump, restore the schema and data together (pg_restore), or load data with --disable-triggers; see docs/operations.md.';
    END IF;
    IF coalesce(NEW.op, 'insert') <> 'insert' THEN
      RAISE EXCEPTION 'appendlog: a new % entry starts with an insert, not %', ${t}, NEW.op
        USING ERRCODE = '${SQLSTATE.invalidInput}', DETAIL = 'field=op';
    END IF;
    NEW.op := 'insert';
    NEW.version := 1;
    NEW.entry_id := coalesce(NEW.entry_id, pg_catalog.gen_random_uuid());
    NEW.recorded_at := pg_catalog.clock_timestamp();
    NEW.created_at := NEW.recorded_at;
    NEW.parent_hash := NULL;
${labelsFromSettingsSql('NEW.actor', 'NEW.reason', 'NEW.meta')}
`;
}

/**
 * The chain trigger's UPDATE branch: an update that changes nothing appends nothing; what the
 * statement did not set comes from the transaction's settings; the usual write passes one test,
 * anything else the refusals ({@link chainRefusalsSql}); then the next version's number, creation
 * time, parent and the defaults of notNull columns added since.
 */
function chainUpdateSql(o: TableObjects, columns: readonly StoredColumn[]): string {
  const cols = columns.map((c) => quoteIdent(c.sqlName));
  const fillRequired = columns.flatMap((c) => {
    const value = bodyDefaultSql(c);
    if (value === undefined || !c.notNull) return [];
    const col = quoteIdent(c.sqlName);
    // A notNull column added after the entry was last written: the new version gets its default.
    return [`IF NEW.${col} IS NULL AND OLD.${col} IS NULL THEN NEW.${col} := ${value}; END IF;`];
  });
  return `    IF NOT declared THEN
      -- An UPDATE that changes nothing (an ORM's full-object save, SET name = name) appends no
      -- version, as PaperTrail and Logidze skip unchanged saves: the head row stays as it was.
      IF NOT OLD.deleted AND NEW.entry_id = OLD.entry_id AND NEW.op IS NOT DISTINCT FROM OLD.op
         AND (NEW.version = OLD.version OR NEW.version = OLD.version + 1)
         AND (${['actor', 'reason', 'meta', ...cols].map((c) => `NEW.${c}`).join(', ')})
             IS NOT DISTINCT FROM (${['actor', 'reason', 'meta', ...cols].map((c) => `OLD.${c}`).join(', ')}) THEN
        RETURN OLD;
      END IF;
      -- Only what the statement changed is its own; the rest comes from the transaction's settings.
      NEW.op := CASE WHEN NEW.op IS NOT DISTINCT FROM OLD.op THEN 'update' ELSE NEW.op END;
      NEW.actor := CASE WHEN NEW.actor IS NOT DISTINCT FROM OLD.actor THEN NULL ELSE NEW.actor END;
      NEW.reason := CASE WHEN NEW.reason IS NOT DISTINCT FROM OLD.reason THEN NULL ELSE NEW.reason END;
      NEW.meta := CASE WHEN NEW.meta IS NOT DISTINCT FROM OLD.meta THEN NULL ELSE NEW.meta END;
    END IF;
${labelsFromSettingsSql('NEW.actor', 'NEW.reason', 'NEW.meta')}
    -- Times strictly increase along an entry's chain, so "as of t" picks exactly one version.
    NEW.recorded_at := greatest(pg_catalog.clock_timestamp(), OLD.recorded_at + interval '1 microsecond');
    -- The usual write, an update of a live entry that meets its expectation (the version a
    -- statement names, which a declared one always does, must be the next one), passes this one test; anything else goes through
    -- the checks below, which say what is wrong.
${chainRefusalsSql(o, columns)}    NEW.version := OLD.version + 1;
    NEW.created_at := OLD.created_at;
    NEW.parent_hash := OLD.hash;${fillRequired.map((l) => `\n    ${l}`).join('')}
`;
}

/**
 * What the chain trigger refuses of an update, each with its own message: a changed entry id, an
 * unknown op, a stale version, a duplicate insert, a write to a forgotten, deleted or live entry
 * that the op does not allow, a delete or forget without a reason. Erasure's redaction of the
 * head's copy passes here, in the transaction that recorded the erasure.
 */
function chainRefusalsSql(o: TableObjects, columns: readonly StoredColumn[]): string {
  const t = quoteLiteral(o.table);
  const s = quoteIdent(o.schema);
  const cols = columns.map((c) => quoteIdent(c.sqlName));
  const erasures = catalogName(o.schema, 'appendlog_erasures');
  return `    IF OLD.deleted OR NEW.op IS DISTINCT FROM 'update' OR NEW.entry_id <> OLD.entry_id
       OR (NEW.version IS DISTINCT FROM OLD.version + 1 AND (declared OR NEW.version IS DISTINCT FROM OLD.version)) THEN
      IF NEW.entry_id <> OLD.entry_id THEN
        RAISE EXCEPTION 'appendlog: the entry_id of % entry % is its identity and cannot change', ${t}, OLD.entry_id
          USING ERRCODE = '${SQLSTATE.invalidInput}', DETAIL = 'field=entry_id';
      END IF;
      IF NEW.op IS NULL OR NEW.op NOT IN (${OPS_SQL}) THEN
        RAISE EXCEPTION 'appendlog: % is not an operation (insert, update, delete, restore or forget)', NEW.op
          USING ERRCODE = '${SQLSTATE.invalidInput}', DETAIL = 'field=op';
      END IF;
      IF OLD.op = 'forget' AND NOT declared AND NEW.op = 'update' AND NEW.version = OLD.version${cols
        .map((c) => ` AND NEW.${c} IS NULL`)
        .join('')} THEN
        -- Erasure's redaction of the head's copy: allowed only in the transaction that recorded
        -- the entry's erasure (which checked that it is forgotten and due). No version is appended.
        SELECT x.erased_at INTO erased FROM ${erasures} x
         WHERE x.table_name = ${t} AND x.entry_id = OLD.entry_id AND x.tx_id = pg_catalog.pg_current_xact_id();
        IF FOUND THEN
          NEW := OLD;${cols.map((c) => `\n          NEW.${c} := NULL;`).join('')}
          NEW.redacted_at := erased;
          RETURN NEW;
        END IF;
      END IF;
      IF NEW.version IS DISTINCT FROM OLD.version + 1 AND (declared OR NEW.version IS DISTINCT FROM OLD.version) THEN
        IF declared THEN
          RAISE EXCEPTION 'appendlog: version conflict on % entry %: expected version %, found %',
            ${t}, OLD.entry_id, NEW.version - 1, OLD.version
            USING ERRCODE = '${SQLSTATE.versionConflict}',
                  DETAIL = pg_catalog.json_build_object('expected', NEW.version - 1, 'actual', OLD.version)::text;
        END IF;
        -- Raw SQL and ORMs: SET version = version + 1 (optimistic locking) or leave it as read.
        RAISE EXCEPTION 'appendlog: version conflict on % entry %: the statement sets version %, but the entry is at version % (a concurrent change came first)',
          ${t}, OLD.entry_id, NEW.version, OLD.version
          USING ERRCODE = '${SQLSTATE.versionConflict}', COLUMN = 'version',
                DETAIL = pg_catalog.json_build_object('expected', greatest(NEW.version - 1, 1), 'actual', OLD.version)::text,
                HINT = 'Set version = version + 1 to append the next version only if nobody else did, or leave version out.';
      END IF;
      IF NEW.op = 'insert' THEN
        RAISE EXCEPTION 'appendlog: % entry % already exists (version %)', ${t}, OLD.entry_id, OLD.version
          USING ERRCODE = '${SQLSTATE.uniqueViolation}', CONSTRAINT = ${quoteLiteral(`${o.table}_head_pkey`)};
      ELSIF OLD.op = 'forget' THEN
        -- Forgotten: only cancelForget, before the due time, may write (docs/erasure.md).
        SELECT l.op INTO prior_op FROM ${o.log} l WHERE l.entry_id = OLD.entry_id AND l.version = OLD.version - 1;
        PERFORM ${s}.appendlog_check_cancel_forget(${t}, OLD.entry_id, NEW.op, NEW.reason, NEW.meta, OLD.meta, prior_op);
        -- The cancel's own time, not only the clock when it was checked, is before the due time.
        IF NEW.recorded_at >= (OLD.meta -> 'erasure' ->> 'dueAt')::timestamptz THEN
          RAISE EXCEPTION 'appendlog: the erasure of % entry % was due at %; it can no longer be cancelled',
            ${t}, OLD.entry_id, OLD.meta -> 'erasure' ->> 'dueAt'
            USING ERRCODE = '${SQLSTATE.invalidState}';
        END IF;
      ELSIF NEW.op IN ('update', 'delete') AND OLD.deleted THEN
        RAISE EXCEPTION 'appendlog: % entry % is deleted; restore it first', ${t}, OLD.entry_id
          USING ERRCODE = '${SQLSTATE.notFound}';
      ELSIF NEW.op = 'restore' AND NOT OLD.deleted THEN
        RAISE EXCEPTION 'appendlog: % entry % is not deleted, so it cannot be restored', ${t}, OLD.entry_id
          USING ERRCODE = '${SQLSTATE.invalidState}';
      END IF;
      IF NEW.op IN ('delete', 'forget') AND coalesce(pg_catalog.btrim(NEW.reason), '') = '' THEN
        RAISE EXCEPTION 'appendlog: a % of % entry % needs a reason', NEW.op, ${t}, OLD.entry_id
          USING ERRCODE = '${SQLSTATE.reasonRequired}',
                HINT = 'Pass { reason } to the library, or in SQL call SELECT appendlog_context(reason => ''…'') in the same transaction first.';
      END IF;
    END IF;
`;
}

/**
 * SQL for the salt of version `version` of entry `entry` (docs/spec.md §4.1): the first 16 bytes of
 * SHA-256(session key ‖ entry id ‖ version). The session key is 32 bytes from the server's strong
 * random generator, drawn at a session's first write and kept in the session's memory only (the
 * session-level setting `appendlog.salt_key`); it is never stored, so once erasure has cleared a
 * version's salt nothing in the database can rebuild it. Drawing 16 random bytes per version cost
 * more than all the rest of the salt's work: PostgreSQL's strong random source took about 6 µs a
 * call here (docs/performance.md).
 */
function saltSql(entry: string, version: string, key: string = saltKeySql()): string {
  return `pg_catalog.substr(pg_catalog.sha256(${key}
      || pg_catalog.uuid_send(${entry}) || pg_catalog.int4send(${version})), 1, 16)`;
}

/** SQL for the session's salt key as bytes ({@link saltSql}), drawn first if the session has none. */
function saltKeySql(): string {
  return `pg_catalog.convert_to(coalesce(nullif(pg_catalog.current_setting('appendlog.salt_key', true), ''),
      pg_catalog.set_config('appendlog.salt_key', pg_catalog.encode(pg_catalog.uuid_send(pg_catalog.gen_random_uuid())
        || pg_catalog.uuid_send(pg_catalog.gen_random_uuid()), 'hex'), false)), 'UTF8')`;
}

/**
 * The end of the chain trigger, for every write: limits, the forget's metadata, deletion flag,
 * transaction, salt and both hashes; then the version's INSERT into the log (an insert's with a
 * precise duplicate error, an update's plain, since it holds the head row).
 */
function chainHashAndLogSql(o: TableObjects, columns: readonly StoredColumn[]): string {
  const t = quoteLiteral(o.table);
  const s = quoteIdent(o.schema);
  const cols = columns.map((c) => quoteIdent(c.sqlName));
  // The parent hash goes into the version hash, not into the row (it is derived).
  const logCols = [...STORED_VERSION_COLUMNS, ...cols];
  const logValues = logCols.map((c) =>
    c === 'salt' ? 'v_salt' : c === 'content_hash' ? 'v_content_hash' : `NEW.${c}`,
  );
  return `${labelLimitsSql('NEW.actor', 'NEW.reason', 'NEW.meta')}
  IF NEW.op = 'forget' THEN
    NEW.meta := ${s}.appendlog_forget_meta(NEW.meta, NEW.recorded_at);
  END IF;
  NEW.deleted := NEW.op IN ('delete', 'forget');
  NEW.redacted_at := NULL;
  NEW.tx_id := pg_catalog.pg_current_xact_id();
  v_salt := ${saltSql('NEW.entry_id', 'NEW.version')};
  v_content_hash := pg_catalog.sha256(v_salt || ${canonicalContentSql(o.schema, 'NEW', columns)});
  NEW.hash := ${versionHashSql(o.schema, o.table, 'NEW', { contentHash: 'v_content_hash' })};
  IF TG_OP = 'INSERT' THEN
    INSERT INTO ${o.log} (${logCols.join(', ')})
    VALUES (${logValues.join(', ')})
    ON CONFLICT DO NOTHING
    RETURNING seq INTO NEW.seq;
    IF NOT FOUND THEN
      -- Only an INSERT of an entry id the log holds gets here (every other write holds the head
      -- row): say what that entry is, under the SQLSTATE of any duplicate key.
      SELECT h.op, h.version INTO prior_op, NEW.version FROM ${o.head} h WHERE h.entry_id = NEW.entry_id;
      RAISE EXCEPTION 'appendlog: % entry % %', ${t}, NEW.entry_id,
        CASE prior_op WHEN 'forget' THEN 'is forgotten (awaiting erasure); its id cannot be reused'
                      WHEN 'delete' THEN ${quoteLiteral(`is deleted: restore it instead (restore() in the library, ${o.table}_restore(entry_id, reason) in SQL)`)}
                      ELSE 'already exists (version ' || coalesce(NEW.version::text, '1') || ')' END
        USING ERRCODE = '${SQLSTATE.uniqueViolation}', CONSTRAINT = ${quoteLiteral(`${o.table}_head_pkey`)},
              DETAIL = 'Key (entry_id)=(' || NEW.entry_id || ') already exists.';
    END IF;
    RETURN NEW;
  END IF;
  -- An update holds the head row: its version cannot be in the log yet.
  INSERT INTO ${o.log} (${logCols.join(', ')})
  VALUES (${logValues.join(', ')})
  RETURNING seq INTO NEW.seq;
  RETURN NEW;
`;
}

/**
 * The append function: any write by op, with the data as a JSON object keyed by SQL column name
 * (a patch for an update). Regenerated by migrate for the columns the database has, so it carries
 * every one, also those the calling code does not know: revert and the library's rarer writes use it.
 */
function appendFunctionDdl(o: TableObjects, columns: readonly StoredColumn[]): string {
  const cols = columns.map((c) => quoteIdent(c.sqlName));
  const defaults = assignDefaultsSql('r', columns);
  return `
CREATE OR REPLACE FUNCTION ${o.append}(
  p_op text, p_entry_id uuid, p_expected_version integer,
  p_actor text, p_reason text, p_meta jsonb, p_data jsonb
) RETURNS ${o.head}
LANGUAGE plpgsql ${PINNED_SEARCH_PATH} AS $fn$
DECLARE
  r ${o.head}%ROWTYPE;
BEGIN
  IF p_op = 'insert' THEN${indent(defaults, 4)}
    r := pg_catalog.jsonb_populate_record(r, coalesce(p_data, '{}'));
    INSERT INTO ${o.head} (entry_id, version, actor, reason, meta${cols.map((c) => `, ${c}`).join('')})
    VALUES (coalesce(p_entry_id, pg_catalog.gen_random_uuid()), p_expected_version, p_actor, p_reason, p_meta${cols
      .map((c) => `, r.${c}`)
      .join('')})
    RETURNING * INTO r;
    RETURN r;
  END IF;
  -- Lock the head first, then apply the patch to what it holds: a patch always lands on the latest.
  SELECT * INTO r FROM ${o.head} WHERE entry_id = p_entry_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'appendlog: % entry % does not exist', ${quoteLiteral(o.table)}, p_entry_id
      USING ERRCODE = '${SQLSTATE.notFound}';
  END IF;
  IF p_data IS NOT NULL THEN
    r := pg_catalog.jsonb_populate_record(r, p_data);
  END IF;${indent(fillRequiredDefaultsSql('r', columns), 2)}
  -- tx_id = NULL declares the op, actor, reason and meta; the named version is the expectation.
  UPDATE ${o.head}
     SET op = p_op, version = coalesce(p_expected_version, r.version) + 1, tx_id = NULL,
         actor = p_actor, reason = p_reason, meta = p_meta${cols.map((c) => `, ${c} = r.${c}`).join('')}
   WHERE entry_id = p_entry_id
  RETURNING * INTO r;
  RETURN r;
END $fn$;
`;
}

/** A row's position in a load: a dotted name, which no user column can have (names are `[a-z0-9_]`). */
const ORDINAL = '"load.n"';

/**
 * The set-based load: many new entries in one statement whatever their number, each version
 * hashed to the same bytes as the chain trigger hashes an insert, logged, then put in the head.
 * The fields every row of a load shares (transaction, labels, the null parent) go into the hash
 * preimage once per call, not once per row, and `seq` is drawn from the log's identity up front,
 * so the head's INSERT needs nothing back from the log's (docs/performance.md, revision 6). The log admits the INSERT because this function registered the load in
 * `appendlog_bulk_loads` for its own transaction; the head's chain trigger is switched off for
 * the head's INSERT alone (these rows are chained already; running the trigger for each only to
 * let it through cost a third of the load). Both are undone before the function returns, and by
 * any error with it, so no later statement of the transaction can pass rows off as loaded. The
 * switch takes the head's SHARE ROW EXCLUSIVE lock: other writes of the table wait for the
 * loading transaction, reads do not. Rows are JSON objects keyed by SQL column name, `entry_id`
 * optional; columns a row leaves out get their defaults. SECURITY DEFINER, like the chain
 * trigger: it writes the log and switches the trigger as the owner.
 */
function insertManyFunctionDdl(o: TableObjects, columns: readonly StoredColumn[]): string {
  const t = quoteLiteral(o.table);
  const cols = columns.map((c) => quoteIdent(c.sqlName));
  const loads = catalogName(o.schema, 'appendlog_bulk_loads');
  const defaults: Record<string, unknown> = {};
  for (const c of columns) if (c.default !== undefined) defaults[c.sqlName] = c.default;
  // The row's fields, typed: a key a row leaves out is null, or the column's default when it has one.
  const recordCols = ['entry_id uuid', ...columns.map((c) => `${quoteIdent(c.sqlName)} ${c.type}`)].join(
    ', ',
  );
  const rows =
    Object.keys(defaults).length === 0
      ? `ROWS FROM (pg_catalog.jsonb_to_recordset(p_rows) AS (${recordCols})) WITH ORDINALITY AS r(entry_id${cols.map((c) => `, ${c}`).join('')}, ${ORDINAL})`
      : `pg_catalog.jsonb_array_elements(p_rows) WITH ORDINALITY AS e(j, ${ORDINAL}),
           LATERAL pg_catalog.jsonb_to_record(${quoteLiteral(JSON.stringify(defaults).replaceAll('$', '\\u0024'))}::jsonb || e.j) AS r(${recordCols})`;
  const n = `${Object.keys(defaults).length === 0 ? 'r' : 'e'}.${ORDINAL}`;
  // Every version of one load shares its op, version, transaction, labels and (null) parent.
  const shared = {
    entry_id: 'h.entry_id',
    version: '1',
    op: "'insert'",
    tx_id: 'v_tx',
    actor: 'v_actor',
    reason: 'v_reason',
    meta: 'v_meta',
    salt: 'h.salt',
    hash: 'h.hash',
  } as Record<string, string>;
  const logCols = ['seq', ...STORED_VERSION_COLUMNS, ...cols];
  const logValues = logCols.map((c) => shared[c] ?? `h.${c}`);
  // What the head holds of the version row, its own bookkeeping aside (no salt, content hash or parent).
  const headCols = [
    ...VERSION_COLUMNS.filter((c) => c !== 'salt' && c !== 'content_hash' && c !== 'parent_hash'),
    'seq',
    'deleted',
    'created_at',
    ...cols,
  ];
  const headValues = headCols.map((c) =>
    c === 'deleted' ? 'false' : c === 'created_at' ? 'h.recorded_at' : (shared[c] ?? `h.${c}`),
  );
  return `
CREATE OR REPLACE FUNCTION ${o.insertMany}(p_rows jsonb, p_actor text, p_reason text, p_meta jsonb)
RETURNS SETOF ${o.head}
LANGUAGE plpgsql SECURITY DEFINER ${PINNED_SEARCH_PATH} AS $fn$
DECLARE
  v_actor text := p_actor;
  v_reason text := p_reason;
  v_meta jsonb := p_meta;
  v_tx xid8 := pg_catalog.pg_current_xact_id();
  v_shared bytea;
  v_seq regclass := pg_catalog.pg_get_serial_sequence(${quoteLiteral(o.log)}, 'seq')::regclass;
  v_allow_ddl text;
  -- Read once for the whole load, not once per row.
  v_salt_key bytea := ${saltKeySql()};
BEGIN
  IF pg_catalog.jsonb_typeof(p_rows) IS DISTINCT FROM 'array' THEN
    RAISE EXCEPTION 'appendlog: insert_many takes a JSON array of rows'
      USING ERRCODE = '${SQLSTATE.invalidInput}', DETAIL = 'field=rows';
  END IF;
${labelsFromSettingsSql('v_actor', 'v_reason', 'v_meta')}
${labelLimitsSql('v_actor', 'v_reason', 'v_meta')}
  v_shared := ${firstVersionSharedFieldsSql('v_tx', 'v_actor', 'v_reason', 'v_meta')};
  INSERT INTO ${loads} (tx_id, table_name) VALUES (v_tx, ${t});
  -- The DDL guard (docs/sql-and-orms.md) lets appendlog's own switch through, and only it.
  v_allow_ddl := pg_catalog.current_setting('appendlog.allow_ddl', true);
  PERFORM pg_catalog.set_config('appendlog.allow_ddl', 'on', true);
  ALTER TABLE ${o.head} DISABLE TRIGGER appendlog_chain;
  -- The chain trigger, which sends the wake-up of other writes, is off: the load sends its own.
${notifySql('  ', quoteLiteral(o.schema))}
  -- One statement for the whole load: the log's rows and the head's, each in the order of p_rows,
  -- with seq drawn up front so that the head's INSERT needs nothing back from the log's.
  RETURN QUERY
  WITH src AS (
    SELECT coalesce(r.entry_id, pg_catalog.gen_random_uuid()) AS entry_id, pg_catalog.nextval(v_seq) AS seq,
           pg_catalog.clock_timestamp() AS recorded_at${cols.map((c) => `, r.${c}`).join('')}, ${n} AS ${ORDINAL}
      FROM ${rows}
  ), salted AS (
    SELECT s.*, ${saltSql('s.entry_id', '1', 'v_salt_key')} AS salt FROM src s
  ), contented AS (
    SELECT s.*, pg_catalog.sha256(s.salt || ${canonicalContentSql(o.schema, 's', columns)}) AS content_hash
      FROM salted s
  ), hashed AS (
    SELECT c.*, ${firstVersionHashSql(o.table, 'c.entry_id', 'c.recorded_at', 'v_shared', 'c.content_hash')} AS hash
      FROM contented c
  ), logged AS (
    INSERT INTO ${o.log} (${logCols.join(', ')}) OVERRIDING SYSTEM VALUE
    SELECT ${logValues.join(', ')}
      FROM hashed h ORDER BY h.${ORDINAL}
  )
  INSERT INTO ${o.head} AS x (${headCols.join(', ')})
  SELECT ${headValues.join(', ')}
    FROM hashed h ORDER BY h.${ORDINAL}
  RETURNING x.*;
  ALTER TABLE ${o.head} ENABLE TRIGGER appendlog_chain;
  PERFORM pg_catalog.set_config('appendlog.allow_ddl', coalesce(v_allow_ddl, ''), true);
  DELETE FROM ${loads} WHERE tx_id = v_tx AND table_name = ${t};
END $fn$;
-- It writes as the owner: only roles migrate grants it to may call it.
REVOKE ALL ON FUNCTION ${o.insertMany}(jsonb, text, text, jsonb) FROM PUBLIC;
`;
}

/**
 * The writes SQL clients and ORMs cannot spell on the view: an upsert (`ON CONFLICT` cannot target
 * a view) and a restore (an UPDATE of the view cannot reach a deleted entry, which it hides). Both
 * go through the append function, so they chain like every other write.
 *
 * `<t>_upsert(data, actor, reason, meta)`: `data` is a JSON object keyed by SQL column name with
 * the `entry_id`; a live entry gets the other keys as a patch (a new version), an unknown id starts
 * an entry with them, a deleted one is refused (restore it first). Two upserts of one new id at
 * once: the one that loses the insert updates what the other inserted.
 */
function sqlWritesDdl(o: TableObjects): string {
  const t = quoteLiteral(o.table);
  return `
CREATE OR REPLACE FUNCTION ${o.upsert}(data jsonb, actor text DEFAULT NULL, reason text DEFAULT NULL, meta jsonb DEFAULT NULL)
RETURNS ${o.head}
LANGUAGE plpgsql ${PINNED_SEARCH_PATH} AS $fn$
DECLARE
  v_id uuid;
BEGIN
  IF pg_catalog.jsonb_typeof($1) IS DISTINCT FROM 'object' OR NOT ($1 ? 'entry_id') THEN
    RAISE EXCEPTION 'appendlog: %_upsert takes a JSON object of columns with the entry_id', ${t}
      USING ERRCODE = '${SQLSTATE.invalidInput}', DETAIL = 'field=entry_id';
  END IF;
  v_id := ($1 ->> 'entry_id')::uuid;
  LOOP
    PERFORM 1 FROM ${o.head} h WHERE h.entry_id = v_id FOR UPDATE;
    IF FOUND THEN
      RETURN ${o.append}('update', v_id, NULL, $2, $3, $4, $1 - 'entry_id');
    END IF;
    BEGIN
      RETURN ${o.append}('insert', v_id, NULL, $2, $3, $4, $1 - 'entry_id');
    EXCEPTION WHEN unique_violation THEN
      -- Another transaction inserted this id first: go round and update it.
    END;
  END LOOP;
END $fn$;

CREATE OR REPLACE FUNCTION ${o.restore}(entry_id uuid, reason text, actor text DEFAULT NULL, meta jsonb DEFAULT NULL)
RETURNS ${o.head}
LANGUAGE sql ${PINNED_SEARCH_PATH} AS $fn$
  SELECT * FROM ${o.append}('restore', $1, NULL, $3, $2, $4, NULL)
$fn$;
`;
}

/**
 * The view: the live entries, straight from the head. It is a simple view, so PostgreSQL turns
 * an INSERT or UPDATE of it into one of the head, where the chain trigger appends the version;
 * a DELETE appends a tombstone through its INSTEAD OF trigger (a DELETE of the head is refused).
 */
function viewDdl(o: TableObjects, columns: readonly StoredColumn[]): string {
  const cols = columns.map((c) => quoteIdent(c.sqlName));
  return `
CREATE OR REPLACE VIEW ${o.view} AS
SELECT h.entry_id, h.version, h.created_at, h.recorded_at AS updated_at${cols.map((c) => `, h.${c}`).join('')}
  FROM ${o.head} h
 WHERE NOT h.deleted;
${columns
  .filter((c) => c.default !== undefined)
  .map((c) => `${viewDefaultDdl(o, c)}\n`)
  .join('')}
CREATE OR REPLACE FUNCTION ${o.viewWriteFn}() RETURNS trigger
LANGUAGE plpgsql ${PINNED_SEARCH_PATH} AS $fn$
DECLARE
  actual integer;
BEGIN
  -- A tombstone of the version this statement read: a concurrent commit in between is a conflict.
  UPDATE ${o.head} SET op = 'delete' WHERE entry_id = OLD.entry_id AND version = OLD.version;
  IF NOT FOUND THEN
    SELECT version INTO actual FROM ${o.head} WHERE entry_id = OLD.entry_id;
    RAISE EXCEPTION 'appendlog: version conflict on % entry %: expected version %, found %',
      ${quoteLiteral(o.table)}, OLD.entry_id, OLD.version, actual
      USING ERRCODE = '${SQLSTATE.versionConflict}',
            DETAIL = pg_catalog.json_build_object('expected', OLD.version, 'actual', actual)::text;
  END IF;
  RETURN OLD;
END $fn$;

DROP TRIGGER IF EXISTS appendlog_view_write ON ${o.view};
CREATE TRIGGER appendlog_view_write INSTEAD OF DELETE ON ${o.view}
  FOR EACH ROW EXECUTE FUNCTION ${o.viewWriteFn}();
`;
}

/**
 * `<t>_as_of(at)`: a SQL function, which PostgreSQL inlines into the query calling it. Citus does
 * not plan a parameterised SQL function over distributed tables, so on a row-sharded table it is
 * plpgsql, whose query Citus plans as any other (each entry's probe runs on its shard's worker).
 */
function asOfFunctionDdl(o: TableObjects, columns: readonly StoredColumn[], sharded: boolean): string {
  const cols = columns.map((c) => quoteIdent(c.sqlName));
  const outCols = columns.map((c) => `${quoteIdent(c.sqlName)} ${c.type}`);
  const select = `SELECT h.entry_id, l.version, h.created_at, l.recorded_at${cols.map((c) => `, l.${c}`).join('')}
    ${asOfFromSql(o, '$1')}`;
  return `
DROP FUNCTION IF EXISTS ${o.asOf}(timestamptz);
CREATE FUNCTION ${o.asOf}(at timestamptz)
RETURNS TABLE (entry_id uuid, version integer, created_at timestamptz, updated_at timestamptz${outCols
    .map((c) => `, ${c}`)
    .join('')})
${
  sharded
    ? `LANGUAGE plpgsql STABLE AS $fn$
BEGIN
  RETURN QUERY ${select};
END $fn$;`
    : `LANGUAGE sql STABLE AS $fn$
  ${select}
$fn$;`
}
`;
}

function indent(lines: readonly string[], spaces: number): string {
  return lines.map((l) => `\n${' '.repeat(spaces)}${l}`).join('');
}
