import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { column as c, type Database, table } from '../src/index.js';
import { describeEngines, type TestDb } from './support/engines.js';
import { verifyChain } from './support/verify-chain.js';

const UUID = '6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b';
const STAMP = new Date('2024-01-02T03:04:05.678Z');

const gadgets = table('gadgets', {
  label: c.text().notNull(),
  note: c.text().default('plain'),
  count: c.integer().default(42),
  big: c.bigint().default(9007199254740993n),
  price: c.numeric().default('12.50'),
  active: c.boolean().default(false),
  born: c.date().default('2024-02-29'),
  seenAt: c.timestamptz().default(STAMP),
  doc: c.jsonb<{ tags: string[] }>().default({ tags: ['a', 'b'] }),
  ref: c.uuid().default(UUID),
  status: c.text().notNull().default('open'),
});

const DEFAULTS = {
  note: 'plain',
  count: 42,
  big: '9007199254740993',
  price: '12.50',
  active: false,
  born: '2024-02-29',
  seenAt: STAMP,
  doc: { tags: ['a', 'b'] },
  ref: UUID,
  status: 'open',
};

describeEngines('column defaults', (engine) => {
  let t: TestDb;
  let db: Database;

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    await db.migrate([gadgets]);
  });
  afterAll(() => t.close());

  it('an insert through the library that omits columns gets every default, of every type', async () => {
    const v = await db.table(gadgets).insert({ label: 'lib' });
    expect(v.data).toEqual({ label: 'lib', ...DEFAULTS });
  });

  it('INSERT INTO the view and a raw INSERT INTO the head get the same defaults', async () => {
    const [viaView] = await db.query<{ entry_id: string }>(
      `INSERT INTO gadgets (label) VALUES ('view') RETURNING entry_id`,
    );
    const [viaHead] = await db.query<{ entry_id: string }>(
      `INSERT INTO gadgets_head (label) VALUES ('raw') RETURNING entry_id`,
    );
    const book = db.table(gadgets);
    expect((await book.get(viaView!.entry_id))?.data).toEqual({ label: 'view', ...DEFAULTS });
    expect((await book.get(viaHead!.entry_id))?.data).toEqual({ label: 'raw', ...DEFAULTS });
    // The version in the log holds them too: get reads the head, history the log.
    expect((await book.history(viaHead!.entry_id))[0]?.data).toEqual({ label: 'raw', ...DEFAULTS });
  });

  it('an explicit null is a null, not the default (nullable columns); a value given wins', async () => {
    const book = db.table(gadgets);
    const v = await book.insert({ label: 'nulls', note: null, count: 7, doc: null });
    expect(v.data).toMatchObject({ note: null, count: 7, doc: null, status: 'open' });
    const [row] = await db.query<{ entry_id: string }>(
      `INSERT INTO gadgets (label, note, status) VALUES ('view-null', NULL, 'closed') RETURNING entry_id`,
    );
    expect((await book.get(row!.entry_id))?.data).toMatchObject({ note: null, status: 'closed', count: 42 });
  });

  it('defaults apply to inserts only: an update carries the current values forward', async () => {
    const book = db.table(gadgets);
    const v1 = await book.insert({ label: 'u', count: 1, note: null });
    const v2 = await book.update(v1.entryId, { label: 'u2' });
    expect(v2.data).toMatchObject({ label: 'u2', count: 1, note: null });
  });

  it('a notNull column with a default can be left out but not set to null, by any path', async () => {
    const book = db.table(gadgets);
    await expect(book.insert({ label: 'x', status: null as never })).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'status',
    });
    const v = await book.insert({ label: 'y' });
    await expect(book.update(v.entryId, { status: null as never })).rejects.toMatchObject({
      code: 'invalid_input',
    });
    await expect(db.query(`INSERT INTO gadgets (label, status) VALUES ('z', NULL)`)).rejects.toMatchObject({
      code: 'invalid_input',
      sqlState: '23514',
    });
    await expect(
      db.query(`UPDATE gadgets SET status = NULL WHERE entry_id = $1`, [v.entryId]),
    ).rejects.toMatchObject({ sqlState: '23514' });
    await expect(
      db.query(`INSERT INTO gadgets_head (label, status) VALUES ('z', NULL)`),
    ).rejects.toMatchObject({ code: 'invalid_input', sqlState: '23514' });
    await expect(
      db.query(`UPDATE gadgets_head SET status = NULL WHERE entry_id = $1`, [v.entryId]),
    ).rejects.toMatchObject({ sqlState: '23514' });
    expect((await book.get(v.entryId))?.data.status).toBe('open');
  });

  it('a default holding quotes, backslashes and the dollar quote of function bodies is just text', async () => {
    const motto = "it's $fn$; DROP TABLE gadgets_log; -- \\ $$ '' \\'";
    const quirky = table('quirky', {
      label: c.text().notNull(),
      motto: c.text().notNull().default(motto),
      doc: c.jsonb().default({ "k'$fn$": "v\\'$$" }),
    });
    await db.migrate([quirky]);
    const book = db.table(quirky);
    expect((await book.insert({ label: 'lib' })).data).toEqual({
      label: 'lib',
      motto,
      doc: { "k'$fn$": "v\\'$$" },
    });
    const [viaView] = await db.query<{ motto: string }>(
      `INSERT INTO quirky (label) VALUES ('v') RETURNING motto`,
    );
    expect(viaView?.motto).toBe(motto);
    const [viaHead] = await db.query<{ motto: string }>(
      `INSERT INTO quirky_head (label) VALUES ('r') RETURNING motto`,
    );
    expect(viaHead?.motto).toBe(motto);
    expect(
      (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM gadgets_log'))[0]!.n,
    ).toBeGreaterThan(0);
  });

  it('every version written with defaults verifies', async () => {
    const check = await verifyChain(db, 'gadgets');
    expect(check.failures).toEqual([]);
    expect(check.checked).toBeGreaterThanOrEqual(7);
  });

  it("removing a nullable column's default: later inserts that omit it get null, by every path", async () => {
    const { note: _note, ...rest } = gadgets.definition;
    const v2 = table('gadgets', { ...rest, note: c.text() });
    const result = await db.migrate([v2]);
    expect(result.changes).toEqual([
      { table: 'gadgets', change: 'set_defaults', columns: ['note'], summary: 'drop default of note' },
    ]);
    const book = db.table(v2);
    expect((await book.insert({ label: 'no default' })).data.note).toBeNull();
    const [viaView] = await db.query<{ note: string | null }>(
      `INSERT INTO gadgets (label) VALUES ('view') RETURNING note`,
    );
    expect(viaView?.note).toBeNull();
    const [viaHead] = await db.query<{ note: string | null }>(
      `INSERT INTO gadgets_head (label) VALUES ('raw') RETURNING note`,
    );
    expect(viaHead?.note).toBeNull();
    expect((await book.list({ where: { label: 'lib' } }))[0]?.data.note).toBe('plain');
  });

  it('the schema history records the defaults in the definition', async () => {
    const [created] = await db.schemaHistory({ table: 'gadgets' });
    const status = created?.definition.columns.find((col) => col.sqlName === 'status');
    expect(status).toEqual({ sqlName: 'status', type: 'text', notNull: true, default: 'open' });
    expect(created?.summary).toContain(`status text not null default 'open'::text`);
  });
});

describe('default() validation and types', () => {
  it('refuses a default of the wrong type, a null default and a NUL byte, naming the column', () => {
    expect(() => table('bad1', { n: c.integer().default('1' as never) })).toThrow(
      expect.objectContaining({ code: 'invalid_input', field: 'n' }),
    );
    expect(() => table('bad2', { s: c.text().default(null as never) })).toThrow(
      expect.objectContaining({ code: 'invalid_input', field: 's' }),
    );
    expect(() => table('bad3', { s: c.text().default('a\u0000b') })).toThrow(
      expect.objectContaining({ code: 'invalid_input', field: 's' }),
    );
    expect(() => table('bad4', { d: c.date().default('2023-02-29') })).toThrow(
      expect.objectContaining({ code: 'invalid_input', field: 'd' }),
    );
  });

  it('types: a default makes a column optional on insert; a notNull column with a default reads as possibly null', () => {
    type Insert = typeof gadgets.$inferInsert;
    type Data = typeof gadgets.$inferData;
    expectTypeOf<Insert>().toEqualTypeOf<{
      label: string;
      status?: string;
      note?: string | null;
      count?: number | null;
      big?: string | number | bigint | null;
      price?: string | number | null;
      active?: boolean | null;
      born?: string | null;
      seenAt?: Date | string | null;
      doc?: { tags: string[] } | null;
      ref?: string | null;
    }>();
    expectTypeOf<Data['label']>().toEqualTypeOf<string>();
    expectTypeOf<Data['status']>().toEqualTypeOf<string | null>();
    expectTypeOf<Data['count']>().toEqualTypeOf<number | null>();
    // default() takes the column's input type
    expectTypeOf(c.integer().default).parameter(0).toEqualTypeOf<number>();
    expectTypeOf(c.jsonb<{ a: number }>().default).parameter(0).toEqualTypeOf<{ a: number }>();
  });
});
