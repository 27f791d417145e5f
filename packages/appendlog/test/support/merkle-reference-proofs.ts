// The RFC 9162 proof algorithms written straight from the RFC, over an in-memory array of leaf
// hashes: the reference the streaming proofs of src/integrity/proof-ranges.ts are tested against.
import { subtreeRoot } from '../../src/integrity/merkle.js';

/**
 * The RFC 9162 section 2.1.3.1 inclusion proof `PATH(index, D[treeSize])` for the leaf at `index`
 * in the tree of the first `treeSize` leaf hashes: sibling subtree hashes, leaf level first.
 *
 * Costs O(treeSize) hashing, since it rebuilds every sibling subtree from the leaves.
 *
 * @throws {RangeError} unless `0 <= index < treeSize <= leafHashes.length`.
 *
 * @example
 * ```ts
 * const proof = inclusionProof(leafHashes, 5, 8);
 * verifyInclusion(leafHashes[5]!, 5, 8, proof, merkleRoot(leafHashes, 8)); // true
 * ```
 */
export function inclusionProof(
  leafHashes: readonly Uint8Array[],
  index: number,
  treeSize: number,
): Uint8Array[] {
  assertTreeSize(leafHashes, treeSize);
  if (!Number.isSafeInteger(index) || index < 0 || index >= treeSize) {
    throw new RangeError(`leaf index ${index} is not in a tree of size ${treeSize}`);
  }
  // Walk from the root down to the leaf, collecting siblings; PATH lists them leaf first.
  const path: Uint8Array[] = [];
  let start = 0;
  let end = treeSize;
  while (end - start > 1) {
    const split = start + largestPowerOfTwoBelow(end - start);
    if (index < split) {
      path.push(subtreeRoot(leafHashes, split, end));
      end = split;
    } else {
      path.push(subtreeRoot(leafHashes, start, split));
      start = split;
    }
  }
  return path.reverse();
}

/**
 * The RFC 9162 section 2.1.4.1 consistency proof `PROOF(oldSize, D[newSize])` between the trees of
 * the first `oldSize` and the first `newSize` leaf hashes. Empty when `oldSize` is 0 or equals
 * `newSize`, the cases RFC 9162 leaves outside `0 < m < n`.
 *
 * Costs O(newSize) hashing, since it rebuilds every subtree it lists from the leaves.
 *
 * @throws {RangeError} unless `0 <= oldSize <= newSize <= leafHashes.length`.
 *
 * @example
 * ```ts
 * const proof = consistencyProof(leafHashes, 6, 8);
 * verifyConsistency(6, 8, merkleRoot(leafHashes, 6), merkleRoot(leafHashes, 8), proof); // true
 * ```
 */
export function consistencyProof(
  leafHashes: readonly Uint8Array[],
  oldSize: number,
  newSize: number,
): Uint8Array[] {
  assertTreeSize(leafHashes, newSize);
  if (!Number.isSafeInteger(oldSize) || oldSize < 0 || oldSize > newSize) {
    throw new RangeError(`old tree size ${oldSize} is not within 0..${newSize}`);
  }
  if (oldSize === 0) return [];
  // SUBPROOF(m, D[start:end], b) unrolled: `m` stays absolute, `start`/`end` narrow the subtree,
  // `complete` is b (the subtree is still a left edge whose root the verifier already holds).
  const path: Uint8Array[] = [];
  let start = 0;
  let end = newSize;
  let complete = true;
  while (oldSize !== end) {
    const split = start + largestPowerOfTwoBelow(end - start);
    if (oldSize <= split) {
      path.push(subtreeRoot(leafHashes, split, end));
      end = split;
    } else {
      path.push(subtreeRoot(leafHashes, start, split));
      start = split;
      complete = false;
    }
  }
  if (!complete) path.push(subtreeRoot(leafHashes, start, end));
  return path.reverse();
}

function assertTreeSize(leafHashes: readonly Uint8Array[], treeSize: number): void {
  if (!Number.isSafeInteger(treeSize) || treeSize < 0 || treeSize > leafHashes.length) {
    throw new RangeError(`tree size ${treeSize} is not within 0..${leafHashes.length}`);
  }
}

/** The largest power of two strictly below `n`, for `n >= 2`. */
function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
