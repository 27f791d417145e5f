import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  ConflictError,
  ConnectionError,
  type Database,
  DuplicateError,
  isAppendLogError,
  TimeoutError,
} from '../src/index.js';
import { describeEngines, describePostgres, postgres, rawPool, type TestDb } from './support/engines.js';
import { rejection } from './support/rejection.js';
import { addresses } from './support/tables.js';

/** A typed error with the SQLSTATE on top and the driver's own error, carrying it too, as cause. */
function expectTyped(err: Error & Record<string, unknown>, code: string, sqlState: string | undefined): void {
  expect(isAppendLogError(err)).toBe(true);
  expect(err).toMatchObject({ code, sqlState });
  expect(err.cause).toBeInstanceOf(Error);
  expect(isAppendLogError(err.cause)).toBe(false);
  if (sqlState !== undefined) expect(err.cause).toMatchObject({ code: sqlState });
}

describeEngines('typed database errors', (engine) => {
  let t: TestDb;
  let db: Database;

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    await db.migrate([addresses]);
  });
  afterAll(() => t.close());

  it('an insert with an entryId that exists is a duplicate, not a version_conflict', async () => {
    const id = randomUUID();
    await db.table(addresses).insert({ name: 'First' }, { entryId: id });
    const err = await rejection(db.table(addresses).insert({ name: 'Second' }, { entryId: id }));
    expectTyped(err, 'duplicate', '23505');
    expect(err).toBeInstanceOf(DuplicateError);
    expect(err.message).toMatch(new RegExp(`addresses entry ${id} already exists`));
    expect(await db.table(addresses).history(id)).toHaveLength(1);
  });

  it('a unique violation in raw SQL is a duplicate with SQLSTATE 23505', async () => {
    await db.query('CREATE TABLE own_codes (code text PRIMARY KEY)');
    await db.query(`INSERT INTO own_codes VALUES ('a')`);
    const err = await rejection(db.query(`INSERT INTO own_codes VALUES ('a')`));
    expectTyped(err, 'duplicate', '23505');
    expect(err.message).toMatch(/duplicate key value violates unique constraint "own_codes_pkey"/);
  });

  it('a query holding several statements is invalid_usage on both engines, and none of them ran', async () => {
    await db.query('CREATE TABLE several (x int)');
    const err = await rejection(db.query('INSERT INTO several VALUES (1); INSERT INTO several VALUES (2)'));
    expectTyped(err, 'invalid_usage', '42601');
    expect(err.message).toMatch(/one SQL statement at a time.*nothing was run/);
    expect(await db.query('SELECT count(*)::int AS n FROM several')).toEqual([{ n: 0 }]);
  });

  it('a statement_timeout inside a transaction is a timeout (57014), where the engine has timers', async () => {
    const outcome = await db
      .transaction(async (tx) => {
        await tx.query(`SET LOCAL statement_timeout = '50ms'`);
        await tx.query('SELECT pg_sleep(0.5)');
      })
      .then(
        () => null,
        (err: Error & Record<string, unknown>) => err,
      );
    // PGlite runs in one thread with no timer interrupts: the sleep just finishes.
    if (engine.name === 'pglite') return expect(outcome).toBeNull();
    expectTyped(outcome!, 'timeout', '57014');
    expect(outcome).toBeInstanceOf(TimeoutError);
    expect(outcome!.message).toMatch(/statement timeout/);
  });
});

describePostgres('typed database errors between connections', () => {
  let t: TestDb;
  let db: Database;
  let other: Database;
  let pool: pg.Pool;

  beforeAll(async () => {
    t = await postgres.open();
    db = t.db;
    await db.migrate([addresses]);
    other = await t.reopen();
    pool = rawPool(2);
  });
  afterAll(async () => {
    await pool.end();
    await t.close();
  });

  /** Polls `sql` on the raw pool until it returns a row. */
  async function until(sql: string, params: unknown[]): Promise<void> {
    for (let i = 0; i < 500; i++) {
      if ((await pool.query(sql, params)).rowCount) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`timed out waiting for: ${sql}`);
  }
  const waitingOnLock = (pid: number) =>
    until(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'`, [pid]);
  const terminated = async (pid: number) => {
    await pool.query('SELECT pg_terminate_backend($1)', [pid]);
    await until('SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)', [pid]);
  };
  const backendPid = async (tx: Database) =>
    (await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'))[0]!.pid;
  const versions = async (id: string) => (await db.table(addresses).history(id)).length;

  it('a lock_timeout while another connection holds the row lock is a timeout (55P03)', async () => {
    const v = await db.table(addresses).insert({ name: 'Locked' });
    const holder = await pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(`SELECT 1 FROM "${t.schema}".addresses_head WHERE entry_id = $1 FOR UPDATE`, [
        v.entryId,
      ]);
      const err = await rejection(
        db.transaction(async (tx) => {
          await tx.query(`SET LOCAL lock_timeout = '100ms'`);
          return tx.table(addresses).update(v.entryId, { city: 'Blocked' });
        }),
      );
      expectTyped(err, 'timeout', '55P03');
      expect(err).toBeInstanceOf(TimeoutError);
      expect(err.message).toMatch(/lock timeout/);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    expect(await versions(v.entryId)).toBe(1);
  });

  it('a real deadlock between two transactions is a retryable conflict (40P01); running it again works', async () => {
    const x = (await db.table(addresses).insert({ name: 'X' })).entryId;
    const y = (await db.table(addresses).insert({ name: 'Y' })).entryId;
    let arrived = 0;
    let bothHoldOne!: () => void;
    const gate = new Promise<void>((r) => {
      bothHoldOne = r;
    });
    const crossUpdate = (h: Database, mine: string, theirs: string) =>
      h.transaction(async (tx) => {
        await tx.query(`SET LOCAL deadlock_timeout = '100ms'`);
        await tx.table(addresses).update(mine, { city: 'mine' });
        if (++arrived === 2) bothHoldOne();
        await gate;
        await tx.table(addresses).update(theirs, { city: 'theirs' });
      });
    const attempts = [() => crossUpdate(db, x, y), () => crossUpdate(other, y, x)];
    const results = await Promise.allSettled(attempts.map((run) => run()));
    const lost = results.findIndex((r) => r.status === 'rejected');
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    const err = (results[lost] as PromiseRejectedResult).reason as Error & Record<string, unknown>;
    expectTyped(err, 'conflict', '40P01');
    expect(err).toBeInstanceOf(ConflictError);
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/^deadlock detected; the transaction was aborted, run it again$/);
    // The loser wrote nothing: each entry has its insert and the winner's update.
    expect([await versions(x), await versions(y)]).toEqual([2, 2]);
    await attempts[lost]!();
    expect([await versions(x), await versions(y)]).toEqual([3, 3]);
  });

  it('a serialization failure raised by PostgreSQL is a retryable conflict (40001), not a version_conflict', async () => {
    const v = await db.table(addresses).insert({ name: 'Serial' });
    const err = await rejection(
      db.transaction(async (tx) => {
        await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
        await tx.table(addresses).get(v.entryId); // the snapshot is taken here
        await other.table(addresses).update(v.entryId, { city: 'Committed meanwhile' });
        await tx.table(addresses).update(v.entryId, { city: 'From the old snapshot' });
      }),
    );
    expectTyped(err, 'conflict', '40001');
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/could not serialize access/);
    expect(await versions(v.entryId)).toBe(2);
  });

  it('two concurrent inserts of one entryId: the second is a duplicate (23505), one version is written', async () => {
    const id = randomUUID();
    let firstInserted!: () => void;
    const inserted = new Promise<void>((r) => {
      firstInserted = r;
    });
    let mayCommit!: () => void;
    const commit = new Promise<void>((r) => {
      mayCommit = r;
    });
    const first = db.transaction(async (tx) => {
      await tx.table(addresses).insert({ name: 'First' }, { entryId: id });
      firstInserted();
      await commit;
    });
    await inserted;
    let secondPid = 0;
    const second = rejection(
      other.transaction(async (tx) => {
        secondPid = await backendPid(tx);
        return tx.table(addresses).insert({ name: 'Second' }, { entryId: id });
      }),
    );
    while (secondPid === 0) await new Promise((r) => setTimeout(r, 10));
    await waitingOnLock(secondPid);
    mayCommit();
    await first;
    const err = await second;
    expectTyped(err, 'duplicate', '23505');
    expect(err.message).toMatch(/^addresses entry [0-9a-f-]{36} already exists \(version 1\)$/);
    expect((await db.table(addresses).history(id)).map((v) => v.data.name)).toEqual(['First']);
  });

  it('a backend terminated mid-statement is a connection error (57P01); the handle reconnects', async () => {
    const err = await rejection(
      db.transaction(async (tx) => {
        const pid = await backendPid(tx);
        const sleeping = tx.query('SELECT pg_sleep(10)');
        // Handled now: it may reject before the terminate below has answered.
        sleeping.catch(() => {});
        await until(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND query LIKE '%pg_sleep%'`, [pid]);
        await pool.query('SELECT pg_terminate_backend($1)', [pid]);
        await sleeping;
      }),
    );
    expectTyped(err, 'connection', '57P01');
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err.message).toMatch(/^database connection failed: terminating connection/);
    expect(await db.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
  });

  it('a backend terminated between two statements: the next one is a connection error', async () => {
    const before = (await db.table(addresses).list()).length;
    const err = await rejection(
      db.transaction(async (tx) => {
        await tx.table(addresses).insert({ name: 'Before the loss' });
        await terminated(await backendPid(tx));
        await new Promise((r) => setTimeout(r, 50)); // the client reads the server's goodbye
        await tx.table(addresses).insert({ name: 'After the loss' });
      }),
    );
    // The driver saw the socket close before the statement: no SQLSTATE, node-postgres's own error.
    expectTyped(err, 'connection', undefined);
    expect(err.message).toMatch(/^database connection failed: Client has encountered a connection error/);
    expect((await db.table(addresses).list()).length).toBe(before);
  });

  it('a connection lost before COMMIT: the transaction rejects with a connection error, nothing written', async () => {
    const before = (await db.table(addresses).list()).length;
    const err = await rejection(
      db.transaction(async (tx) => {
        await tx.table(addresses).insert({ name: 'Never committed' });
        await terminated(await backendPid(tx));
        await new Promise((r) => setTimeout(r, 50));
      }),
    );
    expectTyped(err, 'connection', undefined);
    expect((await db.table(addresses).list()).length).toBe(before);
  });
});
