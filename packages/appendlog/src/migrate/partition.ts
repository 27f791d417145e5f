import { InvalidUsageError } from '../errors.js';
import { quoteIdent, quoteLiteral } from '../schema/names.js';
import type { TableDef } from '../schema/table.js';
import { erasureObjects } from '../sql/erasure-ddl.js';
import { tableObjects } from '../sql/names.js';
import { op } from '../sql/search-path.js';
import type { SqlRunner } from './sql-runner.js';

/**
 * Range-partitioned logs (docs/scale-out.md, "Range-partitioned logs and archives"): a table's log
 * partitioned by range of `tx_id`, so that what a checkpoint covers can leave the database as a
 * whole partition (`db.archive`). The log's own triggers stay on the partitioned table, where every
 * write goes; each partition carries the statement triggers too, since a statement on a partition
 * fires only the partition's: without them an INSERT, DELETE or TRUNCATE naming a partition would
 * pass the log's guard.
 *
 * The partitions, by bound: `<t>_log_p<n>`, FROM the latest archive's horizon (or MINVALUE) TO
 * MAXVALUE, where writes land; after an archive, `<t>_log_k<n>`, FROM MINVALUE TO that horizon,
 * the versions kept at the boundary (each entry's last archived one, whose successor links to it).
 * `n` is the archive's number (0 before any).
 */

/** The name of a log partition of `table`: the live one (`p`), or the boundary's (`k`), of archive `n`. */
export function partitionName(table: string, kind: 'p' | 'k', n: number): string {
  return `${table}_log_${kind}${n}`;
}

/** A partition of a log, with its range of `tx_id` (null: MINVALUE or MAXVALUE). */
export interface LogPartition {
  name: string;
  from: string | null;
  to: string | null;
}

/** The partitions of `table`'s log, or null when its log is not partitioned (or does not exist). */
export async function logPartitions(
  tx: SqlRunner,
  schema: string,
  table: string,
): Promise<LogPartition[] | null> {
  const o = tableObjects(schema, table);
  const [kind] = await tx.run<{ kind: string | null }>(
    `SELECT c.relkind::text AS kind FROM pg_catalog.pg_class c WHERE c.oid ${op('=')} pg_catalog.to_regclass($1)`,
    [o.log],
  );
  if (kind?.kind !== 'p') return null;
  const rows = await tx.run<{ name: string; bound: string }>(
    `SELECT c.relname AS name, pg_catalog.pg_get_expr(c.relpartbound, c.oid) AS bound
       FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid ${op('=')} i.inhrelid
      WHERE i.inhparent ${op('=')} pg_catalog.to_regclass($1)
      ORDER BY c.relname`,
    [o.log],
  );
  return rows.map((r) => {
    // FOR VALUES FROM (MINVALUE) TO ('812'), as pg_get_expr prints a range bound.
    const m = /FROM \((.+)\) TO \((.+)\)/.exec(r.bound);
    const value = (v: string | undefined) =>
      v === undefined || v === 'MINVALUE' || v === 'MAXVALUE' ? null : v.replace(/^'|'(::xid8)?$/g, '');
    return { name: r.name, from: value(m?.[1]), to: value(m?.[2]) };
  });
}

/**
 * The statement triggers of the log, on relation `rel` (the log or one of its partitions): an
 * INSERT only from the chain trigger or a set-based load, no DELETE, no TRUNCATE. (The row
 * trigger refusing UPDATE and DELETE is the log's, which PostgreSQL clones onto every partition.)
 */
export function logStatementTriggersDdl(schema: string, rel: string): string {
  const s = quoteIdent(schema);
  const r = `${s}.${quoteIdent(rel)}`;
  return `
CREATE TRIGGER appendlog_refuse_insert BEFORE INSERT ON ${r}
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.appendlog_guard_log_insert();
CREATE TRIGGER appendlog_refuse_delete BEFORE DELETE ON ${r}
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.appendlog_refuse();
CREATE TRIGGER appendlog_refuse_truncate BEFORE TRUNCATE ON ${r}
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.appendlog_refuse();`;
}

/** The non-dropped columns of `rel`, in order, quoted: the column list rows are copied with. */
export async function columnList(tx: SqlRunner, rel: string): Promise<string[]> {
  const rows = await tx.run<{ name: string }>(
    `SELECT a.attname AS name FROM pg_catalog.pg_attribute a
      WHERE a.attrelid ${op('=')} pg_catalog.to_regclass($1) AND a.attnum ${op('>')} 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [rel],
  );
  return rows.map((r) => quoteIdent(r.name));
}

/**
 * Turns `table`'s log into a log partitioned by range of `tx_id`, without copying a row: the table
 * becomes the partition `<t>_log_p0` (every transaction id, MINVALUE to MAXVALUE) of a new
 * partitioned `<t>_log` with the same columns, checks, indexes, triggers and SELECT grants. The new
 * log's `seq` identity continues after the old one's last value. The key `(entry_id, version)`
 * stays on each partition: a partitioned table's unique keys must hold the partitioning column,
 * so the log as a whole has none; the head's row lock, which serialises an entry's writers, and
 * the chain trigger's version numbering are what keep versions unique across partitions, and
 * `verify` reports a duplicate (`version_duplicate`).
 */
export function partitionLogDdl(schema: string, table: string): string {
  const o = tableObjects(schema, table);
  const s = quoteIdent(schema);
  const p0 = partitionName(table, 'p', 0);
  const live = `${s}.${quoteIdent(p0)}`;
  const idx = (name: string) => `${s}.${quoteIdent(name)}`;
  return `
LOCK TABLE ${o.log} IN ACCESS EXCLUSIVE MODE;
ALTER TABLE ${o.log} RENAME TO ${quoteIdent(p0)};
ALTER INDEX ${idx(`${table}_log_pkey`)} RENAME TO ${quoteIdent(`${p0}_pkey`)};
ALTER INDEX ${idx(`${table}_log_entry_time_idx`)} RENAME TO ${quoteIdent(`${p0}_entry_time_idx`)};
ALTER INDEX ${idx(`${table}_log_tx_idx`)} RENAME TO ${quoteIdent(`${p0}_tx_idx`)};
DROP TRIGGER appendlog_refuse_change ON ${live};
CREATE TABLE ${o.log} (LIKE ${live} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)
  PARTITION BY RANGE (tx_id);
ALTER TABLE ${live} ALTER COLUMN seq DROP IDENTITY;
ALTER TABLE ${o.log} ALTER COLUMN seq ADD GENERATED ALWAYS AS IDENTITY;
SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence(${quoteLiteral(o.log)}, 'seq'),
       COALESCE((SELECT pg_catalog.max(seq) FROM ${live}), 1),
       (SELECT pg_catalog.max(seq) IS NOT NULL FROM ${live}));
CREATE INDEX ${quoteIdent(`${table}_log_entry_time_idx`)} ON ${o.log} (entry_id, recorded_at);
CREATE INDEX ${quoteIdent(`${table}_log_tx_idx`)} ON ${o.log} (tx_id, seq);
ALTER TABLE ${o.log} ATTACH PARTITION ${live} FOR VALUES FROM (MINVALUE) TO (MAXVALUE);
CREATE TRIGGER appendlog_refuse_change BEFORE UPDATE OR DELETE ON ${o.log}
  FOR EACH ROW EXECUTE FUNCTION ${erasureObjects(o).guard}();${logStatementTriggersDdl(schema, `${table}_log`)}
DO $do$ DECLARE g record; BEGIN
  FOR g IN SELECT DISTINCT a.grantee::regrole::text AS r
             FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
            WHERE c.oid OPERATOR(pg_catalog.=) ${quoteLiteral(live)}::regclass AND a.privilege_type OPERATOR(pg_catalog.=) 'SELECT'
              AND a.grantee OPERATOR(pg_catalog.<>) c.relowner AND a.grantee OPERATOR(pg_catalog.<>) 0 LOOP
    EXECUTE pg_catalog.format('GRANT SELECT ON %s TO %s', ${quoteLiteral(o.log)}, g.r);
  END LOOP;
END $do$;`;
}

/**
 * The statements partitioning the logs of `tables` (docs/scale-out.md, "Range-partitioned logs"),
 * run after the plan has created any new table. A schema's logs are partitioned all or none, since
 * an archive takes every table's versions below one horizon: with `partitioned`, every table given
 * is partitioned (an existing log converted in place), and refused where a log of the schema that
 * is not given stays whole; without it, a new table of a schema whose logs are partitioned is
 * refused. Not on Citus, nor for a logical replication subscriber's copies.
 */
export async function planPartitioning(
  tx: SqlRunner,
  schema: string,
  tables: readonly TableDef[],
  options: { partitioned: boolean; citus: boolean; subscriber: boolean },
): Promise<string[]> {
  const logs = await tx.run<{ t: string; partitioned: boolean }>(
    `SELECT pg_catalog.left(c.relname::text, -4) AS t, c.relkind ${op('=')} 'p' AS partitioned
       FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid ${op('=')} c.relnamespace
       JOIN pg_catalog.pg_class h ON h.relnamespace ${op('=')} c.relnamespace
                                 AND h.relname::text ${op('=')} (pg_catalog.left(c.relname::text, -4) ${op('||')} '_head')
      WHERE n.nspname ${op('=')} $1 AND pg_catalog.right(c.relname::text, 4) ${op('=')} '_log' AND c.relkind IN ('r', 'p')
        AND EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE g.tgrelid ${op('=')} h.oid AND g.tgname ${op('=')} 'appendlog_chain')`,
    [schema],
  );
  const state = new Map(logs.map((l) => [l.t, l.partitioned]));
  const anyPartitioned = logs.some((l) => l.partitioned);
  const given = new Set(tables.map((t) => t.name));
  if (!options.partitioned) {
    const fresh = tables.filter((t) => !state.has(t.name)).map((t) => t.name);
    if (anyPartitioned && fresh.length > 0) {
      throw new InvalidUsageError(
        `schema ${schema} has range-partitioned logs, which an archive takes together: a new table (${fresh.join(', ')}) must be partitioned too: pass { partitioned: true } (appendlog migrate --partitioned)`,
      );
    }
    return [];
  }
  if (options.citus) {
    throw new InvalidUsageError(
      'migrate() option partitioned is for one PostgreSQL server: on Citus, grow by row sharding ({ distributed: true })',
    );
  }
  if (options.subscriber) {
    throw new InvalidUsageError(
      "migrate() options partitioned and subscriber do not go together: a subscriber's copies follow the publisher's logs, partitioned or not",
    );
  }
  const left = [...state].filter(([t, p]) => !p && !given.has(t)).map(([t]) => t);
  if (left.length > 0) {
    throw new InvalidUsageError(
      `schema ${schema} holds logs that would stay whole (${left.join(', ')}): an archive takes every table's versions below one horizon, so a schema's logs are partitioned all or none: list every table (or pass all: true)`,
    );
  }
  return tables.filter((t) => state.get(t.name) !== true).map((t) => partitionLogDdl(schema, t.name));
}
