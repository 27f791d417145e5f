import * as dagCbor from '@ipld/dag-cbor';
import { CID } from 'multiformats/cid';
import { sha256 } from 'multiformats/hashes/sha2';
import type { SPEC_VERSION } from '../hash/spec.js';

/**
 * One version as an IPLD block (docs/spec.md §8): every field its hash covers, in canonical
 * text, its parent linked by CID, so a history can be checked offline from the blocks alone.
 */
export interface VersionBlock {
  spec: typeof SPEC_VERSION;
  table: string;
  entryId: string;
  version: number;
  op: string;
  recordedAt: string;
  txId: string;
  actor: string | null;
  reason: string | null;
  /**
   * The metadata as PostgreSQL's jsonb text (the form the hash covers), or null; as chunk links
   * when the block would otherwise be over {@link MAX_BLOCK_BYTES}.
   */
  meta: string | ChunkedText | null;
  /** Null once erasure redacted the version. */
  salt: Uint8Array | null;
  contentHash: Uint8Array;
  parentHash: Uint8Array | null;
  hash: Uint8Array;
  /** The parent version's block; null for version 1. */
  parent: CID | null;
  /** Canonical texts of the non-null columns (large ones as chunk links); null once redacted. */
  data: Record<string, string | ChunkedText> | null;
  redacted: boolean;
}

/** A value (a column's, or `meta`) stored outside its version block: raw blocks whose concatenation is its UTF-8 text. */
export interface ChunkedText {
  chunks: CID[];
  /** The text's length in UTF-8 bytes. */
  bytes: number;
}

/** No block of an export is larger than this (what Kubo accepts without --allow-big-block). */
export const MAX_BLOCK_BYTES = 1024 * 1024;
/** Values longer than this (UTF-8 bytes) are chunked; chunks are this long, the last shorter. */
export const CHUNK_BYTES = 256 * 1024;
/** The multicodec of raw blocks. */
export const RAW_CODE = 0x55;

/** A raw block (codec 0x55) of bytes, with its CIDv1 (sha2-256). */
export async function encodeRaw(bytes: Uint8Array): Promise<EncodedBlock> {
  const digest = await sha256.digest(bytes);
  return { cid: CID.create(1, RAW_CODE, digest), bytes };
}

/** One page of an export's entry list: `[entryId, CID of the entry's latest version]` pairs. */
export interface EntryPage {
  entries: Array<[string, CID]>;
  prev: CID | null;
}

/** An exported table: its columns and the last page of its entry list. */
export interface ExportTable {
  table: string;
  columns: Array<{ name: string; type: string }>;
  versions: number;
  entries: CID | null;
}

/** The root block of an export: the CAR file's single root. */
export interface ExportRoot {
  spec: typeof SPEC_VERSION;
  kind: 'appendlog-export';
  schema: string;
  exportedAt: string;
  tables: ExportTable[];
  /**
   * An archive's export (docs/spec.md §8): the versions archive `id` took out of the logs. An
   * entry's first version in it may follow one of an earlier archive: it names its parent by
   * hash only, with no parent block.
   */
  archive?: { id: number; horizon: string; checkpointId: number };
}

/** A block ready to write: its CID and DAG-CBOR bytes. */
export interface EncodedBlock {
  cid: CID;
  bytes: Uint8Array;
}

/**
 * Encodes a value as DAG-CBOR and computes its CIDv1 (dag-cbor, sha2-256).
 *
 * @example
 * const { cid, bytes } = await encodeBlock(versionBlock);
 * cid.toString(); // 'bafyrei…'
 */
export async function encodeBlock(value: VersionBlock | EntryPage | ExportRoot): Promise<EncodedBlock> {
  const bytes = dagCbor.encode(value);
  const digest = await sha256.digest(bytes);
  return { cid: CID.create(1, dagCbor.code, digest), bytes };
}

/** Decodes a DAG-CBOR block. */
export function decodeBlock<T>(bytes: Uint8Array): T {
  return dagCbor.decode(bytes) as T;
}
