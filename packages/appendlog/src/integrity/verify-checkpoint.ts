import type { KeyObject } from 'node:crypto';
import type { Session } from '../session.js';
import type { Checkpoint } from './checkpoint-format.js';
import { checkSignature } from './checkpoint-sign.js';
import { checkCosignatures, type Witness } from './checkpoint-witnesses.js';
import { fromHex, toHex } from './hex.js';
import { leafKey, logLeafReader, type NamedLeaf, storedLeafReader } from './leaf-reader.js';
import {
  countLeaves,
  hasCheckpointCatalog,
  snapshotHorizon,
  storedCheckpoint,
  streamLeaves,
} from './leaves.js';
import { leafHash, MerkleAccumulator } from './merkle.js';
import { verifyConsistency } from './merkle-verify.js';
import { consistencyRanges, RangeRoots } from './proof-ranges.js';
import type { ConsistencyReport, Report } from './report.js';
import { findShardedLogs, findSubscribedLogs } from './tx-ids-ahead.js';
import { XID8_MAX } from './writing-nodes.js';

/** Options for checking the log against a checkpoint. */
export interface AgainstOptions {
  /** The key the checkpoint must be signed with (raw hex, PEM, KeyObject or C2SP verifier key). */
  publicKey?: string | KeyObject;
  /** Witnesses trusted to cosign the checkpoint; with `witnessQuorum`, how many must have. */
  witnesses?: readonly Witness[];
  /** How many of `witnesses` must have cosigned the checkpoint (default: all of them). */
  witnessQuorum?: number;
  /**
   * Of a row-sharded schema: each node's transaction horizon, read on the node before the
   * verification's snapshot was; a node absent has left the cluster.
   */
  nodeHorizons?: ReadonlyMap<number, bigint>;
  onProgress?: (leaves: number, total: number) => void;
}

/**
 * Proves that the log is a consistent extension of `cp` (RFC 9162 consistency proof between the
 * checkpoint's tree and the tree of the log now), and when it is not, locates what changed by
 * comparing the log with the checkpoint's leaf index (itself authenticated by the checkpoint's root).
 * `tables` are the schema's tables whose log exists. Runs in the verification's snapshot.
 */
export async function verifyAgainst(
  tx: Session,
  cp: Checkpoint,
  tables: readonly string[],
  report: Report,
  options: AgainstOptions = {},
): Promise<ConsistencyReport> {
  const signatureProblem = checkSignature(cp, options.publicKey);
  if (signatureProblem !== null) report.fail(null, null, null, 'checkpoint_invalid', signatureProblem);
  const witnesses = options.witnesses ?? [];
  if (witnesses.length > 0) {
    const problem = checkCosignatures(cp, witnesses, options.witnessQuorum ?? witnesses.length);
    if (problem !== null) report.fail(null, null, null, 'checkpoint_witnesses', problem);
  }
  if (cp.schema !== tx.schema) {
    report.fail(
      null,
      null,
      null,
      'checkpoint_invalid',
      `the checkpoint is of schema "${cp.schema}", not "${tx.schema}"`,
    );
  }
  const node = cp.node;
  const of = node === undefined ? '' : ` of node group ${node}`;
  const sharded = (await findShardedLogs(tx, tables)).length > 0;
  if (sharded !== (node !== undefined)) {
    report.fail(
      null,
      null,
      null,
      'checkpoint_invalid',
      sharded
        ? `the checkpoint is of one tree, and this schema is row-sharded: verify against its nodes' checkpoints, as db.clusterCheckpoint() takes them`
        : `the checkpoint is of node group ${node}'s tree of a row-sharded schema, and this schema is not row-sharded`,
    );
    return {
      ...(node === undefined ? {} : { node }),
      oldSize: cp.treeSize,
      oldRoot: cp.root,
      newSize: 0,
      newRoot: '',
      proof: [],
      ok: false,
    };
  }
  const recorded = (await hasCheckpointCatalog(tx, node))
    ? await storedCheckpoint(tx, undefined, node)
    : null;
  const origin = (recorded?.body as { origin?: unknown } | undefined)?.origin;
  if (cp.origin !== undefined && typeof origin === 'string' && cp.origin !== origin) {
    report.fail(
      null,
      null,
      null,
      'checkpoint_invalid',
      `the checkpoint is of the log "${cp.origin}", not of this one ("${origin}")`,
    );
  }
  // A logical replication subscriber's logs hold the publisher's transaction ids, which this
  // database's horizon says nothing about: the tree is the one the checkpoint's own horizon drew.
  const subscribed = (await findSubscribedLogs(tx, tables)).length > 0;
  let horizon =
    node !== undefined
      ? String(options.nodeHorizons?.get(node) ?? XID8_MAX)
      : subscribed
        ? cp.horizon
        : await snapshotHorizon(tx);
  if (BigInt(horizon) < BigInt(cp.horizon)) {
    report.fail(
      null,
      null,
      null,
      'checkpoint_invalid',
      `the checkpoint's horizon ${cp.horizon} is ahead of ${node === undefined ? "this database's" : `node group ${node}'s`} (${horizon}); restored from another cluster, this database needs the step of docs/operations.md, "Restore into another cluster"`,
    );
    horizon = cp.horizon;
  }
  const m = cp.treeSize;
  const n = await countLeaves(tx, tables, horizon, node);
  const ranges = m <= n ? consistencyRanges(m, n) : [];
  const rr = new RangeRoots(ranges);
  const acc = new MerkleAccumulator();
  let oldRoot = m === 0 ? toHex(acc.root()) : '';
  await streamLeaves(
    tx,
    tables,
    horizon,
    (leaves) => {
      for (const leaf of leaves) {
        rr.push(leaf.leafHash);
        acc.pushLeafHash(leaf.leafHash);
        if (acc.size === m) oldRoot = toHex(acc.root());
      }
      options.onProgress?.(acc.size, n);
    },
    { node },
  );
  const newRoot = toHex(acc.root());
  const proven = (proof: string[], ok: boolean): ConsistencyReport => ({
    ...(node === undefined ? {} : { node }),
    oldSize: m,
    oldRoot: cp.root,
    newSize: n,
    newRoot,
    proof,
    ok,
  });
  let consistency: ConsistencyReport;
  if (m > n) {
    report.fail(
      null,
      null,
      null,
      'checkpoint_truncated',
      subscribed
        ? `the checkpoint covers ${m} versions but this subscriber has received only ${n} of them: wait for the subscription to catch up, then verify again`
        : `the checkpoint covers ${m} versions${of} but the log now has only ${n}`,
    );
    consistency = proven([], false);
  } else {
    const proof = rr.roots();
    const ok = verifyConsistency(m, n, fromHex(cp.root), fromHex(newRoot), proof);
    consistency = proven(proof.map(toHex), ok);
    // A version slipped in below the checkpoint's horizon, right after its last leaf, would leave the
    // prefix intact: the number of versions below the horizon must still be the checkpoint's size.
    const below = ok ? await countLeaves(tx, tables, cp.horizon, node) : m;
    if (below !== m) {
      consistency.ok = false;
      report.fail(
        null,
        null,
        null,
        'checkpoint_inconsistent',
        `the log holds ${below} versions below ${cpName(cp)}'s horizon ${cp.horizon}, not ${m}`,
      );
    } else if (!ok) {
      report.fail(
        null,
        null,
        null,
        'checkpoint_inconsistent',
        `the log is not an extension of ${cpName(cp)}: its first ${m} versions hash to ${oldRoot}, not ${cp.root}`,
      );
    }
  }
  if (!consistency.ok) await locateChanges(tx, cp, tables, report);
  return consistency;
}

/** How failures name a checkpoint: its id, and its node for a node's tree. */
const cpName = (cp: Checkpoint): string =>
  cp.node === undefined ? `checkpoint ${cp.id}` : `node group ${cp.node}'s checkpoint ${cp.id}`;

/**
 * Names the versions that differ between the checkpoint's leaves (from the catalog's leaf index,
 * authenticated by the checkpoint's root) and the log's versions below the checkpoint's horizon.
 */
async function locateChanges(
  tx: Session,
  cp: Checkpoint,
  tables: readonly string[],
  report: Report,
): Promise<void> {
  const node = cp.node;
  if (!(await hasCheckpointCatalog(tx, node))) {
    report.fail(
      null,
      null,
      null,
      'checkpoint_index',
      'this database has no checkpoint leaf index, so the change cannot be located',
    );
    return;
  }
  const indexAcc = new MerkleAccumulator();
  const stored = await storedLeafReader(
    tx,
    cp.treeSize,
    (data) => indexAcc.pushLeafHash(leafHash(data)),
    node,
  );
  const current = await logLeafReader(tx, tables, cp.horizon, node);
  const pendingOld = new Map<string, NamedLeaf>();
  const pendingNew = new Map<string, NamedLeaf>();
  const displaced: NamedLeaf[] = [];
  let located = 0;
  const changed = (old: NamedLeaf, now: NamedLeaf): void => {
    if (old.hash === now.hash) return;
    located += 1;
    report.fail(
      now.table,
      now.entryId,
      now.version,
      'checkpoint_changed_version',
      `version ${now.version} differs from the one ${cpName(cp)} holds`,
    );
  };
  for (;;) {
    const s = await stored.next();
    const c = await current.next();
    if (s === null && c === null) break;
    if (s !== null && c !== null && leafKey(s) === leafKey(c)) {
      changed(s, c);
      continue;
    }
    if (s !== null) {
      const k = leafKey(s);
      const match = pendingNew.get(k);
      if (match) {
        pendingNew.delete(k);
        changed(s, match);
        if (displaced.length < 1000) displaced.push(match);
      } else {
        pendingOld.set(k, s);
      }
    }
    if (c !== null) {
      const k = leafKey(c);
      const match = pendingOld.get(k);
      if (match) {
        pendingOld.delete(k);
        changed(match, c);
        if (displaced.length < 1000) displaced.push(c);
      } else {
        pendingNew.set(k, c);
      }
    }
  }
  for (const s of pendingOld.values()) {
    located += 1;
    report.fail(
      s.table,
      s.entryId,
      s.version,
      'checkpoint_missing_version',
      `version ${s.version} is in ${cpName(cp)} but no longer in the log`,
    );
  }
  for (const c of pendingNew.values()) {
    located += 1;
    report.fail(
      c.table,
      c.entryId,
      c.version,
      'checkpoint_unexpected_version',
      `version ${c.version} is in the log below ${cpName(cp)}'s horizon but not in the checkpoint`,
    );
  }
  if (located === 0) {
    for (const d of displaced) {
      located += 1;
      report.fail(
        d.table,
        d.entryId,
        d.version,
        'checkpoint_order',
        `version ${d.version} moved in the log's order since ${cpName(cp)}`,
      );
    }
  }
  const indexRoot = toHex(indexAcc.root());
  if (indexAcc.size !== cp.treeSize || indexRoot !== cp.root) {
    report.fail(
      null,
      null,
      null,
      'checkpoint_index',
      `the catalog's copy of ${cpName(cp)}'s leaves does not match the checkpoint (altered too, or taken elsewhere): the versions listed may be incomplete`,
    );
  } else if (located === 0) {
    report.fail(null, null, null, 'checkpoint_index', 'the change could not be located');
  }
}
