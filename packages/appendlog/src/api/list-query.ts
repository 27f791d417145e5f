import { InvalidInputError } from '../errors.js';
import type { Version } from '../model/version.js';
import { quoteIdent } from '../schema/names.js';
import type { ColumnMap, RowData, TableDef } from '../schema/table.js';
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
 * are read from alias `l` and that already has a WHERE clause. `params` holds the base's parameters.
 */
export function buildListQuery<C extends ColumnMap>(
  def: TableDef<C>,
  base: string,
  params: unknown[],
  options: ListOptions<C>,
  times: ListTimeColumns,
): { sql: string; params: unknown[]; prepare: boolean; page: PageState } {
  if (typeof options !== 'object' || options === null)
    throw new InvalidInputError('list options must be an object', 'options');
  const clauses: string[] = [];
  const byKey = new Map(def.columns.map((c) => [c.key, c]));
  for (const [key, value] of Object.entries(options.where ?? {})) {
    const col = byKey.get(key);
    if (!col) throw new InvalidInputError(`${def.name} has no column "${key}" to filter on`, key);
    if (value === undefined) continue;
    const ref = `l.${quoteIdent(col.sqlName)}`;
    if (value === null) {
      clauses.push(`${ref} IS NULL`);
      continue;
    }
    params.push(textParam(col, value));
    clauses.push(`${ref} = $${params.length}::${col.type}`);
  }
  const keys: OrderKey[] = [];
  const raw =
    options.orderBy === undefined ? [] : Array.isArray(options.orderBy) ? options.orderBy : [options.orderBy];
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
  const fingerprint = orderFingerprint(def.name, keys);
  if (options.after !== undefined) {
    clauses.push(
      afterCursorSql(
        options,
        keys,
        fingerprint,
        params,
        (id) => `(SELECT c.created_at FROM ${times.head} c WHERE c.entry_id = ${id})`,
      ),
    );
  }
  const order = keys.map((k) => `${k.sql}${k.desc ? ' DESC' : ''}`);
  let sql = `${base}${clauses.map((c) => ` AND ${c}`).join('')} ORDER BY ${order.join(', ')}`;
  sql += pageSql(params, { limit: options.limit, offset: options.offset }, true);
  return {
    sql,
    params,
    prepare: preparedLimit(options.limit),
    page: { keys, fingerprint, limit: options.limit },
  };
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
  params: unknown[],
  options: { limit?: number | undefined; offset?: number | undefined },
  peek = false,
): string {
  let sql = '';
  if (options.limit !== undefined) {
    if (!Number.isSafeInteger(options.limit) || options.limit < 0)
      throw new InvalidInputError('limit must be a non-negative integer', 'limit');
    // peek: one row more, which tells whether a next page exists (see toPage).
    sql += ` LIMIT ${options.limit + (peek ? 1 : 0)}`;
  }
  if (options.offset !== undefined) {
    if (!Number.isInteger(options.offset) || options.offset < 0)
      throw new InvalidInputError('offset must be a non-negative integer', 'offset');
    params.push(options.offset);
    sql += ` OFFSET $${params.length}`;
  }
  return sql;
}
