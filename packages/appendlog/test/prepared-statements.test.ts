import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect, type Database } from '../src/index.js';
import { describePostgres } from './support/engines.js';
import { addresses } from './support/tables.js';

// Each page size written into a statement is a statement of its own; only the common sizes stay
// prepared on a connection, so an app that passes `?limit=` through cannot grow them without end.
describePostgres('prepared statements per connection stay bounded', () => {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  let db: Database;
  let id = '';
  const prepared = async () =>
    Number((await db.query<{ n: string }>('SELECT count(*)::text AS n FROM pg_prepared_statements'))[0]!.n);

  beforeAll(async () => {
    db = await connect({ url: process.env.DATABASE_URL!, schema, pool: { max: 1 } });
    await db.migrate([addresses]);
    const book = db.table(addresses);
    const v = await book.insert({ name: 'Paged' });
    id = v.entryId;
    for (let i = 0; i < 5; i++) await book.update(id, { city: `City ${i}` });
    await book.insert({ name: 'Binned' }).then((b) => book.delete(b.entryId, { reason: 'test' }));
  });
  afterAll(async () => {
    await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db.close();
  });

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
    // 1, 5, 10, 20, 25, 50, 100, 200 and 250 of the four reads are kept; the other 241 sizes are not.
    const added = (await prepared()) - before;
    expect(added).toBeGreaterThan(0);
    expect(added).toBeLessThanOrEqual(4 * 9);
  });

  it('the common sizes are prepared once and reused', async () => {
    const book = db.table(addresses);
    const before = await prepared();
    for (let i = 0; i < 20; i++) await book.list({ limit: 50 });
    expect(await prepared()).toBe(before);
  });
});
