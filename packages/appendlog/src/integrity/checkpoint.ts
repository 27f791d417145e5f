import { type KeyObject, randomBytes } from 'node:crypto';
import {
  IntegrityError,
  InvalidInputError,
  InvalidStateError,
  InvalidUsageError,
  TransactionIdsAheadError,
} from '../errors.js';
import { SPEC_VERSION } from '../hash/spec.js';
import type { Session } from '../session.js';
import { utcIsoSql } from '../sql/canonical.js';
import { catalogName, tableObjects } from '../sql/names.js';
import { recordedTables } from './catalog.js';
import { type Checkpoint, type CheckpointBody, signingKey } from './checkpoint-format.js';
import { signCheckpoint } from './checkpoint-sign.js';
import { toHex } from './hex.js';
import {
  existingLogs,
  hasCheckpointCatalog,
  type StoredCheckpoint,
  snapshotHorizon,
  storedCheckpoint,
  streamLeaves,
  type TreeNode,
  treeCatalog,
} from './leaves.js';
import { MerkleAccumulator } from './merkle.js';
import { isKeyName } from './note.js';
import { findShardedLogs, refuseTxIdsAhead } from './tx-ids-ahead.js';
import { type NodeSnapshot, nodeSeqRange, nodeSnapshots, writingNodes, XID8_MAX } from './writing-nodes.js';

/** Options of `db.checkpoint()`. */
export interface CheckpointOptions {
  /** An Ed25519 private key (PEM text or KeyObject) to sign the checkpoint with. */
  signKey?: string | Buffer | KeyObject;
  /**
   * The log's origin: the first line of its C2SP checkpoint and its signature's key name, a name
   * no other log uses, e.g. `example.com/addresses`. The first checkpoint records it; later ones
   * keep it (a different one is refused). Default: `appendlog.local/<schema>/<random>`, chosen at
   * the first checkpoint that has one, so two databases never share it.
   */
  origin?: string;
  /** Called as leaves are hashed, with the count so far. */
  onProgress?: (leaves: number) => void;
}

/** Leaves per stored chunk of the checkpoint leaf index. */
const CHUNK = 1024;

/**
 * Takes a checkpoint (docs/spec.md §7): the RFC 9162 tree over every version below the snapshot's
 * transaction horizon, stored in the catalog with the leaf data it adds, and returned to keep
 * outside the database (`checkpointNote` gives its C2SP signed note). Refuses (IntegrityError) when the log no longer extends the
 * previous checkpoint, and (TransactionIdsAheadError) when the log holds transaction ids this
 * cluster has not reached: restored from another cluster without the step of docs/operations.md.
 */
export async function takeCheckpoint(db: Session, options: CheckpointOptions = {}): Promise<Checkpoint> {
  const key = checkOptions(options);
  return db.pinnedTransaction(async (tx) => {
    const tables = await lockedTables(tx);
    // Restored from a cluster ahead of this one, later checkpoints could not extend this one.
    await refuseTxIdsAhead(tx, 'checkpoint', tables);
    const previous = await storedCheckpoint(tx);
    const origin = logOrigin(tx.schema, originOf(previous), options.origin);
    const horizon = await snapshotHorizon(tx);
    const [now] = await tx.run<{ t: string }>(`SELECT ${utcIsoSql('pg_catalog.clock_timestamp()')} AS t`);
    const cp = await extendTree(tx, { tables, horizon, previous, origin, createdAt: now!.t, key }, options);
    return cp!;
  });
}

/**
 * Takes the checkpoints of a row-sharded schema on Citus (docs/spec.md §7.7): one tree per writing
 * node, each over that node's versions below that node's own transaction horizon, stored in the
 * catalog with the leaf data it adds, and returned, one checkpoint per node that has written
 * versions (its `node` the Citus group id, its origin `<origin>/node-<group>`), to keep outside
 * the database. Refuses (IntegrityError) when a node's versions no longer extend its previous
 * checkpoint, and (TransactionIdsAheadError) when a node's versions hold transaction ids that node
 * has not reached.
 */
export async function takeClusterCheckpoint(
  db: Session,
  options: CheckpointOptions = {},
): Promise<Checkpoint[]> {
  const key = checkOptions(options);
  return db.pinnedTransaction(async (tx) => {
    const tables = await lockedTables(tx);
    const sharded = await findShardedLogs(tx, tables);
    if (tables.length === 0 || sharded.length !== tables.length) {
      throw new InvalidUsageError(
        `clusterCheckpoint refused: schema "${tx.schema}" is not row-sharded on Citus (migrate({ distributed: true })); its versions form one tree: take db.checkpoint()`,
      );
    }
    // Each node's horizon is read on the node before its versions are: every transaction below it has ended there.
    const snapshots = await nodeSnapshots(tx, 'clusterCheckpoint');
    const previous = await latestNodeCheckpoints(tx);
    await refuseNodeIdsAhead(tx, tables, snapshots);
    const first = previous.values().next().value;
    const base = logOrigin(tx.schema, originOf(first)?.replace(/\/node-\d+$/, ''), options.origin);
    const [now] = await tx.run<{ t: string }>(`SELECT ${utcIsoSql('pg_catalog.clock_timestamp()')} AS t`);
    const taken: Checkpoint[] = [];
    let before = 0;
    for (const node of await writingNodes(tx, [...snapshots.keys(), ...previous.keys()])) {
      // A node gone from the cluster writes no more: every version it wrote is final.
      const horizon = String(snapshots.get(node)?.xmin ?? XID8_MAX);
      const prev = previous.get(node) ?? null;
      const cp = await extendTree(
        tx,
        { tables, node, horizon, previous: prev, origin: `${base}/node-${node}`, createdAt: now!.t, key },
        { onProgress: (n) => options.onProgress?.(before + n) },
      );
      if (cp === null) continue;
      before += cp.treeSize;
      taken.push(cp);
    }
    return taken;
  });
}

/** Whether the schema is row-sharded on Citus, so that its checkpoints are one per writing node. */
export async function isRowSharded(db: Session): Promise<boolean> {
  if (!db.citus) return false;
  const tables = await existingLogs(
    db,
    (await recordedTables(db)).map((t) => t.table),
  );
  return (await findShardedLogs(db, tables)).length > 0;
}

function checkOptions(options: CheckpointOptions): KeyObject | undefined {
  if (options.origin !== undefined && !isKeyName(options.origin)) {
    throw new InvalidInputError(
      `origin "${options.origin}" must be non-empty, without spaces, "+" or control characters`,
      'origin',
    );
  }
  return options.signKey === undefined ? undefined : signingKey(options.signKey);
}

/** Takes the schema's checkpoint lock and names the tables whose logs the trees cover. */
async function lockedTables(tx: Session): Promise<string[]> {
  if (!(await hasCheckpointCatalog(tx))) {
    throw new InvalidStateError(
      'this database has no checkpoint catalog yet: run db.migrate() with this library version first',
    );
  }
  // One checkpoint at a time per schema; read committed, so the latest checkpoint is seen once the lock is ours.
  await tx.run(
    `SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('appendlog.checkpoint'), pg_catalog.hashtext($1))`,
    [tx.schema],
  );
  return existingLogs(
    tx,
    (await recordedTables(tx)).map((t) => t.table),
  );
}

const originOf = (stored: StoredCheckpoint | null | undefined): string | undefined => {
  const origin = (stored?.body as { origin?: unknown } | undefined)?.origin;
  return typeof origin === 'string' ? origin : undefined;
};

/** The latest checkpoint of each node's tree, by node group. */
async function latestNodeCheckpoints(tx: Session): Promise<Map<number, StoredCheckpoint>> {
  const rows = await tx.run<{ node: number }>(
    `SELECT DISTINCT node FROM ${catalogName(tx.schema, 'appendlog_node_checkpoints')} ORDER BY node`,
  );
  const latest = new Map<number, StoredCheckpoint>();
  for (const { node } of rows)
    latest.set(Number(node), (await storedCheckpoint(tx, undefined, Number(node)))!);
  return latest;
}

/**
 * A node's version with a transaction id at or above that node's next one was written by a node
 * whose ids are ahead of this one's (restored from elsewhere): once the node's ids pass it, later
 * trees could not extend this one. The same refusal as on one node (`tx_ids_ahead`).
 */
async function refuseNodeIdsAhead(
  tx: Session,
  tables: readonly string[],
  snapshots: ReadonlyMap<number, NodeSnapshot>,
): Promise<void> {
  if (snapshots.size === 0) return;
  const ahead = [...snapshots]
    .map(([g, snap]) => {
      const { low, high } = nodeSeqRange(g);
      return `(l.tx_id >= '${snap.xmax}'::xid8 AND l.seq >= ${low} AND l.seq < ${high})`;
    })
    .join(' OR ');
  for (const table of tables) {
    const [row] = await tx.run<{ g: number; tx_id: string }>(
      `SELECT (l.seq >> 48)::int AS g, l.tx_id::text AS tx_id FROM ${tableObjects(tx.schema, table).log} l WHERE ${ahead} LIMIT 1`,
    );
    if (row === undefined) continue;
    const next = snapshots.get(Number(row.g))!.xmax;
    throw new TransactionIdsAheadError(
      `clusterCheckpoint refused: ${tx.schema}.${table}_log holds a version of node group ${row.g} with transaction id ${row.tx_id}, at or above that node's next (${next}): its versions come from a node whose transaction ids are ahead of this one's (restored from elsewhere). See docs/operations.md#cursors-and-checkpoints-from-ahead`,
      table,
      row.tx_id,
      String(next),
    );
  }
}

interface TreeInput {
  tables: readonly string[];
  node?: TreeNode;
  horizon: string;
  previous: StoredCheckpoint | null;
  origin: string;
  createdAt: string;
  key: KeyObject | undefined;
}

/**
 * Extends one tree (the schema's, or a node's) to `horizon`: checks that its leaves still begin
 * with the previous checkpoint's, stores the leaf data it adds and the checkpoint. Returns null,
 * storing nothing, for a node's tree that is empty and has no checkpoint yet.
 */
async function extendTree(
  tx: Session,
  t: TreeInput,
  options: Pick<CheckpointOptions, 'onProgress'>,
): Promise<Checkpoint | null> {
  const { previous, node } = t;
  const catalog = treeCatalog(tx.schema, node);
  if (previous !== null && BigInt(t.horizon) < BigInt(previous.horizon)) {
    throw new InvalidStateError(
      `the transaction horizon ${t.horizon}${node === undefined ? '' : ` of node group ${node}`} is below the previous checkpoint's (${previous.horizon})`,
    );
  }
  const acc = new MerkleAccumulator();
  const prevSize = previous?.treeSize ?? 0;
  let prefixRoot: string | null = null;
  let pending: Buffer[] = [];
  let pendingFirst = prevSize;
  const id = (previous?.id ?? 0) + 1;
  const nodeColumn = node === undefined ? '' : 'node, ';
  const nodeValue = node === undefined ? '' : `${node}, `;
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    await tx.run(
      `INSERT INTO ${catalog.leaves} (${nodeColumn}first_leaf, checkpoint_id, leaf_count, leaves)
       VALUES (${nodeValue}$1, $2, $3, pg_catalog.decode($4, 'hex'))`,
      [pendingFirst, id, pending.length, Buffer.concat(pending).toString('hex')],
    );
    pendingFirst += pending.length;
    pending = [];
  };
  // Leaves [prevSize, size) are new: store their data, so later verifications can locate a change.
  await streamLeaves(
    tx,
    t.tables,
    t.horizon,
    async (leaves) => {
      for (const leaf of leaves) {
        if (acc.size === prevSize && prevSize > 0) prefixRoot = toHex(acc.root());
        if (acc.size >= prevSize) pending.push(leaf.data);
        acc.pushLeafHash(leaf.leafHash);
        if (pending.length === CHUNK) await flush();
      }
      options.onProgress?.(acc.size);
    },
    { node },
  );
  if (acc.size === prevSize && prevSize > 0) prefixRoot = toHex(acc.root());
  if (previous === null && acc.size === 0 && node !== undefined) return null;
  await flush();
  const of = node === undefined ? '' : ` of node group ${node}`;
  if (previous !== null && prevSize > 0 && prefixRoot !== previous.root) {
    throw new IntegrityError(
      acc.size < prevSize
        ? `the log holds ${acc.size} versions${of} below checkpoint ${previous.id}'s horizon, fewer than its ${prevSize}: checkpointed history was removed`
        : `the first ${prevSize} versions${of} no longer hash to checkpoint ${previous.id}'s root: checkpointed history was rewritten. Run verify against that checkpoint`,
    );
  }
  const body: CheckpointBody = {
    spec: SPEC_VERSION,
    origin: t.origin,
    schema: tx.schema,
    ...(node === undefined ? {} : { node }),
    id,
    treeSize: acc.size,
    root: toHex(acc.root()),
    horizon: t.horizon,
    createdAt: t.createdAt,
    tables: [...t.tables],
  };
  const checkpoint: Checkpoint = t.key === undefined ? body : signCheckpoint(body, t.key);
  await tx.run(
    `INSERT INTO ${catalog.checkpoints} (${nodeColumn}id, created_at, tree_size, root, horizon, body)
     VALUES (${nodeValue}$1, $2::timestamptz, $3, pg_catalog.decode($4, 'hex'), $5::xid8, $6::jsonb)`,
    [id, body.createdAt, body.treeSize, body.root, t.horizon, JSON.stringify(checkpoint)],
  );
  return checkpoint;
}

/** The origin of the log: the recorded one, else the one asked for, else a fresh random one. */
function logOrigin(schema: string, recorded: string | undefined, asked: string | undefined): string {
  if (typeof recorded === 'string') {
    if (asked !== undefined && asked !== recorded) {
      throw new InvalidInputError(
        `this log's origin is "${recorded}" since its first checkpoint; a log keeps its origin`,
        'origin',
      );
    }
    return recorded;
  }
  return asked ?? `appendlog.local/${schema}/${randomBytes(10).toString('hex')}`;
}
