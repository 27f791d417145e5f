import { HEAD_COPY_COLUMNS } from '../model/log-columns.js';
import { quoteIdent, quoteLiteral } from '../schema/names.js';
import type { Session } from '../session.js';
import type { TableObjects } from '../sql/names.js';
import type { RecordedTable } from './catalog.js';
import { CopyParser, type CopyRow } from './copy-format.js';

/**
 * The fields of the verifier's log query, in order (see {@link readLog}): the log row, the
 * entry's head row (NULL when it has none), then the user columns in canonical order.
 *
 * A binary COPY field is a 32-bit length (-1 for NULL) and the bytes: for text that is exactly the
 * spec's `F(x)`, `F(null)` included. So the version hash's text fields are asked for in the hash's
 * order, `entry_id, version, op` and `tx_id, actor, reason, meta`, and go into the preimage as two
 * byte ranges of the row (`fieldRun`). The content is `salt ‖ F(name) ‖ F(value) ‖ …` over the
 * non-null columns: each column comes as its name (a constant of the query) and its value, right
 * after the salt, so a version with every column set and no timestamp column is one range of the
 * row, hashed where it lies.
 */
export const F = {
  seq: 0,
  version: 1,
  at: 2,
  redacted: 3,
  entry: 4,
  versionText: 5,
  op: 6,
  tx: 7,
  actor: 8,
  reason: 9,
  meta: 10,
  contentHash: 11,
  parentHash: 12,
  hash: 13,
  headVersion: 14,
  /** Fields 15 to 20 only on the version the head holds (see {@link HEAD_FIELDS}). */
  headSeq: 15,
  headOp: 16,
  headDeleted: 17,
  headHash: 18,
  headCreated: 19,
  headUpdated: 20,
  /** On the version the head holds: the head's columns that differ from it (see {@link headDiffSql}). */
  headDiff: 21,
  /** On the version the head holds: the head's parent hash, judged in the verifier where the log row leaves it to be derived. */
  headParent: 22,
  salt: 23,
  /** Column i's name is field `user + 2i`, its value `user + 2i + 1`. */
  user: 24,
} as const;

/**
 * The head's own fields the verifier compares with the log, sent on the row of the version the
 * head holds only (NULL on every other row): an entry's versions would each carry the same copy,
 * and on PGlite, whose COPY runs on the verifier's own thread, every field sent costs the read.
 * The head's version comes on every row, so that a head ahead of its log is seen without them.
 */
const HEAD_FIELDS = ['seq', 'op', 'deleted', 'hash', 'created_at', 'recorded_at'] as const;

/**
 * The planner settings of the log query: one merge join of two index scans, already in entry
 * order, on this backend alone (a sort or parallel workers would cost more than they save, and
 * the verifier's own process needs the other core). Undone after the query.
 */
const PLAN_SETTINGS = [
  ['enable_hashjoin', 'off'],
  ['enable_sort', 'off'],
  ['max_parallel_workers_per_gather', '0'],
] as const;

export interface LogReadOptions {
  /** Only this entry (a validated UUID). */
  entryId?: string;
  /** Rows per page where the driver cannot stream (PGlite). */
  pageSize: number;
}

/**
 * Hands every version of a table to `onRow` in `(entry_id, version)` order, laid out as {@link F}
 * says, with `columns` in canonical order. One binary COPY where the driver streams (node-postgres:
 * memory flat by backpressure); pages of `pageSize` rows by keyset on `(entry_id, version, seq)`
 * where it does not (PGlite hands a COPY over whole). `seq` keeps duplicated versions of a tampered
 * log apart.
 */
export async function readLog(
  tx: Session,
  o: TableObjects,
  columns: RecordedTable['columns'],
  options: LogReadOptions,
  onRow: (row: CopyRow) => void,
): Promise<void> {
  const userCols = columns
    .map(
      (c) =>
        `, ${quoteLiteral(c.sqlName)}::text, l.${quoteIdent(c.sqlName)}${c.type === 'text' || c.type === 'timestamptz' ? '' : '::text'}`,
    )
    .join('');
  // `join` narrows the head's side of the join: a page that starts past the first entry gives the
  // head its first entry too, or the merge join's scan of the head starts from the head's first
  // row on every page (on PGlite a verify of 100,000 versions in 20 pages read about half the head
  // again for each page).
  const select = (where: string, tail: string, join = '') =>
    `SELECT l.seq, l.version, l.recorded_at, l.redacted_at IS NOT NULL,
            l.entry_id::text, l.version::text, l.op, l.tx_id::text, l.actor, l.reason, l.meta::text,
            l.content_hash, l.parent_hash, l.hash,
            h.version${HEAD_FIELDS.map((f) => `, CASE WHEN h.version = l.version THEN h.${f} END`).join('')},
            ${headDiffSql(columns)}, CASE WHEN h.version = l.version THEN h.parent_hash END, l.salt${userCols}
       FROM ${o.log} l LEFT JOIN ${o.head} h ON h.entry_id = l.entry_id${join} ${where}
      ORDER BY l.entry_id, l.version${tail}`;
  const only = options.entryId === undefined ? null : `l.entry_id = ${quoteLiteral(options.entryId)}::uuid`;
  const fields = F.user + 2 * columns.length;

  await tx.exec(PLAN_SETTINGS.map(([name, value]) => `SET LOCAL ${name} = ${value};`).join('\n'));
  if (tx.copyStreams) {
    await copyRows(tx, select(only === null ? '' : `WHERE ${only}`, ''), fields, onRow);
  } else {
    const page: { after: { entry: string; version: number; seq: bigint } | null } = { after: null };
    const keep = (row: CopyRow) => {
      onRow(row);
      page.after = { entry: row.text(F.entry) ?? '', version: row.int4(F.version), seq: row.int8(F.seq) };
    };
    for (;;) {
      const from = page.after;
      const conditions = [
        ...(only === null ? [] : [only]),
        ...(from === null
          ? []
          : [
              `(l.entry_id, l.version, l.seq) > (${quoteLiteral(from.entry)}::uuid, ${from.version}, ${from.seq})`,
            ]),
      ];
      const where = conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
      const join = from === null ? '' : ` AND h.entry_id >= ${quoteLiteral(from.entry)}::uuid`;
      const n = await copyRows(tx, select(where, `, l.seq LIMIT ${options.pageSize}`, join), fields, keep);
      if (n < options.pageSize) break;
    }
  }
  // Not in a finally: after a failed COPY the transaction only takes a rollback.
  await tx.exec(PLAN_SETTINGS.map(([name]) => `SET LOCAL ${name} TO DEFAULT;`).join('\n'));
}

/**
 * The head holds its entry's latest version whole: on that version's row, the names of the
 * columns the head does not hold as the log does (empty when it holds them all), else NULL. The
 * version, op, hash and times are compared by the verifier itself.
 */
function headDiffSql(columns: RecordedTable['columns']): string {
  const names = [...HEAD_COPY_COLUMNS, ...columns.map((c) => c.sqlName)];
  const checks = names.map((n) => {
    const c = quoteIdent(n);
    // A parent hash the log row leaves to be derived is judged by the verifier (F.headParent).
    const derived = n === 'parent_hash' ? 'l.parent_hash IS NOT NULL OR l.version = 1) AND (' : '';
    return `CASE WHEN (${derived}h.${c} IS DISTINCT FROM l.${c}) THEN ${quoteLiteral(n)} END`;
  });
  return `CASE WHEN h.version = l.version THEN pg_catalog.concat_ws(', ', ${checks.join(', ')}) END`;
}

/** Runs one binary COPY of `select` and hands each row to `onRow`; returns the number of rows. */
async function copyRows(
  tx: Session,
  select: string,
  fields: number,
  onRow: (row: CopyRow) => void,
): Promise<number> {
  const parser = new CopyParser(fields);
  await tx.copyBinary(select, (chunk) => parser.push(chunk, onRow));
  parser.end();
  return parser.rows;
}
