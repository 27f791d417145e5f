import { MerkleAccumulator } from './merkle.js';

/** A half-open range of leaf positions `[start, end)`. */
export type LeafRange = readonly [start: number, end: number];

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * The leaf ranges whose subtree roots make up the inclusion proof of leaf `index` in a tree of
 * `treeSize` leaves, in proof order (leaf level first). Mirrors `inclusionProof` of the reference
 * proofs (test/support/merkle-reference-proofs.ts), but names ranges instead of hashing them, so a
 * single streaming pass over the leaves (see {@link RangeRoots}) can build the proof in O(log n)
 * memory.
 *
 * @example
 * inclusionRanges(5, 8); // [[4, 5], [6, 8], [0, 4]]
 */
export function inclusionRanges(index: number, treeSize: number): LeafRange[] {
  if (!Number.isSafeInteger(index) || index < 0 || index >= treeSize) {
    throw new RangeError(`leaf index ${index} is not in a tree of size ${treeSize}`);
  }
  const ranges: LeafRange[] = [];
  let start = 0;
  let end = treeSize;
  while (end - start > 1) {
    const split = start + largestPowerOfTwoBelow(end - start);
    if (index < split) {
      ranges.push([split, end]);
      end = split;
    } else {
      ranges.push([start, split]);
      start = split;
    }
  }
  return ranges.reverse();
}

/**
 * The leaf ranges whose subtree roots make up the consistency proof between trees of `oldSize`
 * and `newSize` leaves, in proof order. Mirrors `consistencyProof` of the reference proofs
 * (test/support/merkle-reference-proofs.ts).
 *
 * @example
 * consistencyRanges(6, 8); // [[4, 6], [6, 8], [0, 4]]
 */
export function consistencyRanges(oldSize: number, newSize: number): LeafRange[] {
  if (!Number.isSafeInteger(oldSize) || oldSize < 0 || oldSize > newSize) {
    throw new RangeError(`old tree size ${oldSize} is not within 0..${newSize}`);
  }
  if (oldSize === 0) return [];
  const ranges: LeafRange[] = [];
  let start = 0;
  let end = newSize;
  let complete = true;
  while (oldSize !== end) {
    const split = start + largestPowerOfTwoBelow(end - start);
    if (oldSize <= split) {
      ranges.push([split, end]);
      end = split;
    } else {
      ranges.push([start, split]);
      start = split;
      complete = false;
    }
  }
  if (!complete) ranges.push([start, end]);
  return ranges.reverse();
}

/**
 * Computes the subtree roots of disjoint leaf ranges while the leaves stream past once, in order.
 * Memory: one accumulator per range, O(log n) each.
 *
 * @example
 * const rr = new RangeRoots(consistencyRanges(oldSize, newSize));
 * for await (const leaf of leaves) rr.push(leaf);
 * const proof = rr.roots();
 */
export class RangeRoots {
  readonly #ranges: readonly LeafRange[];
  readonly #order: number[];
  readonly #accs: MerkleAccumulator[];
  #pos = 0;
  #k = 0;

  constructor(ranges: readonly LeafRange[]) {
    this.#ranges = ranges;
    this.#order = ranges.map((_, i) => i).sort((a, b) => ranges[a]![0] - ranges[b]![0]);
    this.#accs = ranges.map(() => new MerkleAccumulator());
  }

  /** The position of the next leaf. */
  get position(): number {
    return this.#pos;
  }

  /** Feeds the next leaf hash. */
  push(leafHash: Uint8Array): void {
    const pos = this.#pos++;
    while (this.#k < this.#order.length && this.#ranges[this.#order[this.#k]!]![1] <= pos) this.#k += 1;
    const i = this.#order[this.#k];
    if (i !== undefined && this.#ranges[i]![0] <= pos) this.#accs[i]!.pushLeafHash(leafHash);
  }

  /** The roots, in the order the ranges were given. Throws if a range was not fully fed. */
  roots(): Uint8Array[] {
    return this.#ranges.map((r, i) => {
      if (this.#accs[i]!.size !== r[1] - r[0])
        throw new RangeError(`leaves ${r[0]}..${r[1]} were not all pushed`);
      return this.#accs[i]!.root();
    });
  }
}
