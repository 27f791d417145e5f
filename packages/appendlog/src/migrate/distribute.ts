import { InvalidUsageError } from '../errors.js';
import { quoteLiteral } from '../schema/names.js';
import type { TableDef } from '../schema/table.js';
import { catalogName, tableObjects } from '../sql/names.js';
import { op } from '../sql/search-path.js';
import type { SqlRunner } from './sql-runner.js';

/** Whether the server is Citus (its library, once loaded, defines `citus.version`). */
export async function isCitus(tx: SqlRunner): Promise<boolean> {
  const [row] = await tx.run<{ citus: boolean }>(
    `SELECT pg_catalog.current_setting('citus.version', true) IS NOT NULL AS citus`,
  );
  return row?.citus === true;
}

/**
 * The settings a migration needs on Citus, for its transaction only: triggers on distributed
 * tables (Citus refuses to create them otherwise; appendlog's triggers write only co-located
 * shards of the same entry, or, per tenant schema, the same worker), and DDL sent one shard at a
 * time (a parallel ALTER TABLE over the shards forbids the CREATE FUNCTION that follows it).
 */
export const CITUS_MIGRATION_SETTINGS = [
  `SET LOCAL citus.enable_unsafe_triggers = on`,
  `SET LOCAL citus.multi_shard_modify_mode = 'sequential'`,
];

interface SchemaState {
  /** The schema is distributed whole (schema-based sharding, `citus_schema_distribute`). */
  tenantSchema: boolean;
  /** `appendlog_erasures` is hash-distributed: the schema's tables are row-sharded. */
  rowSharded: boolean;
  /** The schema's erasure records exist and hold a row. */
  erasuresHoldRows: boolean;
  /** Every appendlog table of the schema (a head carrying the chain trigger), and whether it is hash-distributed. */
  tables: Map<string, boolean>;
}

async function readState(tx: SqlRunner, schema: string): Promise<SchemaState> {
  const erasures = catalogName(schema, 'appendlog_erasures');
  const [row] = await tx.run<{ tenant: boolean; sharded: boolean; erasures: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_dist_schema s WHERE s.schemaid ${op('=')} pg_catalog.to_regnamespace($1)::oid) AS tenant,
            EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p
                     WHERE p.logicalrelid ${op('=')} pg_catalog.to_regclass($2) AND p.partmethod ${op('=')} 'h') AS sharded,
            pg_catalog.to_regclass($2) IS NOT NULL AS erasures`,
    [schema, erasures],
  );
  let erasuresHoldRows = false;
  if (row?.erasures) {
    const [any] = await tx.run<{ rows: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${erasures}) AS rows`);
    erasuresHoldRows = any?.rows === true;
  }
  const heads = await tx.run<{ t: string; sharded: boolean }>(
    `SELECT pg_catalog.left(c.relname, -5) AS t,
            EXISTS (SELECT 1 FROM pg_catalog.pg_dist_partition p WHERE p.logicalrelid ${op('=')} c.oid AND p.partmethod ${op('=')} 'h') AS sharded
       FROM pg_catalog.pg_trigger g
       JOIN pg_catalog.pg_class c ON c.oid ${op('=')} g.tgrelid
       JOIN pg_catalog.pg_namespace n ON n.oid ${op('=')} c.relnamespace
      WHERE n.nspname ${op('=')} $1 AND g.tgname ${op('=')} 'appendlog_chain' AND NOT g.tgisinternal`,
    [schema],
  );
  return {
    tenantSchema: row?.tenant === true,
    rowSharded: row?.sharded === true,
    erasuresHoldRows,
    tables: new Map(heads.map((h) => [h.t, h.sharded])),
  };
}

/**
 * Row sharding on Citus (docs/scale-out.md, "Row-sharded tables on Citus"): the statements that
 * distribute `tables` by `entry_id`, all co-located, so that every write of an entry (its head,
 * its log, its erasure record) lands on the one worker holding that entry's shards and the chain
 * trigger runs there. The anchor of the colocation group is the schema's erasure records, which
 * the erasure triggers on the workers read and write with the entry's own shards. A schema is
 * row-sharded whole: its tables are all distributed or none are. Refuses, before anything runs,
 * what cannot be done: no Citus, a tenant schema, a schema with tables that are not
 * distributed, erasure records already written.
 *
 * Without `distributed`, refuses only a new table in a row-sharded schema. `sharded`: the schema's
 * tables are (or are about to be) row-sharded, and their code is generated for it.
 */
export async function planDistribution(
  tx: SqlRunner,
  schema: string,
  tables: readonly TableDef[],
  distributed: boolean,
  citus: boolean,
): Promise<{ statements: string[]; sharded: boolean }> {
  if (!citus) {
    if (distributed) {
      throw new InvalidUsageError(
        'migrate() option distributed shards the tables on Citus, and this server is not a Citus coordinator (no citus.version): leave it out on PostgreSQL',
      );
    }
    return { statements: [], sharded: false };
  }
  const state = await readState(tx, schema);
  const fresh = tables.filter((t) => !state.tables.has(t.name));
  if (!distributed) {
    if (state.rowSharded && fresh.length > 0) {
      throw new InvalidUsageError(
        `schema ${schema} is row-sharded: its tables are distributed by entry_id, so a new table (${fresh
          .map((t) => t.name)
          .join(', ')}) must be too: pass { distributed: true } (appendlog migrate --distributed)`,
      );
    }
    return { statements: [], sharded: state.rowSharded };
  }
  if (state.tenantSchema) {
    throw new InvalidUsageError(
      `schema ${schema} is distributed whole by Citus (citus_schema_distribute): its tables already live on one worker and cannot also be row-sharded; leave out { distributed: true }, or use another schema`,
    );
  }
  const local = [...state.tables].filter(([, sharded]) => !sharded).map(([t]) => t);
  if (local.length > 0) {
    throw new InvalidUsageError(
      `schema ${schema} holds appendlog tables that are not distributed (${local.join(', ')}): a schema is row-sharded whole, since its tables share the erasure records; create the distributed tables in a new schema`,
    );
  }
  const statements: string[] = [];
  const erasures = catalogName(schema, 'appendlog_erasures');
  if (!state.rowSharded) {
    if (state.erasuresHoldRows) {
      throw new InvalidUsageError(
        `schema ${schema} already holds erasure records: a schema is row-sharded from its first table on; create the distributed tables in a new schema`,
      );
    }
    // Citus requires every unique key of a distributed table to hold its distribution column.
    statements.push(
      `ALTER TABLE ${erasures} DROP CONSTRAINT appendlog_erasures_pkey`,
      `ALTER TABLE ${erasures} ADD CONSTRAINT appendlog_erasures_pkey PRIMARY KEY (entry_id, seq)`,
      `SELECT create_distributed_table(${quoteLiteral(erasures)}, 'entry_id', colocate_with => 'none')`,
      // Read by the log's insert guard on every node; written only by set-based loads, which
      // row-sharded tables do not use.
      `SELECT create_reference_table(${quoteLiteral(catalogName(schema, 'appendlog_bulk_loads'))})`,
    );
  }
  for (const t of fresh) {
    const o = tableObjects(schema, t.name);
    statements.push(
      `SELECT create_distributed_table(${quoteLiteral(o.head)}, 'entry_id', colocate_with => ${quoteLiteral(erasures)})`,
      `SELECT create_distributed_table(${quoteLiteral(o.log)}, 'entry_id', colocate_with => ${quoteLiteral(erasures)})`,
    );
  }
  return { statements, sharded: true };
}
