import { createHash, type Hash } from 'node:crypto';

/** Length in bytes of every hash in the tree (SHA-256). */
export const HASH_LENGTH = 32;

const LEAF_PREFIX = new Uint8Array([0x00]);
const NODE_PREFIX = new Uint8Array([0x01]);

/**
 * The RFC 9162 leaf hash: `SHA-256(0x00 || data)`.
 *
 * @example
 * ```ts
 * toHex(leafHash(new Uint8Array())); // '6e340b9c…7afa01d'
 * ```
 */
export function leafHash(data: Uint8Array): Uint8Array {
  return digest(createHash('sha256').update(LEAF_PREFIX).update(data));
}

/**
 * The RFC 9162 interior node hash: `SHA-256(0x01 || left || right)`.
 *
 * @example
 * ```ts
 * const parent = nodeHash(leafHash(a), leafHash(b)); // the root of the two-leaf tree [a, b]
 * ```
 */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return digest(createHash('sha256').update(NODE_PREFIX).update(left).update(right));
}

/**
 * The Merkle Tree Hash of the empty tree: `SHA-256("")`. A fresh copy on every call.
 *
 * @example
 * ```ts
 * toHex(emptyRoot()); // 'e3b0c442…7852b855'
 * ```
 */
export function emptyRoot(): Uint8Array {
  return digest(createHash('sha256'));
}

/**
 * A plain `Uint8Array` over the digest's own memory (a digest is never a pooled Buffer), so callers
 * get `Uint8Array` semantics: `Buffer#slice` would return a view where they expect a copy.
 */
function digest(hash: Hash): Uint8Array {
  const bytes = hash.digest();
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * True when `value` is a `Uint8Array` of exactly {@link HASH_LENGTH} bytes.
 *
 * @example
 * ```ts
 * isHash(leafHash(data)); // true
 * isHash(new Uint8Array(31)); // false
 * ```
 */
export function isHash(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === HASH_LENGTH;
}

/**
 * Builds the RFC 9162 Merkle Tree Hash leaf by leaf in O(log n) memory.
 *
 * It keeps one hash per set bit of `size`: the roots of the perfect subtrees that the tree's
 * leaves decompose into, largest (leftmost) first. `root()` folds them right to left, which is
 * exactly MTH's split at the largest power of two below n.
 *
 * @example
 * ```ts
 * const acc = new MerkleAccumulator();
 * for (const entry of entries) acc.push(entry);
 * const head = { size: acc.size, root: toHex(acc.root()) };
 * ```
 */
export class MerkleAccumulator {
  readonly #stack: Uint8Array[] = [];
  #size = 0;

  /** Number of leaves pushed so far. */
  get size(): number {
    return this.#size;
  }

  /** Appends a leaf given its data; hashes it with {@link leafHash}. */
  push(data: Uint8Array): this {
    return this.#append(leafHash(data));
  }

  /**
   * Appends a leaf given its leaf hash (already `SHA-256(0x00 || data)`).
   *
   * @throws {TypeError} if `hash` is not 32 bytes.
   */
  pushLeafHash(hash: Uint8Array): this {
    if (!isHash(hash)) throw new TypeError(`leaf hash must be ${HASH_LENGTH} bytes`);
    // When it will sit on the stack unmerged (even size), copy it: the caller may reuse its buffer.
    return this.#append(this.#size % 2 === 0 ? new Uint8Array(hash) : hash);
  }

  /** The Merkle Tree Hash of every leaf pushed so far (the empty-tree hash when none). */
  root(): Uint8Array {
    const stack = this.#stack;
    let top = stack.length - 1;
    if (top < 0) return emptyRoot();
    let root = stack[top]!;
    if (top === 0) return new Uint8Array(root);
    while (top > 0) {
      top -= 1;
      root = nodeHash(stack[top]!, root);
    }
    return root;
  }

  #append(hash: Uint8Array): this {
    const stack = this.#stack;
    let node = hash;
    // Each trailing 1 bit of the old size is a perfect subtree the same height as `node`.
    for (let n = this.#size; n % 2 === 1; n = (n - 1) / 2) {
      node = nodeHash(stack.pop()!, node);
    }
    stack.push(node);
    this.#size += 1;
    return this;
  }
}

/**
 * The Merkle Tree Hash of the leaves `leafHashes[start..end)` (RFC 9162 `MTH(D[start:end])`),
 * streamed through a {@link MerkleAccumulator}.
 *
 * @throws {RangeError} if the range is not within `leafHashes`.
 * @throws {TypeError} if a leaf hash is not 32 bytes.
 *
 * @example
 * ```ts
 * subtreeRoot(leafHashes, 4, 8); // the right half of an 8-leaf tree
 * ```
 */
export function subtreeRoot(leafHashes: readonly Uint8Array[], start: number, end: number): Uint8Array {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || start > end) {
    throw new RangeError(`invalid leaf range [${start}, ${end})`);
  }
  if (end > leafHashes.length) {
    throw new RangeError(`leaf range [${start}, ${end}) exceeds ${leafHashes.length} leaves`);
  }
  const acc = new MerkleAccumulator();
  for (let i = start; i < end; i++) acc.pushLeafHash(leafHashes[i]!);
  return acc.root();
}

/**
 * The Merkle Tree Hash (RFC 9162 section 2.1.1) of the first `size` leaf hashes.
 *
 * @throws {RangeError} if `size` is negative, fractional or more than `leafHashes.length`.
 * @throws {TypeError} if a leaf hash is not 32 bytes.
 *
 * @example
 * ```ts
 * const leaves = entries.map(leafHash);
 * merkleRoot(leaves);    // root of the whole log
 * merkleRoot(leaves, 3); // root of the log when it held 3 entries
 * ```
 */
export function merkleRoot(leafHashes: readonly Uint8Array[], size: number = leafHashes.length): Uint8Array {
  return subtreeRoot(leafHashes, 0, size);
}
