import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_UPDATE_SHAPES } from '../src/api/table.js';
import { column as c, type Database, type Table, table } from '../src/index.js';
import { describeEngines, type TestDb } from './support/engines.js';
import { addresses, kitchen } from './support/tables.js';

/** A value for every column of `kitchen`. */
const everyType = {
  label: 'all',
  count: -7,
  big: '9007199254740993',
  price: '12.3400',
  active: false,
  born: '1999-12-31',
  seenAt: '2026-03-04T05:06:07.123456+02:00',
  doc: { tags: ['a', 'ü'], n: 1.5 },
  ref: '6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b',
};

describeEngines('core table API', (engine) => {
  let t: TestDb;
  let db: Database;
  let book: Table<typeof addresses.definition>;

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    await db.migrate([addresses]);
    book = db.table(addresses);
  });
  afterAll(() => t.close());

  it('inserts version 1 and reads it back', async () => {
    const v1 = await book.insert({ name: 'Thor', city: 'Asgard' }, { actor: 'alice' });
    expect(v1).toMatchObject({ version: 1, op: 'insert', actor: 'alice', reason: null, parentHash: null });
    expect(v1.data).toEqual({ name: 'Thor', addressLine1: null, city: 'Asgard', postcode: null, tel: null });
    expect(v1.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(v1.recordedAtIso).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    expect(await book.get(v1.entryId)).toEqual(v1);
  });

  it('update appends a version, carries unset columns forward and links the chain', async () => {
    const v1 = await book.insert({ name: 'Loki', city: 'Asgard', tel: '123' });
    const v2 = await book.update(
      v1.entryId,
      { city: 'Oslo' },
      { expectedVersion: 1, reason: 'moved', actor: 'bob' },
    );
    expect(v2).toMatchObject({
      version: 2,
      op: 'update',
      reason: 'moved',
      actor: 'bob',
      parentHash: v1.hash,
    });
    expect(v2.data).toMatchObject({ name: 'Loki', city: 'Oslo', tel: '123' });
    expect(v2.recordedAt.getTime()).toBeGreaterThanOrEqual(v1.recordedAt.getTime());
    const history = await book.history(v1.entryId);
    expect(history.map((v) => [v.version, v.data.city])).toEqual([
      [1, 'Asgard'],
      [2, 'Oslo'],
    ]);
    const v3 = await book.update(v1.entryId, { tel: null });
    expect(v3.data.tel).toBeNull();
    expect(v3.data.city).toBe('Oslo');
  });

  it('an update stores every column type as an insert of the same values does, and verifies', async () => {
    await db.migrate([kitchen]);
    const k = db.table(kitchen);
    const values = everyType;
    const start = await k.insert({ label: 'empty' });
    const updated = await k.update(start.entryId, values, { expectedVersion: 1 });
    const inserted = await k.insert(values);
    expect(updated.data).toEqual(inserted.data);
    expect(await k.get(start.entryId)).toEqual(updated);
    // Back to nulls, one column kept: carried forward, not reset.
    const cleared = await k.update(start.entryId, { count: null, doc: null, seenAt: null });
    expect(cleared.data).toEqual({ ...inserted.data, count: null, doc: null, seenAt: null });
    // Inside a transaction (the locking form on PostgreSQL), with and without an expectation.
    const inTx = await db.transaction(async (tx) => {
      await tx.table(kitchen).update(start.entryId, { label: 'tx 1' }, { expectedVersion: 3 });
      return tx.table(kitchen).update(start.entryId, { active: true });
    });
    expect(inTx).toMatchObject({ version: 5, data: { ...cleared.data, label: 'tx 1', active: true } });
    expect((await db.verify()).ok).toBe(true);
  });

  it('insert and update return each version exactly as the log holds it, whatever they read back', async () => {
    // insert and update read back only what they did not send (and the types the database stores
    // in its own form); the rest of the returned version is the caller's input. Each must still
    // equal the version as history reads it from the log: every type, nulls sent, defaults taken,
    // values carried forward, labels from the context, meta as the database normalises it.
    const defaults = table('kitchen_defaults', {
      label: c.text().notNull(),
      status: c.text().notNull().default('open'),
      priority: c.integer().default(3),
      flag: c.boolean().default(true),
      note: c.text(),
    });
    await db.migrate([kitchen, defaults]);
    const k = db.table(kitchen);
    const d = db.table(defaults);
    const meta = { z: 1, a: [1, 2], nested: { b: 'ü', a: null } };
    // The uuid in capitals: stored (and returned) in PostgreSQL's own form.
    const all = await k.insert({ ...everyType, ref: everyType.ref.toUpperCase() }, { meta });
    const nulls = await k.insert({ label: 'nulls', count: null, active: null, doc: null });
    const defaulted = await d.insert({ label: 'defaults' });
    const inKitchen = [
      all,
      nulls,
      await k.update(all.entryId, { count: 0, seenAt: '2026-12-06T00:00:00Z' }, { reason: 'fix' }),
      await k.update(nulls.entryId, { label: 'still nulls', big: '-1' }),
    ];
    const given = await d.insert({ label: 'given', status: 'done', priority: null, flag: false, note: '' });
    const patched = await d.update(defaulted.entryId, { note: 'x', priority: 9 }, { expectedVersion: 1 });
    const fromContext = await db.withContext(
      { actor: 'ctx', reason: 'why', meta: { ip: '10.0.0.1' } },
      (scoped) => scoped.table(defaults).update(defaulted.entryId, { flag: null }),
    );
    const inDefaults = [defaulted, given, patched, fromContext];
    for (const v of inKitchen) {
      expect(v).toEqual((await k.history(v.entryId)).find((h) => h.version === v.version));
    }
    for (const v of inDefaults) {
      expect(v).toEqual((await d.history(v.entryId)).find((h) => h.version === v.version));
    }
    expect(defaulted.data).toEqual({
      label: 'defaults',
      status: 'open',
      priority: 3,
      flag: true,
      note: null,
    });
    expect(all.meta).toEqual(meta);
    expect(all.data.ref).toBe('6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b');
    expect(fromContext).toMatchObject({
      actor: 'ctx',
      reason: 'why',
      meta: { ip: '10.0.0.1' },
      version: 3,
    });
    expect((await db.verify()).ok).toBe(true);
  });

  it('patching ever-new sets of columns keeps working and prepares a bounded number of statements', async () => {
    await db.migrate([kitchen]);
    const k = db.table(kitchen);
    const keys = ['count', 'big', 'price', 'active', 'born', 'seenAt', 'doc'] as const;
    expect(MAX_UPDATE_SHAPES).toBeLessThan(2 ** keys.length - 1); // so the loop runs past the limit
    const v1 = await k.insert({ label: 'shapes' });
    let expected: Record<string, unknown> = { ...v1.data };
    await db.transaction(async (tx) => {
      const kt = tx.table(kitchen);
      // Every non-empty subset of seven columns: 127 sets, far past MAX_UPDATE_SHAPES.
      for (let mask = 1; mask < 1 << keys.length; mask++) {
        const patch: Record<string, unknown> = { label: `m${mask}` };
        keys.forEach((key, i) => {
          if (mask & (1 << i)) patch[key] = sampleValue(key, mask);
        });
        const v = await kt.update(v1.entryId, patch);
        expected = { ...expected, ...patch };
        expect(v.data).toEqual(expected);
      }
      const [row] = await tx.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_catalog.pg_prepared_statements
          WHERE statement LIKE 'UPDATE "' || $1 || '"."kitchen_head"%'`,
        [db.schema],
      );
      expect(row!.n).toBeLessThanOrEqual(MAX_UPDATE_SHAPES);
      if (engine.name === 'postgres') expect(row!.n).toBeGreaterThan(0);
    });
    expect((await k.history(v1.entryId)).length).toBe(128);
    expect((await db.verify({ tables: ['kitchen'] })).ok).toBe(true);
  });

  it('refuses a stale expectedVersion with a typed conflict carrying both versions', async () => {
    const v1 = await book.insert({ name: 'Odin' });
    await book.update(v1.entryId, { city: 'Valhalla' });
    const err = await book.update(v1.entryId, { city: 'Midgard' }, { expectedVersion: 1 }).catch((e) => e);
    expect(err).toMatchObject({ code: 'version_conflict', expected: 1, actual: 2, sqlState: '40001' });
    expect((await book.history(v1.entryId)).length).toBe(2);
  });

  it('delete needs a reason, hides the entry and restore brings it back', async () => {
    const v1 = await book.insert({ name: 'Frigg', city: 'Fensalir' });
    await expect(book.delete(v1.entryId, { reason: '' })).rejects.toMatchObject({ code: 'reason_required' });
    await expect(book.delete(v1.entryId, {} as { reason: string })).rejects.toMatchObject({
      code: 'reason_required',
    });
    const d = await book.delete(v1.entryId, { reason: 'duplicate' });
    expect(d).toMatchObject({ version: 2, op: 'delete', reason: 'duplicate' });
    expect(d.data.city).toBe('Fensalir');
    expect(await book.get(v1.entryId)).toBeNull();
    expect((await book.list()).some((v) => v.entryId === v1.entryId)).toBe(false);
    await expect(book.update(v1.entryId, { city: 'x' })).rejects.toMatchObject({ code: 'not_found' });
    await expect(book.delete(v1.entryId, { reason: 'again' })).rejects.toMatchObject({ code: 'not_found' });
    const r = await book.restore(v1.entryId, { actor: 'carol' });
    expect(r).toMatchObject({ version: 3, op: 'restore', actor: 'carol' });
    expect(r.data.city).toBe('Fensalir');
    expect((await book.get(v1.entryId))?.version).toBe(3);
    await expect(book.restore(v1.entryId)).rejects.toMatchObject({ code: 'invalid_state' });
  });

  it('get reads the latest version from the log, and agrees with the head and the view in every state', async () => {
    const live = await book.insert({ name: 'Live', city: 'a' });
    await book.update(live.entryId, { city: 'b' });
    const gone = await book.insert({ name: 'Gone' });
    await book.delete(gone.entryId, { reason: 'test' });
    const back = await book.insert({ name: 'Back' });
    await book.delete(back.entryId, { reason: 'test' });
    await book.restore(back.entryId);
    const forgotten = await book.insert({ name: 'Forgotten' });
    await book.forget(forgotten.entryId, { reason: 'test', after: '1 day' });
    const ids = [live, gone, back, forgotten].map((v) => v.entryId);
    const heads = await db.query<{ entry_id: string; version: number; deleted: boolean }>(
      `SELECT entry_id::text, version, deleted FROM addresses_head WHERE entry_id = ANY($1::uuid[])`,
      [ids],
    );
    const viewed = await db.query<{ entry_id: string; version: number }>(
      `SELECT entry_id::text, version FROM addresses WHERE entry_id = ANY($1::uuid[])`,
      [ids],
    );
    for (const id of ids) {
      const head = heads.find((h) => h.entry_id === id)!;
      const got = await book.get(id);
      expect(got?.version ?? null).toBe(head.deleted ? null : head.version);
      expect(got?.version ?? null).toBe(viewed.find((v) => v.entry_id === id)?.version ?? null);
      if (got) expect(got).toEqual((await book.history(id)).at(-1));
    }
    expect((await book.get(live.entryId))?.data.city).toBe('b');
    expect((await book.get(back.entryId))?.op).toBe('restore');
  });

  it('unknown entries are typed errors, get returns null', async () => {
    const ghost = '00000000-0000-4000-8000-000000000000';
    expect(await book.get(ghost)).toBeNull();
    await expect(book.update(ghost, { city: 'x' })).rejects.toMatchObject({ code: 'not_found' });
    await expect(book.history(ghost)).rejects.toMatchObject({ code: 'not_found' });
    await expect(book.restore(ghost)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('insert with a chosen entryId, and a second insert of it is a duplicate', async () => {
    const id = '2b7f7f2e-5d7e-4a43-9d1e-0d0c1e2f3a4b';
    const v = await book.insert({ name: 'Baldr' }, { entryId: id.toUpperCase() });
    expect(v.entryId).toBe(id);
    await expect(book.insert({ name: 'Baldr again' }, { entryId: id })).rejects.toMatchObject({
      code: 'duplicate',
      sqlState: '23505',
    });
    expect((await book.history(id)).length).toBe(1);
  });

  it('list filters by equality, orders, limits and offsets', async () => {
    await db.migrate([addresses]);
    for (const [name, city] of [
      ['Ann', 'Bergen'],
      ['Bea', 'Bergen'],
      ['Cid', 'Tromsø'],
      ['Dag', 'Bergen'],
    ] as const) {
      await book.insert({ name, city });
    }
    const bergen = await book.list({
      where: { city: 'Bergen' },
      orderBy: { field: 'name', direction: 'desc' },
    });
    expect(bergen.map((v) => v.data.name)).toEqual(['Dag', 'Bea', 'Ann']);
    const page = await book.list({ where: { city: 'Bergen' }, orderBy: 'name', limit: 2, offset: 1 });
    expect(page.map((v) => v.data.name)).toEqual(['Bea', 'Dag']);
    const noTel = await book.list({ where: { tel: null, city: 'Tromsø' } });
    expect(noTel.map((v) => v.data.name)).toEqual(['Cid']);
    await expect(book.list({ where: { nope: 1 } as never })).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'nope',
    });
    await expect(book.list({ orderBy: 'nope' as never })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(book.list({ limit: -1 })).rejects.toMatchObject({ code: 'invalid_input', field: 'limit' });
  });

  it('withContext records actor, reason and meta; call options win', async () => {
    const v = await db.withContext({ actor: 'ctx-actor', meta: { ip: '10.0.0.1' } }, async (scoped) => {
      const t2 = scoped.table(addresses);
      const a = await t2.insert({ name: 'Ctx' });
      return t2.update(a.entryId, { city: 'X' }, { actor: 'explicit', meta: { request: 7 } });
    });
    expect(v.actor).toBe('explicit');
    expect(v.meta).toEqual({ ip: '10.0.0.1', request: 7 });
    const first = (await book.history(v.entryId))[0]!;
    expect(first.actor).toBe('ctx-actor');
    expect(first.meta).toEqual({ ip: '10.0.0.1' });
  });

  it('a transaction that fails halfway leaves no version behind', async () => {
    const before = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM addresses_log');
    let inserted = '';
    await expect(
      db.transaction(async (tx) => {
        const a = await tx.table(addresses).insert({ name: 'Ghost' });
        inserted = a.entryId;
        await tx.table(addresses).update(a.entryId, { city: 'Nowhere' });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const after = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM addresses_log');
    expect(after[0]!.n).toBe(before[0]!.n);
    expect(await book.get(inserted)).toBeNull();
  });

  it('a transaction commits all its versions under one txId; nested calls are savepoints', async () => {
    const [a, b] = await db.transaction(async (tx) => {
      const t2 = tx.table(addresses);
      const a = await t2.insert({ name: 'TxA' });
      await tx
        .transaction(async (inner) => {
          await inner.table(addresses).insert({ name: 'Rolled back' });
          throw new Error('inner');
        })
        .catch(() => {});
      const b = await t2.insert({ name: 'TxB' });
      return [a, b];
    });
    expect(a.txId).toBe(b.txId);
    expect((await book.list({ where: { name: 'Rolled back' } })).length).toBe(0);
    expect((await book.get(b.entryId))?.data.name).toBe('TxB');
  });

  it('refuses the outer handle inside a transaction instead of hanging', async () => {
    const err = await db
      .transaction(async () => {
        await book.get('00000000-0000-4000-8000-000000000000');
      })
      .catch((e) => e);
    expect(err).toMatchObject({ code: 'invalid_usage' });
  });
});

describe('connect options', () => {
  it('refuses conflicting or malformed options', async () => {
    const { connect } = await import('../src/index.js');
    await expect(connect({ url: 'postgres://x', dataDir: '/tmp/x' })).rejects.toMatchObject({
      code: 'invalid_input',
    });
    await expect(connect({ schema: 'Bad-Name' })).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'schema',
    });
    await expect(connect({ client: {} as never })).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'client',
    });
  });
});

/** A value of the kitchen column `key` that differs with `n`. */
function sampleValue(key: string, n: number): unknown {
  switch (key) {
    case 'count':
      return n;
    case 'big':
      return String(9_007_199_254_740_993n + BigInt(n));
    case 'price':
      return `${n}.50`;
    case 'active':
      return n % 2 === 0;
    case 'born':
      return `2000-01-${String((n % 28) + 1).padStart(2, '0')}`;
    case 'seenAt':
      return new Date(Date.UTC(2026, 0, 1, 0, 0, n % 60, n));
    default:
      return { n };
  }
}
