import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { column as c, type Database, MAX_VALUE_BYTES, table } from '../src/index.js';
import { describeEngines, type TestDb } from './support/engines.js';
import { addresses, kitchen } from './support/tables.js';

describe('hostile and over-long names are refused when the table is defined', () => {
  it.each([
    ['Addresses', 'upper case'],
    ['addr-esses', 'a dash'],
    ['1st', 'a leading digit'],
    ['x"; DROP TABLE y; --', 'an injection attempt'],
    ['', 'empty'],
    ['appendlog_things', 'the reserved prefix'],
    ['pg_things', 'the pg_ prefix'],
    ['a'.repeat(53), 'too long once suffixed'],
    ['café', 'non-ASCII'],
  ])('table %j (%s)', (name) => {
    expect(() => table(name, { x: c.text() })).toThrow(
      expect.objectContaining({ code: 'invalid_input', field: 'table' }),
    );
  });

  it('accepts the longest table name that still fits every suffix', () => {
    expect(() => table('a'.repeat(52), { x: c.text() })).not.toThrow();
  });

  it.each([
    [{ 'bad name': c.text() }, 'bad name'],
    [{ version: c.text() }, 'version'],
    [{ entryId: c.text() }, 'entryId'],
    [{ hash: c.text() }, 'hash'],
    [{ ['x'.repeat(64)]: c.text() }, 'x'.repeat(64)],
    [{ 'x"y': c.text() }, 'x"y'],
  ])('column %#', (cols, field) => {
    expect(() => table('t', cols)).toThrow(expect.objectContaining({ code: 'invalid_input', field }));
  });

  it('refuses two keys that map to one SQL name, and an empty table', () => {
    expect(() => table('t', { addressLine1: c.text(), address_line_1: c.text() })).toThrow(
      expect.objectContaining({ code: 'invalid_input' }),
    );
    expect(() => table('t', {})).toThrow(expect.objectContaining({ code: 'invalid_input' }));
  });

  it('maps camelCase keys to snake_case SQL names', () => {
    const t = table('t', { addressLine1: c.text(), postCode: c.text(), aURL: c.text(), plain: c.text() });
    expect(t.columns.map((col) => col.sqlName)).toEqual(['address_line_1', 'post_code', 'a_url', 'plain']);
  });
});

describeEngines('bad input writes nothing', (engine) => {
  let t: TestDb;
  let db: Database;
  const count = async () =>
    (
      await db.query<{ n: number }>(
        'SELECT (SELECT count(*) FROM addresses_log) + (SELECT count(*) FROM kitchen_log) AS n',
      )
    )[0]!.n;

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    await db.migrate([addresses, kitchen]);
  });
  afterAll(() => t.close());

  const badAddresses: Array<[string, unknown, string]> = [
    ['a NUL byte', { name: 'a\u0000b' }, 'name'],
    ['a lone high surrogate', { name: 'a\uD800b' }, 'name'],
    ['a lone low surrogate', { name: '\uDC00' }, 'name'],
    ['an unknown field', { name: 'x', nickname: 'y' }, 'nickname'],
    ['a SQL name instead of the key', { name: 'x', address_line_1: 'y' }, 'address_line_1'],
    ['a number for text', { name: 42 }, 'name'],
    ['a missing notNull column', { city: 'x' }, 'name'],
    ['null for a notNull column', { name: null }, 'name'],
    ['an oversize string', { name: 'x'.repeat(MAX_VALUE_BYTES + 1) }, 'name'],
    ['multi-byte text over the byte limit', { name: 'é'.repeat(MAX_VALUE_BYTES / 2 + 1) }, 'name'],
  ];

  it.each(badAddresses)('insert with %s', async (_what, data, field) => {
    const before = await count();
    await expect(db.table(addresses).insert(data as never)).rejects.toMatchObject({
      code: 'invalid_input',
      field,
    });
    expect(await count()).toBe(before);
  });

  const badKitchen: Array<[string, Record<string, unknown>, string]> = [
    ['a fractional integer', { count: 1.5 }, 'count'],
    ['an integer beyond 32 bits', { count: 2 ** 31 }, 'count'],
    ['a string integer', { count: '1' }, 'count'],
    ['a bigint beyond 64 bits', { big: 2n ** 63n }, 'big'],
    ['an unsafe number bigint', { big: 2 ** 60 }, 'big'],
    ['a non-numeric numeric', { price: '12,50' }, 'price'],
    ['an infinite numeric', { price: Number.POSITIVE_INFINITY }, 'price'],
    ['a string boolean', { active: 'yes' }, 'active'],
    ['an impossible date', { born: '2023-02-30' }, 'born'],
    ['a Date for a date column', { born: new Date() }, 'born'],
    ['year zero', { born: '0000-01-01' }, 'born'],
    ['an invalid Date', { seenAt: new Date('nope') }, 'seenAt'],
    ['a timestamp without a zone', { seenAt: '2024-01-01T10:00:00' }, 'seenAt'],
    ['JSON with a NUL', { doc: { tags: ['a\u0000'] } }, 'doc'],
    ['JSON with a lone surrogate key', { doc: { '\uD800': 1 } }, 'doc'],
    ['JSON with a BigInt', { doc: { n: 1n } }, 'doc'],
    ['JSON with a class instance', { doc: new Map() }, 'doc'],
    ['JSON with NaN', { doc: { n: Number.NaN } }, 'doc'],
    ['an invalid uuid', { ref: 'not-a-uuid' }, 'ref'],
    ['a uuid with braces', { ref: '{2b7f7f2e-5d7e-4a43-9d1e-0d0c1e2f3a4b}' }, 'ref'],
  ];

  it.each(badKitchen)('insert with %s', async (_what, extra, field) => {
    const before = await count();
    await expect(db.table(kitchen).insert({ label: 'k', ...extra } as never)).rejects.toMatchObject({
      code: 'invalid_input',
      field,
    });
    expect(await count()).toBe(before);
  });

  it('a cyclic JSON value is refused', async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(db.table(kitchen).insert({ label: 'k', doc: cyclic as never })).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'doc',
    });
  });

  it('invalid entry ids, versions, reasons and metadata', async () => {
    const book = db.table(addresses);
    const v = await book.insert({ name: 'Valid' });
    const before = await count();
    await expect(book.get('nope')).rejects.toMatchObject({ code: 'invalid_input', field: 'entryId' });
    await expect(book.update("'; DROP TABLE x; --", { city: 'x' })).rejects.toMatchObject({
      code: 'invalid_input',
    });
    await expect(book.update(v.entryId, { city: 'x' }, { expectedVersion: 0 })).rejects.toMatchObject({
      field: 'expectedVersion',
    });
    await expect(book.update(v.entryId, { city: 'x' }, { expectedVersion: 1.5 })).rejects.toMatchObject({
      field: 'expectedVersion',
    });
    await expect(book.update(v.entryId, { city: 'x' }, { actor: 'a\u0000' })).rejects.toMatchObject({
      field: 'actor',
    });
    await expect(book.update(v.entryId, { city: 'x' }, { reason: 'x'.repeat(5000) })).rejects.toMatchObject({
      field: 'reason',
    });
    await expect(book.update(v.entryId, { city: 'x' }, { meta: [] as never })).rejects.toMatchObject({
      field: 'meta',
    });
    await expect(book.update(v.entryId, { city: 'x' }, { meta: { x: '\uDFFF' } })).rejects.toMatchObject({
      field: 'meta',
    });
    await expect(book.update(v.entryId, 'city=x' as never)).rejects.toMatchObject({ field: 'data' });
    await expect(book.insert({ name: 'x' }, { entryId: 'abc' })).rejects.toMatchObject({ field: 'entryId' });
    expect(await count()).toBe(before);
  });

  it('every column type round-trips exactly', async () => {
    const seen = new Date('2024-02-29T23:59:59.123Z');
    const v = await db.table(kitchen).insert({
      label: 'all',
      count: -2147483648,
      big: 9223372036854775807n,
      price: '12.50',
      active: false,
      born: '0001-01-01',
      seenAt: seen,
      doc: { tags: ['a', 'ü', '😀'], n: 1.5 },
      ref: '2B7F7F2E-5D7E-4A43-9D1E-0D0C1E2F3A4B',
    });
    expect(v.data).toEqual({
      label: 'all',
      count: -2147483648,
      big: '9223372036854775807',
      price: '12.50',
      active: false,
      born: '0001-01-01',
      seenAt: seen,
      doc: { tags: ['a', 'ü', '😀'], n: 1.5 },
      ref: '2b7f7f2e-5d7e-4a43-9d1e-0d0c1e2f3a4b',
    });
    expect(await db.table(kitchen).get(v.entryId)).toEqual(v);
    const micro = await db.table(kitchen).update(v.entryId, { seenAt: '2024-01-01T00:00:00.123456+02:00' });
    expect(micro.data.seenAt?.toISOString()).toBe('2023-12-31T22:00:00.123Z');
  });
});
