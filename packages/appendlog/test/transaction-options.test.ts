import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../src/index.js';
import { describeEngines, describePostgres, postgres, type TestDb } from './support/engines.js';
import { addresses } from './support/tables.js';

// db.transaction(fn, { isolation, readOnly }): the transaction's characteristics, set before its
// first statement; a nested call (a savepoint) cannot change them.
describeEngines('transaction options', (engine) => {
  let t: TestDb;
  let db: Database;

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    await db.migrate([addresses]);
  });
  afterAll(() => t.close());

  const setting = async (tx: Database, name: string) =>
    (await tx.query<{ v: string }>(`SELECT pg_catalog.current_setting($1) AS v`, [name]))[0]!.v;

  it('isolation and read-only mode reach the transaction; the defaults are PostgreSQL’s', async () => {
    await db.transaction(async (tx) => {
      expect(await setting(tx, 'transaction_isolation')).toBe('read committed');
      expect(await setting(tx, 'transaction_read_only')).toBe('off');
    });
    await db.transaction(
      async (tx) => {
        expect(await setting(tx, 'transaction_isolation')).toBe('serializable');
        expect(await setting(tx, 'transaction_read_only')).toBe('on');
      },
      { isolation: 'serializable', readOnly: true },
    );
    await db.transaction(
      async (tx) => expect(await setting(tx, 'transaction_isolation')).toBe('repeatable read'),
      {
        isolation: 'repeatable read',
      },
    );
  });

  it('a write in a read-only transaction is invalid_usage, through the library and raw SQL alike', async () => {
    const err = await db
      .transaction(async (tx) => tx.table(addresses).insert({ name: 'Nope' }), { readOnly: true })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toMatchObject({ code: 'invalid_usage', sqlState: '25006' });
    expect((err as Error).message).toMatch(/read-only/);
    await expect(
      db.transaction(async (tx) => tx.query(`INSERT INTO addresses (name) VALUES ('Nope')`), {
        readOnly: true,
      }),
    ).rejects.toMatchObject({ code: 'invalid_usage' });
    expect(await db.table(addresses).list()).toEqual([]);
  });

  it('bad options are invalid_input, and a nested transaction cannot change them', async () => {
    await expect(db.transaction(async () => 1, { isolation: 'snapshot' as never })).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'isolation',
    });
    await expect(db.transaction(async () => 1, { readOnly: 'yes' as never })).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'readOnly',
    });
    await expect(
      db.transaction(async (tx) => tx.transaction(async () => 1, { readOnly: true })),
    ).rejects.toMatchObject({ code: 'invalid_usage' });
    // A nested call without options is a savepoint, as before.
    expect(await db.transaction(async (tx) => tx.transaction(async () => 2))).toBe(2);
  });
});

describePostgres('serializable transactions', () => {
  let t: TestDb;
  let db: Database;
  let other: Database;

  beforeAll(async () => {
    t = await postgres.open();
    db = t.db;
    other = await t.reopen();
    await db.migrate([addresses]);
  });
  afterAll(() => t.close());

  it('write skew between two serializable transactions: one commits, the other is a retryable conflict', async () => {
    const book = db.table(addresses);
    const a = await book.insert({ name: 'A', city: 'on call' });
    const b = await book.insert({ name: 'B', city: 'on call' });
    let release!: () => void;
    const bothRead = new Promise<void>((r) => {
      release = r;
    });
    let reads = 0;
    // Each takes itself off call if the other is still on: only serializable stops both doing it.
    const offCall = (handle: Database, me: string) =>
      handle.transaction(
        async (tx) => {
          const on = await tx.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM addresses WHERE city = 'on call'`,
          );
          if (++reads === 2) release();
          await bothRead;
          if (on[0]!.n === 2) await tx.table(addresses).update(me, { city: 'off' });
        },
        { isolation: 'serializable' },
      );
    const results = await Promise.allSettled([offCall(db, a.entryId), offCall(other, b.entryId)]);
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(rejected).toHaveLength(1);
    expect((rejected[0] as PromiseRejectedResult).reason).toMatchObject({
      code: 'conflict',
      retryable: true,
    });
    const still = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM addresses WHERE city = 'on call'`,
    );
    expect(still[0]!.n).toBe(1);
  });
});
