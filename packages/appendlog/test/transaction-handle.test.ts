import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect, type Database } from '../src/index.js';
import { describeEngines, describePostgres, postgres, type TestDb } from './support/engines.js';
import { addresses } from './support/tables.js';

const GHOST = '00000000-0000-4000-8000-000000000000';

/** Every kind of use of a kept handle; each must be refused with `invalid_usage`. */
function uses(tx: Database, id: string): [string, () => Promise<unknown>][] {
  const book = tx.table(addresses);
  return [
    ['table.insert', () => book.insert({ name: 'Late' })],
    ['table.update', () => book.update(id, { city: 'Late' })],
    ['table.delete', () => book.delete(id, { reason: 'late' })],
    ['table.get', () => book.get(id)],
    ['table.list', () => book.list()],
    ['table.history', () => book.history(id)],
    ['query', () => tx.query('SELECT 1')],
    ['query (write)', () => tx.query(`INSERT INTO addresses (name) VALUES ('Late raw')`)],
    ['transaction', () => tx.transaction(async (inner) => inner.query('SELECT 1'))],
    ['withContext', () => tx.withContext({ actor: 'late' }, async (scoped) => scoped.query('SELECT 1'))],
    ['migrate', () => tx.migrate([addresses])],
    ['verify', () => tx.verify()],
    ['changes', () => tx.changes()],
  ];
}

describeEngines('a transaction handle kept after its callback', (engine) => {
  let t: TestDb;
  let db: Database;

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    await db.migrate([addresses]);
  });
  afterAll(() => t.close());

  const logRows = async () =>
    (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM addresses_log'))[0]!.n;

  it('is refused with invalid_usage after COMMIT, for every method, and writes nothing', async () => {
    let kept: Database | undefined;
    const v = await db.transaction(async (tx) => {
      kept = tx;
      return tx.table(addresses).insert({ name: 'Committed' });
    });
    const before = await logRows();
    await expect(kept!.table(addresses).insert({ name: 'After commit' })).rejects.toMatchObject({
      code: 'invalid_usage',
      message: expect.stringMatching(/after its db\.transaction\(\) callback/),
    });
    await expect(kept!.query('SELECT 1')).rejects.toMatchObject({ code: 'invalid_usage' });
    for (const [name, use] of uses(kept!, v.entryId)) {
      await expect(use(), name).rejects.toMatchObject({ code: 'invalid_usage' });
    }
    expect(await logRows()).toBe(before);
    expect((await db.table(addresses).get(v.entryId))?.version).toBe(1);
  });

  it('is refused after a rollback too, and a table handle taken inside is refused as well', async () => {
    let kept: Database | undefined;
    let keptBook: ReturnType<Database['table']> | undefined;
    await expect(
      db.transaction(async (tx) => {
        kept = tx;
        keptBook = tx.table(addresses);
        await keptBook.insert({ name: 'Rolled back' });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const before = await logRows();
    await expect(keptBook!.insert({ name: 'After rollback' })).rejects.toMatchObject({
      code: 'invalid_usage',
    });
    for (const [name, use] of uses(kept!, GHOST)) {
      await expect(use(), name).rejects.toMatchObject({ code: 'invalid_usage' });
    }
    expect(await logRows()).toBe(before);
  });

  it('a withContext handle taken inside the transaction ends with it; the outer handle works on', async () => {
    let scopedKept: Database | undefined;
    await db.transaction(async (tx) =>
      tx.withContext({ actor: 'scoped' }, async (scoped) => {
        scopedKept = scoped;
        await scoped.table(addresses).insert({ name: 'Scoped' });
      }),
    );
    const before = await logRows();
    await expect(scopedKept!.table(addresses).insert({ name: 'Late scoped' })).rejects.toMatchObject({
      code: 'invalid_usage',
    });
    expect(await logRows()).toBe(before);
    // The outer handle is not a transaction handle: it never ends.
    await db.table(addresses).insert({ name: 'Outer, afterwards' });
    expect(await logRows()).toBe(before + 1);
  });

  it('work the callback left running is refused from its first statement after the callback returned', async () => {
    let pending: Promise<unknown> | undefined;
    const before = await logRows();
    await db.transaction(async (tx) => {
      // Not awaited: the first statement is sent inside the transaction, the insert only after it.
      pending = tx.query('SELECT 1').then(() => tx.table(addresses).insert({ name: 'Floating' }));
      pending.catch(() => {});
    });
    await expect(pending).rejects.toMatchObject({ code: 'invalid_usage' });
    expect(await logRows()).toBe(before);
  });
});

describePostgres('a transaction handle kept after its callback, on the pooled connection', () => {
  let t: TestDb;
  let db: Database;

  beforeAll(async () => {
    t = await postgres.open();
    // One connection: the transaction's connection is the one every later statement gets.
    db = await connect({ url: process.env.DATABASE_URL!, schema: t.schema, pool: { max: 1 } });
    await db.migrate([addresses]);
  });
  afterAll(async () => {
    await db.close();
    await t.close();
  });

  const logRows = async (h: Database) =>
    (await h.query<{ n: number }>('SELECT count(*)::int AS n FROM addresses_log'))[0]!.n;

  it('never writes through the connection it had once that is back in the pool', async () => {
    let kept: Database | undefined;
    const pid = await db.transaction(async (tx) => {
      kept = tx;
      return (await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))[0]!.pid;
    });
    const before = await logRows(db);
    // Idle in the pool: a write through it would autocommit.
    await expect(kept!.table(addresses).insert({ name: 'Idle' })).rejects.toMatchObject({
      code: 'invalid_usage',
    });
    // Checked out by another transaction: a write through it would land in that one.
    await expect(
      db.transaction(async (other) => {
        const [me] = await other.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        expect(me!.pid).toBe(pid);
        await expect(kept!.table(addresses).insert({ name: 'Borrowed' })).rejects.toMatchObject({
          code: 'invalid_usage',
        });
        await expect(
          kept!.query(`INSERT INTO addresses (name) VALUES ('Borrowed raw')`),
        ).rejects.toMatchObject({ code: 'invalid_usage' });
        // This transaction would see its own uncommitted rows: there are none.
        expect(await logRows(other)).toBe(before);
      }),
    ).resolves.toBeUndefined();
    // A fresh handle on its own pool sees no row the kept handle tried to write.
    const fresh = await t.reopen();
    expect(await logRows(fresh)).toBe(before);
  });
});
