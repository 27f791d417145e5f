import { leafHash, nodeHash } from '../integrity/merkle.js';

/** Hashes in a full tile, and entries in a full entry bundle (C2SP tlog-tiles). */
export const TILE_WIDTH = 256;

/** One file of a tiled log: its path below the log's prefix and its bytes. */
export interface TileFile {
  path: string;
  bytes: Buffer;
  /** A full tile or bundle (immutable once served); false for a partial one. */
  full: boolean;
}

/**
 * The path element of tile index `n`: zero-padded groups of three digits, every group but the
 * last prefixed with `x` (1234067 → `x001/x234/067`).
 *
 * @example
 * tileIndexPath(5); // '005'
 */
export function tileIndexPath(n: number): string {
  const groups: string[] = [];
  let rest = n;
  do {
    groups.unshift(String(rest % 1000).padStart(3, '0'));
    rest = Math.floor(rest / 1000);
  } while (rest > 0);
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

/** `tile/<L>/<N>` or `tile/entries/<N>`, with `.p/<W>` for a partial one. */
export function tilePath(level: number | 'entries', n: number, width: number): string {
  return `tile/${level}/${tileIndexPath(n)}${width === TILE_WIDTH ? '' : `.p/${width}`}`;
}

/** The Merkle Tree Hash of a full tile's 256 hashes: the subtree of height 8 they are the leaves of. */
function fullTileHash(hashes: Uint8Array[]): Uint8Array {
  let level = hashes;
  while (level.length > 1) {
    const up: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) up.push(nodeHash(level[i]!, level[i + 1]!));
    level = up;
  }
  return level[0]!;
}

/** An entry bundle: each entry as a big-endian uint16 length, then its bytes. */
function bundle(entries: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const n = Buffer.alloc(2);
    n.writeUInt16BE(e.length);
    parts.push(n, e);
  }
  return Buffer.concat(parts);
}

/**
 * Cuts a Merkle tree into C2SP tlog-tiles as its leaves arrive, in order: each full tile and
 * entry bundle as soon as it fills, the partial ones of the final size at {@link finish}. Level
 * 0 holds leaf hashes; a hash at level l + 1 is the Merkle Tree Hash of a full tile at level l.
 * Memory: at most 256 hashes per level and 256 entries.
 *
 * @example
 * const tiles = new TileTree((f) => files.push(f));
 * for (const d of leafData) tiles.push(d);
 * tiles.finish();
 */
export class TileTree {
  /** The hashes of each level's tile being filled. */
  private readonly levels: Uint8Array[][] = [[]];
  /** How many full tiles each level has emitted (the index of the one being filled). */
  private readonly full: number[] = [0];
  private entries: Buffer[] = [];
  private bundles = 0;
  size = 0;

  constructor(private readonly emit: (file: TileFile) => void) {}

  /** Adds the next leaf: its entry (the leaf data) and its leaf hash. Entries are below 64 KiB. */
  push(entry: Buffer): void {
    if (entry.length > 0xffff)
      throw new RangeError(`a tile entry of ${entry.length} bytes does not fit a uint16`);
    this.size += 1;
    this.entries.push(entry);
    if (this.entries.length === TILE_WIDTH) {
      this.emit({
        path: tilePath('entries', this.bundles, TILE_WIDTH),
        bytes: bundle(this.entries),
        full: true,
      });
      this.bundles += 1;
      this.entries = [];
    }
    this.add(0, leafHash(entry));
  }

  private add(level: number, hash: Uint8Array): void {
    const tile = this.levels[level]!;
    tile.push(hash);
    if (tile.length < TILE_WIDTH) return;
    this.emit({
      path: tilePath(level, this.full[level]!, TILE_WIDTH),
      bytes: Buffer.concat(tile),
      full: true,
    });
    this.full[level]! += 1;
    this.levels[level] = [];
    if (this.levels.length === level + 1) {
      this.levels.push([]);
      this.full.push(0);
    }
    this.add(level + 1, fullTileHash(tile));
  }

  /** Emits the partial tiles and bundle of the tree as it stands (none that would be empty). */
  finish(): void {
    if (this.entries.length > 0) {
      this.emit({
        path: tilePath('entries', this.bundles, this.entries.length),
        bytes: bundle(this.entries),
        full: false,
      });
    }
    this.levels.forEach((tile, level) => {
      if (tile.length > 0) {
        this.emit({
          path: tilePath(level, this.full[level]!, tile.length),
          bytes: Buffer.concat(tile),
          full: false,
        });
      }
    });
  }
}
