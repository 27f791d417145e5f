import type { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgliteDriver } from '../src/driver/pglite.js';
import { connect, type Database } from '../src/index.js';
import { freshPGlite } from './support/pglite-snapshot.js';
import { addresses } from './support/tables.js';

// Every type a statement of the library (or a user's db.query) may return, with nulls beside.
const EVERY_TYPE = `SELECT 7::int AS i, 9007199254740993::bigint AS b, 1.50::numeric AS n, true AS t, NULL::text AS z,
  'x'::text AS s, '{"a":[1,null]}'::jsonb AS j, '2026-12-05T01:02:03.456789Z'::timestamptz AS at,
  '2026-02-28'::date AS d, '\\x00ff'::bytea AS bin, ARRAY[1,2]::int[] AS arr, gen_random_uuid() IS NOT NULL AS u,
  $1::text AS p1, $2::int AS p2, $3::jsonb AS p3, $4::timestamptz AS p4`;
const PARAMS = ["it's", 42, JSON.stringify({ k: 'v' }), new Date('2026-01-02T03:04:05.678Z')];

describe('PGlite prepared statements', () => {
  let pglite: PGlite;
  let db: Database;

  beforeAll(async () => {
    pglite = await freshPGlite();
    db = await connect({ client: pglite });
    await db.migrate([addresses]);
  });
  afterAll(async () => {
    await db.close();
    await pglite.close();
  });

  it('return the same rows, types and counts as PGlite’s own query', async () => {
    const driver = pgliteDriver(pglite, false);
    const plain = await driver.query(EVERY_TYPE, PARAMS);
    const named = await driver.query(EVERY_TYPE, PARAMS, { name: 'appendlog_test_every_type' });
    const again = await driver.query(EVERY_TYPE, PARAMS, { name: 'appendlog_test_every_type' });
    expect(named).toEqual(plain);
    expect(again).toEqual(plain);
    expect(named.rows[0]).toMatchObject({ i: 7, t: true, z: null, j: { a: [1, null] }, arr: [1, 2], p2: 42 });
    // As arrays, prepared or not: the same values in select-list order.
    const asArrays = { rows: plain.rows.map((r) => Object.values(r)), rowCount: plain.rowCount };
    expect(await driver.query(EVERY_TYPE, PARAMS, { rowMode: 'array' })).toEqual(asArrays);
    expect(
      await driver.query(EVERY_TYPE, PARAMS, { name: 'appendlog_test_every_type', rowMode: 'array' }),
    ).toEqual(asArrays);
    // `text`: a prepared statement's values as the server's text; unnamed, parsed as `array`.
    const text = await driver.query<unknown[]>(EVERY_TYPE, PARAMS, {
      name: 'appendlog_test_every_type',
      rowMode: 'text',
    });
    expect(text.rows[0]!.slice(0, 6)).toEqual(['7', '9007199254740993', '1.50', 't', null, 'x']);
    expect(await driver.query(EVERY_TYPE, PARAMS, { rowMode: 'text' })).toEqual(asArrays);
    const write = 'INSERT INTO addresses (name) SELECT $1::text || g FROM generate_series(1, 3) g';
    expect((await driver.query(write, ['n'], { name: 'appendlog_test_insert' })).rowCount).toBe(3);
  });

  it('are prepared once per PGlite, however many databases share it, and again after DEALLOCATE', async () => {
    const second = await connect({ client: pglite });
    const book = db.table(addresses);
    const v = await book.insert({ name: 'Shared' });
    expect((await second.table(addresses).get(v.entryId))?.data.name).toBe('Shared');
    expect((await book.get(v.entryId))?.data.name).toBe('Shared');
    await pglite.exec('DEALLOCATE ALL');
    expect((await book.get(v.entryId))?.data.name).toBe('Shared');
    // Dropped while a transaction uses it: that transaction fails, the next one prepares it again.
    await pglite.exec('DEALLOCATE ALL');
    await expect(db.transaction((tx) => tx.table(addresses).get(v.entryId))).rejects.toThrow(
      /does not exist/,
    );
    expect((await db.transaction((tx) => tx.table(addresses).get(v.entryId)))?.data.name).toBe('Shared');
    await second.close();
  });

  it('keep out of a transaction that another caller holds: a statement outside waits for its end', async () => {
    const book = db.table(addresses);
    const v = await book.insert({ name: 'Before' });
    // Another user of the same PGlite, with a driver of its own (the library refuses its own outer handle here).
    const other = pgliteDriver(pglite, false);
    const read = 'SELECT name FROM addresses WHERE entry_id = $1';
    const events: string[] = [];
    let outside: Promise<unknown> | undefined;
    await db.transaction(async (tx) => {
      await tx.table(addresses).update(v.entryId, { name: 'Inside' });
      outside = other
        .query<{ name: string }>(read, [v.entryId], { name: 'appendlog_test_outside' })
        .then((r) => events.push(`outside read ${r.rows[0]?.name}`));
      await new Promise((resolve) => setTimeout(resolve, 50));
      events.push('transaction ends');
    });
    await outside;
    // Run inside the transaction, the read would have come first and seen its uncommitted write.
    expect(events).toEqual(['transaction ends', 'outside read Inside']);
  });

  it('report errors as query does: typed, with the SQLSTATE, and the connection stays usable', async () => {
    const book = db.table(addresses);
    const v = await book.insert({ name: 'Conflict' });
    await book.update(v.entryId, { name: 'Second' });
    await expect(book.update(v.entryId, { name: 'Stale' }, { expectedVersion: 1 })).rejects.toMatchObject({
      code: 'version_conflict',
      sqlState: '40001',
    });
    await expect(
      db.transaction(async (tx) =>
        tx.table(addresses).update(v.entryId, { name: 'Stale' }, { expectedVersion: 1 }),
      ),
    ).rejects.toMatchObject({ code: 'version_conflict' });
    expect((await book.get(v.entryId))?.version).toBe(2);
    expect((await db.verify()).ok).toBe(true);
  });
});
