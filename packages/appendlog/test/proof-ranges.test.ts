import { describe, expect, it } from 'vitest';
import { toHex } from '../src/integrity/hex.js';
import { leafHash } from '../src/integrity/merkle.js';
import { consistencyRanges, inclusionRanges, RangeRoots } from '../src/integrity/proof-ranges.js';
import { consistencyProof, inclusionProof } from './support/merkle-reference-proofs.js';

const MAX = 40;
const LEAVES = Array.from({ length: MAX }, (_, i) => leafHash(Uint8Array.of(i, i >> 8, 7)));

/** The proof built in one streaming pass over the leaves, as checkpoints and verify do. */
function streamed(ranges: ReturnType<typeof inclusionRanges>, size: number): string[] {
  const rr = new RangeRoots(ranges);
  for (let i = 0; i < size; i++) rr.push(LEAVES[i]!);
  return rr.roots().map(toHex);
}

describe('streaming proof ranges', () => {
  it('give the same inclusion proofs as the reference proofs, for every leaf of every tree up to 40', () => {
    for (let n = 1; n <= MAX; n++) {
      for (let i = 0; i < n; i++) {
        expect(streamed(inclusionRanges(i, n), n), `index ${i} of ${n}`).toEqual(
          inclusionProof(LEAVES, i, n).map(toHex),
        );
      }
    }
  });

  it('give the same consistency proofs, for every 0 <= m <= n <= 40', () => {
    for (let n = 0; n <= MAX; n++) {
      for (let m = 0; m <= n; m++) {
        expect(streamed(consistencyRanges(m, n), n), `${m} → ${n}`).toEqual(
          consistencyProof(LEAVES, m, n).map(toHex),
        );
      }
    }
  });

  it('refuse impossible ranges and an unfinished stream', () => {
    expect(() => inclusionRanges(3, 3)).toThrow(RangeError);
    expect(() => consistencyRanges(4, 3)).toThrow(RangeError);
    const rr = new RangeRoots(inclusionRanges(0, 4));
    rr.push(LEAVES[0]!);
    expect(() => rr.roots()).toThrow(RangeError);
  });
});
