import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ChangeSet, connect, type Database, isAppendLogError, type Subscription } from '../src/index.js';
import { describeEngines, describePostgres, postgres, rawPool, type TestDb } from './support/engines.js';
import { addresses, kitchen } from './support/tables.js';

/** Resolves once `check()` holds, polling; fails after `ms` (the shared server's horizon can lag). */
async function until(check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A subscription collecting every set it is handed. */
function collect(db: Database, options: Parameters<Database['subscribe']>[0] = {}) {
  const sets: ChangeSet[] = [];
  const sub = db.subscribe(options, (set) => {
    sets.push(set);
  });
  return { sets, sub };
}

describeEngines('db.subscribe', (engine) => {
  let t: TestDb;
  let db: Database;
  const subs: Subscription[] = [];

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    await db.migrate([addresses, kitchen]);
  });
  afterAll(async () => {
    await Promise.all(subs.map((s) => s.stop()));
    await t.close();
  });

  it('pushes every change set from the beginning, once each and in order, then keeps following', async () => {
    const a = await db.table(addresses).insert({ name: 'A' });
    const { sets, sub } = collect(db, { interval: 50 });
    subs.push(sub);
    await until(() => sets.some((s) => s.txId === a.txId));
    const [k, a2] = await db.transaction(async (tx) => [
      await tx.table(kitchen).insert({ label: 'pot', count: 1 }),
      await tx.table(addresses).update(a.entryId, { city: 'Oslo' }),
    ]);
    await until(() => sets.some((s) => s.txId === k!.txId));
    const txIds = sets.map((s) => BigInt(s.txId));
    expect([...txIds].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))).toEqual(txIds);
    expect(new Set(txIds).size).toBe(txIds.length);
    expect(sets.at(-1)!.versions.map((v) => [v.table, v.entryId, v.version])).toEqual([
      ['kitchen', k!.entryId, 1],
      ['addresses', a2!.entryId, 2],
    ]);
    expect(sub.cursor).toBe(k!.txId);
    await sub.stop();
    await expect(sub.done).resolves.toBeUndefined();
  });

  it('resumes after a cursor and reads only the tables asked for', async () => {
    const before = await db.table(addresses).insert({ name: 'before' });
    const k = await db.table(kitchen).insert({ label: 'lid', count: 2 });
    const after = await db.table(addresses).insert({ name: 'after' });
    const { sets, sub } = collect(db, { since: before.txId, tables: [addresses], interval: 50 });
    subs.push(sub);
    await until(() => sets.some((s) => s.txId === after.txId));
    await sub.stop();
    expect(sets.map((s) => s.txId)).toEqual([after.txId]);
    expect(sets.some((s) => s.txId === k.txId)).toBe(false);
    // Typed by the definition given: data keys are the table's keys.
    expect(sets[0]!.versions[0]!.data).toMatchObject({ name: 'after' });
  });

  it('awaits the handler before the next set (backpressure) and stops cleanly in the middle', async () => {
    const start = (await db.changes({ limit: 100_000 })).cursor;
    for (let i = 0; i < 6; i++) await db.table(kitchen).insert({ label: `k${i}`, count: i });
    let running = 0;
    let most = 0;
    const seen: string[] = [];
    let release!: () => void;
    const third = new Promise<void>((r) => {
      release = r;
    });
    const sub = db.subscribe({ since: start, batchSize: 2, interval: 50 }, async (set) => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 5));
      seen.push(set.txId);
      if (seen.length === 3) release();
      running--;
    });
    subs.push(sub);
    await third;
    await sub.stop();
    const stoppedAt = seen.length;
    expect(most).toBe(1);
    expect(sub.cursor).toBe(seen.at(-1));
    await new Promise((r) => setTimeout(r, 150));
    expect(seen.length).toBe(stoppedAt); // nothing after stop()
    expect(stoppedAt).toBeLessThan(6);
    // Resuming from the cursor gives the rest, none twice.
    const { sets, sub: rest } = collect(db, { since: sub.cursor, interval: 50 });
    subs.push(rest);
    await until(() => seen.length + sets.length >= 6);
    await rest.stop();
    expect(new Set([...seen, ...sets.map((s) => s.txId)]).size).toBe(seen.length + sets.length);
  });

  it('ends with the handler error, the cursor at the last set it finished', async () => {
    const start = (await db.changes({ limit: 100_000 })).cursor;
    const first = await db.table(kitchen).insert({ label: 'ok', count: 1 });
    await db.table(kitchen).insert({ label: 'boom', count: 2 });
    const sub = db.subscribe({ since: start, interval: 50 }, (set) => {
      if (set.versions[0]!.data.label === 'boom') throw new Error('handler failed');
    });
    await expect(sub.done).rejects.toThrow('handler failed');
    expect(sub.cursor).toBe(first.txId);
    await sub.stop(); // idempotent after the end
  });

  it('wakes on a commit (LISTEN/NOTIFY), long before its polling interval', async () => {
    const start = (await db.changes({ limit: 100_000 })).cursor;
    const { sets, sub } = collect(db, { since: start, interval: 60_000 });
    subs.push(sub);
    await until(() => sub.listening, 5_000);
    const v = await db.table(addresses).insert({ name: 'woken' });
    const began = Date.now();
    await until(() => sets.some((s) => s.txId === v.txId), 30_000);
    // On a shared server another database's open transaction can hold the horizon for a while:
    // the feed then retries with backoff, still far below the minute of its interval.
    expect(Date.now() - began).toBeLessThan(30_000);
    await sub.stop();
  });

  it('refuses bad options with invalid_input, and a transaction handle with invalid_usage', async () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        return isAppendLogError(err) ? err.code : String(err);
      }
      return 'none';
    };
    expect(code(() => db.subscribe({ since: 'x' }, () => {}))).toBe('invalid_input');
    expect(code(() => db.subscribe({ interval: 0 }, () => {}))).toBe('invalid_input');
    expect(code(() => db.subscribe({ batchSize: 1.5 }, () => {}))).toBe('invalid_input');
    expect(code(() => db.subscribe(null as never, () => {}))).toBe('invalid_input');
    expect(code(() => db.subscribe({}, 'no' as never))).toBe('invalid_input');
    expect(code(() => db.subscribe({ tables: [] }, () => {}))).toBe('invalid_input');
    expect(code(() => db.subscribe({ tables: ['addresses'] as never }, () => {}))).toBe('invalid_input');
    expect(code(() => db.subscribe({ tables: addresses as never }, () => {}))).toBe('invalid_input');
    expect(code(() => db.subscribe({ interval: Number.POSITIVE_INFINITY }, () => {}))).toBe('invalid_input');
    expect(code(() => db.subscribe({ listen: 'yes' as never }, () => {}))).toBe('invalid_input');
    expect(code(() => db.subscribe({ since: '-1' }, () => {}))).toBe('invalid_input');
    await db.transaction(async (tx) => {
      expect(code(() => tx.subscribe({}, () => {}))).toBe('invalid_usage');
    });
  });
});

describeEngines('db.subscribe in one process', (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await engine.open();
    await t.db.migrate([addresses, kitchen]);
  });
  afterAll(() => t.close());

  it('a handler that writes through the same handle, and a projection beside it, while the app writes in transactions', async () => {
    // On PGlite everything shares one connection: a feed that held it across the handler, or
    // read inside the app's transaction, would hang here.
    const { db } = t;
    const start = (await db.changes({ limit: 100_000 })).cursor;
    const audited: string[] = [];
    const sub = db.subscribe({ since: start, tables: [addresses], interval: 50 }, async (set) => {
      for (const v of set.versions) {
        await db.transaction(async (tx) => {
          await tx.table(kitchen).insert({ label: `saw ${v.entryId}`, count: v.version });
        });
        audited.push(v.entryId);
      }
    });
    const seen: string[] = [];
    const run = db
      .projection(`one_process_${engine.name}`, {
        tables: [kitchen],
        apply: (set) => {
          for (const v of set.versions) seen.push(String(v.data.label));
        },
      })
      .start();
    const written: string[] = [];
    for (let i = 0; i < 5; i++) {
      const v = await db.transaction(async (tx) => {
        const a = await tx.table(addresses).insert({ name: `p${i}` });
        await tx.table(addresses).update(a.entryId, { city: 'x' });
        return a;
      });
      written.push(v.entryId);
    }
    await until(() => audited.length === 10);
    await until(() => written.every((id) => seen.includes(`saw ${id}`)));
    await sub.stop();
    await run.stop();
    expect([...new Set(audited)].sort()).toEqual([...written].sort());
    await expect(sub.done).resolves.toBeUndefined();
    await expect(run.done).resolves.toBeUndefined();
  });
});

describePostgres('db.subscribe when its connections are lost', () => {
  let t: TestDb;
  let db: Database;
  // Names this file's connections on the shared server, so the test ends only its own backends.
  const appName = `appendlog_test_${Math.random().toString(36).slice(2, 10)}`;
  const admin = () => rawPool(1);

  beforeAll(async () => {
    t = await postgres.open();
    await t.db.migrate([addresses]);
    const url = new URL(process.env.DATABASE_URL!);
    url.searchParams.set('application_name', appName);
    db = await connect({ url: url.toString(), schema: t.schema, notify: true });
  });
  afterAll(async () => {
    await db.close();
    await t.close();
  });

  /** Terminates this file's backends: the listening one, or every one (the pool's too). */
  async function terminate(which: 'listener' | 'all'): Promise<number[]> {
    const pool = admin();
    try {
      const rows = await pool.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity
          WHERE application_name = $1 AND pid <> pg_backend_pid()
            AND ($2 = 'all' OR query LIKE 'LISTEN %')`,
        [appName, which],
      );
      const pids = rows.rows.map((r) => r.pid);
      await pool.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [pids]);
      return pids;
    } finally {
      await pool.end();
    }
  }

  async function listenerPids(): Promise<number[]> {
    const pool = admin();
    try {
      const { rows } = await pool.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN %'`,
        [appName],
      );
      return rows.map((r) => r.pid);
    } finally {
      await pool.end();
    }
  }

  it('polls while its LISTEN connection is gone, then LISTENs again on a new one', async () => {
    const start = (await db.changes({ limit: 100_000 })).cursor;
    // A minute between reads: only a notification, or the feed noticing the lost listener, can
    // deliver a set in time.
    const { sets, sub } = collect(db, { since: start, interval: 60_000 });
    try {
      await until(() => sub.listening);
      const [first] = await listenerPids();
      expect(first).toBeTypeOf('number');
      expect(await terminate('listener')).toEqual([first]);
      await until(() => !sub.listening);
      const during = await db.table(addresses).insert({ name: 'while deaf' });
      // Read when LISTEN is tried again (within 5 s), not after the minute of the interval.
      await until(() => sets.some((s) => s.txId === during.txId), 45_000);
      await until(() => sub.listening);
      const [second] = await listenerPids();
      expect(second).toBeTypeOf('number');
      expect(second).not.toBe(first);
      const after = await db.table(addresses).insert({ name: 'heard again' });
      await until(() => sets.some((s) => s.txId === after.txId), 45_000);
      const txIds = sets.map((s) => s.txId);
      expect(new Set(txIds).size).toBe(txIds.length);
    } finally {
      await sub.stop();
    }
    await expect(sub.done).resolves.toBeUndefined();
  }, 150_000);

  /**
   * Holds a lock of `mode` on `table` until `fn` is done: takes it, runs `locked`, waits
   * for one of this file's backends to be blocked on it (a read, or a projection's write, caught
   * in flight), then runs `fn`.
   */
  async function whileBlockedOn(
    table: string,
    mode: 'ACCESS EXCLUSIVE' | 'SHARE',
    fn: () => Promise<void>,
    locked: () => Promise<unknown> = async () => {},
  ): Promise<void> {
    const pool = admin();
    const locker = await pool.connect();
    try {
      await locker.query('BEGIN');
      // ACCESS EXCLUSIVE (which a read waits for) gives the locker a transaction id, below any
      // written after it: a feed would then wait for the locker to end. SHARE, enough to stop an
      // INSERT, does not.
      await locker.query(`LOCK TABLE "${t.schema}"."${table}" IN ${mode} MODE`);
      await locked();
      const blocked = async () =>
        (
          await locker.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
            [appName],
          )
        ).rows[0].n as number;
      // Up to 45 s: a projection applies 'cut' only once no older transaction on the shared
      // server holds the horizon below it.
      const deadline = Date.now() + 45_000;
      while ((await blocked()) === 0) {
        if (Date.now() > deadline) {
          const seen = await locker.query(
            `SELECT state, wait_event_type, wait_event, left(query, 60) AS q FROM pg_stat_activity WHERE application_name = $1`,
            [appName],
          );
          throw new Error(`no backend of the test blocked on the lock: ${JSON.stringify(seen.rows)}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      await fn();
    } finally {
      await locker.query('COMMIT').catch(() => {});
      locker.release();
      await pool.end();
    }
  }

  it('reads on when its connection is terminated in the middle of a read, losing and repeating nothing', async () => {
    const start = (await db.changes({ limit: 100_000 })).cursor;
    const before = await t.db.table(addresses).insert({ name: 'before' });
    const { sets, sub } = collect(db, { since: start, interval: 50 });
    try {
      await until(() => sets.some((s) => s.txId === before.txId));
      const during = await t.db.table(addresses).insert({ name: 'during' });
      await whileBlockedOn('addresses_log', 'ACCESS EXCLUSIVE', async () => {
        expect((await terminate('all')).length).toBeGreaterThan(0);
        // The read failed for want of a connection; the feed says so and keeps trying.
        await until(() => sub.connectionError !== null);
        expect(sub.connectionError).toMatchObject({ code: 'connection' });
      });
      await until(() => sets.some((s) => s.txId === during.txId), 45_000);
      const after = await t.db.table(addresses).insert({ name: 'after' });
      await until(() => sets.some((s) => s.txId === after.txId), 45_000);
      expect(sub.connectionError).toBeNull();
      expect(sets.map((s) => s.txId)).toEqual([before.txId, during.txId, after.txId]);
    } finally {
      await sub.stop();
    }
    await expect(sub.done).resolves.toBeUndefined();
  }, 150_000);

  it('a projection whose transaction is cut by a terminated connection applies that round again, once', async () => {
    await t.db.query('CREATE TABLE lost_counts (name text PRIMARY KEY, n int NOT NULL)');
    const run = db
      .projection('lost_connection', {
        tables: [addresses],
        interval: 50,
        apply: async (set, tx) => {
          for (const v of set.versions)
            await tx.query(
              `INSERT INTO lost_counts (name, n) VALUES ($1, 1)
               ON CONFLICT (name) DO UPDATE SET n = lost_counts.n + 1`,
              [String(v.data.name)],
            );
        },
      })
      .start();
    try {
      await until(() => run.listening);
      await whileBlockedOn(
        'lost_counts',
        'SHARE',
        async () => {
          // The projection's apply waits on the lock inside its transaction; end that connection.
          expect((await terminate('all')).length).toBeGreaterThan(0);
          await until(() => run.connectionError !== null);
        },
        () => t.db.table(addresses).insert({ name: 'cut' }),
      );
      await t.db.table(addresses).insert({ name: 'next' });
      const counts = async () =>
        t.db.query<{ name: string; n: number }>(
          `SELECT name, n FROM lost_counts WHERE name IN ('cut', 'next') ORDER BY name`,
        );
      const deadline = Date.now() + 45_000;
      while ((await counts()).length < 2 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      expect(await counts()).toEqual([
        { name: 'cut', n: 1 },
        { name: 'next', n: 1 },
      ]);
      expect(run.connectionError).toBeNull();
    } finally {
      await run.stop();
    }
    await expect(run.done).resolves.toBeUndefined();
  }, 150_000);
});

describePostgres('db.subscribe: the wake-up', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await postgres.open();
    await t.db.migrate([addresses]);
  });
  afterAll(() => t.close());

  it('is one notification per committed transaction, naming the schema, never the data', async () => {
    const pool = rawPool(1);
    const client = await pool.connect();
    const got: string[] = [];
    client.on('notification', (m) => got.push(`${m.channel}:${m.payload}`));
    await client.query('LISTEN appendlog_changes');
    await t.db.transaction(async (tx) => {
      await tx.table(addresses).insert({ name: 'one' });
      await tx.table(addresses).insert({ name: 'two' });
    });
    await t.db
      .transaction(async (tx) => {
        await tx.table(addresses).insert({ name: 'rolled back' });
        throw new Error('rollback');
      })
      .catch(() => {});
    await until(() => got.includes(`appendlog_changes:${t.schema}`), 5_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(got.filter((g) => g === `appendlog_changes:${t.schema}`)).toHaveLength(1);
    client.release();
    await pool.end();
  });

  it('comes from every write path: a set-based load, and a raw UPDATE of many rows, once per transaction', async () => {
    const pool = rawPool(2);
    const listener = await pool.connect();
    const writer = await pool.connect();
    const got: string[] = [];
    // The channel is the server's: other schemas' writes (other tests) notify it too.
    listener.on('notification', (m) => {
      if (m.payload === t.schema) got.push(m.payload);
    });
    await listener.query('LISTEN appendlog_changes');
    const settle = async (n: number) => {
      await until(() => got.length >= n, 5_000);
      await new Promise((r) => setTimeout(r, 200));
      return got.length;
    };
    // The set-based load switches the chain trigger off, so it sends its own.
    await t.db.table(addresses).insertMany([{ name: 'm1' }, { name: 'm2' }, { name: 'm3' }]);
    expect(await settle(1)).toBe(1);
    // A session that opted in: one wake-up for a statement that appends many versions.
    await writer.query(`SET search_path = "${t.schema}"`);
    await writer.query(`SET appendlog.notify = on`);
    await writer.query(`UPDATE addresses SET city = 'Everywhere' WHERE name LIKE 'm%'`);
    expect(await settle(2)).toBe(2);
    // A session that did not opt in sends none.
    await writer.query(`SET appendlog.notify = off`);
    await writer.query(`UPDATE addresses SET city = 'Nowhere' WHERE name LIKE 'm%'`);
    await new Promise((r) => setTimeout(r, 300));
    expect(got).toEqual([t.schema, t.schema]);
    listener.release();
    writer.release();
    await pool.end();
  });
});
