import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { column as c, type Database, type OrderBy, table } from '../src/index.js';
import { describeEngines, type TestDb } from './support/engines.js';

// Keyset paging: walking `next` cursors visits every entry once, in the order of the unpaged list,
// whatever the order (nullable columns and ties included), and stays stable while entries come and go.
const cards = table('cards', { name: c.text().notNull(), city: c.text(), rank: c.integer() });
type Cards = typeof cards.definition;

async function walk<T extends { entryId: string }>(
  first: (after?: string) => Promise<T[] & { next: string | null }>,
): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let pages = 0;
  let page = await first();
  for (;;) {
    pages++;
    ids.push(...page.map((v) => v.entryId));
    if (page.next === null) return { ids, pages };
    page = await first(page.next);
  }
}

describeEngines('keyset paging of list, listAt and deleted', (engine) => {
  let t: TestDb;
  let db: Database;
  let middle = '';

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    await db.migrate([cards]);
    const book = db.table(cards);
    const cities = ['Oslo', null, 'Bergen', 'Oslo', null, 'Tromsø'];
    for (let i = 0; i < 23; i++) {
      await book.insert({
        name: `Card ${String(i).padStart(2, '0')}`,
        city: cities[i % 6]!,
        rank: i % 4 === 0 ? null : i % 5,
      });
      if (i === 11) {
        middle = (await db.query<{ t: string }>(`SELECT clock_timestamp()::text AS t`))[0]!.t;
        // PGlite's clock ticks in milliseconds: the next card must not share the middle's time.
        const past = async () =>
          (await db.query<{ p: boolean }>(`SELECT clock_timestamp() > $1::timestamptz AS p`, [middle]))[0]!.p;
        while (!(await past())) await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
  });
  afterAll(() => t.close());

  it('the default order: pages of 5 visit all 23 entries once, in list order; the last page has no next', async () => {
    const book = db.table(cards);
    const all = (await book.list()).map((v) => v.entryId);
    expect((await book.list()).next).toBeNull();
    const { ids, pages } = await walk((after) => book.list({ limit: 5, after }));
    expect(ids).toEqual(all);
    expect(pages).toBe(5);
    const exact = await book.list({ limit: 23 });
    expect(exact.next).toBeNull();
    // `next` is not data: JSON sees the array alone.
    expect(JSON.parse(JSON.stringify(await book.list({ limit: 2 })))).toHaveLength(2);
  });

  it('orders with nullable columns and ties, both directions, match the unpaged list', async () => {
    const book = db.table(cards);
    const orders: OrderBy<Cards>[] = [
      'city',
      { field: 'city', direction: 'desc' },
      ['city', { field: 'rank', direction: 'desc' }],
      [{ field: 'rank', direction: 'desc' }, 'name'],
      { field: 'updatedAt', direction: 'desc' },
      'createdAt',
    ];
    for (const orderBy of orders) {
      const all = (await book.list({ orderBy })).map((v) => v.entryId);
      for (const limit of [1, 4, 7]) {
        const { ids } = await walk((after) => book.list({ orderBy, limit, after }));
        expect(ids, JSON.stringify({ orderBy, limit })).toEqual(all);
      }
    }
  });

  it('a page boundary holds while entries come and go: nothing seen twice, the new entry after it', async () => {
    const book = db.table(cards);
    const first = await book.list({ limit: 10 });
    const gone = first[9]!;
    await book.delete(gone.entryId, { reason: 'gone mid-walk' });
    const added = await book.insert({ name: 'Late card' });
    const rest = await walk((after) => book.list({ limit: 10, after: after ?? first.next! }));
    const seen = [...first.map((v) => v.entryId), ...rest.ids];
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.at(-1)).toBe(added.entryId);
    await book.restore(gone.entryId, { reason: 'back' });
  });

  it('listAt pages a past moment; deleted pages the recycle bin, newest first', async () => {
    const book = db.table(cards);
    const then = (await book.listAt(middle)).map((v) => v.entryId);
    expect(then).toHaveLength(12);
    expect((await walk((after) => book.listAt(middle, { limit: 5, after, where: {} }))).ids).toEqual(then);
    const live = await book.list({ limit: 7 });
    for (const v of live) await book.delete(v.entryId, { reason: 'binned' });
    const bin = (await book.deleted()).map((v) => v.entryId);
    expect(bin).toHaveLength(7);
    expect((await walk((after) => book.deleted({ limit: 3, after }))).ids).toEqual(bin);
    for (const v of live) await book.restore(v.entryId, { reason: 'unbinned' });
  });

  it('a cursor that is not one, or from another list, and after with offset are invalid_input', async () => {
    const book = db.table(cards);
    const page = await book.list({ limit: 2 });
    await expect(book.list({ limit: 2, after: 'nonsense' })).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'after',
    });
    await expect(book.list({ limit: 2, orderBy: 'city', after: page.next! })).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/another list/),
    });
    await expect(book.deleted({ limit: 2, after: page.next! })).rejects.toMatchObject({
      code: 'invalid_input',
    });
    await expect(book.list({ limit: 2, after: page.next!, offset: 2 })).rejects.toMatchObject({
      code: 'invalid_input',
    });
  });

  it('property: for any data, order and page size, the pages concatenate to the list', async () => {
    if (engine.name !== 'pglite') return; // the property needs many tables; PGlite makes them fast
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            city: fc.option(fc.constantFrom('A', 'B', 'C'), { nil: null }),
            rank: fc.option(fc.integer({ min: -2, max: 2 }), { nil: null }),
          }),
          { maxLength: 12 },
        ),
        fc.array(fc.record({ field: fc.constantFrom('city', 'rank', 'name'), desc: fc.boolean() }), {
          maxLength: 2,
        }),
        fc.integer({ min: 1, max: 5 }),
        async (rows, order, limit) => {
          const def = table(`prop_${n++}`, { name: c.text().notNull(), city: c.text(), rank: c.integer() });
          await db.migrate([def]);
          const book = db.table(def);
          for (const [i, r] of rows.entries()) await book.insert({ name: `n${i % 3}`, ...r });
          const orderBy = order.map((o) => ({ field: o.field, direction: o.desc ? 'desc' : 'asc' }) as const);
          const all = (await book.list({ orderBy })).map((v) => v.entryId);
          const { ids } = await walk((after) => book.list({ orderBy, limit, after }));
          expect(ids).toEqual(all);
        },
      ),
      { numRuns: 25 },
    );
  });
});
