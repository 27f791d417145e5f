import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ChangeSet, type Database, isAppendLogError, type Subscription } from '../src/index.js';
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
    await db.transaction(async (tx) => {
      expect(code(() => tx.subscribe({}, () => {}))).toBe('invalid_usage');
    });
  });
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
});
