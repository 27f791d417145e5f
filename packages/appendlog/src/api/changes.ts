import { InvalidInputError, InvalidStateError, NotFoundError } from '../errors.js';
import { latestArchive } from '../integrity/leaves.js';
import { findShardedLogs, refuseTxIdsAhead } from '../integrity/tx-ids-ahead.js';
import type { ColumnType } from '../schema/column.js';
import { column } from '../schema/column.js';
import { quoteLiteral } from '../schema/names.js';
import { type ColumnMap, type TableDef, table } from '../schema/table.js';
import type { Session } from '../session.js';
import { catalog } from '../sql/catalog-reader.js';
import { tableObjects } from '../sql/names.js';
import { type ChangesResult, groupChangeSets } from './change-set.js';
import { shardedChanges } from './changes-sharded.js';
import { versionProjection } from './codec.js';

export type { ChangedVersion, ChangeSet, ChangesResult } from './change-set.js';

/**
 * What `db.changes` reads: change sets after the cursor `since`, at most `limit` of them.
 *
 * @example
 * let cursor: string | null = null;
 * const { changes, cursor: next } = await db.changes({ since: cursor, limit: 100 });
 * cursor = next; // store it; the next call continues after the last change set returned
 */
export interface ChangesOptions {
  /** The cursor of a previous call (a transaction id); omit or null to start at the beginning. */
  since?: string | null;
  /** How many change sets (transactions) to return at most; default 100. A set is never split. */
  limit?: number;
  /**
   * The tables to read, whose definitions also give the `data` keys. Default: every table of
   * the schema history, with `data` keyed by SQL column names (the definitions are not known).
   */
  tables?: readonly TableDef[];
}

const XID8 = /^\d{1,20}$/;
const XID8_MAX = 2n ** 64n - 1n;
const DEFAULT_LIMIT = 100;

/** `since` checked as a cursor `changes` returned (a transaction id), or null. */
export function checkSince(given: unknown): string | null {
  const since = given ?? null;
  if (since !== null && (typeof since !== 'string' || !XID8.test(since) || BigInt(since) > XID8_MAX)) {
    throw new InvalidInputError('since must be a cursor returned by changes() (a transaction id)', 'since');
  }
  return since;
}

/**
 * Reads change sets. Only transactions below the reader's snapshot xmin horizon are returned:
 * every transaction below it has ended, so no version can later appear before the cursor, and
 * a slower transaction that is still open holds back the ones that committed after it
 * (DESIGN invariant 8). Readers poll, or wake on LISTEN/NOTIFY, and pass the cursor on.
 * Refuses (`tx_ids_ahead`) a log restored from a cluster whose transaction ids are ahead of this
 * one's, and a cursor from such a cluster (docs/operations.md).
 */
export async function changes(db: Session, options: ChangesOptions = {}): Promise<ChangesResult> {
  if (typeof options !== 'object' || options === null)
    throw new InvalidInputError('changes options must be an object', 'options');
  const given = options.since ?? null;
  if (given !== null && typeof given !== 'string') {
    throw new InvalidInputError('since must be a cursor returned by changes()', 'since');
  }
  const limit = options.limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1)
    throw new InvalidInputError('limit must be a positive integer', 'limit');
  if (options.tables !== undefined && !Array.isArray(options.tables)) {
    throw new InvalidInputError('tables must be an array of table definitions', 'tables');
  }
  const defs = await tablesToRead(db, options.tables);
  if (defs.length === 0) return { changes: [], cursor: checkSince(given) };
  // A row-sharded schema's versions carry several nodes' transaction ids: read them per node.
  const sharded = await findShardedLogs(
    db,
    defs.map((d) => d.name),
  );
  if (sharded.length > 0) return shardedChanges(db, defs, given, limit);
  const since = await afterArchive(db, checkSince(given));
  // Restored from a cluster ahead of this one, or given a cursor from one, the horizon would hide
  // versions or skip new ones.
  await refuseTxIdsAhead(
    db,
    'changes',
    defs.map((d) => d.name),
    since,
  );
  const rows = await db.run<{ table_name: string; row: string }>(
    changesSql(db.schema, defs),
    [since ?? '0', limit],
    true,
  );
  const sets = groupChangeSets(defs, rows);
  return { changes: sets, cursor: sets.at(-1)?.txId ?? since };
}

/**
 * After an archive (docs/scale-out.md, "Range-partitioned logs and archives") the feed starts at
 * its horizon: the versions below it left the logs (but each entry's last one, which a reader that
 * was there has seen). A cursor below the last transaction that wrote an archived version would
 * miss versions: refused, saying where they went.
 */
async function afterArchive(db: Session, since: string | null): Promise<string | null> {
  const archive = await latestArchive(db);
  if (archive === null) return since;
  const start = String(BigInt(archive.horizon) - 1n);
  if (since === null) return start;
  if (archive.lastTxId !== null && BigInt(since) < BigInt(archive.lastTxId)) {
    throw new InvalidStateError(
      `changes refused: the cursor ${since} is below transaction ${archive.lastTxId}, whose versions archive ${archive.id} took out of the logs: read them from that archive's export, then go on from ${start}`,
    );
  }
  return BigInt(since) < BigInt(start) ? start : since;
}

interface CatalogColumn {
  sqlName: string;
  type: ColumnType;
  notNull: boolean;
}

/** The tables to read: the ones given (checked against the catalog) or all the catalog knows. */
async function tablesToRead(db: Session, given: readonly TableDef[] | undefined): Promise<TableDef[]> {
  const known = new Map<string, CatalogColumn[]>();
  for (const [table, def] of await catalog.latestDefinitions(db, db.schema)) {
    known.set(table, def.columns as CatalogColumn[]);
  }
  if (given !== undefined) {
    return given.map((def) => {
      if (!def || typeof def.name !== 'string' || !Array.isArray(def.columns)) {
        throw new InvalidInputError('tables must be table definitions made with table()', 'tables');
      }
      if (!known.has(def.name))
        throw new NotFoundError(`table ${def.name} has not been migrated in schema ${db.schema}`);
      return def;
    });
  }
  return [...known].map(([name, columns]) => {
    const map: ColumnMap = {};
    for (const c of columns) {
      const make = Object.hasOwn(column, c.type) ? column[c.type] : undefined;
      if (!make)
        throw new InvalidInputError(
          `${name}.${c.sqlName} has a type appendlog does not read: ${c.type}`,
          'tables',
        );
      const col = make().named(c.sqlName);
      map[c.sqlName] = c.notNull ? col.notNull() : col;
    }
    return table(name, map);
  });
}

const sqlCache = new Map<string, string>();

/** One statement: the horizon, the next `limit` transactions below it, and all their versions. */
function changesSql(schema: string, defs: readonly TableDef[]): string {
  const key = JSON.stringify([schema, defs.map((d) => [d.name, d.columns])]);
  let sql = sqlCache.get(key);
  if (sql) return sql;
  const logs = defs.map((d) => tableObjects(schema, d.name).log);
  const candidates = logs
    .map(
      (log) =>
        `SELECT x.tx_id FROM ${log} x WHERE x.tx_id > $1::xid8 AND x.tx_id < (SELECT xmin FROM horizon)`,
    )
    .join('\n      UNION ALL\n      ');
  const versions = defs
    .map(
      (
        d,
        i,
      ) => `SELECT ${quoteLiteral(d.name)}::text AS table_name, l.tx_id AS tx_sort, l.recorded_at AS at_sort,
              l.seq AS seq_sort, pg_catalog.to_jsonb(v)::text AS row
         FROM ${logs[i]} l CROSS JOIN LATERAL (SELECT ${versionProjection(d, 'l', logs[i])}) v
        WHERE l.tx_id > $1::xid8 AND l.tx_id <= (SELECT hi FROM bounds)`,
    )
    .join('\n  UNION ALL\n  ');
  sql = `WITH horizon AS MATERIALIZED (
    SELECT pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot()) AS xmin
  ), picked AS MATERIALIZED (
    SELECT u.tx_id FROM (
      ${candidates}
    ) u GROUP BY u.tx_id ORDER BY u.tx_id LIMIT $2
  ), bounds AS MATERIALIZED (
    SELECT p.tx_id AS hi FROM picked p ORDER BY p.tx_id DESC LIMIT 1
  )
  ${versions}
  ORDER BY tx_sort, at_sort, seq_sort, table_name`;
  if (sqlCache.size > 100) sqlCache.clear();
  sqlCache.set(key, sql);
  return sql;
}
