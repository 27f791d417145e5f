import { InvalidStateError, NotFoundError } from '../errors.js';
import { quoteLiteral } from '../schema/names.js';
import type { Session } from '../session.js';
import { catalogName, tableObjects } from '../sql/names.js';
import { CursorReader } from './cursor.js';
import { type LeafVersion, leafData, parseLeaves } from './leaf.js';
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

/** The latest archive of the schema's logs (docs/spec.md §7.8), as the catalog records it. */
export interface ArchivePoint {
  /** The archive's number (1, 2, 3 …). */
  id: number;
  checkpointId: number;
  /** Every version below it left the logs, but each entry's last one (kept at the boundary). */
  horizon: string;
  /** The leaves below the horizon, the archive's checkpoint's tree, and their root, hex. */
  treeSize: number;
  root: string;
  /**
   * The last transaction that wrote an archived version (null: none did): a change feed's cursor
   * below it would miss versions that left the logs.
   */
  lastTxId: string | null;
}

/** The schema's latest archive, or null (none, or a catalog from before archives). */
export async function latestArchive(tx: Session): Promise<ArchivePoint | null> {
  const archives = catalogName(tx.schema, 'appendlog_archives');
  const [exists] = await tx.run<{ ok: boolean; readable: boolean }>(
    `SELECT pg_catalog.to_regclass($1) IS NOT NULL AS ok,
            CASE WHEN pg_catalog.to_regclass($1) IS NOT NULL THEN pg_catalog.has_table_privilege($1, 'SELECT') END AS readable`,
    [archives],
  );
  if (!exists?.ok) return null;
  if (!exists.readable) {
    throw new InvalidStateError(
      `this role cannot read ${archives}, which says where the logs were archived: run migrate({ appRole }) with this library version to grant it`,
    );
  }
  const [row] = await tx.run<{
    id: string;
    cp: string;
    horizon: string;
    size: string;
    root: string;
    last: string | null;
  }>(
    `SELECT id::text, checkpoint_id::text AS cp, horizon::text, tree_size::text AS size,
            pg_catalog.encode(root, 'hex') AS root, body OPERATOR(pg_catalog.->>) 'lastTxId'::text AS last
       FROM ${archives} ORDER BY id DESC LIMIT 1`,
  );
  if (row === undefined) return null;
  return {
    id: Number(row.id),
    checkpointId: Number(row.cp),
    horizon: row.horizon,
    treeSize: Number(row.size),
    root: row.root,
    lastTxId: row.last,
  };
}

/**
 * Where the leaves of the tree below `horizon` are read from: the first `prefix` from the leaf
 * index (the versions below the latest archive's horizon left the logs, docs/spec.md §7.8), the
 * rest from the logs, from transaction `from` on. A horizon below the archive's is answered only
 * where a checkpoint was taken, whose size says how many of the index's leaves lie below it.
 */
export async function treeSource(
  tx: Session,
  horizon: string,
  node: TreeNode,
): Promise<{ prefix: number; from: string | null }> {
  if (node !== undefined) return { prefix: 0, from: null };
  const archive = await latestArchive(tx);
  if (archive === null) return { prefix: 0, from: null };
  if (BigInt(horizon) >= BigInt(archive.horizon)) return { prefix: archive.treeSize, from: archive.horizon };
  const [cp] = await tx.run<{ size: string }>(
    `SELECT tree_size::text AS size FROM ${catalogName(tx.schema, 'appendlog_checkpoints')} WHERE horizon = $1::xid8 LIMIT 1`,
    [horizon],
  );
  if (cp === undefined) {
    throw new InvalidStateError(
      `the versions below transaction ${archive.horizon} were archived (archive ${archive.id}): the tree below ${horizon} is known only where a checkpoint was taken`,
    );
  }
  return { prefix: Number(cp.size), from: horizon };
}

function leafQuery(
  tx: Session,
  tables: readonly string[],
  node: TreeNode,
  from: string | null = null,
): string {
  let bounds = from === null ? '' : ` AND l.tx_id >= '${BigInt(from)}'::xid8`;
  if (node !== undefined) {
    const { low, high } = nodeSeqRange(node);
    bounds += ` AND l.seq >= ${low} AND l.seq < ${high}`;
  }
  const parts = tables.map((t) => {
    const o = tableObjects(tx.schema, t);
    return `SELECT ${quoteLiteral(t)}::text AS t, l.tx_id, l.seq, l.entry_id, l.version, l.hash FROM ${o.log} l WHERE l.tx_id < $1::xid8${bounds}`;
  });
  return parts.join('\nUNION ALL\n');
}

/**
 * The logs' leaves below `$1` (a horizon) and at or above `from`, in tree order: transaction,
 * table name (bytes), seq; of one node's versions when `node` is given.
 */
export function orderedLeavesSql(
  tx: Session,
  tables: readonly string[],
  node?: TreeNode,
  from: string | null = null,
): string {
  return `SELECT x.t, x.entry_id::text AS e, x.version::text AS v, pg_catalog.encode(x.hash, 'hex') AS h
       FROM (${leafQuery(tx, tables, node, from)}) x
      ORDER BY x.tx_id, x.t COLLATE "C", x.seq`;
}

/** How many leaves the tree below `horizon` has. */
export async function countLeaves(
  tx: Session,
  tables: readonly string[],
  horizon: string,
  node?: TreeNode,
): Promise<number> {
  const { prefix, from } = await treeSource(tx, horizon, node);
  if (tables.length === 0) return prefix;
  const [row] = await tx.run<{ n: string }>(
    `SELECT count(*)::text AS n FROM (${leafQuery(tx, tables, node, from)}) x`,
    [horizon],
  );
  return prefix + Number(row!.n);
}

/**
 * The first `count` leaves of a tree's leaf index (the schema's, or `node`'s), a stored chunk at
 * a time, in order.
 */
export async function* indexLeaves(
  tx: Session,
  count: number,
  node?: TreeNode,
): AsyncGenerator<Array<LeafVersion & { data: Uint8Array }>> {
  if (count <= 0) return;
  const c = treeCatalog(tx.schema, node);
  const cursor = await CursorReader.open<{ leaves: string }>(
    tx,
    `SELECT pg_catalog.encode(leaves, 'hex') AS leaves FROM ${c.leaves}
      WHERE ${c.where} AND first_leaf < $1 ORDER BY first_leaf`,
    [count],
    16,
  );
  let remaining = count;
  try {
    while (remaining > 0) {
      const rows = await cursor.page();
      if (rows.length === 0) break;
      for (const r of rows) {
        const leaves = [...parseLeaves(Buffer.from(r.leaves, 'hex'))].slice(0, remaining);
        remaining -= leaves.length;
        yield leaves;
        if (remaining === 0) break;
      }
    }
  } finally {
    await cursor.close();
  }
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
  const { prefix, from } = await treeSource(tx, horizon, options.node);
  // Below the archive's horizon, the leaf index stands for the versions that left the logs.
  for await (const leaves of indexLeaves(tx, prefix)) {
    await onPage(
      leaves.map((l) => ({
        table: l.table,
        entryId: l.entryId,
        version: l.version,
        hash: Buffer.from(l.hash).toString('hex'),
        data: Buffer.from(l.data),
        leafHash: leafHash(l.data),
      })),
    );
  }
  if (tables.length === 0) return;
  const cursor = await CursorReader.open<{ t: string; e: string; v: string; h: string }>(
    tx,
    orderedLeavesSql(tx, tables, options.node, from),
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

/**
 * The checkpoint a proof is built against (the latest of the tree, or the one with `id`), or a
 * NotFoundError saying which to take, for `purpose` ("prove inclusion in").
 */
export async function checkpointToProve(
  tx: Session,
  id: number | undefined,
  node: TreeNode,
  purpose: string,
): Promise<StoredCheckpoint> {
  const stored = (await hasCheckpointCatalog(tx, node)) ? await storedCheckpoint(tx, id, node) : null;
  if (stored !== null) return stored;
  throw new NotFoundError(
    node === undefined
      ? `no checkpoint to ${purpose}: take one with db.checkpoint()`
      : `no checkpoint of node group ${node} to ${purpose}: take them with db.clusterCheckpoint()`,
  );
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
