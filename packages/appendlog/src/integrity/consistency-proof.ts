import { InvalidInputError } from '../errors.js';
import type { Session } from '../session.js';
import type { Checkpoint } from './checkpoint-format.js';
import { parseCheckpoint } from './checkpoint-parse.js';
import { toHex } from './hex.js';
import { storedLeafReader } from './leaf-reader.js';
import { checkpointToProve } from './leaves.js';
import { leafHash } from './merkle.js';
import { consistencyRanges, RangeRoots } from './proof-ranges.js';

/** Options of `db.consistencyProof()`. */
export interface ConsistencyProofOptions {
  /** The checkpoint to prove consistency up to (its id in the catalog); default the latest. */
  checkpointId?: number;
  /** Of a row-sharded schema: the node group whose tree (docs/spec.md §7.7) the proof is in. */
  node?: number;
}

/** An RFC 9162 consistency proof from an older tree size to a checkpoint. */
export interface ConsistencyProof {
  /** The checkpoint the proof leads to, as the catalog holds it (signed if it was). */
  checkpoint: Checkpoint;
  oldSize: number;
  /** The proof's hashes, hex, in RFC 9162 §2.1.4 order. */
  proof: string[];
}

/**
 * Builds the consistency proof from the tree of the first `oldSize` versions to a stored
 * checkpoint, from the catalog's leaf index: what a witness checks before it cosigns. An
 * `oldSize` above the checkpoint's size gets no proof (an empty one).
 */
export async function buildConsistencyProof(
  db: Session,
  oldSize: number,
  options: ConsistencyProofOptions = {},
): Promise<ConsistencyProof> {
  const node = options.node;
  if (node !== undefined && (!Number.isSafeInteger(node) || node < 0)) {
    throw new InvalidInputError('node must be a node group id, a non-negative integer', 'node');
  }
  return db.snapshot(async (tx) => {
    const stored = await checkpointToProve(tx, options.checkpointId, node, 'prove consistency with');
    if (!Number.isSafeInteger(oldSize) || oldSize < 0) {
      throw new InvalidInputError('oldSize must be a non-negative integer', 'oldSize');
    }
    const checkpoint = parseCheckpoint(stored.body);
    // Larger than the checkpoint there is no proof: the log shrank, as a witness will say.
    if (oldSize > stored.treeSize) return { checkpoint, oldSize, proof: [] };
    const ranges = consistencyRanges(oldSize, stored.treeSize);
    const rr = new RangeRoots(ranges);
    if (ranges.length > 0) {
      const end = Math.max(...ranges.map((r) => r[1]));
      const reader = await storedLeafReader(tx, end, (data) => rr.push(leafHash(data)), node);
      while ((await reader.next()) !== null) {}
    }
    return { checkpoint, oldSize, proof: rr.roots().map(toHex) };
  });
}
