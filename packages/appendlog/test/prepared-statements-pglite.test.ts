import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/index.js';
import { pglite, type TestDb } from './support/engines.js';
import { addresses } from './support/tables.js';

// PGlite's one connection keeps the statements the library prepares on it by name, as a pooled
// PostgreSQL connection does (prepared-statements.test.ts): the same bound holds there.
describe('prepared statements on PGlite stay bounded', () => {
  let t: TestDb;
  let db: Database;
  let id = '';
  const prepared = async () =>
    (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_prepared_statements'))[0]!.n;

  beforeAll(async () => {
    t = await pglite.open();
    db = t.db;
    await db.migrate([addresses]);
    const book = db.table(addresses);
    id = (await book.insert({ name: 'Paged' })).entryId;
    for (let i = 0; i < 5; i++) await book.update(id, { city: `City ${i}` });
    await book.insert({ name: 'Binned' }).then((b) => book.delete(b.entryId, { reason: 'test' }));
  });
  afterAll(() => t.close());

  it('250 page sizes of list, listAt, history and deleted leave a handful of statements', async () => {
    const book = db.table(addresses);
    const before = await prepared();
    const now = new Date();
    for (let limit = 1; limit <= 250; limit++) {
      expect((await book.list({ limit })).length).toBe(1);
      expect((await book.listAt(now, { limit })).length).toBe(1);
      expect((await book.history(id, { limit })).length).toBe(Math.min(limit, 6));
      expect((await book.deleted({ limit })).length).toBe(1);
    }
    const added = (await prepared()) - before;
    expect(added).toBeGreaterThan(0);
    expect(added).toBeLessThanOrEqual(4 * 9);
  });
});
