/**
 * A client of C2SP tlog-tiles (c2sp.org/tlog-tiles) written from its text and RFC 6962/9162
 * alone: it reads hash tiles and entry bundles through `fetch`, rebuilds any Merkle Tree Hash,
 * computes inclusion and consistency proofs, and verifies proofs as RFC 9162 §2.1.3.2 and
 * §2.1.4.2 say. It imports nothing of the library (tiles.test.ts checks).
 */
import { createHash } from 'node:crypto';

/** Reads a file below the log's prefix (`tile/0/000`), or null when there is none. */
export type Fetch = (path: string) => Buffer | null;

const sha256 = (...parts: Buffer[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
const node = (left: Buffer, right: Buffer) => sha256(Buffer.from([1]), left, right);
export const leafHashOf = (entry: Buffer) => sha256(Buffer.from([0]), entry);

/** `<N>` as zero-padded three-digit elements, all but the last starting with `x`. */
export function indexPath(n: number): string {
  const digits = String(n).padStart(3 * Math.max(1, Math.ceil(String(n).length / 3)), '0');
  const groups = digits.match(/\d{3}/g)!;
  return groups.map((g, i) => (i === groups.length - 1 ? g : `x${g}`)).join('/');
}

/** The largest power of two strictly below n (n > 1). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** A tiled log of `size` leaves, as its checkpoint says. */
export class TiledLog {
  constructor(
    private readonly fetch: Fetch,
    readonly size: number,
  ) {}

  /** Tile `n` of level `level`, or entry bundle `n` (`'entries'`): full, or partial at the log's right edge. */
  private file(level: number | 'entries', n: number): Buffer {
    const l = level === 'entries' ? 0 : level;
    const span = 256 ** (l + 1);
    const width = (n + 1) * span <= this.size ? 256 : Math.floor(this.size / 256 ** l) % 256;
    if (width === 0 || n * span >= this.size)
      throw new Error(`no tile ${level}/${n} in a tree of ${this.size}`);
    const path = `tile/${level}/${indexPath(n)}${width === 256 ? '' : `.p/${width}`}`;
    const bytes = this.fetch(path);
    if (bytes === null) throw new Error(`missing ${path}`);
    if (level !== 'entries' && bytes.length !== width * 32)
      throw new Error(`${path} is ${bytes.length} bytes`);
    return bytes;
  }

  /** The hash of the complete subtree of height `height` whose leftmost leaf is `index * 2**height`. */
  private subtree(height: number, index: number): Buffer {
    const level = Math.floor(height / 8);
    const count = 2 ** (height % 8);
    const first = index * count;
    const tile = this.file(level, Math.floor(first / 256));
    let hashes: Buffer[] = [];
    for (let i = first % 256; i < (first % 256) + count; i++) hashes.push(tile.subarray(i * 32, i * 32 + 32));
    while (hashes.length > 1)
      hashes = hashes.flatMap((h, i) => (i % 2 === 0 ? [node(h, hashes[i + 1]!)] : []));
    return hashes[0]!;
  }

  /** RFC 6962 MTH(D[start:end]) for a range the tree's recursion produces. */
  mth(start: number, end: number): Buffer {
    const n = end - start;
    if (n === 0) return sha256();
    if ((n & (n - 1)) === 0 && start % n === 0) return this.subtree(Math.log2(n), start / n);
    const k = split(n);
    return node(this.mth(start, start + k), this.mth(start + k, end));
  }

  root(): Buffer {
    return this.mth(0, this.size);
  }

  /** Entry `i` from its bundle, after checking that it hashes to leaf `i` of the level-0 tile. */
  entry(i: number): Buffer {
    const bundle = this.file('entries', Math.floor(i / 256));
    let at = 0;
    const entries: Buffer[] = [];
    while (at < bundle.length) {
      const n = bundle.readUInt16BE(at);
      entries.push(bundle.subarray(at + 2, at + 2 + n));
      at += 2 + n;
    }
    const e = entries[i % 256];
    if (e === undefined) throw new Error(`entry ${i} missing from its bundle`);
    if (!leafHashOf(e).equals(this.subtree(0, i))) throw new Error(`entry ${i} does not hash to its leaf`);
    return e;
  }

  /** RFC 6962 §2.1.1 PATH(m, D[0:n]), leaf level first. */
  inclusionProof(m: number, n = this.size): Buffer[] {
    const path = (m: number, start: number, end: number): Buffer[] => {
      if (end - start <= 1) return [];
      const k = split(end - start);
      return m < k
        ? [...path(m, start, start + k), this.mth(start + k, end)]
        : [...path(m - k, start + k, end), this.mth(start, start + k)];
    };
    return path(m, 0, n);
  }

  /** RFC 6962 §2.1.2 PROOF(m, D[0:n]). */
  consistencyProof(m: number, n = this.size): Buffer[] {
    const sub = (m: number, start: number, end: number, whole: boolean): Buffer[] => {
      if (m === end - start) return whole ? [] : [this.mth(start, end)];
      const k = split(end - start);
      return m <= k
        ? [...sub(m, start, start + k, whole), this.mth(start + k, end)]
        : [...sub(m - k, start + k, end, false), this.mth(start, start + k)];
    };
    return m === 0 ? [] : sub(m, 0, n, true);
  }
}

const odd = (x: number) => x % 2 === 1;

/** RFC 9162 §2.1.3.2. */
export function verifyInclusion(
  leaf: Buffer,
  index: number,
  size: number,
  proof: Buffer[],
  root: Buffer,
): boolean {
  if (index >= size) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      r = node(p, r);
      if (!odd(fn)) {
        do {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        } while (!odd(fn) && fn !== 0);
      }
    } else {
      r = node(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r.equals(root);
}

/** RFC 9162 §2.1.4.2 (for 0 < first < second). */
export function verifyConsistency(
  first: number,
  second: number,
  proof: Buffer[],
  firstRoot: Buffer,
  secondRoot: Buffer,
): boolean {
  if (first <= 0 || first >= second || proof.length === 0) return false;
  const path = (first & (first - 1)) === 0 ? [firstRoot, ...proof] : proof;
  let fn = first - 1;
  let sn = second - 1;
  while (odd(fn)) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      fr = node(c, fr);
      sr = node(c, sr);
      if (!odd(fn)) {
        do {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        } while (!odd(fn) && fn !== 0);
      }
    } else {
      sr = node(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return fr.equals(firstRoot) && sr.equals(secondRoot) && sn === 0;
}
