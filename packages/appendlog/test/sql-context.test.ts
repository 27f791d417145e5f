import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../src/index.js';
import {
  type AppRoleDb,
  describeEngines,
  describePostgres,
  openAppRole,
  type TestDb,
} from './support/engines.js';
import { addresses } from './support/tables.js';

// Issue 16 item 1: appendlog_context(actor, reason, meta), the SQL way to label a transaction's writes.
describeEngines('appendlog_context() in SQL', (engine) => {
  let t: TestDb;
  let db: Database;

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    await db.migrate([addresses]);
  });
  afterAll(() => t.close());

  const settings = (q: Database) =>
    q.query<{ actor: string | null; reason: string | null; meta: string | null }>(
      `SELECT current_setting('appendlog.actor', true) AS actor,
              current_setting('appendlog.reason', true) AS reason,
              current_setting('appendlog.meta', true) AS meta`,
    );

  it('takes bind parameters by name and labels the transaction’s delete', async () => {
    const v = await db.table(addresses).insert({ name: 'Ask' });
    await db.transaction(async (tx) => {
      await tx.query('SELECT appendlog_context(reason => $1, actor => $2, meta => $3)', [
        'moved away',
        'clerk-7',
        JSON.stringify({ ticket: 42 }),
      ]);
      await tx.query('DELETE FROM addresses WHERE entry_id = $1', [v.entryId]);
    });
    expect((await db.table(addresses).history(v.entryId)).at(-1)).toMatchObject({
      version: 2,
      op: 'delete',
      actor: 'clerk-7',
      reason: 'moved away',
      meta: { ticket: 42 },
    });
  });

  it('NULL leaves a setting as it is, an empty string clears it', async () => {
    await db.transaction(async (tx) => {
      await tx.query(`SELECT appendlog_context('alice', 'first', '{"a":1}')`);
      await tx.query(`SELECT appendlog_context(reason => 'second')`);
      expect(await settings(tx)).toEqual([{ actor: 'alice', reason: 'second', meta: '{"a": 1}' }]);
      await tx.query(`SELECT appendlog_context(actor => '', meta => NULL)`);
      expect(await settings(tx)).toEqual([{ actor: '', reason: 'second', meta: '{"a": 1}' }]);
    });
  });

  it('lasts for the transaction only: committed or rolled back, the next transaction starts clean', async () => {
    const v = await db.table(addresses).insert({ name: 'Embla' });
    await db.transaction(async (tx) => {
      await tx.query(`SELECT appendlog_context(actor => 'bob', reason => 'kept to this transaction')`);
    });
    await expect(
      db.transaction(async (tx) => {
        await tx.query(`SELECT appendlog_context(reason => 'rolled back')`);
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    // The same connection (PGlite has only one; the pool below has max 1): no reason reaches this delete.
    await expect(
      db.transaction((tx) => tx.query('DELETE FROM addresses WHERE entry_id = $1', [v.entryId])),
    ).rejects.toMatchObject({ code: 'reason_required', sqlState: 'AL002' });
    expect(await db.table(addresses).get(v.entryId)).not.toBeNull();
  });

  it('called alone outside a transaction block it lasts for its own statement only', async () => {
    const v = await db.table(addresses).insert({ name: 'Hod' });
    await db.query(`SELECT appendlog_context(reason => 'autocommit')`);
    await expect(db.query('DELETE FROM addresses WHERE entry_id = $1', [v.entryId])).rejects.toMatchObject({
      code: 'reason_required',
    });
    // Within one statement it applies: the EXISTS is an init plan, run before the delete's rows.
    await db.query(
      `WITH ctx AS MATERIALIZED (SELECT appendlog_context(reason => 'one statement'))
       DELETE FROM addresses WHERE entry_id = $1 AND EXISTS (SELECT FROM ctx)`,
      [v.entryId],
    );
    expect((await db.table(addresses).history(v.entryId)).at(-1)).toMatchObject({
      op: 'delete',
      reason: 'one statement',
    });
  });

  it('the first call of a transaction clears what it leaves out: nothing set before the transaction comes along', async () => {
    const v = await db.table(addresses).insert({ name: 'Leaky' });
    await db.transaction(async (tx) => {
      // A session-level setting, as a pooled connection may carry it from an earlier request.
      await tx.query(`SELECT set_config('appendlog.actor', 'earlier-request', false)`);
      await tx.query(`SELECT appendlog_context(reason => 'tidy')`);
      expect(await settings(tx)).toEqual([{ actor: '', reason: 'tidy', meta: '' }]);
      await tx.query('DELETE FROM addresses WHERE entry_id = $1', [v.entryId]);
    });
    expect((await db.table(addresses).history(v.entryId)).at(-1)).toMatchObject({
      actor: null,
      reason: 'tidy',
    });
    await db.query(`SELECT set_config('appendlog.actor', '', false)`);
  });

  it('strict_context: a label no appendlog_context of this transaction set is refused, and nothing is written', async () => {
    const book = db.table(addresses);
    const v = await book.insert({ name: 'Strict' });
    const strictly = <T>(fn: (tx: Database) => Promise<T>) =>
      db.transaction(async (tx) => {
        await tx.query(`SET LOCAL appendlog.strict_context = on`);
        return fn(tx);
      });
    // Set by SET LOCAL (or at session level: SQL cannot tell them apart): refused.
    await expect(
      strictly(async (tx) => {
        await tx.query(`SET LOCAL appendlog.reason = 'not through the function'`);
        await tx.query('DELETE FROM addresses WHERE entry_id = $1', [v.entryId]);
      }),
    ).rejects.toMatchObject({ code: 'invalid_state', sqlState: 'AL004' });
    await expect(
      strictly(async (tx) => {
        await tx.query(`SET LOCAL appendlog.actor = 'someone'`);
        await tx.query(`UPDATE addresses SET city = 'Oslo' WHERE entry_id = $1`, [v.entryId]);
      }),
    ).rejects.toMatchObject({ code: 'invalid_state' });
    await expect(
      strictly(async (tx) => {
        await tx.query(`SET LOCAL appendlog.actor = 'loader'`);
        await tx.query(`SELECT * FROM addresses_insert_many('[{"name":"Bulk"}]', NULL, NULL, NULL)`);
      }),
    ).rejects.toMatchObject({ code: 'invalid_state' });
    expect((await book.get(v.entryId))?.version).toBe(1);
    // Through appendlog_context, through the library, or with no label at all: written.
    await strictly(async (tx) => {
      await tx.query(`SELECT appendlog_context(actor => 'clerk')`);
      await tx.query(`UPDATE addresses SET city = 'Bergen' WHERE entry_id = $1`, [v.entryId]);
      await tx.query(`UPDATE addresses SET city = 'Tromsø' WHERE entry_id = $1`, [v.entryId]);
      await tx.table(addresses).update(v.entryId, { city: 'Bodø' }, { actor: 'library' });
    });
    await strictly((tx) => tx.query(`UPDATE addresses SET city = 'Narvik' WHERE entry_id = $1`, [v.entryId]));
    expect((await book.history(v.entryId)).map((x) => x.actor)).toEqual([
      null,
      'clerk',
      'clerk',
      'library',
      null,
    ]);
  });

  it('refuses values past the trigger’s limits, naming the field', async () => {
    await expect(db.query(`SELECT appendlog_context(meta => '[1,2]')`)).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'meta',
      sqlState: 'AL005',
    });
    for (const field of ['actor', 'reason']) {
      await expect(
        db.query(`SELECT appendlog_context(${field} => $1)`, ['x'.repeat(4097)]),
      ).rejects.toMatchObject({ code: 'invalid_input', field });
    }
    await db.query(`SELECT appendlog_context(actor => $1)`, ['x'.repeat(4096)]);
  });
});

describePostgres('appendlog_context() through a pool, as the application role', () => {
  let app: Database;
  let appPool: pg.Pool;
  let session: AppRoleDb;

  beforeAll(async () => {
    // One connection, so every request below reuses the previous one's session.
    session = await openAppRole('ctx', [addresses], 1);
    ({ app, pool: appPool } = session);
  });
  afterAll(() => session.close());

  it('the app role may call it, and one request’s reason never reaches the next request’s delete', async () => {
    const insert = async (name: string) =>
      (
        await appPool.query<{ entry_id: string }>(
          'INSERT INTO addresses (name) VALUES ($1) RETURNING entry_id',
          [name],
        )
      ).rows[0]!.entry_id;
    const a = await insert('Frigg');
    const b = await insert('Freyr');
    const client = await appPool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT appendlog_context(reason => $1, actor => $2)', ['request one', 'u1']);
      await client.query('DELETE FROM addresses WHERE entry_id = $1', [a]);
      await client.query('COMMIT');
      // The next request on the same session deletes without a reason: refused, nothing recorded.
      await client.query('BEGIN');
      await expect(client.query('DELETE FROM addresses WHERE entry_id = $1', [b])).rejects.toMatchObject({
        code: 'AL002',
      });
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    expect((await app.table(addresses).history(a)).at(-1)).toMatchObject({
      op: 'delete',
      reason: 'request one',
      actor: 'u1',
    });
    expect(await app.table(addresses).get(b)).not.toBeNull();
  });

  it('with strict_context on for the app’s sessions, a reason one request set at session level is refused in the next', async () => {
    const [{ entry_id: id }] = (
      await appPool.query<{ entry_id: string }>(
        `INSERT INTO addresses (name) VALUES ('Njord') RETURNING entry_id`,
      )
    ).rows as [{ entry_id: string }];
    const client = await appPool.connect();
    try {
      await client.query('SET appendlog.strict_context = on');
      // One request sets its reason for the whole session by mistake and writes nothing with it.
      await client.query(`SELECT set_config('appendlog.reason', 'request one', false)`);
      // The next request on the same session deletes without a reason of its own.
      await expect(client.query('DELETE FROM addresses WHERE entry_id = $1', [id])).rejects.toMatchObject({
        code: 'AL004',
      });
      await client.query(`SELECT set_config('appendlog.reason', '', false)`);
      await client.query('RESET appendlog.strict_context');
    } finally {
      client.release();
    }
    expect(await app.table(addresses).get(id)).not.toBeNull();
    expect((await app.table(addresses).history(id)).length).toBe(1);
  });
});
