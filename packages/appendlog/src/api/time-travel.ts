import { InvalidInputError, NotFoundError } from '../errors.js';
import { checkEntryId, checkVersionNumber } from '../model/values.js';
import { removesEntry, type Version } from '../model/version.js';
import { quoteIdent } from '../schema/names.js';
import type { ColumnMap, RowData, TableDef } from '../schema/table.js';
import type { Session } from '../session.js';
import { asOfFromSql } from '../sql/as-of.js';
import { tableObjects } from '../sql/names.js';
import { compileSql, sql } from '../sql/template.js';
import { decodeVersion, HEAD_OP, HEAD_VERSION, versionProjection } from './codec.js';
import { afterCursorSql, type OrderKey, orderFingerprint, type Page } from './cursor.js';
import { type AsOf, checkAsOf, checkInstant, type Instant } from './instant.js';
import { buildListQuery, type ListOptions, pageSql, preparedLimit, toPage } from './list-query.js';
import { perTable } from './statement-cache.js';

/**
 * Paging of `history`: `before` (a version number) keeps the versions below it, `limit` the
 * newest `limit` of those. Pages are returned oldest first, like the whole history.
 *
 * @example
 * const page = await book.history(id, { limit: 20 });                          // the latest 20
 * const older = await book.history(id, { limit: 20, before: page[0]!.version }); // the 20 before
 */
export interface HistoryOptions {
  limit?: number;
  before?: number;
}

/**
 * Paging of the recycle bin (`deleted`), newest deletion first.
 *
 * @example
 * const bin = await book.deleted({ limit: 50, offset: 50 }); // the second page
 */
export interface PageOptions {
  limit?: number;
  offset?: number;
  /** The `next` cursor of the page before (keyset paging). */
  after?: string;
}

interface TimeTravelStatements {
  atTime: string;
  atVersion: string;
  exists: string;
  historyPage: string;
  listAtBase: string;
  deleted: string;
}

const statements = perTable((def, schema): TimeTravelStatements => {
  const o = tableObjects(schema, def.name);
  // Every statement here but `deleted` reads versions from the log.
  const proj = versionProjection(def, 'l', o.log);
  return {
    // Index-backed: one backward probe of (entry_id, recorded_at). A forgotten entry has left every read.
    atTime: `SELECT ${proj}, h.op AS ${quoteIdent(HEAD_OP)} FROM ${o.head} h
               CROSS JOIN LATERAL (
                 SELECT * FROM ${o.log} x WHERE x.entry_id = h.entry_id AND x.recorded_at <= $2::timestamptz
                  ORDER BY x.recorded_at DESC LIMIT 1) l
              WHERE h.entry_id = $1`,
    atVersion: `SELECT ${proj}, h.op AS ${quoteIdent(HEAD_OP)}, h.version AS ${quoteIdent(HEAD_VERSION)} FROM ${o.head} h
                  LEFT JOIN ${o.log} l ON l.entry_id = h.entry_id AND l.version = $2
                 WHERE h.entry_id = $1`,
    exists: `SELECT h.version, h.op FROM ${o.head} h WHERE h.entry_id = $1`,
    // Completed by pageSql (limit written in) and `) p ORDER BY p.version`.
    historyPage: `SELECT * FROM (SELECT ${proj} FROM ${o.log} l WHERE l.entry_id = $1 AND l.version < $2
                    ORDER BY l.version DESC`,
    listAtBase: `SELECT ${proj} ${asOfFromSql(o, '$1::timestamptz')}`,
    // The head holds each deleted entry's tombstone whole. Completed by the cursor, the order and the page.
    deleted: `SELECT ${versionProjection(def)} FROM ${o.head} l WHERE l.op = 'delete'`,
  };
});

/** `at`: the entry as it stood at a moment or at one version; null when it was not live then. */
export async function at<C extends ColumnMap>(
  db: Session,
  def: TableDef<C>,
  entryId: string,
  when: AsOf,
): Promise<Version<RowData<C>> | null> {
  const id = checkEntryId(entryId);
  const target = checkAsOf(when);
  const st = statements(def, db.schema);
  if ('version' in target) {
    const [row] = await db.run(st.atVersion, [id, target.version], true);
    if (!row) throw new NotFoundError(`${def.name} entry ${id} does not exist`);
    if (row.version === null || row.version === undefined) {
      throw new NotFoundError(
        `${def.name} entry ${id} has no version ${target.version} (latest: ${row[HEAD_VERSION]})`,
      );
    }
    return live(def, row);
  }
  const [row] = await db.run(st.atTime, [id, target.at], true);
  return row ? live(def, row) : null;
}

function live<C extends ColumnMap>(
  def: TableDef<C>,
  row: Record<string, unknown>,
): Version<RowData<C>> | null {
  if (row[HEAD_OP] === 'forget' || removesEntry(row.op)) return null;
  return decodeVersion(def, row);
}

/** `listAt`: the live entries as they stood at `when`, filtered, sorted and paged like `list`. */
export async function listAt<C extends ColumnMap>(
  db: Session,
  def: TableDef<C>,
  when: Instant,
  options: ListOptions<C> = {},
): Promise<Page<Version<RowData<C>>>> {
  const instant = checkInstant(when);
  const st = statements(def, db.schema);
  const { sql, params, prepare, page } = buildListQuery(def, st.listAtBase, [instant], options, {
    head: tableObjects(db.schema, def.name).head,
    createdAt: 'h.created_at',
    updatedAt: 'l.recorded_at',
    entryId: 'h.entry_id',
  });
  const rows = await db.run(sql, params, prepare);
  return toPage(
    rows.map((r) => decodeVersion(def, r)),
    page,
  );
}

/** `history` with paging; see {@link HistoryOptions}. */
export async function historyPage<C extends ColumnMap>(
  db: Session,
  def: TableDef<C>,
  entryId: string,
  options: HistoryOptions,
): Promise<Version<RowData<C>>[]> {
  const id = checkEntryId(entryId);
  if (typeof options !== 'object' || options === null)
    throw new InvalidInputError('history options must be an object', 'options');
  const before = options.before === undefined ? 2_147_483_647 : checkVersionNumber(options.before, 'before');
  const st = statements(def, db.schema);
  const { text, params } = compileSql(
    sql`${sql.raw(st.historyPage)}${pageSql({ limit: options.limit })}) p ORDER BY p.version`,
    [id, before],
  );
  const rows = await db.run(text, params, preparedLimit(options.limit));
  if (rows.length === 0) {
    const [head] = await db.run(st.exists, [id], true);
    if (!head) throw new NotFoundError(`${def.name} entry ${id} does not exist`);
  }
  return rows.map((r) => decodeVersion(def, r));
}

/** The order of the recycle bin: newest tombstone first, the entry id breaking ties. */
const BIN_ORDER: OrderKey[] = [
  { sql: 'l.recorded_at', desc: true, notNull: true, source: 'recordedAt' },
  { sql: 'l.entry_id', desc: true, notNull: true, source: 'entryId' },
];

/** `deleted`: the tombstones of entries whose latest version is a delete, newest first. */
export async function deleted<C extends ColumnMap>(
  db: Session,
  def: TableDef<C>,
  options: PageOptions = {},
): Promise<Page<Version<RowData<C>>>> {
  if (typeof options !== 'object' || options === null)
    throw new InvalidInputError('deleted options must be an object', 'options');
  const fingerprint = orderFingerprint(`${def.name} bin`, BIN_ORDER);
  const after =
    options.after === undefined
      ? sql.empty
      : sql` AND ${afterCursorSql(options, BIN_ORDER, fingerprint, () => sql`NULL`)}`;
  const { text, params } = compileSql(
    sql`${sql.raw(statements(def, db.schema).deleted)}${after} ORDER BY l.recorded_at DESC, l.entry_id DESC${pageSql(options, true)}`,
  );
  const rows = await db.run(text, params, preparedLimit(options.limit));
  return toPage(
    rows.map((r) => decodeVersion(def, r)),
    { keys: BIN_ORDER, fingerprint, limit: options.limit },
  );
}
