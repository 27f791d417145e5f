import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ChangeSet, column as c, type Database, table } from '../src/index.js';
import {
  type AppRoleDb,
  describeEngines,
  describePostgres,
  openAppRole,
  postgres,
  type TestDb,
} from './support/engines.js';
import { addresses, kitchen } from './support/tables.js';

/**
 * Every change set after `since` up to and including transaction `until`, read `limit` at a
 * time by following the cursor. On a shared PostgreSQL server another test file's open
 * transaction can hold the horizon back for a moment, so an empty page waits and reads again
 * (up to 20 s) until `until` has been seen.
 */
async function readUntil(
  db: Database,
  since: string | null,
  until: string,
  limit: number,
): Promise<ChangeSet[]> {
  const all: ChangeSet[] = [];
  let cursor = since;
  const deadline = Date.now() + 20_000;
  while (cursor === null || BigInt(cursor) < BigInt(until)) {
    const page = await db.changes({ since: cursor, limit });
    expect(page.changes.length).toBeLessThanOrEqual(limit);
    if (page.changes.length === 0) {
      expect(page.cursor).toBe(cursor);
      if (Date.now() > deadline) throw new Error(`transaction ${until} never reached the change reader`);
      await new Promise((resolve) => setTimeout(resolve, 25));
      continue;
    }
    all.push(...page.changes);
    cursor = page.cursor;
  }
  return all;
}

describeEngines('db.changes', (engine) => {
  let t: TestDb;
  let db: Database;

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
  });
  afterAll(() => t.close());

  it('is empty before anything is migrated or written', async () => {
    expect(await db.changes()).toEqual({ changes: [], cursor: null });
    await db.migrate([addresses, kitchen]);
    expect(await db.changes({ since: '5' })).toEqual({ changes: [], cursor: '5' });
  });

  it('groups every version one transaction wrote, across tables, in write order', async () => {
    const start = (await db.changes({ limit: 1_000 })).cursor;
    const solo = await db.table(addresses).insert({ name: 'Solo' }, { actor: 'sam' });
    const [a, k, a2] = await db.withContext({ actor: 'req-42' }, (scoped) =>
      scoped.transaction(async (tx) => {
        const a = await tx.table(addresses).insert({ name: 'Multi', addressLine1: 'Street 1' });
        const k = await tx.table(kitchen).insert({ label: 'pot', count: 3 });
        const a2 = await tx.table(addresses).update(a.entryId, { city: 'Oslo' }, { actor: 'req-42/bob' });
        return [a, k, a2] as const;
      }),
    );
    await db
      .transaction(async (tx) => {
        await tx.table(addresses).insert({ name: 'Rolled back' });
        throw new Error('rollback');
      })
      .catch(() => {});
    const sets = await readUntil(db, start, a.txId, 100);
    expect(sets.map((s) => s.versions.length)).toEqual([1, 3]);
    const [first, second] = sets as [ChangeSet, ChangeSet];
    expect(first).toMatchObject({ txId: solo.txId, actor: 'sam', recordedAtIso: solo.recordedAtIso });
    expect(second).toMatchObject({ txId: a.txId, actor: 'req-42', recordedAtIso: a.recordedAtIso });
    expect(second.recordedAt).toEqual(a.recordedAt);
    expect(second.versions.map((v) => [v.table, v.entryId, v.version, v.op, v.actor])).toEqual([
      ['addresses', a.entryId, 1, 'insert', 'req-42'],
      ['kitchen', k.entryId, 1, 'insert', 'req-42'],
      ['addresses', a.entryId, 2, 'update', 'req-42/bob'],
    ]);
    // Without definitions, data is keyed by SQL column names; everything else is the Version.
    const { data, table: name, ...rest } = second.versions[2]!;
    const { data: typed, ...expected } = a2;
    expect(rest).toEqual(expected);
    expect(name).toBe('addresses');
    expect(data).toEqual({
      name: 'Multi',
      address_line_1: 'Street 1',
      city: 'Oslo',
      postcode: null,
      tel: null,
    });
    expect(typed.addressLine1).toBe('Street 1');
    // With definitions, only those tables are read and data has the definition's keys.
    const onlyAddresses = await db.changes({ since: start, tables: [addresses] });
    expect(onlyAddresses.changes.map((s) => s.versions.map((v) => v.table))).toEqual([
      ['addresses'],
      ['addresses', 'addresses'],
    ]);
    expect(onlyAddresses.changes[1]!.versions[1]!.data).toEqual(a2.data);
    // Paging one set at a time sees the same sets in the same order.
    expect(await readUntil(db, start, a.txId, 1)).toEqual(sets);
    // Nothing is left after the last set: the rolled-back transaction wrote no change set.
    expect((await db.changes({ since: a.txId })).changes).toEqual([]);
  });

  it('refuses bad options with typed errors', async () => {
    const ghost = table('never_migrated', { x: c.text() });
    await expect(db.changes({ since: 'abc' })).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'since',
    });
    await expect(db.changes({ since: '1'.repeat(21) })).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'since',
    });
    await expect(db.changes({ since: '18446744073709551616' })).rejects.toMatchObject({
      code: 'invalid_input',
    });
    await expect(db.changes({ since: 5 as never })).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'since',
    });
    await expect(db.changes({ limit: 0 })).rejects.toMatchObject({ code: 'invalid_input', field: 'limit' });
    await expect(db.changes({ limit: 1.5 })).rejects.toMatchObject({ code: 'invalid_input', field: 'limit' });
    await expect(db.changes({ tables: [ghost] })).rejects.toMatchObject({ code: 'not_found' });
    await expect(db.changes({ tables: 'addresses' as never })).rejects.toMatchObject({
      code: 'invalid_input',
    });
  });
});

describePostgres('db.changes under concurrency', () => {
  let t: TestDb;
  let db: Database;
  let reader: Database;

  beforeAll(async () => {
    t = await postgres.open();
    db = t.db;
    reader = await t.reopen();
    await db.migrate([addresses]);
  });
  afterAll(() => t.close());

  it('never returns a transaction past one that is still open and commits later (invariant 8)', async () => {
    const start = (await reader.changes({ limit: 1_000 })).cursor;
    let wrote!: (txId: string) => void;
    const slowWrote = new Promise<string>((resolve) => {
      wrote = resolve;
    });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // The slow transaction takes its transaction id first, then stays open.
    const slow = db.transaction(async (tx) => {
      const v = await tx.table(addresses).insert({ name: 'Slow' });
      wrote(v.txId);
      await gate;
      return v;
    });
    const slowTx = await slowWrote;
    const fast = await reader.table(addresses).insert({ name: 'Fast' });
    expect(BigInt(fast.txId)).toBeGreaterThan(BigInt(slowTx));
    // The fast transaction is committed and visible to any plain query…
    const visible = await reader.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM addresses_log WHERE tx_id = $1::xid8',
      [fast.txId],
    );
    expect(visible[0]!.n).toBe(1);
    // …but the change reader holds it back while the slower one is open: reading it now and
    // moving the cursor past it would skip the slow one for ever.
    const during = await reader.changes({ since: start });
    expect(during.changes.map((s) => s.txId)).toEqual([]);
    expect(during.cursor).toBe(start);
    release();
    const slowV = await slow;
    const after = await readUntil(reader, during.cursor, fast.txId, 10);
    expect(after.map((s) => [s.txId, s.versions.map((v) => v.data.name)])).toEqual([
      [slowV.txId, ['Slow']],
      [fast.txId, ['Fast']],
    ]);
  });
});

describePostgres('db.changes as the least-privilege application role', () => {
  let session: AppRoleDb;
  afterAll(() => session?.close());

  it('reads the feed the owner reads (the recorded definitions are readable to it)', async () => {
    session = await openAppRole('feed', [addresses], 1);
    const v = await session.app.table(addresses).insert({ name: 'Ada' });
    const feed = await readUntil(session.app, null, v.txId, 10);
    expect(feed.map((s) => s.txId)).toEqual([v.txId]);
    expect(feed).toEqual(await readUntil(session.t.db, null, v.txId, 10));
  });
});
