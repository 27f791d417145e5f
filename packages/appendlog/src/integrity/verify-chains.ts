import type { Database } from '../db.js';
import { canonicalTimestamp } from '../hash/spec.js';
import { quoteIdent } from '../schema/names.js';
import { tableObjects } from '../sql/names.js';
import type { RecordedTable } from './catalog.js';
import { CursorReader } from './cursor.js';
import { VersionHasher } from './hasher.js';
import type { Report } from './report.js';

/** A log row as the verifier reads it: every column as PostgreSQL text (UTC, ISO, hex). */
interface LogRow {
  seq: string;
  e: string;
  v: string;
  op: string;
  at: string;
  tx: string;
  actor: string | null;
  reason: string | null;
  meta: string | null;
  salt: string | null;
  ch: string;
  ph: string | null;
  h: string;
  red: string | null;
  [column: string]: string | null;
}

interface HeadRow {
  e: string;
  v: string;
  seq: string;
  op: string;
  deleted: string;
  h: string;
  created: string;
  updated: string;
}

/** What the verifier remembers of the previous version of the entry being read. */
interface Prev {
  version: number;
  seq: bigint;
  op: string;
  at: string;
  storedHash: string;
  recomputedHash: string;
  valid: boolean;
}

interface EntryState {
  id: string;
  first: { version: number; at: string; valid: boolean } | null;
  prev: Prev | null;
  deleted: boolean;
  redacted: number | null;
}

export interface ChainOptions {
  /** Only this entry. */
  entryId?: string;
  /** Rows per round trip. */
  pageSize?: number;
  /** Called after each page with the number of versions checked so far in this table. */
  onRows?: (rows: number) => void;
}

const hexBytes = (text: string): Buffer => Buffer.from(text.slice(2), 'hex');

/** The canonical form of a timestamp read as text, or the raw text when it cannot be (a tampered value). */
function canonicalTime(text: string): string {
  try {
    return canonicalTimestamp(text);
  } catch {
    return text;
  }
}

/**
 * Verifies every version of one table from its column values: content hash, version hash, parent
 * link, versions 1..n, the order of ops and times, and the head table against what the log implies.
 * Streams log and head side by side, ordered by entry, so memory does not grow with the table.
 * Runs inside the caller's transaction, whose settings must make text output canonical-ready
 * (see {@link readSettingsSql}).
 */
export async function verifyChains(
  tx: Database,
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
  const keys = sorted.map((_, i) => `c${i}`);
  const userCols = sorted.map((c, i) => `, l.${quoteIdent(c.sqlName)}::text AS c${i}`).join('');
  const where = options.entryId === undefined ? '' : 'WHERE l.entry_id = $1';
  const params = options.entryId === undefined ? [] : [options.entryId];
  const pageSize = options.pageSize ?? 5000;

  const log = await CursorReader.open<LogRow>(
    tx,
    `SELECT l.seq::text AS seq, l.entry_id::text AS e, l.version::text AS v, l.op, l.recorded_at::text AS at,
            l.tx_id::text AS tx, l.actor, l.reason, l.meta::text AS meta, l.salt::text AS salt,
            l.content_hash::text AS ch, l.parent_hash::text AS ph, l.hash::text AS h, l.redacted_at::text AS red${userCols}
       FROM ${o.log} l ${where}
      ORDER BY l.entry_id, l.version`,
    params,
    pageSize,
  );
  const head = await CursorReader.open<HeadRow>(
    tx,
    `SELECT l.entry_id::text AS e, l.version::text AS v, l.seq::text AS seq, l.op, l.deleted::text AS deleted,
            l.hash::text AS h, l.created_at::text AS created, l.updated_at::text AS updated
       FROM ${o.head} l ${where}
      ORDER BY l.entry_id`,
    params,
    pageSize,
  );

  const table = t.table;
  const values: (string | null)[] = new Array(sorted.length);
  let entry: EntryState | null = null;
  let rowsDone = 0;

  const finishEntry = async (state: EntryState): Promise<void> => {
    // Head rows of entries that have no version left at all come first in entry order.
    while ((await head.fill()) && head.peek()!.e < state.id) {
      orphanHead(report, table, head.peek()!);
      head.shift();
    }
    const h = (await head.fill()) && head.peek()!.e === state.id ? head.peek()! : null;
    if (h) head.shift();
    const last = state.prev;
    if (last === null) return;
    if (h === null) {
      report.fail(
        table,
        state.id,
        last.version,
        'head_missing',
        `the head table has no row for entry ${state.id}`,
      );
    } else {
      compareHead(report, table, state, last, h);
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
  };

  for (;;) {
    const rows = await log.page();
    if (rows.length === 0) break;
    for (const r of rows) {
      if (entry === null || r.e !== entry.id) {
        if (entry !== null) await finishEntry(entry);
        entry = { id: r.e, first: null, prev: null, deleted: false, redacted: null };
      }
      checkRow(r, entry);
    }
    rowsDone += rows.length;
    options.onRows?.(rowsDone);
  }
  if (entry !== null) await finishEntry(entry);
  while (await head.fill()) {
    orphanHead(report, table, head.peek()!);
    head.shift();
  }
  await log.close();
  await head.close();

  function checkRow(r: LogRow, state: EntryState): void {
    report.checked += 1;
    const version = Number(r.v);
    const prev = state.prev;
    const id = state.id;
    const at = canonicalTime(r.at);
    let valid = true;

    // Versions 1..n, no gap.
    const expected = prev === null ? 1 : prev.version + 1;
    const gap = version > expected;
    if (gap) {
      const range =
        version - 1 === expected ? `version ${expected} is` : `versions ${expected}..${version - 1} are`;
      report.fail(table, id, expected, 'version_missing', `${range} missing from the log`);
    } else if (version < expected) {
      report.fail(table, id, version, 'version_duplicate', `version ${version} appears more than once`);
      valid = false;
    }

    // Content commitment.
    if (r.red !== null) {
      report.erased += 1;
      if (state.redacted === null) state.redacted = version;
      const leftover = r.salt !== null || keys.some((k) => r[k] !== null);
      if (leftover) {
        report.fail(
          table,
          id,
          version,
          'redaction_incomplete',
          'the version is marked redacted but still holds its salt or content',
        );
        valid = false;
      }
    } else if (contentReadable) {
      if (r.salt === null) {
        report.fail(
          table,
          id,
          version,
          'salt_missing',
          'the salt is missing, so the content cannot be checked',
        );
        valid = false;
      } else {
        for (let i = 0; i < sorted.length; i++) {
          const raw = r[keys[i]!] ?? null;
          values[i] = raw !== null && isTimestamp[i] ? canonicalTime(raw) : raw;
        }
        const content = hasher.contentHash(hexBytes(r.salt), values).toString('hex');
        if (content !== r.ch.slice(2)) {
          report.fail(
            table,
            id,
            version,
            'content_hash_mismatch',
            'the column values do not match the content hash',
          );
          valid = false;
        }
      }
    }

    // Version hash over the stored content hash and parent link.
    const parent = r.ph === null ? null : hexBytes(r.ph);
    const recomputed = hasher
      .versionHash(
        {
          entryId: r.e,
          version: r.v,
          op: r.op,
          recordedAt: at,
          txId: r.tx,
          actor: r.actor,
          reason: r.reason,
          meta: r.meta,
        },
        parent,
        hexBytes(r.ch),
      )
      .toString('hex');
    const stored = r.h.slice(2);
    if (recomputed !== stored) {
      report.fail(table, id, version, 'hash_mismatch', 'the version hash does not match its fields');
      valid = false;
    }

    // The parent link: to the previous version's hash, as stored or as it should be.
    const parentHex = r.ph === null ? null : r.ph.slice(2);
    if (version === 1 && parentHex !== null) {
      report.fail(table, id, version, 'parent_mismatch', 'version 1 must have no parent');
      valid = false;
    } else if (prev !== null && !gap && parentHex !== prev.storedHash && parentHex !== prev.recomputedHash) {
      report.fail(
        table,
        id,
        version,
        'parent_mismatch',
        `the parent hash is not the hash of version ${prev.version}`,
      );
      valid = false;
    }

    // The order of ops, times and seq, judged only between versions whose hashes hold.
    const seq = BigInt(r.seq);
    if (prev !== null && !gap && valid && prev.valid) {
      const problem = opProblem(prev.op, r.op, state.deleted);
      if (problem) report.fail(table, id, version, 'op_sequence', problem);
      if (at <= prev.at)
        report.fail(
          table,
          id,
          version,
          'time_order',
          `recorded at ${at}, not after version ${prev.version} (${prev.at})`,
        );
    } else if (prev === null && version === 1 && valid && r.op !== 'insert') {
      report.fail(table, id, version, 'op_sequence', `version 1 is a ${r.op}, not an insert`);
    }
    if (prev !== null && seq <= prev.seq) {
      report.fail(
        table,
        id,
        version,
        'seq_order',
        `stored at seq ${seq}, before version ${prev.version} (seq ${prev.seq})`,
      );
    }

    if (state.first === null) state.first = { version, at: r.at, valid };
    state.deleted = r.op === 'delete' || r.op === 'forget';
    state.prev = { version, seq, op: r.op, at, storedHash: stored, recomputedHash: recomputed, valid };
  }
}

function opProblem(prevOp: string, op: string, deleted: boolean): string | null {
  if (prevOp === 'forget') return `a ${op} follows a forget`;
  if (op === 'insert') return 'an insert after version 1';
  if ((op === 'update' || op === 'delete') && deleted) return `a ${op} of a deleted entry`;
  if (op === 'restore' && !deleted) return 'a restore of an entry that was not deleted';
  return null;
}

function orphanHead(report: Report, table: string, h: HeadRow): void {
  const range = h.v === '1' ? 'version 1 is' : `versions 1..${h.v} are`;
  report.fail(
    table,
    h.e,
    1,
    'log_missing',
    `${range} missing: the head row remains but the log has no version of entry ${h.e}`,
  );
}

function compareHead(report: Report, table: string, state: EntryState, last: Prev, h: HeadRow): void {
  const headVersion = Number(h.v);
  if (headVersion > last.version) {
    const range =
      headVersion === last.version + 1
        ? `version ${headVersion} is`
        : `versions ${last.version + 1}..${headVersion} are`;
    report.fail(
      table,
      state.id,
      last.version + 1,
      'version_missing',
      `${range} missing from the log (the head says ${headVersion})`,
    );
    return;
  }
  const wrong: string[] = [];
  if (headVersion !== last.version) wrong.push(`version ${headVersion} (log: ${last.version})`);
  if (BigInt(h.seq) !== last.seq) wrong.push(`seq ${h.seq} (log: ${last.seq})`);
  if (h.op !== last.op) wrong.push(`op ${h.op} (log: ${last.op})`);
  const deleted = last.op === 'delete' || last.op === 'forget';
  if ((h.deleted === 'true') !== deleted) wrong.push(`deleted ${h.deleted} (log: ${deleted})`);
  const hash = h.h.slice(2);
  if (hash !== last.storedHash && hash !== last.recomputedHash) wrong.push('hash');
  // created_at comes from version 1: judged only when version 1 itself holds, and reported there.
  const first = state.first;
  if (first?.version === 1 && first.valid && canonicalTime(h.created) !== canonicalTime(first.at)) {
    report.fail(
      table,
      state.id,
      1,
      'head_mismatch',
      `the head row's created_at ${h.created} is not version 1's time (${first.at})`,
    );
  }
  if (canonicalTime(h.updated) !== last.at) wrong.push(`updated_at ${h.updated} (log: ${last.at})`);
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

/** The settings under which the verifier reads text: UTC, ISO dates, hex bytea. */
export const READ_SETTINGS_SQL = [
  `SET LOCAL TimeZone = 'UTC'`,
  `SET LOCAL DateStyle = 'ISO, YMD'`,
  `SET LOCAL bytea_output = 'hex'`,
  `SET LOCAL IntervalStyle = 'postgres'`,
  `SET LOCAL extra_float_digits = 1`,
];
