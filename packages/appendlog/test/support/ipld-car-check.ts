// A CAR export read with @ipld/car and @ipld/dag-cbor alone and checked from docs/spec.md's text
// (§2, §4, §8): the hashes are computed here with node:crypto, nothing is imported from src/.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CarReader } from '@ipld/car/reader';
import * as dagCbor from '@ipld/dag-cbor';

/** A version block of the export, its chunked values joined back and its hashes recomputed. */
export interface IpldVersion {
  entryId: string;
  version: number;
  redacted: boolean;
  /** The version hash recomputed from the block's fields (hex). */
  hash: string;
  /** Whether `hash` and (unless erased) the content hash recomputed are the block's own. */
  consistent: boolean;
  /** The values stored as chunks: column names, and `meta`. */
  chunked: string[];
  data: Record<string, string> | null;
  meta: string | null;
  /** The version block's length in bytes. */
  size: number;
}

/** What the independent reader found. */
export interface IpldCar {
  /** The largest block's length in bytes. */
  largest: number;
  /** Whether every CID is CIDv1, dag-cbor or raw, with a sha2-256 digest of the block's bytes. */
  cids: boolean;
  /** In entry and version order. */
  versions: IpldVersion[];
}

type Chunked = { chunks: Array<{ toString(): string }>; bytes: number };

function F(x: string | null): Buffer {
  if (x === null) return Buffer.from([0xff, 0xff, 0xff, 0xff]);
  const b = Buffer.from(x, 'utf8');
  const n = Buffer.alloc(4);
  n.writeUInt32BE(b.length);
  return Buffer.concat([n, b]);
}

const sha = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();

/**
 * Reads `file` with @ipld/car, joins chunked values back (§8) and recomputes every version's
 * content hash (§4.1) and version hash (§4.2).
 */
export async function readCarIndependently(file: string): Promise<IpldCar> {
  const car = await CarReader.fromBytes(readFileSync(file));
  const blocks = new Map<string, Uint8Array>();
  let largest = 0;
  let cids = true;
  for await (const { cid, bytes } of car.blocks()) {
    largest = Math.max(largest, bytes.length);
    // CIDv1, sha2-256 (0x12): the digest is the SHA-256 of the block's bytes.
    cids &&=
      cid.version === 1 &&
      cid.multihash.code === 0x12 &&
      Buffer.from(cid.multihash.digest).equals(sha(Buffer.from(bytes))) &&
      (cid.code === 0x71 || cid.code === 0x55);
    blocks.set(cid.toString(), bytes);
  }
  const text = (x: string | Chunked | null): string | null =>
    x === null || typeof x === 'string'
      ? x
      : Buffer.concat(x.chunks.map((c) => Buffer.from(blocks.get(c.toString())!))).toString('utf8');
  const versions: IpldVersion[] = [];
  for (const bytes of blocks.values()) {
    let v: Record<string, unknown>;
    try {
      v = dagCbor.decode(bytes) as Record<string, unknown>;
    } catch {
      continue; // a raw chunk
    }
    if (typeof v !== 'object' || v === null || !('entryId' in v)) continue;
    const stored = v.data as Record<string, string | Chunked> | null;
    const chunked = Object.entries({ ...stored, meta: v.meta })
      .filter(([, x]) => x !== null && typeof x === 'object')
      .map(([k]) => k)
      .sort();
    const data =
      stored === null ? null : Object.fromEntries(Object.entries(stored).map(([k, x]) => [k, text(x)!]));
    const meta = text(v.meta as string | Chunked | null);
    // An erased version has no data: its hash covers the content hash it keeps (§5.4).
    const contentHash =
      data === null
        ? Buffer.from(v.contentHash as Uint8Array)
        : sha(
            Buffer.from(v.salt as Uint8Array),
            ...Object.keys(data)
              .sort()
              .flatMap((n) => [F(n), F(data[n]!)]),
          );
    const hash = sha(
      F('appendlog/v1'),
      F(v.table as string),
      F(v.entryId as string),
      F(String(v.version)),
      F(v.op as string),
      F(v.recordedAt as string),
      F(v.txId as string),
      F(v.actor as string | null),
      F(v.reason as string | null),
      F(meta),
      v.parentHash === null ? Buffer.alloc(32) : Buffer.from(v.parentHash as Uint8Array),
      contentHash,
    );
    versions.push({
      entryId: v.entryId as string,
      version: v.version as number,
      redacted: v.redacted === true,
      hash: hash.toString('hex'),
      consistent:
        contentHash.equals(Buffer.from(v.contentHash as Uint8Array)) &&
        hash.equals(Buffer.from(v.hash as Uint8Array)),
      chunked,
      data,
      meta,
      size: bytes.length,
    });
  }
  versions.sort((a, b) => (a.entryId < b.entryId ? -1 : a.entryId > b.entryId ? 1 : a.version - b.version));
  return { largest, cids, versions };
}
