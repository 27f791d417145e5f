import type { CID } from 'multiformats/cid';
import {
  CHUNK_BYTES,
  type ChunkedText,
  type EncodedBlock,
  encodeBlock,
  encodeRaw,
  MAX_BLOCK_BYTES,
  type VersionBlock,
} from './car-blocks.js';

/** Writes a value as raw chunks and returns the link that replaces it. */
async function chunk(text: string, put: (b: EncodedBlock) => Promise<CID>): Promise<ChunkedText> {
  const bytes = Buffer.from(text, 'utf8');
  const chunks: CID[] = [];
  for (let at = 0; at < bytes.length; at += CHUNK_BYTES) {
    chunks.push(await put(await encodeRaw(bytes.subarray(at, at + CHUNK_BYTES))));
  }
  return { chunks, bytes: bytes.length };
}

/**
 * Encodes a version block no larger than 1 MiB (docs/spec.md §8): every value over 256 KiB goes
 * out as raw chunks first; if the block is still too large, the largest remaining values follow
 * (ties by column name) until it fits; if it is still too large when no value is left to chunk
 * (or it has none: erased), its `meta` is chunked too.
 */
export async function encodeVersionBlock(
  block: VersionBlock,
  put: (b: EncodedBlock) => Promise<CID>,
): Promise<EncodedBlock> {
  const encoded = block.data === null ? await encodeBlock(block) : await chunkData(block, block.data, put);
  if (encoded.bytes.length <= MAX_BLOCK_BYTES || typeof block.meta !== 'string') return encoded;
  block.meta = await chunk(block.meta, put);
  return encodeBlock(block);
}

/** Chunks `block`'s data values (its `data`) as far as the block needs; returns it encoded. */
async function chunkData(
  block: VersionBlock,
  data: Record<string, string | ChunkedText>,
  put: (b: EncodedBlock) => Promise<CID>,
): Promise<EncodedBlock> {
  const size = (k: string): number => {
    const v = data[k];
    return typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : 0;
  };
  for (const k of Object.keys(data).sort()) {
    const v = data[k];
    if (typeof v === 'string' && size(k) > CHUNK_BYTES) data[k] = await chunk(v, put);
  }
  let encoded = await encodeBlock(block);
  while (encoded.bytes.length > MAX_BLOCK_BYTES) {
    const [k] = Object.keys(data)
      .filter((c) => typeof data[c] === 'string' && size(c) > 0)
      .sort((a, b) => size(b) - size(a) || (a < b ? -1 : 1));
    if (k === undefined) break;
    data[k] = await chunk(data[k] as string, put);
    encoded = await encodeBlock(block);
  }
  return encoded;
}
