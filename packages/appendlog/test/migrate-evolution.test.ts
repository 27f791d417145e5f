import { afterAll, beforeAll, expect, it } from 'vitest';
import { column as c, type Database, table } from '../src/index.js';
import { describeEngines, type TestDb } from './support/engines.js';
import { schemaSnapshot } from './support/schema-snapshot.js';
import { verifyChain } from './support/verify-chain.js';

// The same content type as two app versions see it.
const peopleV1 = table('people', { name: c.text().notNull(), city: c.text() });
const peopleV2 = table('people', { name: c.text().notNull(), city: c.text(), tel: c.text() });

const ordersV1 = table('orders', { item: c.text().notNull(), qty: c.integer() });
const ordersV2 = table('orders', {
  item: c.text().notNull(),
  qty: c.integer(),
  country: c.text().notNull().default('NO'),
});
const parcelsV1 = table('parcels', { label: c.text().notNull(), weight: c.integer() });
const parcelsV2 = table('parcels', {
  label: c.text().notNull(),
  weight: c.integer(),
  status: c.text().notNull().default('new'),
});
const ordersV3 = table('orders', {
  item: c.text().notNull(),
  qty: c.integer(),
  country: c.text().notNull().default('SE'),
});

describeEngines('schema evolution: old code keeps working', (engine) => {
  let t: TestDb;
  let oldDb: Database; // the running v1 app
  let newDb: Database; // the instance that migrates v2 (a second pool on PostgreSQL)

  beforeAll(async () => {
    t = await engine.open();
    oldDb = t.db;
    newDb = await t.reopen();
  });
  afterAll(() => t.close());

  it('v1 keeps inserting, updating, reading, listing, deleting after v2 added a column, and never wipes it', async () => {
    await oldDb.migrate([peopleV1]);
    const v1 = oldDb.table(peopleV1);
    // Warm the v1 connection: prepared statements and compiled functions that predate the migration.
    const thor = await v1.insert({ name: 'Thor', city: 'Asgard' });
    await v1.update(thor.entryId, { city: 'Oslo' });
    const odin = await v1.insert({ name: 'Odin' });
    expect((await v1.list()).length).toBe(2);

    const migrated = await newDb.migrate([peopleV2]);
    expect(migrated.changes).toEqual([
      { table: 'people', change: 'add_columns', columns: ['tel'], summary: 'add column tel text' },
    ]);
    const v2 = newDb.table(peopleV2);
    expect((await v2.get(thor.entryId))?.data).toEqual({ name: 'Thor', city: 'Oslo', tel: null });
    await v2.update(thor.entryId, { tel: '555-0100' });

    // The v1 handle: every operation still works and a v1 update carries tel forward.
    const moved = await v1.update(thor.entryId, { city: 'Bergen' }, { expectedVersion: 3 });
    expect(moved.data).toEqual({ name: 'Thor', city: 'Bergen' });
    expect((await v2.get(thor.entryId))?.data).toEqual({ name: 'Thor', city: 'Bergen', tel: '555-0100' });
    expect((await v1.get(thor.entryId))?.data).toEqual({ name: 'Thor', city: 'Bergen' });
    const loki = await v1.insert({ name: 'Loki', city: 'Utgard' });
    expect((await v2.get(loki.entryId))?.data).toEqual({ name: 'Loki', city: 'Utgard', tel: null });
    expect((await v1.list({ orderBy: 'name' })).map((v) => v.data.name)).toEqual(['Loki', 'Odin', 'Thor']);
    expect((await v1.history(thor.entryId)).map((v) => v.data.city)).toEqual([
      'Asgard',
      'Oslo',
      'Oslo',
      'Bergen',
    ]);
    expect((await v2.history(thor.entryId)).map((v) => v.data.tel)).toEqual([
      null,
      null,
      '555-0100',
      '555-0100',
    ]);

    const gone = await v1.delete(thor.entryId, { reason: 'left' });
    expect(gone.op).toBe('delete');
    expect(await v1.get(thor.entryId)).toBeNull();
    const back = await v1.restore(thor.entryId);
    expect(back.version).toBe(6);
    expect((await v2.get(thor.entryId))?.data.tel).toBe('555-0100');
    await v1.delete(odin.entryId, { reason: 'duplicate' });
    expect((await v1.list()).map((v) => v.data.name).sort()).toEqual(['Loki', 'Thor']);

    // Raw SQL from old code, through the view or the head, carries the new column forward too.
    await oldDb.query(`UPDATE people SET city = 'Trondheim' WHERE entry_id = $1`, [thor.entryId]);
    expect((await v2.get(thor.entryId))?.data).toEqual({ name: 'Thor', city: 'Trondheim', tel: '555-0100' });
    await oldDb.query(`UPDATE people_head SET city = 'Tromsø' WHERE entry_id = $1`, [thor.entryId]);
    expect((await v2.get(thor.entryId))?.data).toEqual({ name: 'Thor', city: 'Tromsø', tel: '555-0100' });
    expect((await v2.history(thor.entryId)).at(-1)?.data).toEqual({
      name: 'Thor',
      city: 'Tromsø',
      tel: '555-0100',
    });
    // And an insert through the view that names only the old columns leaves the new one null.
    const [frey] = await oldDb.query<{ entry_id: string }>(
      `INSERT INTO people (name, city) VALUES ('Frey', 'Vanaheim') RETURNING entry_id`,
    );
    expect((await v2.get(frey!.entry_id))?.data).toEqual({ name: 'Frey', city: 'Vanaheim', tel: null });
  });

  it('the v1 app re-running migrate at start-up is old code: nothing runs, nothing is refused', async () => {
    const before = await schemaSnapshot(newDb);
    const again = await oldDb.migrate([peopleV1]);
    expect(again).toEqual({ statements: [], changes: [], behind: ['people'] });
    const up = await newDb.migrate([peopleV2]);
    expect(up).toEqual({ statements: [], changes: [], behind: [] });
    expect(await schemaSnapshot(newDb)).toEqual(before);
  });

  it('every version written before the column was added still verifies, and so does every later one', async () => {
    const check = await verifyChain(newDb, 'people');
    expect(check.failures).toEqual([]);
    expect(check.checked).toBe(12);
  });

  it('a notNull column with a default: old versions keep null, every version written after has a value', async () => {
    await oldDb.migrate([ordersV1]);
    const v1 = oldDb.table(ordersV1);
    const kept = await v1.insert({ item: 'kept', qty: 1 }); // never written again
    const touched = await v1.insert({ item: 'touched', qty: 2 });
    const binned = await v1.insert({ item: 'binned' });
    await v1.delete(binned.entryId, { reason: 'test' });
    const viaView = await v1.insert({ item: 'view' });
    const viaViewDelete = await v1.insert({ item: 'view delete' });
    const viaHead = await v1.insert({ item: 'head' });

    await newDb.migrate([ordersV2]);
    const v2 = newDb.table(ordersV2);
    const nulls = await newDb.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM orders_log WHERE country IS NULL',
    );
    expect(nulls[0]!.n).toBe(7); // every version written before: not rewritten

    // Honest reads: an entry last written before the column has no value for it.
    expect((await v2.get(kept.entryId))?.data).toEqual({ item: 'kept', qty: 1, country: null });
    // New versions, whoever writes them, carry a value.
    expect((await v2.get((await v1.insert({ item: 'new from v1' })).entryId))?.data.country).toBe('NO');
    expect((await v2.insert({ item: 'new from v2' })).data.country).toBe('NO');
    expect((await v1.update(touched.entryId, { qty: 3 })).data).toEqual({ item: 'touched', qty: 3 });
    expect((await v2.get(touched.entryId))?.data).toEqual({ item: 'touched', qty: 3, country: 'NO' });
    expect((await v2.restore(binned.entryId)).data.country).toBe('NO');
    await oldDb.query(`UPDATE orders SET qty = 9 WHERE entry_id = $1`, [viaView.entryId]);
    expect((await v2.get(viaView.entryId))?.data).toEqual({ item: 'view', qty: 9, country: 'NO' });
    await oldDb.transaction(async (tx) => {
      await tx.query(`SET LOCAL appendlog.reason = 'raw delete'`);
      await tx.query(`DELETE FROM orders WHERE entry_id = $1`, [viaViewDelete.entryId]);
    });
    expect((await v2.history(viaViewDelete.entryId)).map((v) => v.data.country)).toEqual([null, 'NO']);
    // Old code updating the head names only the columns it knows; the new one gets its default.
    await oldDb.query(`UPDATE orders_head SET item = 'head', qty = 5 WHERE entry_id = $1`, [viaHead.entryId]);
    expect((await v2.get(viaHead.entryId))?.data).toEqual({ item: 'head', qty: 5, country: 'NO' });
    expect((await v2.history(viaHead.entryId)).map((v) => v.data.country)).toEqual([null, 'NO']);

    expect((await v2.history(touched.entryId)).map((v) => v.data.country)).toEqual([null, 'NO']);
    const check = await verifyChain(newDb, 'orders');
    expect(check.failures).toEqual([]);
    expect(check.checked).toBe(14);
  });

  it('changing a default changes future inserts only; an older definition does not change it back', async () => {
    const before = await newDb.query<{ n: number; digest: string }>(
      `SELECT count(*)::int AS n, md5(string_agg(hash::text, ',' ORDER BY seq)) AS digest FROM orders_log`,
    );
    const result = await newDb.migrate([ordersV3]);
    expect(result.changes).toEqual([
      {
        table: 'orders',
        change: 'set_defaults',
        columns: ['country'],
        summary: `set default of country to 'SE'::text`,
      },
    ]);
    const after = await newDb.query<{ n: number; digest: string }>(
      `SELECT count(*)::int AS n, md5(string_agg(hash::text, ',' ORDER BY seq)) AS digest FROM orders_log`,
    );
    expect(after).toEqual(before);
    const v1 = oldDb.table(ordersV1);
    const v3 = newDb.table(ordersV3);
    expect((await v3.get((await v1.insert({ item: 'after' })).entryId))?.data.country).toBe('SE');
    const [viaView] = await oldDb.query<{ country: string }>(
      `INSERT INTO orders (item) VALUES ('view') RETURNING country`,
    );
    expect(viaView?.country).toBe('SE');
    const [viaHead] = await oldDb.query<{ entry_id: string; country: string }>(
      `INSERT INTO orders_head (item) VALUES ('head') RETURNING entry_id, country`,
    );
    expect(viaHead?.country).toBe('SE');
    expect((await v3.history(viaHead!.entry_id))[0]?.data.country).toBe('SE');
    // A v2 instance restarting mid-deploy: its definition is in the history, so it is old code.
    expect(await oldDb.migrate([ordersV2])).toEqual({ statements: [], changes: [], behind: ['orders'] });
    expect((await v3.insert({ item: 'still SE' })).data.country).toBe('SE');
    const history = await newDb.schemaHistory({ table: 'orders' });
    expect(history.map((r) => [r.change, r.columns])).toEqual([
      ['create_table', ['item', 'qty']],
      ['add_columns', ['country']],
      ['set_defaults', ['country']],
    ]);
    expect((await verifyChain(newDb, 'orders')).failures).toEqual([]);
  });

  it('as of a time before the column existed, the column reads null', async () => {
    const [{ before } = { before: '' }] = await newDb.query<{ before: string }>(
      `SELECT min(recorded_at)::text AS before FROM orders_log WHERE country IS NOT NULL`,
    );
    const rows = await newDb.query<{ item: string; country: string | null }>(
      `SELECT item, country FROM orders_as_of($1::timestamptz - interval '1 microsecond') ORDER BY item`,
      [before],
    );
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.country === null)).toBe(true);
  });

  it('time travel across the addition: at, listAt and diff read null before it; revert fills the default', async () => {
    await oldDb.migrate([parcelsV1]);
    const v1 = oldDb.table(parcelsV1);
    const first = await v1.insert({ label: 'box', weight: 3 });
    const second = await v1.update(first.entryId, { weight: 4 });
    await newDb.migrate([parcelsV2]);
    const third = await v1.update(first.entryId, { weight: 5 }); // old code, after the migration
    const parcels = newDb.table(parcelsV2);
    expect((await parcels.at(first.entryId, second.recordedAtIso))?.data).toEqual({
      label: 'box',
      weight: 4,
      status: null,
    });
    expect((await parcels.at(first.entryId, { version: 3 }))?.data.status).toBe('new');
    expect((await parcels.listAt(second.recordedAtIso)).map((v) => v.data)).toEqual([
      { label: 'box', weight: 4, status: null },
    ]);
    expect((await parcels.listAt(third.recordedAtIso)).map((v) => v.data.status)).toEqual(['new']);
    // The stored content did gain a value at version 3, so diff shows it: honest, not noise.
    expect(await parcels.diff(first.entryId, 1, 3)).toEqual([
      { field: 'weight', before: 3, after: 5 },
      { field: 'status', before: null, after: 'new' },
    ]);
    // Reverting to a version from before the column: its data, except that notNull needs a value.
    const reverted = await v1.revert(first.entryId, 1, { reason: 'back to the start' });
    expect(reverted.data).toEqual({ label: 'box', weight: 3 });
    expect((await parcels.get(first.entryId))?.data).toEqual({ label: 'box', weight: 3, status: 'new' });
    const check = await verifyChain(newDb, 'parcels');
    expect(check).toEqual({ checked: 4, erased: 0, failures: [] });
  });
});
