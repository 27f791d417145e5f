/**
 * The bytes and rules of docs/spec.md §3 to §6, as a reimplementer reads them there: fields,
 * canonical times, the content commitment, the version hash, the chain rules of one entry and the
 * RFC 9162 tree. Written from the spec text alone; imports nothing of the library (see
 * spec-verifier.test.ts).
 */
import { createHash } from 'node:crypto';

/** One version as the log stores it (§10.2), every text already canonical (§3). */
export interface StoredVersion {
  seq: bigint;
  entryId: string;
  version: number;
  op: string;
  recordedAt: string;
  txId: string;
  actor: string | null;
  reason: string | null;
  meta: string | null;
  salt: Buffer | null;
  contentHash: Buffer | null;
  parentHash: Buffer | null;
  hash: Buffer | null;
  redactedAt: string | null;
  /** User column values by SQL name (null for SQL NULL). */
  values: Map<string, string | null>;
}

/** One head row (§10.3). */
export interface StoredHead {
  entryId: string;
  version: number;
  seq: bigint;
  op: string;
  recordedAt: string;
  txId: string;
  actor: string | null;
  reason: string | null;
  meta: string | null;
  hash: Buffer | null;
  parentHash: Buffer | null;
  redactedAt: string | null;
  deleted: boolean;
  createdAt: string;
  values: Map<string, string | null>;
}

/** A failure as §5.2 names it. */
export interface SpecFailure {
  table: string;
  entryId: string | null;
  version: number | null;
  problem: string;
}

const NULL_FIELD = Buffer.from([0xff, 0xff, 0xff, 0xff]);
const ZEROS = Buffer.alloc(32);

/** `F(x)` of §2. */
export function F(x: string | null): Buffer {
  if (x === null) return NULL_FIELD;
  const bytes = Buffer.from(x, 'utf8');
  const n = Buffer.alloc(4);
  n.writeUInt32BE(bytes.length);
  return Buffer.concat([n, bytes]);
}

function sha256(...parts: Buffer[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** §3: PostgreSQL's ISO output of a timestamptz in UTC (`2026-01-02 01:04:05.5+00`) made canonical. */
export function canonicalTime(iso: string): string {
  const m = /^(\d{4,6})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?\+00$/.exec(iso);
  if (m === null) throw new Error(`not a UTC ISO timestamp: ${iso}`);
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${(m[7] ?? '').padEnd(6, '0')}Z`;
}

/**
 * Microseconds since 1970 of a canonical time (§3; the year four to six digits, as rule 5a
 * allows), or null when the text is not one or names no real instant.
 */
export function micros(canonical: string): bigint | null {
  const m = /^(\d{4,6})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{6})Z$/.exec(canonical);
  if (m === null) return null;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const day = new Date(0);
  day.setUTCFullYear(y, mo - 1, d);
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) return null;
  if (y < 1 || h > 23 || mi > 59 || s > 59) return null;
  const days = BigInt(Math.floor(day.getTime() / 86_400_000));
  return (days * 86_400n + BigInt(h * 3600 + mi * 60 + s)) * 1_000_000n + BigInt(m[7]!);
}

/** §4.1: `SHA-256(salt ‖ F(name) ‖ F(text) ‖ …)` over the non-null columns in byte order of names. */
export function contentHash(salt: Buffer, values: Map<string, string | null>): Buffer {
  const names = [...values.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const parts = [salt];
  for (const name of names) {
    const v = values.get(name) ?? null;
    if (v !== null) parts.push(F(name), F(v));
  }
  return sha256(...parts);
}

/** §4.2: the version hash from the stored fields, parent hash and content hash. */
export function versionHash(table: string, v: StoredVersion): Buffer {
  return sha256(
    F('appendlog/v1'),
    F(table),
    F(v.entryId),
    F(String(v.version)),
    F(v.op),
    F(v.recordedAt),
    F(v.txId),
    F(v.actor),
    F(v.reason),
    F(v.meta),
    v.parentHash ?? ZEROS,
    v.contentHash ?? Buffer.alloc(0),
  );
}

/** §6.1: the leaf data of a version. */
export function leafData(table: string, v: StoredVersion): Buffer {
  return Buffer.concat([F(table), F(v.entryId), F(String(v.version)), v.hash ?? Buffer.alloc(0)]);
}

/** §6.1 (RFC 9162 §2.1.1): the root of the tree over leaf data `leaves`. */
export function treeRoot(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return sha256();
  if (leaves.length === 1) return sha256(Buffer.from([0]), leaves[0]!);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return sha256(Buffer.from([1]), treeRoot(leaves.slice(0, k)), treeRoot(leaves.slice(k)));
}

const same = (a: Buffer | null, b: Buffer | null) => a !== null && b !== null && a.equals(b);

/** What a verified version leaves for judging the next (§5.2: against stored and recomputed hash). */
interface Judged {
  v: StoredVersion;
  at: bigint;
  recomputed: Buffer;
  valid: boolean;
  /** The parent hash the version links to: as stored, or (§8) the previous version's hash. */
  parent: Buffer | null;
}

/** Rule 5a: why `v` is not the cancel of the forget `f` (whose predecessor had op `before`), or null. */
function cancelProblem(f: StoredVersion, before: string | null, v: StoredVersion, at: bigint): string | null {
  const meta = parseObject(v.meta);
  if (meta?.cancelForget !== true) return 'follows a forget without meta.cancelForget = true';
  const erasure = parseObject(f.meta)?.erasure;
  const dueText =
    typeof erasure === 'object' && erasure !== null ? (erasure as { dueAt?: unknown }).dueAt : null;
  const due = typeof dueText === 'string' ? micros(dueText) : null;
  if (due === null) return 'follows a forget without a due time';
  if (at >= due) return 'cancel at or after the due time';
  if (v.op !== (before === 'delete' ? 'delete' : 'restore')) return 'cancel with the wrong op';
  if (v.reason === null || !/[^ ]/.test(v.reason)) return 'cancel without a reason';
  return null;
}

/** Rule 5 outside a forget: why `op` may not follow a state (`deleted` or live), or null. */
function opProblem(op: string, deleted: boolean): string | null {
  if (!['insert', 'update', 'delete', 'restore', 'forget'].includes(op)) return `unknown op ${op}`;
  if (op === 'insert') return 'insert after version 1';
  if ((op === 'update' || op === 'delete') && deleted) return `${op} of a deleted entry`;
  if (op === 'restore' && !deleted) return 'restore of a live entry';
  return null;
}

function parseObject(text: string | null): Record<string, unknown> | null {
  if (text === null) return null;
  const v: unknown = JSON.parse(text);
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

/**
 * §5 and §5.1 for one entry: its versions in `(version, seq)` order, its head row (or null), and
 * whether the user columns can be read (else content is not recomputed).
 */
export function checkEntry(
  table: string,
  versions: readonly StoredVersion[],
  head: StoredHead | null,
  contentReadable: boolean,
  fail: (f: SpecFailure) => void,
): void {
  const at = (version: number | null, problem: string) =>
    fail({ table, entryId: versions[0]!.entryId, version, problem });
  let prev: Judged | null = null;
  let first: Judged | null = null;
  let deleted = false;
  let forget: { v: StoredVersion; before: string | null } | null = null;
  let firstErased: number | null = null;
  for (const v of versions) {
    let valid = true;
    const expected = prev === null ? 1 : prev.v.version + 1;
    const gap = v.version > expected;
    if (gap) at(expected, 'version_missing');
    else if (v.version < expected) {
      at(v.version, 'version_duplicate');
      valid = false;
    }
    if (v.redactedAt !== null) {
      firstErased ??= v.version;
      if (v.salt !== null || [...v.values.values()].some((x) => x !== null)) {
        at(v.version, 'redaction_incomplete');
        valid = false;
      }
    } else if (contentReadable) {
      if (v.salt === null) {
        at(v.version, 'salt_missing');
        valid = false;
      } else if (!same(contentHash(v.salt, v.values), v.contentHash)) {
        at(v.version, 'content_hash_mismatch');
        valid = false;
      }
    }
    // §8: a null parent_hash on version k > 1 is the previous version's hash, as stored or as
    // recomputed; with a version missing before it, it is unknown and the version is not judged.
    const parents: (Buffer | null)[] =
      v.parentHash !== null || v.version === 1
        ? [v.parentHash]
        : prev === null || gap
          ? []
          : [prev.v.hash, prev.recomputed];
    let recomputed = v.hash ?? Buffer.alloc(0);
    let parent: Buffer | null = null;
    if (parents.length === 0) valid = false;
    for (const p of parents) {
      parent = p;
      recomputed = versionHash(table, { ...v, parentHash: p });
      if (same(recomputed, v.hash)) break;
    }
    if (parents.length > 0 && !same(recomputed, v.hash)) {
      at(v.version, 'hash_mismatch');
      valid = false;
    }
    if (v.version === 1 && v.parentHash !== null) {
      at(v.version, 'parent_mismatch');
      valid = false;
    } else if (
      prev !== null &&
      !gap &&
      v.parentHash !== null &&
      !(same(v.parentHash, prev.recomputed) || same(v.parentHash, prev.v.hash))
    ) {
      at(v.version, 'parent_mismatch');
      valid = false;
    }
    const time = micros(v.recordedAt) ?? 0n;
    if (prev !== null && !gap && valid && prev.valid) {
      const problem =
        forget === null ? opProblem(v.op, deleted) : cancelProblem(forget.v, forget.before, v, time);
      if (problem !== null) at(v.version, 'op_sequence');
      if (time <= prev.at) at(v.version, 'time_order');
    } else if (prev === null && v.version === 1 && valid && v.op !== 'insert') {
      at(v.version, 'op_sequence');
    }
    if (prev !== null && v.seq <= prev.v.seq) at(v.version, 'seq_order');
    deleted = v.op === 'delete' || v.op === 'forget';
    forget = v.op === 'forget' ? { v, before: prev?.v.op ?? null } : null;
    prev = { v, at: time, recomputed, valid, parent };
    first ??= prev;
  }
  const last = prev!;
  if (head === null) at(last.v.version, 'head_missing');
  else checkHead(last, first!, head, at);
  if (firstErased !== null && last.v.op !== 'forget') at(firstErased, 'redacted_without_forget');
}

/** §5.1: the head row holds the latest version whole. */
function checkHead(
  last: Judged,
  first: Judged,
  h: StoredHead,
  at: (version: number | null, problem: string) => void,
): void {
  const v = last.v;
  if (h.version > v.version) {
    at(v.version + 1, 'version_missing');
    return;
  }
  if (first.v.version === 1 && first.valid && h.createdAt !== first.v.recordedAt) at(1, 'head_mismatch');
  const text = (b: Buffer | null) => (b === null ? null : b.toString('hex'));
  let wrong =
    h.version !== v.version ||
    h.seq !== v.seq ||
    h.op !== v.op ||
    h.deleted !== (v.op === 'delete' || v.op === 'forget') ||
    !(same(h.hash, last.recomputed) || same(h.hash, v.hash)) ||
    h.recordedAt !== v.recordedAt;
  if (last.valid) {
    wrong ||=
      h.txId !== v.txId ||
      h.actor !== v.actor ||
      h.reason !== v.reason ||
      h.meta !== v.meta ||
      text(h.parentHash) !== text(last.parent) ||
      h.redactedAt !== v.redactedAt ||
      [...v.values].some(([name, value]) => (h.values.get(name) ?? null) !== value);
  }
  if (wrong) at(v.version, 'head_mismatch');
}
