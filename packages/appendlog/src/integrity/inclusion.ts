import type { KeyObject } from 'node:crypto';
import { IntegrityError, InvalidInputError, NotFoundError } from '../errors.js';
import { SPEC_VERSION } from '../hash/spec.js';
import type { VersionFields } from '../model/log-columns.js';
import { checkEntryId, checkVersionNumber } from '../model/values.js';
import type { Session } from '../session.js';
import { tableObjects } from '../sql/names.js';
import { hexColumnsSql, versionFieldsSql } from '../sql/version-fields.js';
import { checkStoredColumns, recordedTables } from './catalog.js';
import type { Checkpoint } from './checkpoint-format.js';
import { parseCheckpoint } from './checkpoint-parse.js';
import { checkSignature } from './checkpoint-sign.js';
import { VersionHasher } from './hasher.js';
import { fromHex, toHex } from './hex.js';
import { versionLeafHash } from './leaf.js';
import { storedLeafReader } from './leaf-reader.js';
import { checkpointToProve } from './leaves.js';
import { leafHash } from './merkle.js';
import { verifyInclusion } from './merkle-verify.js';
import { inclusionRanges, RangeRoots } from './proof-ranges.js';
import { Report } from './report.js';
import { findShardedLogs } from './tx-ids-ahead.js';
import { READ_SETTINGS_SQL, verifyChains } from './verify-chains.js';

/**
 * Names one version.
 *
 * @example
 * const ref: VersionRef = { table: 'addresses', entryId: v.entryId, version: v.version };
 */
export interface VersionRef {
  table: string;
  entryId: string;
  version: number;
}

export interface InclusionProofOptions {
  /**
   * The checkpoint to prove inclusion in (its id in the catalog); default the latest. Of a
   * row-sharded schema, the id among the checkpoints of the node that wrote the version.
   */
  checkpointId?: number;
}

/**
 * Proof that one version is a leaf of a checkpoint's tree (docs/spec.md §7.6). It carries the
 * version's hashed fields, so a verifier recomputes the version hash itself.
 *
 * @example
 * const proof: InclusionProof = await db.inclusionProof({ table: 'addresses', entryId, version: 2 });
 * writeFileSync('proof.json', JSON.stringify(proof));
 */
export interface InclusionProof {
  spec: typeof SPEC_VERSION;
  /** The checkpoint's id, size and root; `node` for a node's tree of a row-sharded schema. */
  checkpoint: { node?: number; id: number; treeSize: number; root: string };
  leafIndex: number;
  table: string;
  entryId: string;
  version: number;
  op: string;
  recordedAt: string;
  txId: string;
  actor: string | null;
  reason: string | null;
  meta: string | null;
  /** Hex; null for version 1. */
  parentHash: string | null;
  contentHash: string;
  hash: string;
  /** Sibling subtree hashes, leaf level first (RFC 9162 §2.1.3.1), hex. */
  proof: string[];
}

export async function buildInclusionProof(
  db: Session,
  ref: VersionRef,
  options: InclusionProofOptions,
): Promise<InclusionProof> {
  if (typeof ref !== 'object' || ref === null || typeof ref.table !== 'string') {
    throw new InvalidInputError('inclusionProof() takes { table, entryId, version }', 'version');
  }
  const entryId = checkEntryId(ref.entryId);
  const version = checkVersionNumber(ref.version, 'version');
  return db.snapshot(async (tx) => {
    for (const sql of READ_SETTINGS_SQL) await tx.run(sql);
    const [t] = await recordedTables(tx, [ref.table]);
    if (t === undefined) throw new NotFoundError(`no table "${ref.table}" in the schema history`);
    const log = tableObjects(tx.schema, t.table).log;
    // Of a row-sharded schema, the version is in the tree of the node that wrote it (docs/spec.md §7.7).
    let node: number | undefined;
    if ((await findShardedLogs(tx, [t.table])).length > 0) {
      const [at] = await tx.run<{ g: number }>(
        `SELECT (l.seq >> 48)::int AS g FROM ${log} l WHERE l.entry_id = $1 AND l.version = $2`,
        [entryId, version],
      );
      if (!at) throw new NotFoundError(`${ref.table} ${entryId} has no version ${version}`);
      node = Number(at.g);
    }
    const cp = await checkpointToProve(tx, options.checkpointId, node, 'prove inclusion in');

    // The version must verify before anything is said about it.
    const report = new Report();
    const readable = await checkStoredColumns(tx, t, report);
    if (readable === null) throw new IntegrityError(`the log of ${t.table} is missing`);
    await verifyChains(tx, t, readable, readable.length === t.columns.length, report, { entryId });
    const bad = report.failures.find((f) => f.version === version || f.version === null);
    if (bad)
      throw new IntegrityError(
        `${ref.table} ${entryId} version ${version} does not verify: ${bad.problem} (${bad.detail})`,
      );
    const [row] = await tx.run<VersionFields & { parentHash: string | null; contentHash: string }>(
      `SELECT ${versionFieldsSql('l')}, ${hexColumnsSql('l', ['parent_hash', 'content_hash'], log)}
         FROM ${log} l WHERE l.entry_id = $1 AND l.version = $2`,
      [entryId, version],
    );
    if (!row) throw new NotFoundError(`${ref.table} ${entryId} has no version ${version}`);
    const { entryId: _entryId, version: _version, ...fields } = row;
    const hash = recomputeHash(t.table, entryId, version, fields);
    const leaf = toHex(versionLeafHash({ table: t.table, entryId, version, hash: fromHex(hash) }));

    // Pass 1: the leaf's position in the checkpoint's leaf index. Pass 2: the sibling subtrees.
    let index = -1;
    let pos = 0;
    const finder = await storedLeafReader(
      tx,
      cp.treeSize,
      (data) => {
        if (index < 0 && toHex(leafHash(data)) === leaf) index = pos;
        pos += 1;
      },
      node,
    );
    while (index < 0 && (await finder.next()) !== null) {}
    if (index < 0) {
      throw new NotFoundError(
        `${ref.table} ${entryId} version ${version} is not in ${node === undefined ? '' : `node group ${node}'s `}checkpoint ${cp.id} (too recent, or changed since)`,
      );
    }
    const rr = new RangeRoots(inclusionRanges(index, cp.treeSize));
    const feeder = await storedLeafReader(tx, cp.treeSize, (data) => rr.push(leafHash(data)), node);
    while ((await feeder.next()) !== null) {}
    return {
      spec: SPEC_VERSION,
      checkpoint: {
        ...(node === undefined ? {} : { node }),
        id: cp.id,
        treeSize: cp.treeSize,
        root: cp.root,
      },
      leafIndex: index,
      table: t.table,
      entryId,
      version,
      ...fields,
      hash,
      proof: rr.roots().map(toHex),
    };
  });
}

function recomputeHash(
  table: string,
  entryId: string,
  version: number,
  f: Omit<VersionFields, 'entryId' | 'version'> & Pick<InclusionProof, 'parentHash' | 'contentHash'>,
): string {
  return new VersionHasher(table, [])
    .versionHash(
      { ...f, entryId, version: String(version) },
      f.parentHash === null ? null : fromHex(f.parentHash),
      fromHex(f.contentHash),
    )
    .toString('hex');
}

/** The outcome of checking an inclusion proof. */
export interface InclusionCheck {
  ok: boolean;
  /** Why it failed; null when ok. */
  problem: string | null;
}

/**
 * Checks an inclusion proof offline: recomputes the version hash from the fields the proof
 * carries, its leaf hash, and the path up to the root, and (given the checkpoint you kept) that
 * the root and size are the checkpoint's, with its signature. Never throws on a bad proof.
 *
 * @example
 * const { ok, problem } = verifyInclusionProof(proof, JSON.parse(readFileSync('checkpoint.json', 'utf8')));
 */
export function verifyInclusionProof(
  proof: InclusionProof,
  checkpoint?: Checkpoint | string,
  options: { publicKey?: string | KeyObject } = {},
): InclusionCheck {
  const no = (problem: string): InclusionCheck => ({ ok: false, problem });
  try {
    if (typeof proof !== 'object' || proof === null || proof.spec !== SPEC_VERSION)
      return no('not an appendlog/v1 inclusion proof');
    const hash = recomputeHash(proof.table, proof.entryId, proof.version, proof);
    if (hash !== proof.hash) return no('the version hash does not match the fields in the proof');
    if (checkpoint !== undefined) {
      const cp = parseCheckpoint(checkpoint);
      const sig = checkSignature(cp, options.publicKey);
      if (sig !== null) return no(sig);
      if (cp.treeSize !== proof.checkpoint.treeSize || cp.root !== proof.checkpoint.root) {
        return no('the proof is for another tree than the checkpoint given');
      }
    }
    if (
      !Array.isArray(proof.proof) ||
      proof.proof.some((p) => typeof p !== 'string' || !/^[0-9a-f]{64}$/.test(p))
    ) {
      return no('the proof path is malformed');
    }
    const leaf = versionLeafHash({
      table: proof.table,
      entryId: proof.entryId,
      version: proof.version,
      hash: fromHex(hash),
    });
    const ok = verifyInclusion(
      leaf,
      proof.leafIndex,
      proof.checkpoint.treeSize,
      proof.proof.map(fromHex),
      fromHex(proof.checkpoint.root),
    );
    return ok ? { ok, problem: null } : no('the path does not lead to the root');
  } catch (err) {
    return no(err instanceof Error ? err.message : String(err));
  }
}
