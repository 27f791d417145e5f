import { quoteLiteral } from '../schema/names.js';
import type { Session } from '../session.js';
import { catalogName, tableObjects } from '../sql/names.js';
import { CursorReader } from './cursor.js';
import { leafData } from './leaf.js';
import { leafHash } from './merkle.js';
import { nodeSeqRange } from './writing-nodes.js';

/**
 * Which tree: `undefined` for the schema's one tree, or the Citus node group whose versions a tree
 * of a row-sharded schema holds (docs/spec.md §7.7).
 */
export type TreeNode = number | undefined;

/** The catalog tables keeping a tree's checkpoints and leaf index, and the condition picking its rows. */
export function treeCatalog(
  schema: string,
  node: TreeNode,
): { checkpoints: string; leaves: string; where: string } {
  if (node === undefined) {
    return {
      checkpoints: catalogName(schema, 'appendlog_checkpoints'),
      leaves: catalogName(schema, 'appendlog_checkpoint_leaves'),
      where: 'TRUE',
    };
  }
  if (!Number.isSafeInteger(node) || node < 0) throw new RangeError(`node group ${node} is not a group id`);
  return {
    checkpoints: catalogName(schema, 'appendlog_node_checkpoints'),
    leaves: catalogName(schema, 'appendlog_node_checkpoint_leaves'),
    where: `node = ${node}`,
  };
}

/** One leaf of the checkpoint tree as read from the log. */
export interface LogLeaf {
  table: string;
  entryId: string;
  version: number;
  /** The stored version hash, hex. */
  hash: string;
  data: Buffer;
  leafHash: Uint8Array;
}

/** The tables whose log exists, by name. */
export async function existingLogs(tx: Session, tables: readonly string[]): Promise<string[]> {
  if (tables.length === 0) return [];
  const rows = await tx.run<{ t: string }>(
    `SELECT t FROM pg_catalog.unnest($1::text[]) AS t WHERE pg_catalog.to_regclass(pg_catalog.quote_ident($2) || '.' || pg_catalog.quote_ident(t || '_log')) IS NOT NULL`,
    [tables, tx.schema],
  );
  return rows.map((r) => r.t).sort();
}

/**
 * The transaction horizon of the current snapshot: every transaction below it has ended. Read
 * through the schema's history, so that the node holding the schema's tables takes it: on Citus,
 * where a distributed schema lives on one worker, the coordinator would otherwise answer with its
 * own snapshot, which says nothing of the transaction ids in the worker's logs.
 */
export async function snapshotHorizon(tx: Session): Promise<string> {
  const [row] = await tx.run<{ h: string }>(
    `SELECT pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())::text AS h
       FROM ${catalogName(tx.schema, 'appendlog_schema_history')} LIMIT 1`,
  );
  if (row !== undefined) return row.h;
  // No table was ever recorded: there are no versions either, and any node's horizon will do.
  const [own] = await tx.run<{ h: string }>(
    `SELECT pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())::text AS h`,
  );
  return own!.h;
}

function leafQuery(tx: Session, tables: readonly string[], node: TreeNode): string {
  let ofNode = '';
  if (node !== undefined) {
    const { low, high } = nodeSeqRange(node);
    ofNode = ` AND l.seq >= ${low} AND l.seq < ${high}`;
  }
  const parts = tables.map((t) => {
    const o = tableObjects(tx.schema, t);
    return `SELECT ${quoteLiteral(t)}::text AS t, l.tx_id, l.seq, l.entry_id, l.version, l.hash FROM ${o.log} l WHERE l.tx_id < $1::xid8${ofNode}`;
  });
  return parts.join('\nUNION ALL\n');
}

/**
 * The tree's leaves below `$1` (a horizon), in tree order: transaction, table name (bytes), seq;
 * of one node's versions when `node` is given.
 */
export function orderedLeavesSql(tx: Session, tables: readonly string[], node?: TreeNode): string {
  return `SELECT x.t, x.entry_id::text AS e, x.version::text AS v, pg_catalog.encode(x.hash, 'hex') AS h
       FROM (${leafQuery(tx, tables, node)}) x
      ORDER BY x.tx_id, x.t COLLATE "C", x.seq`;
}

/** How many leaves the tree below `horizon` has. */
export async function countLeaves(
  tx: Session,
  tables: readonly string[],
  horizon: string,
  node?: TreeNode,
): Promise<number> {
  if (tables.length === 0) return 0;
  const [row] = await tx.run<{ n: string }>(
    `SELECT count(*)::text AS n FROM (${leafQuery(tx, tables, node)}) x`,
    [horizon],
  );
  return Number(row!.n);
}

/**
 * Streams the checkpoint tree's leaves (docs/spec.md §6.2): every version of `tables` whose
 * transaction is below `horizon`, ordered by transaction, table name (bytes), then seq.
 * Calls `onPage` with each page of leaves; memory stays flat.
 */
export async function streamLeaves(
  tx: Session,
  tables: readonly string[],
  horizon: string,
  onPage: (leaves: LogLeaf[]) => void | Promise<void>,
  options: { node?: TreeNode; pageSize?: number } = {},
): Promise<void> {
  if (tables.length === 0) return;
  const cursor = await CursorReader.open<{ t: string; e: string; v: string; h: string }>(
    tx,
    orderedLeavesSql(tx, tables, options.node),
    [horizon],
    options.pageSize ?? 5000,
  );
  for (;;) {
    const rows = await cursor.page();
    if (rows.length === 0) break;
    const leaves = rows.map((r) => {
      const data = leafData({
        table: r.t,
        entryId: r.e,
        version: Number(r.v),
        hash: Buffer.from(r.h, 'hex'),
      });
      return { table: r.t, entryId: r.e, version: Number(r.v), hash: r.h, data, leafHash: leafHash(data) };
    });
    await onPage(leaves);
  }
  await cursor.close();
}

/** A stored checkpoint row. */
export interface StoredCheckpoint {
  id: number;
  treeSize: number;
  root: string;
  horizon: string;
  body: unknown;
}

/** True once the catalog has the tree's checkpoint tables (a database migrated by a recent enough library). */
export async function hasCheckpointCatalog(tx: Session, node?: TreeNode): Promise<boolean> {
  const [row] = await tx.run<{ ok: boolean }>(`SELECT pg_catalog.to_regclass($1) IS NOT NULL AS ok`, [
    treeCatalog(tx.schema, node).leaves,
  ]);
  return row?.ok === true;
}

/** A checkpoint of the tree from the catalog: the latest, or the one with `id`. */
export async function storedCheckpoint(
  tx: Session,
  id?: number,
  node?: TreeNode,
): Promise<StoredCheckpoint | null> {
  const c = treeCatalog(tx.schema, node);
  const rows = await tx.run<{ id: string; tree_size: string; root: string; horizon: string; body: string }>(
    `SELECT id::text, tree_size::text, pg_catalog.encode(root, 'hex') AS root, horizon::text, body::text
       FROM ${c.checkpoints}
      WHERE ${c.where}${id === undefined ? '' : ' AND id = $1'}
      ORDER BY id DESC LIMIT 1`,
    id === undefined ? [] : [id],
  );
  const r = rows[0];
  if (!r) return null;
  return {
    id: Number(r.id),
    treeSize: Number(r.tree_size),
    root: r.root,
    horizon: r.horizon,
    body: JSON.parse(r.body),
  };
}
