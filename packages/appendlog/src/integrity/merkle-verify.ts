import { emptyRoot, isHash, nodeHash } from './merkle.js';

/**
 * Verifies an inclusion proof exactly as RFC 9162 section 2.1.3.2: that the leaf with hash
 * `leafHash` sits at `index` in the tree of `treeSize` leaves whose Merkle Tree Hash is `root`.
 *
 * Never throws: malformed input (sizes that are not safe non-negative integers, `index >= treeSize`,
 * hashes that are not 32 bytes, a path of the wrong length) is simply not a proof. The tree size is
 * bound to the root only through the shape of the path, so `treeSize` and `root` must come from the
 * same trusted (signed) tree head.
 *
 * @example
 * ```ts
 * const proof = inclusionProof(leafHashes, 5, 8);
 * verifyInclusion(leafHashes[5]!, 5, 8, proof, merkleRoot(leafHashes, 8)); // true
 * verifyInclusion(leafHashes[5]!, 4, 8, proof, merkleRoot(leafHashes, 8)); // false
 * ```
 */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!isTreeSize(index) || !isTreeSize(treeSize) || index >= treeSize) return false;
  if (!isHash(leafHash) || !isHash(root) || !isHashList(proof)) return false;
  let fn = index;
  let sn = treeSize - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && bytesEqual(r, root);
}

/**
 * Verifies a consistency proof exactly as RFC 9162 section 2.1.4.2: that the tree of `oldSize`
 * leaves with root `oldRoot` is a prefix of the tree of `newSize` leaves with root `newRoot`.
 *
 * RFC 9162 defines proofs for `0 < oldSize < newSize`; the two edge cases outside it are accepted
 * only with an empty proof: equal sizes need equal roots, and `oldSize` 0 needs `oldRoot` to be the
 * empty-tree hash (every tree extends the empty one). `oldSize > newSize` is always false. Never
 * throws; malformed input is simply not a proof.
 *
 * @example
 * ```ts
 * const proof = consistencyProof(leafHashes, 6, 8);
 * verifyConsistency(6, 8, merkleRoot(leafHashes, 6), merkleRoot(leafHashes, 8), proof); // true
 * verifyConsistency(6, 8, merkleRoot(leafHashes, 8), merkleRoot(leafHashes, 6), proof); // false
 * ```
 */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!isTreeSize(oldSize) || !isTreeSize(newSize) || oldSize > newSize) return false;
  if (!isHash(oldRoot) || !isHash(newRoot) || !isHashList(proof)) return false;
  if (oldSize === newSize) return proof.length === 0 && bytesEqual(oldRoot, newRoot);
  if (oldSize === 0) return proof.length === 0 && bytesEqual(oldRoot, emptyRoot());
  if (proof.length === 0) return false;

  // Step 2: when oldSize is a power of two, oldRoot is itself the first node of the path.
  let i = 0;
  let fr = oldRoot;
  if (!isPowerOfTwo(oldSize)) {
    fr = proof[0]!;
    i = 1;
  }
  let sr = fr;
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (fn % 2 === 1) {
    fn = (fn - 1) / 2;
    sn = Math.floor(sn / 2);
  }
  for (; i < proof.length; i++) {
    const c = proof[i]!;
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && bytesEqual(fr, oldRoot) && bytesEqual(sr, newRoot);
}

/** Tree sizes and indices are safe non-negative integers (bit operations would wrap at 2^32). */
function isTreeSize(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

function isPowerOfTwo(n: number): boolean {
  if (n < 1) return false;
  let k = n;
  while (k % 2 === 0) k /= 2;
  return k === 1;
}

function isHashList(proof: readonly Uint8Array[]): boolean {
  if (!Array.isArray(proof)) return false;
  for (const node of proof) if (!isHash(node)) return false;
  return true;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
