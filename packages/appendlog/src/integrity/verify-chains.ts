import { OPS, removesEntry } from '../model/version.js';
import type { Session } from '../session.js';
import { type TableObjects, tableObjects } from '../sql/names.js';
import type { RecordedTable } from './catalog.js';
import type { CopyRow } from './copy-format.js';
import { Preimage, sha256Latin1, VersionHasher, ZERO_HASH } from './hasher.js';
import { latestArchive } from './leaves.js';
import { F, readLog } from './log-reader.js';
import { cancelProblem, type Forgotten, forgotten, opProblem } from './op-sequence.js';
import { canonicalFromMicros } from './pg-time.js';
import type { Report } from './report.js';
import { findShardedLogs } from './tx-ids-ahead.js';

/**
 * The head row of an entry, as read beside its versions: its version from the entry's first row,
 * the rest from the row of the version it holds (`held` false until that row, or when the log has
 * no such version).
 */
interface Head {
  version: number;
  held: boolean;
  seq: number;
  op: string;
  deleted: boolean;
  /** latin1, one char per byte. */
  hash: string;
  created: number;
  updated: number;
}

/** What the verifier remembers of the previous version of the entry being read. */
interface Prev {
  version: number;
  seq: number;
  op: string;
  /** Microseconds since 2000-01-01 UTC. */
  at: number;
  /** Hashes as latin1 strings (one char per byte). */
  recomputedHash: string;
  /** The stored hash when it differs from the recomputed one. */
  storedHash: string | null;
  valid: boolean;
  /** On the version the head holds: the head's columns that differ from it ('' when none). */
  headDiff: string | null;
}

interface EntryState {
  id: string;
  head: Head | null;
  first: { version: number; at: number; valid: boolean } | null;
  prev: Prev | null;
  deleted: boolean;
  /** What the latest version fixes about its successor when it is a forget; else null. */
  forgotten: Forgotten | null;
  redacted: number | null;
}

export interface ChainOptions {
  /** Only this entry (a validated UUID). */
  entryId?: string;
  /**
   * Rows per page where the driver cannot stream (PGlite), and how often `onRows` is called.
   * Default 5000.
   */
  pageSize?: number;
  /** Called every `pageSize` rows and at the end with the number of versions checked so far in this table. */
  onRows?: (rows: number) => void;
}

/** What every row check of one table shares: the report, the hasher's column order, a buffer. */
interface TableCheck {
  report: Report;
  table: string;
  /** The user columns in canonical (byte) order of their names. */
  sorted: RecordedTable['columns'];
  isTimestamp: readonly boolean[];
  anyTimestamp: boolean;
  /** The last field of a row: where a content preimage without gaps ends. */
  lastField: number;
  /** `F(domain) ‖ F(table)`. */
  prefix: Buffer;
  contentReadable: boolean;
  /**
   * The log is row-sharded on Citus: `seq` comes from the range of the node that wrote the row
   * (`seq >> 48`), and a shard moved to another node continues in that node's range, which may be
   * lower. Storage order is then checked between rows of one node only.
   */
  seqPerNode: boolean;
  /**
   * The latest archive's horizon (docs/spec.md §7.8): an entry's first version in the log may then
   * be one kept at the boundary, below it with its parent link stored, its predecessors archived.
   */
  archivedBelow: bigint | null;
  pre: Preimage;
}

/** The Citus node group whose `seq` range holds `seq` (its top bits: the group id shifted by 48). */
const seqNode = (seq: number): number => Math.floor(seq / 2 ** 48);

/** One row as the checks need it; `valid` turns false when a check finds its hashes do not hold. */
interface RowCheck {
  row: CopyRow;
  id: string;
  version: number;
  op: string;
  /** Exact, for the hash. */
  atMicros: bigint | number;
  /** As a number, for comparisons (exact for any clock time this side of 2285). */
  at: number;
  seq: number;
  prev: Prev | null;
  /** A version number was skipped before this one. */
  gap: boolean;
  valid: boolean;
}

/**
 * Verifies every version of one table from its column values: content hash, version hash, parent
 * link, versions 1..n, the order of ops and times, and the head table against what the log implies.
 *
 * The log is read in one binary COPY, ordered by entry and version, each row beside its entry's
 * head row; values are hashed straight from the received bytes. Memory stays flat: the rows
 * stream (node-postgres), or come in pages of `pageSize` (PGlite, whose COPY returns whole). Head
 * rows whose entry has no version at all are looked up afterwards. Runs inside the caller's
 * snapshot transaction, whose settings must make text output canonical ({@link READ_SETTINGS_SQL}).
 * Each row passes the checks below in turn, each a function of its own.
 */
export async function verifyChains(
  tx: Session,
  t: RecordedTable,
  columns: RecordedTable['columns'],
  contentReadable: boolean,
  report: Report,
  options: ChainOptions = {},
): Promise<void> {
  const o = tableObjects(tx.schema, t.table);
  const hasher = new VersionHasher(
    t.table,
    columns.map((c) => c.sqlName),
  );
  const sorted = hasher.columns.map((name) => columns.find((c) => c.sqlName === name)!);
  const isTimestamp = sorted.map((c) => c.type === 'timestamptz');
  const ctx: TableCheck = {
    report,
    table: t.table,
    sorted,
    isTimestamp,
    anyTimestamp: isTimestamp.includes(true),
    lastField: F.user + 2 * sorted.length - 1,
    prefix: hasher.prefix,
    contentReadable,
    seqPerNode: (await findShardedLogs(tx, [t.table])).length > 0,
    archivedBelow: await archiveHorizon(tx),
    pre: new Preimage(),
  };
  const pageSize = options.pageSize ?? 5000;

  let entry: EntryState | null = null;
  /** The UTF-8 bytes of `entry.id`, to spot the next entry without decoding every row's id. */
  let entryBytes: Buffer = Buffer.alloc(0);
  let rowsDone = 0;
  let reported = 0;

  const checkRow = (row: CopyRow): void => {
    if (entry === null || !row.equals(F.entry, entryBytes)) {
      if (entry !== null) finishEntry(report, t.table, entry);
      entryBytes = row.bytes(F.entry) ?? Buffer.alloc(0);
      entry = newEntry(entryBytes.toString('utf8'), readHead(row));
    }
    if (entry.head !== null && !row.isNull(F.headSeq)) holdHead(entry.head, row);
    report.checked += 1;
    const r = rowCheck(ctx, row, entry);
    checkVersionNumber(ctx, r);
    checkContent(ctx, r, entry);
    const hashes = checkVersionHash(ctx, r);
    checkParent(ctx, r);
    checkOrder(ctx, r, entry);
    remember(entry, r, hashes);
    rowsDone += 1;
    if (rowsDone - reported >= pageSize) {
      reported = rowsDone;
      options.onRows?.(rowsDone);
    }
  };

  await readLog(
    tx,
    o,
    sorted,
    { ...(options.entryId === undefined ? {} : { entryId: options.entryId }), pageSize },
    checkRow,
  );
  if (entry !== null) finishEntry(report, t.table, entry);
  if (rowsDone !== reported) options.onRows?.(rowsDone);
  await orphanHeads(tx, o, options.entryId, report, t.table);
}

async function archiveHorizon(tx: Session): Promise<bigint | null> {
  const archive = await latestArchive(tx);
  return archive === null ? null : BigInt(archive.horizon);
}

function newEntry(id: string, head: Head | null): EntryState {
  return { id, head, first: null, prev: null, deleted: false, forgotten: null, redacted: null };
}

/**
 * Whether an entry's first version in the log is the one an archive kept at its boundary: below
 * the archive's horizon, with its parent link stored (docs/spec.md §7.8). Its predecessors left
 * the log with the archive; that it is the version the checkpoint holds, `checkArchiveBoundary`
 * checks.
 */
function keptAtBoundary(ctx: TableCheck, row: CopyRow, version: number, prev: Prev | null): boolean {
  if (ctx.archivedBelow === null || prev !== null || version <= 1 || row.isNull(F.parentHash)) return false;
  return BigInt(row.text(F.tx) ?? '0') < ctx.archivedBelow;
}

function rowCheck(ctx: TableCheck, row: CopyRow, state: EntryState): RowCheck {
  const version = row.isNull(F.version) ? 0 : row.int4(F.version);
  const atMicros = row.isNull(F.at) ? 0 : row.micros(F.at);
  const prev = state.prev;
  const first = prev === null ? (keptAtBoundary(ctx, row, version, prev) ? version : 1) : prev.version + 1;
  return {
    row,
    id: state.id,
    version,
    op: opOf(row),
    atMicros,
    at: Number(atMicros),
    seq: row.isNull(F.seq) ? 0 : row.int8Number(F.seq),
    prev,
    gap: version > first,
    valid: true,
  };
}

/** Versions 1..n, no gap, no duplicate. */
function checkVersionNumber(ctx: TableCheck, r: RowCheck): void {
  const expected = r.prev === null ? (r.gap ? 1 : Math.max(1, r.version)) : r.prev.version + 1;
  if (r.gap) {
    const range =
      r.version - 1 === expected ? `version ${expected} is` : `versions ${expected}..${r.version - 1} are`;
    ctx.report.fail(ctx.table, r.id, expected, 'version_missing', `${range} missing from the log`);
  } else if (r.version < expected) {
    ctx.report.fail(
      ctx.table,
      r.id,
      r.version,
      'version_duplicate',
      `version ${r.version} appears more than once`,
    );
    r.valid = false;
  }
}

/** The content commitment: a redacted version holds nothing; any other matches its content hash. */
function checkContent(ctx: TableCheck, r: RowCheck, state: EntryState): void {
  const { row } = r;
  const { report, table } = ctx;
  if (row.bool(F.redacted)) {
    report.erased += 1;
    if (state.redacted === null) state.redacted = r.version;
    let leftover = !row.isNull(F.salt);
    for (let i = 0; i < ctx.sorted.length && !leftover; i++) leftover = !row.isNull(F.user + 2 * i + 1);
    if (leftover) {
      report.fail(
        table,
        r.id,
        r.version,
        'redaction_incomplete',
        'the version is marked redacted but still holds its salt or content',
      );
      r.valid = false;
    }
    return;
  }
  if (!ctx.contentReadable) return;
  if (row.isNull(F.salt)) {
    report.fail(
      table,
      r.id,
      r.version,
      'salt_missing',
      'the salt is missing, so the content cannot be checked',
    );
    r.valid = false;
    return;
  }
  if (!row.equalsLatin1(F.contentHash, contentHashOf(ctx, row))) {
    report.fail(
      table,
      r.id,
      r.version,
      'content_hash_mismatch',
      'the column values do not match the content hash',
    );
    r.valid = false;
  }
}

/**
 * `SHA-256(salt ‖ content)` from the row's bytes: one range of the row when every column is set
 * and none is a timestamp (whose canonical text differs from its COPY bytes), else field by field.
 */
function contentHashOf(ctx: TableCheck, row: CopyRow): string {
  let whole = !ctx.anyTimestamp;
  for (let i = 0; i < ctx.sorted.length && whole; i++) whole = !row.isNull(F.user + 2 * i + 1);
  if (whole) return sha256Latin1(row.buf.subarray(row.start[F.salt]!, row.end(ctx.lastField)));
  const pre = ctx.pre.reset();
  rawField(pre, row, F.salt);
  for (let i = 0; i < ctx.sorted.length; i++) {
    const f = F.user + 2 * i + 1;
    if (row.isNull(f)) continue;
    if (ctx.isTimestamp[i]) {
      fieldRun(pre, row, f - 1);
      pre.timestamp(row.micros(f));
    } else {
      fieldRun(pre, row, f - 1, f);
    }
  }
  return pre.digestLatin1();
}

/**
 * The version hash over its fields, its parent link and its stored content hash; returns both
 * hashes. The parent link is as stored or, where the row leaves it to be derived (table code
 * revision 9 on), the previous version's hash, as stored or as it should be. A version whose
 * parent cannot be known (a version is missing before it) is not judged, and counts as not holding.
 */
function checkVersionHash(ctx: TableCheck, r: RowCheck): { recomputed: string; stored: string | null } {
  const { row, prev } = r;
  // The parent: stored (or version 1's none), else the previous version's hash as stored, then as
  // it should be; unknown with a version missing before it.
  const derived = row.isNull(F.parentHash) && r.version !== 1;
  if (derived && (prev === null || r.gap)) {
    r.valid = false;
    return { recomputed: row.latin1(F.hash) ?? '', stored: null };
  }
  let recomputed = versionHashOf(ctx, r, derived ? (prev!.storedHash ?? prev!.recomputedHash) : null);
  let matched = row.equalsLatin1(F.hash, recomputed);
  if (!matched && derived && prev!.storedHash !== null) {
    recomputed = versionHashOf(ctx, r, prev!.recomputedHash);
    matched = row.equalsLatin1(F.hash, recomputed);
  }
  const stored = matched ? null : (row.latin1(F.hash) ?? '');
  if (stored !== null) {
    ctx.report.fail(
      ctx.table,
      r.id,
      r.version,
      'hash_mismatch',
      'the version hash does not match its fields',
    );
    r.valid = false;
  }
  return { recomputed, stored };
}

/** The version hash of the row over `parent` (latin1), or over its stored parent link when null. */
function versionHashOf(ctx: TableCheck, r: RowCheck, parent: string | null): string {
  const { row } = r;
  const pre = ctx.pre.reset().raw(ctx.prefix);
  fieldRun(pre, row, F.entry, F.op); // F(entry_id) ‖ F(version) ‖ F(op)
  pre.timestamp(r.atMicros);
  fieldRun(pre, row, F.tx, F.meta); // F(tx_id) ‖ F(actor) ‖ F(reason) ‖ F(meta)
  if (parent !== null) pre.rawLatin1(parent);
  else if (row.isNull(F.parentHash)) pre.raw(ZERO_HASH);
  else rawField(pre, row, F.parentHash);
  rawField(pre, row, F.contentHash);
  return pre.digestLatin1();
}

/**
 * The parent link: none on version 1, else the previous version's hash, as stored or as it should
 * be. A row that leaves it null (table code revision 9 on) links through its version hash, which
 * {@link checkVersionHash} computed over the previous version's hash.
 */
function checkParent(ctx: TableCheck, r: RowCheck): void {
  const { row, prev } = r;
  const noParent = row.isNull(F.parentHash);
  if (r.version === 1 && !noParent) {
    ctx.report.fail(ctx.table, r.id, r.version, 'parent_mismatch', 'version 1 must have no parent');
    r.valid = false;
  } else if (prev !== null && !r.gap && !noParent && !linksTo(row, F.parentHash, prev)) {
    ctx.report.fail(
      ctx.table,
      r.id,
      r.version,
      'parent_mismatch',
      `the parent hash is not the hash of version ${prev.version}`,
    );
    r.valid = false;
  }
}

/** The order of ops and times, judged only between versions whose hashes hold, and of seq. */
function checkOrder(ctx: TableCheck, r: RowCheck, state: EntryState): void {
  const { row, prev, op } = r;
  if (prev !== null && !r.gap && r.valid && prev.valid) {
    const problem =
      state.forgotten === null
        ? opProblem(op, state.deleted)
        : cancelProblem(state.forgotten, op, row.text(F.reason), row.text(F.meta), r.atMicros);
    if (problem) ctx.report.fail(ctx.table, r.id, r.version, 'op_sequence', problem);
    if (r.at <= prev.at)
      ctx.report.fail(
        ctx.table,
        r.id,
        r.version,
        'time_order',
        `recorded at ${timeText(r.at)}, not after version ${prev.version} (${timeText(prev.at)})`,
      );
  } else if (prev === null && r.version === 1 && r.valid && op !== 'insert') {
    ctx.report.fail(ctx.table, r.id, r.version, 'op_sequence', `version 1 is a ${op}, not an insert`);
  }
  if (prev !== null && r.seq <= prev.seq && !(ctx.seqPerNode && seqNode(r.seq) !== seqNode(prev.seq))) {
    ctx.report.fail(
      ctx.table,
      r.id,
      r.version,
      'seq_order',
      `stored at seq ${r.seq}, before version ${prev.version} (seq ${prev.seq})`,
    );
  }
}

/** Whether field `i` of the row holds the previous version's hash, as stored or as it should be. */
function linksTo(row: CopyRow, i: number, prev: Prev): boolean {
  return (
    row.equalsLatin1(i, prev.recomputedHash) ||
    (prev.storedHash !== null && row.equalsLatin1(i, prev.storedHash))
  );
}

/** What the next row of the entry is checked against. One `Prev` per entry, updated in place. */
function remember(
  state: EntryState,
  r: RowCheck,
  hashes: { recomputed: string; stored: string | null },
): void {
  const { row, prev, version, seq, op, at, valid } = r;
  let headDiff = row.text(F.headDiff);
  // On the head's version, a parent hash the log row leaves to be derived: the head's must be
  // the previous version's hash, as stored or as it should be (docs/spec.md §5.1).
  if (headDiff !== null && row.isNull(F.parentHash) && version !== 1 && prev !== null && !r.gap) {
    if (!linksTo(row, F.headParent, prev))
      headDiff = headDiff === '' ? 'parent_hash' : `${headDiff}, parent_hash`;
  }
  if (state.first === null) state.first = { version, at, valid };
  state.deleted = removesEntry(op);
  state.forgotten = op === 'forget' ? forgotten(row.text(F.meta), prev?.op ?? null) : null;
  if (prev === null) {
    state.prev = {
      version,
      seq,
      op,
      at,
      recomputedHash: hashes.recomputed,
      storedHash: hashes.stored,
      valid,
      headDiff,
    };
    return;
  }
  // A row's worth of garbage less.
  prev.version = version;
  prev.seq = seq;
  prev.op = op;
  prev.at = at;
  prev.recomputedHash = hashes.recomputed;
  prev.storedHash = hashes.stored;
  prev.valid = valid;
  prev.headDiff = headDiff;
}

const OP_BYTES = OPS.map((op) => [op, Buffer.from(op)] as const);

/** The op of a row: one of the five without decoding the bytes, anything else as text. */
function opOf(row: CopyRow): string {
  for (const [op, bytes] of OP_BYTES) if (row.equals(F.op, bytes)) return op;
  return row.text(F.op) ?? '';
}

/**
 * `F(a) ‖ … ‖ F(b)` of the consecutive text fields a..b (`F(a)` when b is a): one range of the
 * row, each field's COPY length in front of its bytes.
 */
function fieldRun(pre: Preimage, row: CopyRow, a: number, b = a): void {
  pre.raw(row.bytesView, row.start[a]! - 4, row.end(b));
}

/** The bytes of a bytea field as they are (nothing for NULL). */
function rawField(pre: Preimage, row: CopyRow, i: number): void {
  const n = row.len[i]!;
  if (n > 0) pre.raw(row.bytesView, row.start[i]!, row.start[i]! + n);
}

/** The canonical text of microseconds read by `int8Number`, for messages. */
function timeText(micros: number): string {
  return canonicalFromMicros(Number.isSafeInteger(micros) ? micros : BigInt(micros));
}

function readHead(row: CopyRow): Head | null {
  if (row.isNull(F.headVersion)) return null;
  const version = row.int4(F.headVersion);
  return { version, held: false, seq: 0, op: '', deleted: false, hash: '', created: 0, updated: 0 };
}

/** The head's own fields, from the row of the version it holds. */
function holdHead(head: Head, row: CopyRow): void {
  head.held = true;
  head.seq = row.int8Number(F.headSeq);
  head.op = row.text(F.headOp) ?? '';
  head.deleted = row.bool(F.headDeleted);
  head.hash = row.latin1(F.headHash) ?? '';
  head.created = row.int8Number(F.headCreated);
  head.updated = row.int8Number(F.headUpdated);
}

/** The checks that need the whole entry: its head row, and erasure only after a forget. */
function finishEntry(report: Report, table: string, state: EntryState): void {
  const last = state.prev;
  if (last === null) return;
  if (state.head === null) {
    report.fail(
      table,
      state.id,
      last.version,
      'head_missing',
      `the head table has no row for entry ${state.id}`,
    );
  } else {
    compareHead(report, table, state, last, state.head);
  }
  if (state.redacted !== null && last.op !== 'forget') {
    report.fail(
      table,
      state.id,
      state.redacted,
      'redacted_without_forget',
      `version ${state.redacted} is redacted but the entry was never forgotten`,
    );
  }
}

/** Head rows of entries that have no version left at all, in pages. */
async function orphanHeads(
  tx: Session,
  o: TableObjects,
  entryId: string | undefined,
  report: Report,
  table: string,
): Promise<void> {
  let after: string | null = null;
  for (;;) {
    const rows: { e: string; v: number }[] = await tx.run<{ e: string; v: number }>(
      `SELECT h.entry_id::text AS e, h.version AS v FROM ${o.head} h
        WHERE NOT EXISTS (SELECT 1 FROM ${o.log} l WHERE l.entry_id = h.entry_id)
          AND ($1::uuid IS NULL OR h.entry_id = $1::uuid) AND ($2::uuid IS NULL OR h.entry_id > $2::uuid)
        ORDER BY h.entry_id LIMIT 1000`,
      [entryId ?? null, after],
    );
    for (const h of rows) {
      const range = h.v === 1 ? 'version 1 is' : `versions 1..${h.v} are`;
      report.fail(
        table,
        h.e,
        1,
        'log_missing',
        `${range} missing: the head row remains but the log has no version of entry ${h.e}`,
      );
    }
    if (rows.length < 1000) return;
    after = rows[rows.length - 1]!.e;
  }
}

function compareHead(report: Report, table: string, state: EntryState, last: Prev, h: Head): void {
  if (h.version > last.version) {
    const range =
      h.version === last.version + 1
        ? `version ${h.version} is`
        : `versions ${last.version + 1}..${h.version} are`;
    report.fail(
      table,
      state.id,
      last.version + 1,
      'version_missing',
      `${range} missing from the log (the head says ${h.version})`,
    );
    return;
  }
  const wrong: string[] = [];
  if (h.version !== last.version) wrong.push(`version ${h.version} (log: ${last.version})`);
  // The head's own fields came with the version it holds; a head behind a log that lacks that
  // version is judged by its version alone.
  if (h.held) wrong.push(...heldFieldsDiffer(report, table, state, last, h));
  // The head's copy of the content, judged only against a version that holds itself (a tampered
  // log row is reported there, once).
  if (last.valid && last.headDiff) wrong.push(last.headDiff);
  if (wrong.length > 0) {
    report.fail(
      table,
      state.id,
      last.version,
      'head_mismatch',
      `the head row disagrees with the log: ${wrong.join(', ')}`,
    );
  }
}

/**
 * The head's own fields that disagree with the log's last version, for the head's message;
 * a `created_at` that is not version 1's time is reported on version 1 itself.
 */
function heldFieldsDiffer(report: Report, table: string, state: EntryState, last: Prev, h: Head): string[] {
  const wrong: string[] = [];
  if (h.seq !== last.seq) wrong.push(`seq ${h.seq} (log: ${last.seq})`);
  if (h.op !== last.op) wrong.push(`op ${h.op} (log: ${last.op})`);
  const deleted = removesEntry(last.op);
  if (h.deleted !== deleted) wrong.push(`deleted ${h.deleted} (log: ${deleted})`);
  if (h.hash !== last.recomputedHash && h.hash !== last.storedHash) wrong.push('hash');
  // created_at comes from version 1: judged only when version 1 itself holds, and reported there.
  const first = state.first;
  if (first?.version === 1 && first.valid && h.created !== first.at) {
    report.fail(
      table,
      state.id,
      1,
      'head_mismatch',
      `the head row's created_at ${timeText(h.created)} is not version 1's time (${timeText(first.at)})`,
    );
  }
  if (h.updated !== last.at) wrong.push(`recorded_at ${timeText(h.updated)} (log: ${timeText(last.at)})`);
  return wrong;
}

/** The settings under which the verifier reads text: UTC, ISO dates, hex bytea. */
export const READ_SETTINGS_SQL = [
  `SET LOCAL TimeZone = 'UTC'`,
  `SET LOCAL DateStyle = 'ISO, YMD'`,
  `SET LOCAL bytea_output = 'hex'`,
  `SET LOCAL IntervalStyle = 'postgres'`,
  `SET LOCAL extra_float_digits = 1`,
];
