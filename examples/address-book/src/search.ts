import { type Database, InvalidInputError, tableObjects } from 'appendlog';
import type { Deps } from './context.js';
import type { Person } from './schema.js';

/** One person found by a search: their current version, as the lists show it. */
export interface Found {
  entryId: string;
  version: number;
  actor: string | null;
  reason: string | null;
  recordedAt: Date;
  data: Person;
}

/** A page of search results and the cursor of the next page (null on the last). */
export interface FoundPage {
  items: Found[];
  next: string | null;
}

/**
 * Searches the current state in the database: a case-insensitive substring of any field, live
 * people (`in: 'book'`, what the view `addresses` holds) or the recycle bin (`in: 'bin'`), by name
 * then entry id, one page at a time. Forgotten people are in neither.
 *
 * It reads the head table (one row per person, the view's source) rather than the view because
 * the bin is not in the view. No index serves `ILIKE '%…%'` without pg_trgm; a scan of the head
 * (one row per person, not per version) is what it costs: see the README.
 */
export async function search(
  db: Database,
  q: string,
  options: { in: 'book' | 'bin'; limit: number; after?: string | undefined },
): Promise<FoundPage> {
  const cursor = options.after === undefined ? null : decodeCursor(options.after);
  const { head } = tableObjects(db.schema, 'addresses');
  const pattern = `%${q.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
  const rows = await db.query<{
    entry_id: string;
    version: number;
    actor: string | null;
    reason: string | null;
    recorded_at: Date | string;
    name: string;
    address_line_1: string | null;
    city: string | null;
    postcode: string | null;
    tel: string | null;
  }>(
    `SELECT h.entry_id::text AS entry_id, h.version, h.actor, h.reason, h.recorded_at,
            h.name, h.address_line_1, h.city, h.postcode, h.tel
       FROM ${head} h
      WHERE ${options.in === 'bin' ? "h.op = 'delete'" : 'NOT h.deleted'}
        AND (h.name ILIKE $1 OR h.address_line_1 ILIKE $1 OR h.city ILIKE $1 OR h.postcode ILIKE $1
             OR h.tel ILIKE $1)
        AND ($2::text IS NULL OR (h.name, h.entry_id) > ($2::text, $3::uuid))
      ORDER BY h.name, h.entry_id
      LIMIT $4`,
    [pattern, cursor?.[0] ?? null, cursor?.[1] ?? null, options.limit + 1],
  );
  const items = rows.slice(0, options.limit).map((r) => ({
    entryId: r.entry_id,
    version: r.version,
    actor: r.actor,
    reason: r.reason,
    recordedAt: new Date(r.recorded_at),
    data: {
      name: r.name,
      addressLine1: r.address_line_1,
      city: r.city,
      postcode: r.postcode,
      tel: r.tel,
    },
  }));
  const last = items.at(-1);
  const next = rows.length > options.limit && last ? encodeCursor(last.data.name, last.entryId) : null;
  return { items, next };
}

/**
 * The people a list shows: with no query, a page of the book by name or of the bin newest first,
 * as the library pages them; with one, a page of the search (by name), which runs in the database.
 */
export async function listOrSearch(
  { book, db }: Pick<Deps, 'book' | 'db'>,
  q: string,
  options: { in: 'book' | 'bin'; limit: number; after?: string | undefined },
): Promise<FoundPage> {
  if (q !== '') return search(db, q, options);
  const { limit, after } = options;
  const page =
    options.in === 'book'
      ? await book.list({ orderBy: 'name', limit, after })
      : await book.deleted({ limit, after });
  return { items: page, next: page.next };
}

function encodeCursor(name: string, entryId: string): string {
  return `s.${Buffer.from(JSON.stringify([name, entryId])).toString('base64url')}`;
}

function decodeCursor(after: string): [string, string] {
  try {
    if (!after.startsWith('s.')) throw new Error('not a search cursor');
    const value: unknown = JSON.parse(Buffer.from(after.slice(2), 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      typeof value[1] === 'string' &&
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value[1])
    )
      return [value[0], value[1]];
  } catch {
    // fall through to the typed error
  }
  throw new InvalidInputError(
    'after is not a cursor of this search: start again from the first page',
    'after',
  );
}
