import { afterAll, beforeAll, expect, it } from 'vitest';
import { column as c, type Database, table } from '../src/index.js';
import { describeEngines, type TestDb } from './support/engines.js';

const contacts = table('contacts', {
  name: c.text().notNull(),
  city: c.text(),
  kind: c.text().notNull().default('person'),
});

// No column has a default: the load reads its rows with one jsonb_to_recordset, typed per column.
const readings = table('readings', {
  label: c.text(),
  count: c.integer(),
  big: c.bigint(),
  amount: c.numeric(),
  ok: c.boolean(),
  day: c.date(),
  at: c.timestamptz(),
  doc: c.jsonb<{ k: unknown }>(),
  ref: c.uuid(),
});

// Columns named like the load's own helpers (its rows' ordinal and JSON), with and without a default.
const shortNames = table('short_names', { n: c.integer(), j: c.text() });
const shortNamesDefaulted = table('short_names_d', { n: c.integer().notNull().default(7), j: c.text() });

describeEngines('insertMany', (engine) => {
  let t: TestDb;
  let db: Database;

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    await db.migrate([contacts, readings, shortNames, shortNamesDefaulted]);
  });
  afterAll(() => t.close());

  it('starts every entry at version 1, in the order given, each chained as insert chains it', async () => {
    const book = db.table(contacts);
    const rows = Array.from({ length: 2500 }, (_, i) =>
      i % 3 === 0
        ? { name: `N${i}`, city: 'Oslo' }
        : i % 3 === 1
          ? { name: `N${i}` }
          : { name: `N${i}`, kind: 'org' },
    );
    const versions = await book.insertMany(rows, { actor: 'import', meta: { batch: 7 } });
    expect(versions.map((v) => v.data.name)).toEqual(rows.map((r) => r.name));
    expect(versions.every((v) => v.version === 1 && v.op === 'insert' && v.parentHash === null)).toBe(true);
    expect(versions.every((v) => v.actor === 'import' && v.meta?.batch === 7)).toBe(true);
    // Omitted columns take their defaults, exactly as one insert would.
    expect(versions[1]!.data).toEqual({ name: 'N1', city: null, kind: 'person' });
    expect(versions[2]!.data).toEqual({ name: 'N2', city: null, kind: 'org' });
    expect(await book.get(versions[2000]!.entryId)).toEqual(versions[2000]);
    expect(new Set(versions.map((v) => v.hash)).size).toBe(rows.length);
    expect(await db.verify({ tables: ['contacts'] })).toMatchObject({ ok: true, checked: rows.length });
  });

  it('returns each version as the database holds it, across batches; a failure in a later batch writes nothing', async () => {
    // 12,000 rows are three calls of <t>_insert_many, each sent while the one before is decoded.
    const book = db.table(contacts);
    const before = (await book.list()).length;
    const rows = Array.from({ length: 12_000 }, (_, i) => ({
      name: `B${i}`,
      ...(i % 2 ? { city: `C${i}` } : {}),
    }));
    const versions = await book.insertMany(rows, { reason: 'batches' });
    expect(versions.map((v) => v.data.name)).toEqual(rows.map((r) => r.name));
    for (const i of [0, 4_999, 5_000, 9_999, 10_000, 11_999]) {
      const [stored] = await book.history(versions[i]!.entryId);
      expect(versions[i]).toEqual(stored);
    }
    expect(new Set(versions.slice(0, 5_000).map((v) => v.txId))).toEqual(new Set([versions[11_999]!.txId]));
    // The duplicate is the last row of the third batch: the first two batches are gone with it.
    const again = [...rows.slice(0, 11_999), { name: 'dup', entryId: versions[0]!.entryId }];
    await expect(book.insertMany(again)).rejects.toMatchObject({ code: 'duplicate' });
    expect((await book.list()).length).toBe(before + rows.length);
    expect(await db.verify({ tables: ['contacts'] })).toMatchObject({ ok: true });
  });

  it('takes chosen entry ids; a duplicate or one bad row writes nothing at all', async () => {
    const book = db.table(contacts);
    const before = (await book.list()).length;
    const id = '0b7f7f2e-5d7e-4a43-9d1e-0d0c1e2f3a4b';
    const [v] = await book.insertMany([{ name: 'Chosen', entryId: id }]);
    expect(v!.entryId).toBe(id);
    await expect(book.insertMany([{ name: 'Fresh' }, { name: 'Again', entryId: id }])).rejects.toMatchObject({
      code: 'duplicate',
    });
    await expect(book.insertMany([{ name: 'Fine' }, { city: 'no name' } as never])).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'name',
    });
    await expect(book.insertMany([{ name: 'x', nope: 1 } as never])).rejects.toMatchObject({
      code: 'invalid_input',
    });
    await expect(book.insertMany('rows' as never)).rejects.toMatchObject({ code: 'invalid_input' });
    expect((await book.list()).length).toBe(before + 1);
    expect(await book.insertMany([])).toEqual([]);
  });

  it('leaves no way in behind it: in the same transaction, a row that brings its own hash is still refused', async () => {
    const book = db.table(contacts);
    const [v] = await book.insertMany([{ name: 'Loaded' }]);
    await expect(
      db.transaction(async (tx) => {
        await tx.table(contacts).insertMany([{ name: 'Also loaded' }]);
        await tx.query(
          `INSERT INTO contacts_head (entry_id, version, op, recorded_at, tx_id, hash, seq, deleted, created_at, name)
           VALUES (gen_random_uuid(), 1, 'insert', now(), pg_current_xact_id(), $1, 1, false, now(), 'Forged')`,
          [Buffer.from(v!.hash, 'hex')],
        );
      }),
    ).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(
      db.query(`INSERT INTO contacts_log (entry_id, version, op, recorded_at, tx_id, content_hash, hash, name)
                VALUES (gen_random_uuid(), 1, 'insert', now(), pg_current_xact_id(), '\\x00', '\\x00', 'x')`),
    ).rejects.toMatchObject({ code: 'append_only' });
    expect((await book.list({ where: { name: 'Forged' } })).length).toBe(0);
    expect(await db.verify({ tables: ['contacts'] })).toMatchObject({ ok: true });
  });

  it('loads every column type as insert writes it, with no labels, and through SQL with keys it ignores', async () => {
    const r = db.table(readings);
    const full = {
      label: 'é ü 🙂',
      count: -7,
      big: '9007199254740993',
      amount: '12.3400',
      ok: false,
      day: '2026-02-28',
      at: new Date('2026-12-05T01:02:03.456Z'),
      doc: { k: [1, 'two', null] },
      ref: '0b7f7f2e-5d7e-4a43-9d1e-0d0c1e2f3a4b',
    };
    const loaded = await r.insertMany([full, {}, { label: null, doc: null }]);
    const one = await r.insert(full);
    expect(loaded[0]!.data).toEqual(one.data);
    for (const v of loaded) expect(v).toEqual((await r.history(v.entryId))[0]);
    expect(loaded[1]!.data).toEqual(Object.fromEntries(Object.keys(full).map((k) => [k, null])));
    expect(loaded.every((v) => v.actor === null && v.reason === null && v.meta === null)).toBe(true);
    // Raw SQL: keys that name no user column (here the log's own version and hash) are ignored.
    const [row] = await db.query<{ entry_id: string; version: number }>(
      `SELECT entry_id::text, version FROM readings_insert_many($1::jsonb, 'sql', NULL, NULL)`,
      [JSON.stringify([{ label: 'raw', count: 3, version: 9, hash: 'ff' }])],
    );
    expect(row!.version).toBe(1);
    expect((await r.get(row!.entry_id))?.data).toMatchObject({ label: 'raw', count: 3 });
    expect(await db.verify({ tables: ['readings'] })).toMatchObject({ ok: true, checked: 5 });
  });

  it('columns named n or j load like any other, with and without defaults', async () => {
    const plain = await db.table(shortNames).insertMany([{ n: 1, j: 'a' }, { n: 2 }]);
    expect(plain.map((v) => v.data)).toEqual([
      { n: 1, j: 'a' },
      { n: 2, j: null },
    ]);
    const defaulted = await db.table(shortNamesDefaulted).insertMany([{ j: 'b' }, { n: 3, j: 'c' }]);
    expect(defaulted.map((v) => v.data)).toEqual([
      { n: 7, j: 'b' },
      { n: 3, j: 'c' },
    ]);
    expect((await db.verify({ tables: ['short_names', 'short_names_d'] })).ok).toBe(true);
  });
});
