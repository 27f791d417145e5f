import { type ErasureStatus, InvalidInputError, tableObjects } from 'appendlog';
import type { Deps } from './context.js';
import { isEntryId } from './input.js';

/** One erasure request as the register lists it: the forgotten entry and how its request stands. */
export interface ErasureRequest {
  entryId: string;
  status: ErasureStatus;
}

/** A page of erasure requests and the cursor of the next page (null on the last). */
export interface ErasureRequests {
  items: ErasureRequest[];
  next: string | null;
}

/**
 * The forgotten people, newest request first, keyset-paged on the head's `(recorded_at, entry_id)`;
 * the status is read per row on this page only. A cursor of anything else is refused (`after`).
 */
export async function erasureRequests(
  { book, db }: Pick<Deps, 'book' | 'db'>,
  options: { limit: number; after?: string | undefined },
): Promise<ErasureRequests> {
  const { limit } = options;
  const cursor = decodeCursor(options.after);
  const { head } = tableObjects(db.schema, 'addresses');
  const rows = await db.query<{ entry_id: string; at: string }>(
    `SELECT h.entry_id::text AS entry_id, h.recorded_at::text AS at
       FROM ${head} h
      WHERE h.op = 'forget'
        AND ($1::timestamptz IS NULL OR (h.recorded_at, h.entry_id) < ($1::timestamptz, $2::uuid))
      ORDER BY h.recorded_at DESC, h.entry_id DESC
      LIMIT $3`,
    [cursor?.[0] ?? null, cursor?.[1] ?? null, limit + 1],
  );
  const shown = rows.slice(0, limit);
  const last = shown.at(-1);
  const next = rows.length > limit && last ? encodeCursor(last.at, last.entry_id) : null;
  const items = await Promise.all(
    shown.map(async (r) => ({ entryId: r.entry_id, status: (await book.erasure(r.entry_id))! })),
  );
  return { items, next };
}

function encodeCursor(at: string, entryId: string): string {
  return `e.${Buffer.from(JSON.stringify([at, entryId])).toString('base64url')}`;
}

/** The (recorded_at, entry_id) an erasures cursor holds; a cursor of anything else is refused. */
function decodeCursor(after: string | undefined): [string, string] | null {
  if (after === undefined) return null;
  try {
    if (after.startsWith('e.')) {
      const value: unknown = JSON.parse(Buffer.from(after.slice(2), 'base64url').toString('utf8'));
      if (
        Array.isArray(value) &&
        value.length === 2 &&
        typeof value[0] === 'string' &&
        /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})?[+-]\d\d(:\d\d)?$/.test(value[0]) &&
        typeof value[1] === 'string' &&
        isEntryId(value[1])
      )
        return [value[0], value[1]];
    }
  } catch {
    // the typed error below
  }
  throw new InvalidInputError('after is not a cursor of the erasures list', 'after');
}
