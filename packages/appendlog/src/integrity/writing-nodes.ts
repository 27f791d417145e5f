import { InvalidStateError } from '../errors.js';
import type { Session } from '../session.js';

/**
 * The writing nodes of a row-sharded schema (docs/scale-out.md, "Row-sharded tables on Citus").
 *
 * Each worker numbers its own transactions, so the change feed and the checkpoints keep one order
 * per writing node. A version's node is `seq >> 48`: Citus draws the log's `seq` identity on the
 * node that inserts the row, from that node's own range (its group id shifted left by 48 bits), and
 * the row keeps it when its shard moves.
 */

/** What one node's snapshot says: every transaction below `xmin` has ended; `xmax` is its next id. */
export interface NodeSnapshot {
  xmin: bigint;
  xmax: bigint;
}

/** The largest xid8: the horizon of a node that left the cluster, all of whose versions are final. */
export const XID8_MAX = 2n ** 64n - 1n;

/**
 * The snapshot bounds of every node of the cluster, coordinator included, each read on the node
 * itself (`run_command_on_all_nodes` needs no privilege and runs as the caller). Refuses when a node
 * does not answer: `operation` would otherwise have to guess which of its transactions have ended.
 */
export async function nodeSnapshots(db: Session, operation: string): Promise<Map<number, NodeSnapshot>> {
  const rows = await db.run<{ group: number; ok: boolean; result: string }>(
    `SELECT n.groupid AS "group", r.success AS ok, r.result
       FROM pg_catalog.run_command_on_all_nodes(
              'SELECT pg_catalog.pg_snapshot_xmin(s) || '':'' || pg_catalog.pg_snapshot_xmax(s) FROM pg_catalog.pg_current_snapshot() s') r
       JOIN pg_catalog.pg_dist_node n ON n.nodeid = r.nodeid
      WHERE n.noderole = 'primary'`,
  );
  const snapshots = new Map<number, NodeSnapshot>();
  for (const r of rows) {
    if (!r.ok) {
      throw new InvalidStateError(
        `${operation} refused: the node of group ${r.group} did not answer for its transaction horizon (${r.result}); without it, which of that node's transactions have ended cannot be told`,
      );
    }
    const [xmin, xmax] = r.result.split(':') as [string, string];
    snapshots.set(Number(r.group), { xmin: BigInt(xmin), xmax: BigInt(xmax) });
  }
  return snapshots;
}

/**
 * Every node group whose versions the logs may hold: Citus numbers groups from a sequence and never
 * reuses a number, so every id from 0 (the coordinator) to the sequence's last, and any of `known`.
 * A node removed from the cluster may have written versions that now live on another node: they
 * count too.
 */
export async function writingNodes(db: Session, known: Iterable<number>): Promise<number[]> {
  const [row] = await db.run<{ g: number | null }>(
    `SELECT GREATEST((SELECT pg_catalog.max(n.groupid) FROM pg_catalog.pg_dist_node n),
                     (SELECT s.last_value FROM pg_catalog.pg_dist_groupid_seq s))::int AS g`,
  );
  const groups = new Set(Array.from({ length: Number(row?.g ?? 0) + 1 }, (_, g) => g));
  for (const g of known) groups.add(g);
  return [...groups].sort((a, b) => a - b);
}

/** The `seq` values node group `g` draws: `[low, high)`. */
export function nodeSeqRange(g: number): { low: bigint; high: bigint } {
  return { low: BigInt(g) << 48n, high: (BigInt(g) + 1n) << 48n };
}
