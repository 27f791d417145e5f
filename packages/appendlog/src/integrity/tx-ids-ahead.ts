import { InvalidUsageError, TransactionIdsAheadError } from '../errors.js';
import { quoteLiteral } from '../schema/names.js';
import type { Session } from '../session.js';
import { tableObjects } from '../sql/names.js';

/** A transaction id the cluster has not handed out yet: in a log, or a change cursor. */
export interface TxIdAhead {
  /** The table whose log holds it; null for the cursor `since`. */
  table: string | null;
  /** The transaction id (xid8, as text); for a log, its highest one ahead. */
  txId: string;
  /** The snapshot's xmax: the cluster's next transaction id (xid8, as text). */
  nextTxId: string;
}

/**
 * One statement: the highest `tx_id` of the logs at or above the snapshot's xmax, with its table,
 * else the cursor `$1` when it is at or above it. Every transaction whose rows a snapshot sees has
 * ended below its xmax, the reader's own aside, and so has every transaction a cursor named; an id
 * above it comes from a cluster ahead of this one. Per log it is one backward probe of the
 * `(tx_id, seq)` index; nothing is added to the write path.
 */
function txIdsAheadSql(tx: Session, tables: readonly string[]): string {
  const probes = tables.map((t) => {
    const log = tableObjects(tx.schema, t).log;
    return `SELECT ${quoteLiteral(t)}::text AS t, (SELECT pg_catalog.max(l.tx_id) FROM ${log} l
             WHERE l.tx_id >= (SELECT next FROM snap) AND l.tx_id IS DISTINCT FROM (SELECT own FROM snap)) AS tx_id`;
  });
  return `WITH snap AS MATERIALIZED (
    SELECT pg_catalog.pg_snapshot_xmax(pg_catalog.pg_current_snapshot()) AS next,
           pg_catalog.pg_current_xact_id_if_assigned() AS own
  ), probes AS MATERIALIZED (
    SELECT NULL::text AS t, $1::xid8 AS tx_id FROM snap WHERE $1::xid8 >= snap.next AND $1::xid8 IS DISTINCT FROM snap.own
    ${probes.map((p) => `UNION ALL ${p}`).join('\n    ')}
  )
  SELECT x.t, x.tx_id::text AS tx_id, s.next::text AS next
    FROM probes x CROSS JOIN snap s
   WHERE x.tx_id IS NOT NULL
   ORDER BY x.t IS NULL, x.tx_id DESC LIMIT 1`;
}

/**
 * The highest version of `tables` (whose logs exist) ahead of the cluster's transaction ids, else
 * the cursor `since` when it is ahead, else null, as on every database that was neither restored
 * from another cluster nor rewound (docs/operations.md).
 */
export async function findTxIdAhead(
  tx: Session,
  tables: readonly string[],
  since: string | null = null,
): Promise<TxIdAhead | null> {
  if (tables.length === 0 && since === null) return null;
  const [row] = await tx.run<{ t: string | null; tx_id: string; next: string }>(txIdsAheadSql(tx, tables), [
    since,
  ]);
  return row === undefined ? null : { table: row.t, txId: row.tx_id, nextTxId: row.next };
}

/** What is wrong and what to do, for the error of `changes`/`checkpoint` and verify's warning. */
export function txIdsAheadDetail(tx: Session, ahead: TxIdAhead): string {
  if (ahead.table === null) {
    return (
      `the cursor ${ahead.txId} is at or above this cluster's next transaction id ${ahead.nextTxId}: it was ` +
      `read from a cluster whose transaction ids are ahead of this one's (another cluster, or this one before ` +
      `a point-in-time recovery or a failover to a replica that lagged). Versions written here would get ` +
      `ids at or below it and be skipped. Set the cursor back to a change set this database still has: see ` +
      `docs/operations.md#cursors-and-checkpoints-from-ahead`
    );
  }
  return (
    `${tx.schema}.${ahead.table}_log holds transaction id ${ahead.txId}, at or above this cluster's next ` +
    `transaction id ${ahead.nextTxId}: the data was restored from a cluster whose transaction ids are ahead ` +
    `of this one's. Versions written here would get lower ids than the restored ones, so change cursors ` +
    `and checkpoints would miss or misplace them. Before anything writes, raise this cluster's transaction ` +
    `id epoch above the log's (pg_resetwal --epoch on the stopped cluster): see ` +
    `docs/operations.md#restore-into-another-cluster`
  );
}

/** A log that a logical replication subscription of this database writes into. */
export interface SubscribedLog {
  table: string;
  subscription: string;
}

/**
 * The logs of `tables` that logical replication writes into here (docs/scale-out.md): their rows,
 * transaction ids included, are the publisher's, applied in the publisher's commit order.
 */
export async function findSubscribedLogs(tx: Session, tables: readonly string[]): Promise<SubscribedLog[]> {
  if (tables.length === 0) return [];
  const rows = await tx.run<{ t: string; sub: string }>(
    `SELECT x.t, s.subname AS sub
       FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[])) AS x (t, rel)
       JOIN pg_catalog.pg_subscription_rel r ON r.srrelid = pg_catalog.to_regclass(x.rel)
       JOIN pg_catalog.pg_subscription s ON s.oid = r.srsubid
      ORDER BY x.t`,
    [tables, tables.map((t) => tableObjects(tx.schema, t).log)],
  );
  return rows.map((r) => ({ table: r.t, subscription: r.sub }));
}

/**
 * The logs of `tables` that Citus row-shards (hash-distributed by `entry_id`, docs/scale-out.md):
 * their versions carry the transaction ids of the worker that wrote them, one counter per worker.
 */
export async function findShardedLogs(tx: Session, tables: readonly string[]): Promise<string[]> {
  if (!tx.citus || tables.length === 0) return [];
  const rows = await tx.run<{ t: string }>(
    `SELECT x.t FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[])) AS x (t, rel)
       JOIN pg_catalog.pg_dist_partition p ON p.logicalrelid = pg_catalog.to_regclass(x.rel)
      WHERE p.partmethod = 'h'
      ORDER BY x.t`,
    [tables, tables.map((t) => tableObjects(tx.schema, t).log)],
  );
  return rows.map((r) => r.t);
}

/**
 * Throws {@link InvalidUsageError} when a log of `tables` is row-sharded on Citus: each worker
 * numbers its own transactions, so no one horizon orders the versions of all shards, and a tree
 * built over them by transaction id would misplace or skip versions (the change feed and the
 * cluster checkpoint read these logs per node instead, and do not come here). Then throws {@link InvalidUsageError} when a
 * log of `tables` is a logical replication subscriber's copy: which of the publisher's
 * transactions have committed, this database cannot tell, so a change feed or a checkpoint read
 * here could skip versions that arrive later. Then throws
 * {@link TransactionIdsAheadError} when a log of `tables`, or the cursor `since`, is ahead of the
 * cluster's transaction ids.
 */
export async function refuseTxIdsAhead(
  tx: Session,
  operation: string,
  tables: readonly string[],
  since: string | null = null,
): Promise<void> {
  const [sharded] = await findShardedLogs(tx, tables);
  if (sharded !== undefined) {
    throw new InvalidUsageError(
      `${operation} refused: ${tx.schema}.${sharded}_log is row-sharded on Citus (distributed by entry_id), and ` +
        `each worker numbers its own transactions: no one horizon orders the versions of all shards. Each ` +
        `writing node has a tree of its own: take them with db.clusterCheckpoint() (appendlog checkpoint does), ` +
        `see docs/scale-out.md#checkpoints-one-tree-per-writing-node`,
    );
  }
  const [subscribed] = await findSubscribedLogs(tx, tables);
  if (subscribed !== undefined) {
    throw new InvalidUsageError(
      `${operation} refused: ${tx.schema}.${subscribed.table}_log is written here by the logical replication ` +
        `subscription "${subscribed.subscription}", whose transaction ids are the publisher's: this database ` +
        `cannot tell which of them have committed, so it could skip versions that arrive later. Read changes ` +
        `and take checkpoints on the publisher; history, time travel and verify (also --against the ` +
        `publisher's checkpoints) work here: see docs/scale-out.md#logical-replication`,
    );
  }
  const ahead = await findTxIdAhead(tx, tables, since);
  if (ahead === null) return;
  throw new TransactionIdsAheadError(
    `${operation} refused: ${txIdsAheadDetail(tx, ahead)}`,
    ahead.table,
    ahead.txId,
    ahead.nextTxId,
  );
}
