import { type Database, InvalidInputError, type Op, tableObjects } from 'appendlog';

/** One change an actor made, as the actor's page lists it. */
export interface ActorChange {
  entryId: string;
  version: number;
  op: Op;
  meta: Record<string, unknown> | null;
  recordedAt: Date;
  reason: string | null;
  /** The person's name in that version; null when it must not be shown (forgotten or erased). */
  name: string | null;
}

/** A page of an actor's changes, newest first, and the cursor of the next page (null on the last). */
export interface ActorChanges {
  items: ActorChange[];
  next: string | null;
}

const CURSOR = /^c\.(\d{1,20})\.(\d{1,19})$/;

function objects(db: Database): { log: string; head: string } {
  return tableObjects(db.schema, 'addresses');
}

/**
 * The changes one actor made, newest first, `limit` at a time. The keyset is the log's own
 * write order `(tx_id, seq)`, which its `(tx_id, seq)` index walks backwards, so a page costs the
 * same at any depth and an entry written while someone pages is never skipped: it lands on the
 * first page or on a later one. A cursor that is not one of these is refused (`after`).
 *
 * A forgotten person's name is never shown, even in versions not yet erased.
 */
export async function actorChanges(
  db: Database,
  actor: string,
  options: { limit: number; after?: string | undefined },
): Promise<ActorChanges> {
  let after: [string, string] | null = null;
  if (options.after !== undefined) {
    const m = CURSOR.exec(options.after);
    if (m === null) throw new InvalidInputError("after is not a cursor of this actor's changes", 'after');
    after = [m[1]!, m[2]!];
  }
  const { log, head } = objects(db);
  const rows = await db.query<{
    entry_id: string;
    version: number;
    op: Op;
    meta: Record<string, unknown> | null;
    recorded_at: string;
    reason: string | null;
    name: string | null;
    tx_id: string;
    seq: string;
  }>(
    `SELECT l.entry_id::text AS entry_id, l.version, l.op, l.meta, l.reason,
            to_char(l.recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS recorded_at,
            CASE WHEN l.redacted_at IS NULL AND h.op IS DISTINCT FROM 'forget' THEN l.name END AS name,
            l.tx_id::text AS tx_id, l.seq::text AS seq
       FROM ${log} l LEFT JOIN ${head} h ON h.entry_id = l.entry_id
      WHERE l.actor = $1 AND ($2::xid8 IS NULL OR (l.tx_id, l.seq) < ($2::xid8, $3::bigint))
      ORDER BY l.tx_id DESC, l.seq DESC
      LIMIT $4`,
    [actor, after?.[0] ?? null, after?.[1] ?? null, options.limit + 1],
  );
  const items = rows.slice(0, options.limit).map((r) => ({
    entryId: r.entry_id,
    version: r.version,
    op: r.op,
    meta: r.meta,
    recordedAt: new Date(r.recorded_at),
    reason: r.reason,
    name: r.name,
  }));
  const last = rows[options.limit - 1];
  const next = rows.length > options.limit && last !== undefined ? `c.${last.tx_id}.${last.seq}` : null;
  return { items, next };
}
