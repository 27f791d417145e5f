import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../src/integrity/hex.js';
import {
  emptyRoot,
  isHash,
  leafHash,
  MerkleAccumulator,
  merkleRoot,
  nodeHash,
  subtreeRoot,
} from '../src/integrity/merkle.js';
import { verifyConsistency, verifyInclusion } from '../src/integrity/merkle-verify.js';
import { consistencyProof, inclusionProof } from './support/merkle-reference-proofs.js';

// --- An independent model, written straight from RFC 9162 section 2.1.1 -------------------------

function sha256(...parts: Uint8Array[]): Uint8Array {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

/** MTH(D[n]) over raw entries: split at the largest power of two k < n, recurse on both halves. */
function naiveMth(entries: readonly Uint8Array[]): Uint8Array {
  const n = entries.length;
  if (n === 0) return sha256();
  if (n === 1) return sha256(Uint8Array.of(0x00), entries[0]!);
  let k = 1;
  while (k * 2 < n) k *= 2;
  return sha256(Uint8Array.of(0x01), naiveMth(entries.slice(0, k)), naiveMth(entries.slice(k)));
}

/** Deterministic, distinct entries of varying length. */
function entry(i: number): Uint8Array {
  const bytes = new Uint8Array(1 + (i % 7));
  bytes.fill(i % 256);
  bytes[0] = Math.floor(i / 256) % 256;
  return bytes;
}

const MAX = 70;
const ENTRIES = Array.from({ length: MAX }, (_, i) => entry(i));
const LEAVES = ENTRIES.map(leafHash);
const NAIVE_ROOTS = Array.from({ length: MAX + 1 }, (_, n) => naiveMth(ENTRIES.slice(0, n)));

function rootAt(n: number): Uint8Array {
  return NAIVE_ROOTS[n]!;
}

function flipped(bytes: Uint8Array, at = 0): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[at] = copy[at]! ^ 0x01;
  return copy;
}

const hex = (nodes: readonly Uint8Array[]): string[] => nodes.map(toHex);

// --- Certificate Transparency reference data ------------------------------------------------------

const CT_ENTRIES = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map(fromHex);
const CT_LEAVES = CT_ENTRIES.map(leafHash);
const CT_ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

describe('RFC 9162 hashing', () => {
  it('hashes leaves with 0x00, nodes with 0x01, and the empty tree as SHA-256("")', () => {
    const a = fromHex('0102');
    const b = fromHex('03');
    expect(toHex(leafHash(a))).toBe(toHex(sha256(Uint8Array.of(0), a)));
    expect(toHex(nodeHash(a, b))).toBe(toHex(sha256(Uint8Array.of(1), a, b)));
    expect(toHex(emptyRoot())).toBe(CT_ROOTS[0]);
    expect(isHash(leafHash(a))).toBe(true);
    expect(isHash(a)).toBe(false);
  });

  it('reproduces the Certificate Transparency reference roots for sizes 0..8', () => {
    const acc = new MerkleAccumulator();
    for (let n = 0; n <= 8; n++) {
      expect(toHex(merkleRoot(CT_LEAVES, n)), `size ${n}`).toBe(CT_ROOTS[n]);
      expect(toHex(naiveMth(CT_ENTRIES.slice(0, n))), `size ${n}`).toBe(CT_ROOTS[n]);
      expect(toHex(acc.root()), `size ${n}`).toBe(CT_ROOTS[n]);
      const next = CT_ENTRIES[n];
      if (next !== undefined) acc.push(next);
    }
  });

  it('reproduces the Certificate Transparency reference inclusion proofs', () => {
    const vectors = [
      {
        index: 0,
        size: 8,
        path: [
          '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
          '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
          '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
        ],
      },
      {
        index: 5,
        size: 8,
        path: [
          'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
          'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
          'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
        ],
      },
    ];
    for (const { index, size, path } of vectors) {
      expect(hex(inclusionProof(CT_LEAVES, index, size))).toEqual(path);
      const root = fromHex(CT_ROOTS[size]!);
      expect(verifyInclusion(CT_LEAVES[index]!, index, size, path.map(fromHex), root)).toBe(true);
    }
  });

  it('reproduces the Certificate Transparency reference consistency proofs', () => {
    const vectors = [
      {
        oldSize: 2,
        newSize: 8,
        path: [
          '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
          '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
        ],
      },
      {
        oldSize: 6,
        newSize: 8,
        path: [
          '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
          'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
          'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
        ],
      },
    ];
    for (const { oldSize, newSize, path } of vectors) {
      expect(hex(consistencyProof(CT_LEAVES, oldSize, newSize))).toEqual(path);
      const oldRoot = fromHex(CT_ROOTS[oldSize]!);
      const newRoot = fromHex(CT_ROOTS[newSize]!);
      expect(verifyConsistency(oldSize, newSize, oldRoot, newRoot, path.map(fromHex))).toBe(true);
    }
  });
});

describe('Merkle Tree Hash', () => {
  it(`matches the naive recursive MTH for every size 0..${MAX}`, () => {
    const acc = new MerkleAccumulator();
    for (let n = 0; n <= MAX; n++) {
      const want = toHex(rootAt(n));
      expect(acc.size).toBe(n);
      expect(toHex(acc.root()), `accumulator, size ${n}`).toBe(want);
      expect(toHex(merkleRoot(LEAVES.slice(0, n))), `merkleRoot, size ${n}`).toBe(want);
      expect(toHex(merkleRoot(LEAVES, n)), `merkleRoot prefix, size ${n}`).toBe(want);
      if (n < MAX) acc.push(ENTRIES[n]!);
    }
  });

  it('gives the same root whether fed entries or leaf hashes', () => {
    const byData = new MerkleAccumulator();
    const byHash = new MerkleAccumulator();
    for (let i = 0; i < 37; i++) {
      byData.push(ENTRIES[i]!);
      byHash.pushLeafHash(LEAVES[i]!);
    }
    expect(toHex(byHash.root())).toBe(toHex(byData.root()));
  });

  it('keeps its state when callers mutate buffers they passed in or got back', () => {
    const acc = new MerkleAccumulator();
    const reused = Uint8Array.from(LEAVES[0]!);
    acc.pushLeafHash(reused);
    reused.set(LEAVES[1]!);
    expect(toHex(acc.root())).toBe(toHex(rootAt(1)));
    acc.pushLeafHash(reused);
    acc.root().fill(0);
    expect(toHex(acc.root())).toBe(toHex(rootAt(2)));
  });

  it('computes any subtree MTH(D[start:end])', () => {
    expect(toHex(subtreeRoot(LEAVES, 8, 19))).toBe(toHex(naiveMth(ENTRIES.slice(8, 19))));
    expect(toHex(subtreeRoot(LEAVES, 5, 5))).toBe(toHex(emptyRoot()));
  });

  it('rejects out-of-range sizes and hashes that are not 32 bytes', () => {
    expect(() => merkleRoot(LEAVES, MAX + 1)).toThrow(RangeError);
    expect(() => merkleRoot(LEAVES, -1)).toThrow(RangeError);
    expect(() => merkleRoot(LEAVES, 1.5)).toThrow(RangeError);
    expect(() => subtreeRoot(LEAVES, 3, 2)).toThrow(RangeError);
    expect(() => merkleRoot([new Uint8Array(31)])).toThrow(TypeError);
    expect(() => new MerkleAccumulator().pushLeafHash(new Uint8Array(33))).toThrow(TypeError);
  });
});

describe('inclusion proofs', () => {
  it('verify for every leaf of every tree of size 1..40', () => {
    for (let n = 1; n <= 40; n++) {
      for (let i = 0; i < n; i++) {
        const proof = inclusionProof(LEAVES, i, n);
        expect(verifyInclusion(LEAVES[i]!, i, n, proof, rootAt(n)), `leaf ${i} of ${n}`).toBe(true);
      }
    }
  });

  it('are rejected when forged, for every leaf of every tree of size 1..40', () => {
    const extra = leafHash(fromHex('ff'));
    for (let n = 1; n <= 40; n++) {
      const root = rootAt(n);
      for (let i = 0; i < n; i++) {
        const leaf = LEAVES[i]!;
        const proof = inclusionProof(LEAVES, i, n);
        const verify = (path: Uint8Array[], index = i, size = n, head = root, hash = leaf) =>
          verifyInclusion(hash, index, size, path, head);
        const forgeries: Array<[string, boolean]> = [
          ['extended', verify([...proof, extra])],
          ['root appended', verify([...proof, root])],
          ['wrong leaf', verify(proof, i, n, root, flipped(leaf))],
          ['wrong root', verify(proof, i, n, flipped(root, 31))],
          ['index = size', verify(proof, n)],
        ];
        proof.forEach((_, s) => {
          const forged = proof.map((node, j) => (j === s ? flipped(node, s % 32) : node));
          forgeries.push([`sibling ${s} flipped`, verify(forged)]);
        });
        if (proof.length > 0) {
          forgeries.push(
            ['truncated', verify(proof.slice(0, -1))],
            ['first dropped', verify(proof.slice(1))],
          );
        }
        for (let j = 0; j < n; j++) if (j !== i) forgeries.push([`index ${j}`, verify(proof, j)]);
        // A claimed tree head of another size carries that size's root.
        if (i < n - 1) forgeries.push(['size - 1', verify(proof, i, n - 1, rootAt(n - 1))]);
        if (n < MAX) forgeries.push(['size + 1', verify(proof, i, n + 1, rootAt(n + 1))]);
        if (n > 1) forgeries.push(['older root', verify(proof, i, n, rootAt(n - 1))]);
        for (const [label, accepted] of forgeries)
          expect(accepted, `leaf ${i} of ${n}: ${label}`).toBe(false);
      }
    }
  });

  it('bind the tree size to the root only through the shape of the path, as RFC 9162 does', () => {
    // Leaf 0 has the same path shape in trees of 3 and 4 leaves, so the 4-leaf proof and root also
    // "verify" for size 3: (treeSize, root) must come from one signed tree head.
    const proof = inclusionProof(LEAVES, 0, 4);
    expect(verifyInclusion(LEAVES[0]!, 0, 3, proof, rootAt(4))).toBe(true);
    expect(verifyInclusion(LEAVES[0]!, 0, 3, proof, rootAt(3))).toBe(false);
  });

  it('reject malformed input without throwing', () => {
    const proof = inclusionProof(LEAVES, 5, 8);
    const leaf = LEAVES[5]!;
    const root = rootAt(8);
    expect(verifyInclusion(leaf, 5, 8, proof, root)).toBe(true);
    for (const [index, size] of [
      [-1, 8],
      [5, 0],
      [5.5, 8],
      [5, 8.5],
      [Number.NaN, 8],
      [5, Number.POSITIVE_INFINITY],
      [5, 2 ** 53],
    ] as const) {
      expect(verifyInclusion(leaf, index, size, proof, root), `${index}/${size}`).toBe(false);
    }
    expect(verifyInclusion(leaf.subarray(1), 5, 8, proof, root)).toBe(false);
    expect(verifyInclusion(leaf, 5, 8, proof, root.subarray(1))).toBe(false);
    expect(verifyInclusion(leaf, 5, 8, [proof[0]!.subarray(1), ...proof.slice(1)], root)).toBe(false);
    expect(verifyInclusion(leaf, 5, 8, [], root)).toBe(false);
    expect(verifyInclusion(leaf, 0, 1, [], leaf)).toBe(true);
    expect(verifyInclusion(leaf, 0, 1, [leaf], leaf)).toBe(false);
  });

  it('handle tree sizes beyond 2^32 without 32-bit overflow', () => {
    const size = 2 ** 40 + 1;
    const left = leafHash(fromHex('aa'));
    const last = leafHash(fromHex('bb'));
    const root = nodeHash(left, last);
    expect(verifyInclusion(last, size - 1, size, [left], root)).toBe(true);
    expect(verifyInclusion(last, size - 2, size, [left], root)).toBe(false);
    expect(verifyInclusion(last, size - 1, size + 1, [left], root)).toBe(false);
  });

  it('throw on an index or size outside the leaves', () => {
    expect(() => inclusionProof(LEAVES, 8, 8)).toThrow(RangeError);
    expect(() => inclusionProof(LEAVES, -1, 8)).toThrow(RangeError);
    expect(() => inclusionProof(LEAVES, 0, MAX + 1)).toThrow(RangeError);
    expect(() => inclusionProof(LEAVES, 0, 0)).toThrow(RangeError);
  });
});

describe('consistency proofs', () => {
  it('verify for every pair 1 <= m <= n <= 40', () => {
    for (let n = 1; n <= 40; n++) {
      for (let m = 1; m <= n; m++) {
        const proof = consistencyProof(LEAVES, m, n);
        expect(verifyConsistency(m, n, rootAt(m), rootAt(n), proof), `${m} -> ${n}`).toBe(true);
      }
    }
  });

  it('are rejected when forged, for every pair 1 <= m < n <= 40', () => {
    const extra = leafHash(fromHex('ff'));
    for (let n = 2; n <= 40; n++) {
      for (let m = 1; m < n; m++) {
        const proof = consistencyProof(LEAVES, m, n);
        const oldRoot = rootAt(m);
        const newRoot = rootAt(n);
        const verify = (path: Uint8Array[], from = m, to = n, fromRoot = oldRoot, toRoot = newRoot) =>
          verifyConsistency(from, to, fromRoot, toRoot, path);
        const forgeries: Array<[string, boolean]> = [
          ['truncated', verify(proof.slice(0, -1))],
          ['first dropped', verify(proof.slice(1))],
          ['extended', verify([...proof, extra])],
          ['prefixed with old root', verify([oldRoot, ...proof])],
          ['empty proof', verify([])],
          ['roots swapped', verify(proof, m, n, newRoot, oldRoot)],
          ['sizes swapped', verify(proof, n, m, newRoot, oldRoot)],
          ['wrong old root', verify(proof, m, n, flipped(oldRoot))],
          ['wrong new root', verify(proof, m, n, oldRoot, flipped(newRoot))],
          // Claimed heads of other sizes carry those sizes' roots.
          ['new + 1', verify(proof, m, n + 1, oldRoot, rootAt(n + 1))],
        ];
        proof.forEach((_, s) => {
          const forged = proof.map((node, j) => (j === s ? flipped(node, s % 32) : node));
          forgeries.push([`node ${s} flipped`, verify(forged)]);
        });
        if (m > 1) forgeries.push(['old - 1', verify(proof, m - 1, n, rootAt(m - 1))]);
        if (m + 1 < n) forgeries.push(['old + 1', verify(proof, m + 1, n, rootAt(m + 1))]);
        if (n - 1 > m) forgeries.push(['new - 1', verify(proof, m, n - 1, oldRoot, rootAt(n - 1))]);
        for (const [label, accepted] of forgeries) expect(accepted, `${m} -> ${n}: ${label}`).toBe(false);
      }
    }
  });

  it('handle the edge cases outside 0 < m < n as documented', () => {
    const empty = emptyRoot();
    const root8 = rootAt(8);
    expect(consistencyProof(LEAVES, 0, 8)).toEqual([]);
    expect(consistencyProof(LEAVES, 8, 8)).toEqual([]);
    expect(consistencyProof(LEAVES, 0, 0)).toEqual([]);
    expect(verifyConsistency(0, 8, empty, root8, [])).toBe(true);
    expect(verifyConsistency(0, 0, empty, empty, [])).toBe(true);
    expect(verifyConsistency(0, 8, rootAt(1), root8, [])).toBe(false);
    expect(verifyConsistency(0, 8, empty, root8, [LEAVES[0]!])).toBe(false);
    expect(verifyConsistency(0, 0, empty, root8, [])).toBe(false);
    expect(verifyConsistency(8, 8, root8, root8, [])).toBe(true);
    expect(verifyConsistency(8, 8, root8, rootAt(7), [])).toBe(false);
    expect(verifyConsistency(8, 8, root8, root8, [root8])).toBe(false);
    expect(verifyConsistency(9, 8, rootAt(9), root8, consistencyProof(LEAVES, 8, 9))).toBe(false);
  });

  it('reject malformed input without throwing', () => {
    const proof = consistencyProof(LEAVES, 6, 8);
    const r6 = rootAt(6);
    const r8 = rootAt(8);
    expect(verifyConsistency(6, 8, r6, r8, proof)).toBe(true);
    expect(verifyConsistency(-1, 8, r6, r8, proof)).toBe(false);
    expect(verifyConsistency(6.5, 8, r6, r8, proof)).toBe(false);
    expect(verifyConsistency(6, Number.NaN, r6, r8, proof)).toBe(false);
    expect(verifyConsistency(6, 2 ** 53, r6, r8, proof)).toBe(false);
    expect(verifyConsistency(6, 8, r6.subarray(1), r8, proof)).toBe(false);
    expect(verifyConsistency(6, 8, r6, r8.subarray(1), proof)).toBe(false);
    expect(verifyConsistency(6, 8, r6, r8, [proof[0]!.subarray(1), ...proof.slice(1)])).toBe(false);
  });

  it('handle tree sizes beyond 2^32 without 32-bit overflow', () => {
    const oldSize = 2 ** 40;
    const oldRoot = leafHash(fromHex('aa'));
    const last = leafHash(fromHex('bb'));
    const newRoot = nodeHash(oldRoot, last);
    expect(verifyConsistency(oldSize, oldSize + 1, oldRoot, newRoot, [last])).toBe(true);
    expect(verifyConsistency(oldSize, 2 * oldSize + 1, oldRoot, newRoot, [last])).toBe(false);
    expect(verifyConsistency(oldSize - 1, oldSize + 1, oldRoot, newRoot, [last])).toBe(false);
  });

  it('throw on sizes outside the leaves', () => {
    expect(() => consistencyProof(LEAVES, 5, 3)).toThrow(RangeError);
    expect(() => consistencyProof(LEAVES, -1, 3)).toThrow(RangeError);
    expect(() => consistencyProof(LEAVES, 1, MAX + 1)).toThrow(RangeError);
  });
});

describe('property: random trees up to 2000 leaves', () => {
  const N = 2000;
  const leaves = Array.from({ length: N }, (_, i) => leafHash(Uint8Array.of(i >> 8, i & 0xff, 0x5a)));
  const roots: Uint8Array[] = [];
  const acc = new MerkleAccumulator();
  for (let n = 0; n <= N; n++) {
    roots.push(acc.root());
    const next = leaves[n];
    if (next !== undefined) acc.pushLeafHash(next);
  }

  it('roots, inclusion and consistency proofs agree and reject a flipped node', () => {
    const pair = fc
      .integer({ min: 1, max: N })
      .chain((n) => fc.tuple(fc.constant(n), fc.nat({ max: n - 1 }), fc.integer({ min: 1, max: n })));
    fc.assert(
      fc.property(pair, ([n, index, m]) => {
        const root = roots[n]!;
        expect(toHex(merkleRoot(leaves, n))).toBe(toHex(root));

        const path = inclusionProof(leaves, index, n);
        expect(verifyInclusion(leaves[index]!, index, n, path, root)).toBe(true);
        if (path.length > 0) {
          const forged = path.map((node, j) => (j === path.length - 1 ? flipped(node) : node));
          expect(verifyInclusion(leaves[index]!, index, n, forged, root)).toBe(false);
        }

        const proof = consistencyProof(leaves, m, n);
        expect(verifyConsistency(m, n, roots[m]!, root, proof)).toBe(true);
        if (proof.length > 0) {
          expect(verifyConsistency(m, n, roots[m]!, root, [flipped(proof[0]!), ...proof.slice(1)])).toBe(
            false,
          );
        }
      }),
      { numRuns: 200 },
    );
  });

  it('the streaming root matches the naive MTH at a few sizes', () => {
    const entries = Array.from({ length: N }, (_, i) => Uint8Array.of(i >> 8, i & 0xff, 0x5a));
    for (const n of [1023, 1024, 1025, 1999, 2000]) {
      expect(toHex(roots[n]!)).toBe(toHex(naiveMth(entries.slice(0, n))));
    }
  });
});
