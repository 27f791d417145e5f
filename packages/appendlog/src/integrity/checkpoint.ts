import { type KeyObject, randomBytes } from 'node:crypto';
import { IntegrityError, InvalidInputError, InvalidStateError } from '../errors.js';
import { SPEC_VERSION } from '../hash/spec.js';
import type { Session } from '../session.js';
import { utcIsoSql } from '../sql/canonical.js';
import { catalogName } from '../sql/names.js';
import { recordedTables } from './catalog.js';
import { type Checkpoint, type CheckpointBody, signingKey } from './checkpoint-format.js';
import { signCheckpoint } from './checkpoint-sign.js';
import { toHex } from './hex.js';
import {
  existingLogs,
  hasCheckpointCatalog,
  snapshotHorizon,
  storedCheckpoint,
  streamLeaves,
} from './leaves.js';
import { MerkleAccumulator } from './merkle.js';
import { isKeyName } from './note.js';
import { refuseTxIdsAhead } from './tx-ids-ahead.js';

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
  const key = options.signKey === undefined ? undefined : signingKey(options.signKey);
  if (options.origin !== undefined && !isKeyName(options.origin)) {
    throw new InvalidInputError(
      `origin "${options.origin}" must be non-empty, without spaces, "+" or control characters`,
      'origin',
    );
  }
  return db.pinnedTransaction(async (tx) => {
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
    const tables = await existingLogs(
      tx,
      (await recordedTables(tx)).map((t) => t.table),
    );
    // Restored from a cluster ahead of this one, later checkpoints could not extend this one.
    await refuseTxIdsAhead(tx, 'checkpoint', tables);
    const previous = await storedCheckpoint(tx);
    const origin = logOrigin(
      tx.schema,
      (previous?.body as { origin?: unknown } | undefined)?.origin,
      options.origin,
    );
    const horizon = await snapshotHorizon(tx);
    if (previous !== null && BigInt(horizon) < BigInt(previous.horizon)) {
      throw new InvalidStateError(
        `the transaction horizon ${horizon} is below the previous checkpoint's (${previous.horizon})`,
      );
    }
    const acc = new MerkleAccumulator();
    const prevSize = previous?.treeSize ?? 0;
    let prefixRoot: string | null = null;
    let pending: Buffer[] = [];
    let pendingFirst = prevSize;
    const id = (previous?.id ?? 0) + 1;
    const flush = async (): Promise<void> => {
      if (pending.length === 0) return;
      await tx.run(
        `INSERT INTO ${catalogName(tx.schema, 'appendlog_checkpoint_leaves')} (first_leaf, checkpoint_id, leaf_count, leaves)
         VALUES ($1, $2, $3, pg_catalog.decode($4, 'hex'))`,
        [pendingFirst, id, pending.length, Buffer.concat(pending).toString('hex')],
      );
      pendingFirst += pending.length;
      pending = [];
    };
    // Leaves [prevSize, size) are new: store their data, so later verifications can locate a change.
    await streamLeaves(tx, tables, horizon, async (leaves) => {
      for (const leaf of leaves) {
        if (acc.size === prevSize && prevSize > 0) prefixRoot = toHex(acc.root());
        if (acc.size >= prevSize) pending.push(leaf.data);
        acc.pushLeafHash(leaf.leafHash);
        if (pending.length === CHUNK) await flush();
      }
      options.onProgress?.(acc.size);
    });
    if (acc.size === prevSize && prevSize > 0) prefixRoot = toHex(acc.root());
    await flush();
    if (previous !== null && prevSize > 0 && prefixRoot !== previous.root) {
      throw new IntegrityError(
        acc.size < prevSize
          ? `the log holds ${acc.size} versions below checkpoint ${previous.id}'s horizon, fewer than its ${prevSize}: checkpointed history was removed`
          : `the first ${prevSize} versions no longer hash to checkpoint ${previous.id}'s root: checkpointed history was rewritten. Run verify against that checkpoint`,
      );
    }
    const [now] = await tx.run<{ t: string }>(`SELECT ${utcIsoSql('pg_catalog.clock_timestamp()')} AS t`);
    const body: CheckpointBody = {
      spec: SPEC_VERSION,
      origin,
      schema: tx.schema,
      id,
      treeSize: acc.size,
      root: toHex(acc.root()),
      horizon,
      createdAt: now!.t,
      tables,
    };
    const checkpoint: Checkpoint = key === undefined ? body : signCheckpoint(body, key);
    await tx.run(
      `INSERT INTO ${catalogName(tx.schema, 'appendlog_checkpoints')} (id, created_at, tree_size, root, horizon, body)
       VALUES ($1, $2::timestamptz, $3, pg_catalog.decode($4, 'hex'), $5::xid8, $6::jsonb)`,
      [id, body.createdAt, body.treeSize, body.root, horizon, JSON.stringify(checkpoint)],
    );
    return checkpoint;
  });
}

/** The origin of the log: the recorded one, else the one asked for, else a fresh random one. */
function logOrigin(schema: string, recorded: unknown, asked: string | undefined): string {
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
