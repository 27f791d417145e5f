import { createReadStream } from 'node:fs';
import { CarBlockIterator } from '@ipld/car/iterator';
import * as dagCbor from '@ipld/dag-cbor';
import { CID } from 'multiformats/cid';
import { sha256 } from 'multiformats/hashes/sha2';
import { SPEC_VERSION } from '../hash/spec.js';
import { VersionHasher } from '../integrity/hasher.js';
import { toHex } from '../integrity/hex.js';
import {
  type ChunkedText,
  type EntryPage,
  type ExportRoot,
  MAX_BLOCK_BYTES,
  RAW_CODE,
  type VersionBlock,
} from './car-blocks.js';

/** One failure found in a CAR export. */
export interface CarFailure {
  cid: string;
  table: string | null;
  entryId: string | null;
  version: number | null;
  problem: string;
}

/** What `checkCar` found. */
export interface CarCheck {
  ok: boolean;
  root: string;
  /** Version blocks checked. */
  versions: number;
  /** Of those, redacted by erasure (hash checked, content gone). */
  erased: number;
  failures: CarFailure[];
}

interface Seen {
  table: string;
  entryId: string;
  version: number;
  hash: string;
}

/** One block of a CAR file as `readCar` gives it. */
export interface CarBlock {
  cid: CID;
  /** The decoded DAG-CBOR value, or a raw block's bytes. */
  value: unknown;
  /** Whether the block's bytes hash to its CID. */
  valid: boolean;
  /** The block's length in bytes. */
  size: number;
}

/**
 * Reads every block of a CAR file, in file order, each with its CID, decoded value and size.
 * Verifies that each block's bytes hash to its CID.
 *
 * @example
 * for await (const { cid, value } of readCar('history.car')) console.log(cid.toString(), value);
 */
export async function* readCar(file: string): AsyncGenerator<CarBlock> {
  const blocks = await CarBlockIterator.fromIterable(createReadStream(file));
  for await (const { cid, bytes } of blocks) {
    const digest = await sha256.digest(bytes);
    const size = bytes.length;
    if (cid.code === RAW_CODE) {
      yield { cid, value: bytes, valid: CID.create(1, RAW_CODE, digest).equals(cid), size };
      continue;
    }
    const valid = cid.code === dagCbor.code && CID.create(1, dagCbor.code, digest).equals(cid);
    yield { cid, value: dagCbor.decode(bytes), valid, size };
  }
}

/**
 * The roots named in a CAR file's header (an export has one: its root block).
 *
 * @example
 * const [root] = await carRoots('history.car');
 */
export async function carRoots(file: string): Promise<CID[]> {
  const blocks = await CarBlockIterator.fromIterable(createReadStream(file));
  return blocks.getRoots();
}

function isVersion(v: unknown): v is VersionBlock {
  return (
    typeof v === 'object' &&
    v !== null &&
    (v as VersionBlock).spec === SPEC_VERSION &&
    'entryId' in v &&
    'hash' in v
  );
}

/**
 * Checks a CAR export offline, trusting nothing in it: every block's CID and size (at most
 * 1 MiB), every version's content hash (from its data and salt) and version hash (from its
 * fields), every parent link (the parent block must be the previous version, with the hash the
 * child names), and that every entry's chain runs 1..n up to the head its table lists.
 *
 * @example
 * const { ok, failures } = await checkCar('history.car');
 */
export async function checkCar(file: string): Promise<CarCheck> {
  const failures: CarFailure[] = [];
  const versions = new Map<string, Seen>();
  const pending: Array<{ cid: string; child: Seen; parent: string }> = [];
  /** Versions after the first without a parent block: an archive's export may start a chain so. */
  const starts: Array<{ cid: string; seen: Seen; byHash: boolean }> = [];
  const links = new Map<string, string>();
  const pages = new Map<string, EntryPage>();
  const raw = new Map<string, Uint8Array>();
  let rootBlock: ExportRoot | null = null;
  let erased = 0;
  let count = 0;
  const [root] = await carRoots(file);
  const rootCid = root?.toString() ?? '';
  const fail = (cid: string, s: Partial<Seen> | null, problem: string) =>
    failures.push({
      cid,
      table: s?.table ?? null,
      entryId: s?.entryId ?? null,
      version: s?.version ?? null,
      problem,
    });

  for await (const { cid, value, valid, size } of readCar(file)) {
    const id = cid.toString();
    if (!valid) fail(id, null, 'the block does not hash to its CID');
    if (size > MAX_BLOCK_BYTES) {
      const at = isVersion(value)
        ? { table: value.table, entryId: value.entryId, version: value.version }
        : null;
      fail(
        id,
        at,
        `the block is ${size} bytes, over the 1 MiB limit (${MAX_BLOCK_BYTES} bytes) of docs/spec.md §8`,
      );
    }
    if (value instanceof Uint8Array) {
      raw.set(id, value);
      continue;
    }
    if (id === rootCid) {
      rootBlock = value as ExportRoot;
      continue;
    }
    if (!isVersion(value)) {
      const page = value as EntryPage;
      if (Array.isArray(page?.entries)) pages.set(id, page);
      continue;
    }
    count += 1;
    const v = value;
    const seen: Seen = { table: v.table, entryId: v.entryId, version: v.version, hash: toHex(v.hash) };
    const hasher = new VersionHasher(v.table, v.data === null ? [] : Object.keys(v.data));
    if (v.redacted) {
      erased += 1;
      if (v.data !== null || v.salt !== null) fail(id, seen, 'a redacted version still carries content');
    } else if (v.data === null || v.salt === null) {
      fail(id, seen, 'the content is missing');
    } else {
      const data = joinChunks(v.data, raw, (problem) => fail(id, seen, problem));
      const content = hasher.contentHash(
        v.salt,
        hasher.columns.map((c) => data[c] ?? null),
      );
      if (toHex(content) !== toHex(v.contentHash)) fail(id, seen, 'content_hash_mismatch');
    }
    const meta =
      v.meta === null || typeof v.meta === 'string'
        ? v.meta
        : joinText(v.meta, raw, 'meta', (problem) => fail(id, seen, problem));
    const hash = hasher.versionHash({ ...v, version: String(v.version), meta }, v.parentHash, v.contentHash);
    if (toHex(hash) !== seen.hash) fail(id, seen, 'hash_mismatch');
    if (v.version === 1) {
      if (v.parent !== null || v.parentHash !== null) fail(id, seen, 'version 1 has a parent');
    } else if (v.parent === null) {
      // Allowed only in an archive's export, whose root block comes last: decided below.
      starts.push({ cid: id, seen, byHash: v.parentHash !== null });
    } else {
      pending.push({ cid: id, child: seen, parent: v.parent.toString() });
      links.set(id, v.parent.toString());
    }
    versions.set(id, seen);
  }
  for (const p of pending) {
    const parent = versions.get(p.parent);
    if (!parent) fail(p.cid, p.child, 'the parent block is not in the file');
    else if (
      parent.entryId !== p.child.entryId ||
      parent.table !== p.child.table ||
      parent.version !== p.child.version - 1
    ) {
      fail(p.cid, p.child, 'the parent block is not the previous version');
    }
  }
  // An archive's export holds the versions one archive took out of the logs: an entry's first
  // there may follow a version of an earlier archive, named by its parent hash (docs/spec.md §8).
  const archive = (rootBlock as ExportRoot | null)?.archive !== undefined;
  const segmentStarts = new Set<string>();
  for (const s of starts) {
    if (archive && s.byHash) segmentStarts.add(s.cid);
    else fail(s.cid, s.seen, 'the parent link is missing');
  }
  if (rootBlock === null) {
    fail(rootCid, null, 'the root block is missing');
  } else {
    for (const t of rootBlock.tables ?? []) {
      let page = t.entries === null ? undefined : pages.get(t.entries.toString());
      let listed = 0;
      while (page) {
        for (const [entryId, head] of page.entries) {
          // Walk the chain down from the head: it must reach version 1 through consecutive versions.
          let cur: string | undefined = head.toString();
          let expected = versions.get(cur)?.version ?? 0;
          let started = false;
          while (cur !== undefined) {
            const at = versions.get(cur);
            if (!at) break;
            listed += 1;
            if (at.entryId !== entryId || at.version !== expected) {
              fail(cur, at, 'the chain from the listed head is broken');
              break;
            }
            expected -= 1;
            started = segmentStarts.has(cur);
            cur = links.get(cur);
          }
          if (expected !== 0 && !started)
            fail(head.toString(), { table: t.table, entryId }, 'the chain does not reach version 1');
        }
        page = page.prev === null ? undefined : pages.get(page.prev.toString());
      }
      if (listed !== t.versions)
        fail(
          rootCid,
          { table: t.table },
          `the table lists ${t.versions} versions, the chains hold ${listed}`,
        );
    }
  }
  return { ok: failures.length === 0, root: rootCid, versions: count, erased, failures };
}

/** A version's data with chunked values joined back from their raw blocks (written before it). */
function joinChunks(
  data: Record<string, string | ChunkedText>,
  raw: ReadonlyMap<string, Uint8Array>,
  fail: (problem: string) => void,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data))
    out[k] = typeof v === 'string' ? v : joinText(v, raw, `column ${k}`, fail);
  return out;
}

/** The text of a chunked value (`what` names it in failures), from its raw blocks. */
function joinText(
  v: ChunkedText,
  raw: ReadonlyMap<string, Uint8Array>,
  what: string,
  fail: (problem: string) => void,
): string {
  const parts = (Array.isArray(v?.chunks) ? v.chunks : []).map((c) => raw.get(String(c)));
  if (parts.some((p) => p === undefined)) fail(`a chunk of ${what} is missing`);
  const bytes = Buffer.concat(parts.filter((p) => p !== undefined));
  if (bytes.length !== v?.bytes) fail(`${what} is not ${v?.bytes} bytes long`);
  return bytes.toString('utf8');
}
