import { InvalidInputError } from '../errors.js';
import type { Version } from '../model/version.js';
import { quoteIdent } from '../schema/names.js';
import type { ColumnMap, RowData, TableDef } from '../schema/table.js';
import { compileSql, type Sql, sql } from '../sql/template.js';
import {
  afterCursorSql,
  asPage,
  cursorAfter,
  type OrderKey,
  orderFingerprint,
  type Page,
  textParam,
} from './cursor.js';

type OrderField<C extends ColumnMap> = Extract<keyof C, string> | 'createdAt' | 'updatedAt';
/** A field to sort by, ascending unless said otherwise. */
export type OrderBy<C extends ColumnMap> =
  | OrderField<C>
  | { field: OrderField<C>; direction?: 'asc' | 'desc' }
  | Array<OrderField<C> | { field: OrderField<C>; direction?: 'asc' | 'desc' }>;

/**
 * Options of `list` and `listAt`.
 *
 * @example
 * await book.list({ where: { city: 'Oslo' }, orderBy: { field: 'name', direction: 'desc' }, limit: 50 });
 */
export interface ListOptions<C extends ColumnMap> {
  /** Equality filters; `null` matches nulls. */
  where?: Partial<RowData<C>>;
  /** Default: creation order. */
  orderBy?: OrderBy<C>;
  limit?: number;
  offset?: number;
  /** The `next` cursor of the page before: keyset paging, stable while entries come and go. */
  after?: string;
}

/** SQL expressions for the system fields a list can sort by. */
export interface ListTimeColumns {
  /** The head table, where a cursor's entry's creation time is read back. */
  head: string;
  createdAt: string;
  updatedAt: string;
  /** The entry id, the order's final tie-breaker. */
  entryId: string;
}

/**
 * Appends the where, order, limit and offset of `options` to `base`, a query whose user columns
 * are read from alias `l` and that already has a WHERE clause; `baseParams` are the values of the
 * `$1…` it numbers.
 */
export function buildListQuery<C extends ColumnMap>(
  def: TableDef<C>,
  base: string,
  baseParams: readonly unknown[],
  options: ListOptions<C>,
  times: ListTimeColumns,
): { sql: string; params: unknown[]; prepare: boolean; page: PageState } {
  if (typeof options !== 'object' || options === null)
    throw new InvalidInputError('list options must be an object', 'options');
  const clauses = whereSql(def, options.where ?? {});
  const keys = orderKeys(def, options.orderBy, times);
  const fingerprint = orderFingerprint(def.name, keys);
  if (options.after !== undefined) {
    const createdAt = (id: Sql) =>
      sql`(SELECT c.created_at FROM ${sql.raw(times.head)} c WHERE c.entry_id = ${id})`;
    clauses.push(afterCursorSql(options, keys, fingerprint, createdAt));
  }
  const order = sql.join(keys.map((k) => sql.raw(`${k.sql}${k.desc ? ' DESC' : ''}`)));
  const statement = sql`${sql.raw(base)}${sql.join(
    clauses.map((c) => sql` AND ${c}`),
    '',
  )} ORDER BY ${order}${pageSql({ limit: options.limit, offset: options.offset }, true)}`;
  const { text, params } = compileSql(statement, baseParams);
  return {
    sql: text,
    params,
    prepare: preparedLimit(options.limit),
    page: { keys, fingerprint, limit: options.limit },
  };
}

/** The equality filters of `where`, each a condition on alias `l`. */
function whereSql<C extends ColumnMap>(def: TableDef<C>, where: object): Sql[] {
  const byKey = new Map(def.columns.map((c) => [c.key, c]));
  const clauses: Sql[] = [];
  for (const [key, value] of Object.entries(where)) {
    const col = byKey.get(key);
    if (!col) throw new InvalidInputError(`${def.name} has no column "${key}" to filter on`, key);
    if (value === undefined) continue;
    const ref = sql.raw(`l.${quoteIdent(col.sqlName)}`);
    clauses.push(
      value === null ? sql`${ref} IS NULL` : sql`${ref} = ${textParam(col, value)}::${sql.raw(col.type)}`,
    );
  }
  return clauses;
}

/** The order of a list: the keys `orderBy` names, then creation time and entry id as tie-breakers. */
function orderKeys<C extends ColumnMap>(
  def: TableDef<C>,
  orderBy: OrderBy<C> | undefined,
  times: ListTimeColumns,
): OrderKey[] {
  const byKey = new Map(def.columns.map((c) => [c.key, c]));
  const keys: OrderKey[] = [];
  const raw = orderBy === undefined ? [] : Array.isArray(orderBy) ? orderBy : [orderBy];
  for (const item of raw) {
    const { field, direction } = typeof item === 'string' ? { field: item, direction: 'asc' } : item;
    if (direction !== undefined && direction !== 'asc' && direction !== 'desc') {
      throw new InvalidInputError(`orderBy direction must be 'asc' or 'desc'`, 'orderBy');
    }
    const desc = direction === 'desc';
    if (field === 'createdAt') keys.push({ sql: times.createdAt, desc, notNull: true, source: 'createdAt' });
    else if (field === 'updatedAt')
      keys.push({ sql: times.updatedAt, desc, notNull: true, source: 'recordedAt' });
    else {
      const col = byKey.get(field as string);
      if (!col)
        throw new InvalidInputError(`${def.name} has no column "${String(field)}" to order by`, 'orderBy');
      keys.push({ sql: `l.${quoteIdent(col.sqlName)}`, desc, notNull: col.notNull, source: { column: col } });
    }
  }
  keys.push(
    { sql: times.createdAt, desc: false, notNull: true, source: 'createdAt' },
    { sql: times.entryId, desc: false, notNull: true, source: 'entryId' },
  );
  return keys;
}

/** What a list statement needs to turn its rows into a {@link Page}. */
export interface PageState {
  keys: OrderKey[];
  fingerprint: string;
  limit: number | undefined;
}

/**
 * The page of `rows`, decoded, fetched with one row more than the limit ({@link pageSql}'s
 * `peek`): that row, when it came, says there is a next page and is left out.
 */
export function toPage<T extends Record<string, unknown>>(
  versions: Version<T>[],
  page: PageState,
): Page<Version<T>> {
  if (page.limit === undefined || versions.length <= page.limit) return asPage(versions, null);
  const items = versions.slice(0, page.limit);
  return asPage(items, cursorAfter(items[items.length - 1]!, page.keys, page.fingerprint));
}

/**
 * The page sizes whose statements are kept prepared on a connection. Every other limit runs as an
 * unnamed statement, planned on each call: a limit written into the statement makes each page
 * size a statement of its own, and an app passing `?limit=` through would otherwise leave a new
 * prepared statement on every pooled connection for every size it was ever asked.
 */
const PREPARED_LIMITS: ReadonlySet<number> = new Set([1, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000]);

/** Whether a statement paged by `limit` is kept prepared (see {@link PREPARED_LIMITS}). */
export function preparedLimit(limit: number | undefined): boolean {
  return limit === undefined || PREPARED_LIMITS.has(limit);
}

/**
 * ` LIMIT n OFFSET $m` for validated paging options (each part only when given). The limit is
 * written into the statement, not bound: with `LIMIT $1` the generic plan of the prepared
 * statement assumes a tenth of the table, so PostgreSQL keeps choosing custom plans and re-plans
 * the list on every call (the planning cost as much as the query). Each page size becomes a
 * statement of its own, kept prepared only for the common sizes ({@link preparedLimit}).
 */
export function pageSql(
  options: { limit?: number | undefined; offset?: number | undefined },
  peek = false,
): Sql {
  let limit = sql.empty;
  if (options.limit !== undefined) {
    if (!Number.isSafeInteger(options.limit) || options.limit < 0)
      throw new InvalidInputError('limit must be a non-negative integer', 'limit');
    // peek: one row more, which tells whether a next page exists (see toPage).
    limit = sql.raw(` LIMIT ${options.limit + (peek ? 1 : 0)}`);
  }
  if (options.offset === undefined) return limit;
  if (!Number.isInteger(options.offset) || options.offset < 0)
    throw new InvalidInputError('offset must be a non-negative integer', 'offset');
  return sql`${limit} OFFSET ${options.offset}`;
}
