import type { Database } from '../db.js';
import { TransactionIdsAheadError } from '../errors.js';
import { quoteLiteral } from '../schema/names.js';
import { tableObjects } from '../sql/names.js';

/** A log version whose transaction id the cluster has not handed out yet. */
export interface TxIdAhead {
  table: string;
  /** The highest such transaction id (xid8, as text). */
  txId: string;
  /** The snapshot's xmax: the cluster's next transaction id (xid8, as text). */
  nextTxId: string;
}

/**
 * One statement: the highest `tx_id` of the logs at or above the snapshot's xmax, with its table.
 * Every transaction whose rows a snapshot sees has ended below its xmax, but for the reader's own,
 * so a visible version above it was written by another cluster (restored from a dump). Per log it
 * is one backward probe of the `(tx_id, seq)` index; nothing is added to the write path.
 */
function txIdsAheadSql(tx: Database, tables: readonly string[]): string {
  const probes = tables.map((t) => {
    const log = tableObjects(tx.schema, t).log;
    return `SELECT ${quoteLiteral(t)}::text AS t, (SELECT pg_catalog.max(l.tx_id) FROM ${log} l
             WHERE l.tx_id >= (SELECT next FROM snap) AND l.tx_id IS DISTINCT FROM (SELECT own FROM snap)) AS tx_id`;
  });
  return `WITH snap AS MATERIALIZED (
    SELECT pg_catalog.pg_snapshot_xmax(pg_catalog.pg_current_snapshot()) AS next,
           pg_catalog.pg_current_xact_id_if_assigned() AS own
  ), probes AS MATERIALIZED (
    ${probes.join('\n    UNION ALL ')}
  )
  SELECT x.t, x.tx_id::text AS tx_id, s.next::text AS next
    FROM probes x CROSS JOIN snap s
   WHERE x.tx_id IS NOT NULL
   ORDER BY x.tx_id DESC LIMIT 1`;
}

/**
 * The highest version of `tables` (whose logs exist) that is ahead of the cluster's transaction
 * ids, or null when there is none, as there never is on a database that was not restored from
 * another cluster (docs/operations.md).
 */
export async function findTxIdAhead(tx: Database, tables: readonly string[]): Promise<TxIdAhead | null> {
  if (tables.length === 0) return null;
  const [row] = await tx.run<{ t: string; tx_id: string; next: string }>(txIdsAheadSql(tx, tables));
  return row === undefined ? null : { table: row.t, txId: row.tx_id, nextTxId: row.next };
}

/** What is wrong and what to do, for the error of `changes`/`checkpoint` and verify's warning. */
export function txIdsAheadDetail(tx: Database, ahead: TxIdAhead): string {
  return (
    `${tx.schema}.${ahead.table}_log holds transaction id ${ahead.txId}, at or above this cluster's next ` +
    `transaction id ${ahead.nextTxId}: the data was restored from a cluster whose transaction ids are ahead ` +
    `of this one's. Versions written here would get lower ids than the restored ones, so change cursors ` +
    `and checkpoints would miss or misplace them. Before anything writes, raise this cluster's transaction ` +
    `id epoch above the log's (pg_resetwal --epoch on the stopped cluster): see docs/operations.md, ` +
    `"Restore into another cluster"`
  );
}

/** Throws {@link TransactionIdsAheadError} when a log of `tables` is ahead of the cluster. */
export async function refuseTxIdsAhead(
  tx: Database,
  tables: readonly string[],
  operation: string,
): Promise<void> {
  const ahead = await findTxIdAhead(tx, tables);
  if (ahead === null) return;
  throw new TransactionIdsAheadError(
    `${operation} refused: ${txIdsAheadDetail(tx, ahead)}`,
    ahead.table,
    ahead.txId,
    ahead.nextTxId,
  );
}
