import { InvalidInputError } from '../errors.js';
import { encodeValue } from '../model/values.js';
import type { Version } from '../model/version.js';
import type { ResolvedColumn } from '../schema/table.js';
import { type Sql, sql } from '../sql/template.js';

/**
 * A page of a list: the versions, and `next`, the cursor of the page after it (null when this is
 * the last one). It is an array, so code that reads a list as an array keeps working.
 *
 * @example
 * let page = await book.list({ limit: 50 });
 * while (page.next) page = await book.list({ limit: 50, after: page.next });
 */
export type Page<T> = T[] & { readonly next: string | null };

/** `items` as a {@link Page} (`next` is not enumerable: JSON and spreads see the array alone). */
export function asPage<T>(items: T[], next: string | null): Page<T> {
  Object.defineProperty(items, 'next', { value: next, enumerable: false });
  return items as Page<T>;
}

/** One key of a list's order, as SQL and as where its value comes from in a returned version. */
export interface OrderKey {
  /** The SQL expression sorted by. */
  sql: string;
  desc: boolean;
  /** Never null (a system column or a notNull column): the comparison needs no NULL cases. */
  notNull: boolean;
  /**
   * Where the cursor's value comes from: a user column of the version's data, the version's
   * recording time, its entry id, or the entry's creation time, which a version does not carry:
   * the cursor names the entry and the statement reads its `created_at` back from the head
   * (it never changes).
   */
  source: { column: ResolvedColumn } | 'recordedAt' | 'entryId' | 'createdAt';
}

interface CursorBody {
  /** What the cursor belongs to: the list's table and order. */
  o: string;
  /** The last entry of the page. */
  id: string;
  /** The order's values at that entry, encoded as SQL parameters; `createdAt` keys hold null. */
  k: (string | null)[];
}

/** A fingerprint of a list's order, so a cursor is not taken for another list's. */
export function orderFingerprint(table: string, keys: readonly OrderKey[]): string {
  return `${table}:${keys.map((k) => `${k.sql}${k.desc ? '-' : '+'}`).join(',')}`;
}

/** `value` checked for `column` and written as the text of a `$n::<type>` parameter (null for null). */
export function textParam(column: ResolvedColumn, value: unknown): string | null {
  const encoded = encodeValue({ ...column, notNull: false }, value);
  if (encoded === null || encoded === undefined) return null;
  return column.type === 'jsonb' ? JSON.stringify(encoded) : String(encoded);
}

/** The cursor after `last`, a version this list returned. */
export function cursorAfter(
  last: Version<Record<string, unknown>>,
  keys: readonly OrderKey[],
  fingerprint: string,
): string {
  const k = keys.map((key) => {
    if (key.source === 'recordedAt') return last.recordedAtIso;
    if (key.source === 'entryId' || key.source === 'createdAt') return null;
    return textParam(key.source.column, last.data[key.source.column.key]);
  });
  const body: CursorBody = { o: fingerprint, id: last.entryId, k };
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

function readCursor(cursor: unknown, fingerprint: string, keys: number): CursorBody {
  const bad = (why: string) => new InvalidInputError(`after: ${why}`, 'after');
  if (typeof cursor !== 'string' || cursor === '') throw bad('expected the `next` cursor of a page');
  let body: CursorBody;
  try {
    body = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as CursorBody;
  } catch {
    throw bad('not a cursor this library made');
  }
  if (
    typeof body !== 'object' ||
    body === null ||
    typeof body.id !== 'string' ||
    !/^[0-9a-f-]{36}$/i.test(body.id) ||
    typeof body.o !== 'string' ||
    !Array.isArray(body.k) ||
    !body.k.every((v) => v === null || typeof v === 'string')
  ) {
    throw bad('not a cursor this library made');
  }
  if (body.o !== fingerprint) throw bad('the cursor belongs to another list (another table or order)');
  if (body.k.length !== keys) throw bad('not a cursor this library made');
  return body;
}

/**
 * The condition "after the cursor `page.after`" in `keys` order (with no `offset` beside it). Keys
 * that can be null sort as PostgreSQL sorts them (last ascending, first descending). `createdAt` is
 * read back from the head by the cursor's entry id: `headCreatedAt` gives that SQL for the id.
 */
export function afterCursorSql(
  page: { after?: unknown; offset?: unknown },
  keys: readonly OrderKey[],
  fingerprint: string,
  headCreatedAt: (id: Sql) => Sql,
): Sql {
  if (page.offset !== undefined)
    throw new InvalidInputError('after and offset page the same list two ways: pass one of them', 'after');
  const body = readCursor(page.after, fingerprint, keys.length);
  const id = sql`${sql.param(body.id)}::uuid`;
  const values = keys.map((key, i): Sql | null => {
    if (key.source === 'entryId') return id;
    if (key.source === 'createdAt') return headCreatedAt(id);
    const v = body.k[i];
    if (v === null || v === undefined) return null;
    const type = key.source === 'recordedAt' ? 'timestamptz' : key.source.column.type;
    return sql`${v}::${sql.raw(type)}`;
  });
  const ref = (k: OrderKey) => sql.raw(k.sql);
  // The usual orders (every key non-null, one direction): a row comparison an index can serve.
  if (keys.every((k, i) => k.notNull && values[i] !== null && k.desc === keys[0]!.desc)) {
    const op = sql.raw(keys[0]!.desc ? '<' : '>');
    return sql`(${sql.join(keys.map(ref))}) ${op} (${sql.join(values as Sql[])})`;
  }
  const equal = (k: OrderKey, v: Sql | null) => (v === null ? sql`${ref(k)} IS NULL` : sql`${ref(k)} = ${v}`);
  const beyond = (k: OrderKey, v: Sql | null): Sql | null => {
    if (v === null) return k.desc ? sql`${ref(k)} IS NOT NULL` : null;
    if (k.desc) return sql`${ref(k)} < ${v}`;
    return k.notNull ? sql`${ref(k)} > ${v}` : sql`(${ref(k)} > ${v} OR ${ref(k)} IS NULL)`;
  };
  const terms: Sql[] = [];
  keys.forEach((k, i) => {
    const past = beyond(k, values[i]!);
    if (past === null) return;
    const ties = keys.slice(0, i).map((p, j) => equal(p, values[j]!));
    terms.push(sql`(${sql.join([...ties, past], ' AND ')})`);
  });
  return terms.length === 0 ? sql`false` : sql`(${sql.join(terms, ' OR ')})`;
}
