import { field } from '../hash/spec.js';
import { leafHash } from './merkle.js';

/** What one Merkle leaf commits to: a version of a table, named, with its hash. */
export interface LeafVersion {
  table: string;
  entryId: string;
  version: number;
  /** The version hash (32 bytes). */
  hash: Uint8Array;
}

/**
 * The leaf data of a version in the checkpoint tree (docs/spec.md §6.1):
 * `F(table) ‖ F(entry_id) ‖ F(version) ‖ hash`. The name is redundant with the hash (which covers
 * it) but lets anyone holding a list of leaves say which version each one is.
 *
 * @example
 * const data = leafData({ table: 'addresses', entryId, version: 2, hash });
 * const leaf = leafHash(data); // SHA-256(0x00 ‖ data)
 */
export function leafData(v: LeafVersion): Buffer {
  return Buffer.concat([field(v.table), field(v.entryId), field(String(v.version)), v.hash]);
}

/**
 * The RFC 9162 leaf hash of a version: `SHA-256(0x00 ‖ leafData(v))`.
 *
 * @example
 * const leaf = versionLeafHash({ table: 'addresses', entryId, version: 1, hash });
 */
export function versionLeafHash(v: LeafVersion): Uint8Array {
  return leafHash(leafData(v));
}

/**
 * Reads the leaf data written back to back in `bytes` (the checkpoint leaf index stores them so).
 * Throws a TypeError on malformed input.
 *
 * @example
 * for (const leaf of parseLeaves(chunk)) console.log(leaf.table, leaf.entryId, leaf.version);
 */
export function* parseLeaves(bytes: Uint8Array): Generator<LeafVersion & { data: Uint8Array }> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const text = (): string => {
    if (at + 4 > buf.length) throw new TypeError('truncated leaf data');
    const n = buf.readUInt32BE(at);
    if (n === 0xffffffff || at + 4 + n > buf.length) throw new TypeError('malformed leaf data');
    const s = buf.toString('utf8', at + 4, at + 4 + n);
    at += 4 + n;
    return s;
  };
  while (at < buf.length) {
    const start = at;
    const table = text();
    const entryId = text();
    const versionText = text();
    if (at + 32 > buf.length || !/^[1-9]\d{0,9}$/.test(versionText))
      throw new TypeError('malformed leaf data');
    const hash = new Uint8Array(buf.subarray(at, at + 32));
    at += 32;
    yield { table, entryId, version: Number(versionText), hash, data: buf.subarray(start, at) };
  }
}
