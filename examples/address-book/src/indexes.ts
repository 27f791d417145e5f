import { type Database, tableObjects } from 'appendlog';
import { ident } from './ident.js';

/**
 * The indexes the app's own orders need, beside those appendlog makes (the head's primary key and
 * `(created_at, entry_id)`, the log's `(entry_id, version)`, `(entry_id, recorded_at)` and
 * `(tx_id, seq)`), which serve none of them:
 * - the people list and `/api/people` (`book.list({ orderBy: 'name' })`: live heads ordered by
 *   `(name, created_at, entry_id)`, the keyset cursor a row comparison on the same three): a
 *   partial index on exactly that, for live rows, so a page is an index range of `limit + 1`
 *   rows instead of a scan and sort of every head;
 * - an account's changes (`actorChanges`: `WHERE actor = $1 ORDER BY tx_id DESC, seq DESC`):
 *   `(actor, tx_id, seq)` on the log, walked backwards from the cursor, instead of the log's
 *   `(tx_id, seq)` index filtered row by row past everyone else's versions.
 *
 * Each index is one more write per version that changes its columns (the name index is left out
 * of updates that keep the name and the deleted flag, which stay HOT). `CREATE INDEX IF NOT
 * EXISTS`, run as the owner at every start (additive, like `migrate`): the DDL guard lets anyone's
 * own indexes on appendlog's tables through. Not `CONCURRENTLY`: the first start after an upgrade
 * holds writes to the table while it builds (about 50 ms per index at 10,000 people, 20,000
 * versions, on PostgreSQL).
 */
export async function createIndexes(db: Database): Promise<void> {
  const { head, log } = tableObjects(db.schema, 'addresses');
  await db.query(
    `CREATE INDEX IF NOT EXISTS ${ident('address_book_head_name_idx')}
       ON ${head} (name, created_at, entry_id) WHERE NOT deleted`,
  );
  await db.query(
    `CREATE INDEX IF NOT EXISTS ${ident('address_book_log_actor_idx')} ON ${log} (actor, tx_id, seq)`,
  );
}
