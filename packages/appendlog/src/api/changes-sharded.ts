import { InvalidInputError, TransactionIdsAheadError } from '../errors.js';
import {
  type NodeSnapshot,
  nodeSeqRange,
  nodeSnapshots,
  writingNodes,
  XID8_MAX,
} from '../integrity/writing-nodes.js';
import { quoteLiteral } from '../schema/names.js';
import type { TableDef } from '../schema/table.js';
import type { Session } from '../session.js';
import { tableObjects } from '../sql/names.js';
import { type ChangesResult, groupChangeSets } from './change-set.js';
import { versionProjection } from './codec.js';

/**
 * The change feed of a row-sharded schema (docs/scale-out.md, "Row-sharded tables on Citus").
 *
 * Each worker numbers its own transactions, so there is one order per writing node, not one for
 * the cluster. A version's node is `seq >> 48`: Citus draws the log's `seq` identity on the node
 * that inserts the row, from that node's own range (its group id shifted left by 48 bits), and the
 * row keeps it when its shard moves. Per node, change sets come in `tx_id` order up to that node's
 * horizon, the `xmin` of a snapshot taken on it before the rows are read: every transaction below
 * it has ended there (a distributed transaction, prepared for two-phase commit, counts as running
 * until its COMMIT PREPARED), so none can later appear below the cursor. A node no longer in the
 * cluster writes no more: its versions are all final.
 *
 * The cursor is a position per node, `"<group>:<tx_id>,…"` in group order. The sets of several
 * nodes are merged by the time of their first version, each node's in its own order.
 */

/** A parsed per-node cursor: group id → the last transaction id handed out. */
export type NodeCursor = Map<number, bigint>;

const NODE_CURSOR = /^\d{1,9}:\d{1,20}(,\d{1,9}:\d{1,20})*$/;
/** Positions a cursor may hold: far more nodes than a Citus cluster has. */
const MAX_NODES = 1024;

/** `since` as a per-node cursor, or null; anything else is `invalid_input`. */
export function parseNodeCursor(since: string | null): NodeCursor | null {
  if (since === null) return null;
  if (!NODE_CURSOR.test(since)) {
    throw new InvalidInputError(
      'since must be a cursor returned by changes() on this row-sharded schema ("<node>:<transaction id>,…", one position per node)',
      'since',
    );
  }
  const parts = since.split(',');
  if (parts.length > MAX_NODES) {
    throw new InvalidInputError(
      `since names ${parts.length} nodes; a cursor holds at most ${MAX_NODES}`,
      'since',
    );
  }
  const cursor: NodeCursor = new Map();
  for (const part of parts) {
    const [g, tx] = part.split(':') as [string, string];
    if (BigInt(tx) > XID8_MAX)
      throw new InvalidInputError('since names a transaction id beyond xid8', 'since');
    cursor.set(Number(g), BigInt(tx));
  }
  return cursor;
}

/** Whether `since` has the shape of a per-node cursor (which {@link parseNodeCursor} then checks). */
export function isNodeCursor(since: unknown): since is string {
  return typeof since === 'string' && since.includes(':');
}

/** The cursor after `set`, read from `cursor`: the set's transaction, per node where it has one. */
export function cursorAfter(cursor: string | null, set: { txId: string; node?: number }): string {
  if (set.node === undefined) return set.txId;
  const positions = parseNodeCursor(cursor) ?? new Map<number, bigint>();
  positions.set(set.node, BigInt(set.txId));
  return formatNodeCursor(positions)!;
}

export function formatNodeCursor(cursor: NodeCursor): string | null {
  if (cursor.size === 0) return null;
  return [...cursor]
    .sort(([a], [b]) => a - b)
    .map(([g, tx]) => `${g}:${tx}`)
    .join(',');
}

/**
 * A cursor position at or above its node's next transaction id was read from a node whose ids are
 * ahead of this one's (restored from elsewhere, or rewound): versions written now would get ids at
 * or below it and be skipped. The same refusal as on one node (`tx_ids_ahead`).
 */
function refuseCursorAhead(since: NodeCursor, snapshots: ReadonlyMap<number, NodeSnapshot>): void {
  for (const [g, tx] of since) {
    const next = snapshots.get(g)?.xmax;
    if (next !== undefined && tx >= next) {
      throw new TransactionIdsAheadError(
        `changes refused: the cursor's position ${tx} for node group ${g} is at or above that node's next transaction id ${next}: it was read from a node whose transaction ids are ahead of this one's (restored from elsewhere, or rewound), and versions written there now would be skipped. Set the cursor back: see docs/operations.md#cursors-and-checkpoints-from-ahead`,
        null,
        String(tx),
        String(next),
      );
    }
  }
}

/** Reads the change sets of a row-sharded schema after `since` (see the file's comment). */
export async function shardedChanges(
  db: Session,
  defs: readonly TableDef[],
  sinceText: string | null,
  limit: number,
): Promise<ChangesResult> {
  const since = parseNodeCursor(sinceText) ?? new Map<number, bigint>();
  const snapshots = await nodeSnapshots(db, 'changes');
  refuseCursorAhead(since, snapshots);
  const horizons = new Map([...snapshots].map(([g, snap]) => [g, snap.xmin]));
  const logs = defs.map((d) => tableObjects(db.schema, d.name).log);
  const groups = await writingNodes(db, [...since.keys(), ...horizons.keys()]);
  // Per node, a range of the (tx_id, seq) index: the transactions after its position and below
  // its horizon (none for a node no longer in the cluster: its versions are final), the rows of
  // its seq range. All bounds are numbers, written into the statement so the planner sees them.
  const ranges = groups
    .map((g) => {
      const { low, high } = nodeSeqRange(g);
      const horizon = horizons.get(g);
      return `(x.tx_id > '${since.get(g) ?? 0n}'::xid8${horizon === undefined ? '' : ` AND x.tx_id < '${horizon}'::xid8`}
               AND x.seq >= ${low} AND x.seq < ${high})`;
    })
    .join('\n            OR ');
  const candidates = await db.run<{ g: number; tx_id: string; first_at: string }>(
    `WITH c AS (
       ${logs
         .map(
           (log) => `SELECT (x.seq >> 48)::int AS g, x.tx_id, x.recorded_at FROM ${log} x
         WHERE ${ranges}`,
         )
         .join('\n       UNION ALL\n       ')}
     ), sets AS (
       SELECT c.g, c.tx_id, pg_catalog.min(c.recorded_at) AS first_at FROM c GROUP BY c.g, c.tx_id
     ), ranked AS (
       SELECT s.*, pg_catalog.row_number() OVER (PARTITION BY s.g ORDER BY s.tx_id) AS n FROM sets s
     )
     SELECT r.g, r.tx_id::text AS tx_id, (EXTRACT(epoch FROM r.first_at) * 1000000)::bigint::text AS first_at FROM ranked r WHERE r.n <= $1
      ORDER BY r.g, r.tx_id`,
    [limit],
  );
  // Merge the nodes' sequences by the time of each set's first version, each node in its own order.
  const queues = new Map<number, { tx: string; at: bigint }[]>();
  for (const c of candidates) {
    const g = Number(c.g);
    if (!queues.has(g)) queues.set(g, []);
    queues.get(g)!.push({ tx: c.tx_id, at: BigInt(c.first_at) });
  }
  const chosen: { g: number; tx: string }[] = [];
  while (chosen.length < limit) {
    let best: number | null = null;
    for (const [g, q] of queues) {
      if (q.length > 0 && (best === null || q[0]!.at < queues.get(best)![0]!.at)) best = g;
    }
    if (best === null) break;
    chosen.push({ g: best, tx: queues.get(best)!.shift()!.tx });
  }
  const cursor: NodeCursor = new Map(since);
  if (chosen.length === 0) return { changes: [], cursor: formatNodeCursor(cursor) };
  const rows = await db.run<{ table_name: string; g: number; row: string }>(
    `WITH picked AS MATERIALIZED (
       SELECT * FROM ROWS FROM (pg_catalog.unnest($1::int[]), pg_catalog.unnest($2::xid8[])) AS p (g, tx_id)
     )
     ${defs
       .map(
         (d, i) => `SELECT ${quoteLiteral(d.name)}::text AS table_name, v.g, v.tx_sort, v.at_sort, v.seq_sort,
              pg_catalog.to_jsonb(v)::text AS row
         FROM (SELECT ${versionProjection(d, 'l', logs[i])}, (l.seq >> 48)::int AS g, l.tx_id AS tx_sort,
                      l.recorded_at AS at_sort, l.seq AS seq_sort
                 FROM ${logs[i]} l
                WHERE l.tx_id = ANY($2::xid8[]) AND (l.tx_id, (l.seq >> 48)::int) IN (SELECT p.tx_id, p.g FROM picked p)) v`,
       )
       .join('\n  UNION ALL\n  ')}
     ORDER BY g, tx_sort, at_sort, seq_sort, table_name`,
    [chosen.map((c) => c.g), chosen.map((c) => c.tx)],
  );
  // The rows come by node and transaction; the sets go out in the merged order chosen above.
  const sets = new Map(groupChangeSets(defs, rows).map((set) => [`${set.node}:${set.txId}`, set]));
  const ordered = chosen.flatMap((c) => sets.get(`${c.g}:${c.tx}`) ?? []);
  for (const c of chosen) cursor.set(c.g, BigInt(c.tx));
  return { changes: ordered, cursor: formatNodeCursor(cursor) };
}
