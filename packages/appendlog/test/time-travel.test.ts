import { afterAll, beforeAll, expect, it } from 'vitest';
import { column as c, type Database, type Table, table } from '../src/index.js';
import { describeEngines, type TestDb } from './support/engines.js';
import { clockPast, shiftIso } from './support/instants.js';
import { addresses, kitchen } from './support/tables.js';

const GHOST = '00000000-0000-4000-8000-000000000000';

async function logCount(db: Database, name = 'addresses'): Promise<number> {
  const [row] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${name}_log`);
  return row!.n;
}

describeEngines('time travel', (engine) => {
  let t: TestDb;
  let db: Database;
  let book: Table<typeof addresses.definition>;

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    await db.migrate([addresses, kitchen]);
    book = db.table(addresses);
  });
  afterAll(() => t.close());

  it('at: by version, by exact ISO instant, by Date; null before creation and while deleted', async () => {
    const v1 = await book.insert({ name: 'Thor', city: 'Asgard' });
    const v2 = await book.update(v1.entryId, { city: 'Oslo' });
    const v3 = await book.delete(v1.entryId, { reason: 'duplicate' });
    const v4 = await book.restore(v1.entryId);
    expect(await book.at(v1.entryId, { version: 1 })).toEqual(v1);
    expect(await book.at(v1.entryId, { version: 2 })).toEqual(v2);
    expect(await book.at(v1.entryId, { version: 3 })).toBeNull(); // the tombstone: deleted then
    expect(await book.at(v1.entryId, { version: 4 })).toEqual(v4);
    expect(await book.at(v1.entryId, v1.recordedAtIso)).toEqual(v1);
    expect(await book.at(v1.entryId, shiftIso(v2.recordedAtIso, -1))).toEqual(v1);
    expect(await book.at(v1.entryId, v2.recordedAtIso)).toEqual(v2);
    expect(await book.at(v1.entryId, v3.recordedAtIso)).toBeNull();
    expect(await book.at(v1.entryId, shiftIso(v4.recordedAtIso, -1))).toBeNull();
    expect(await book.at(v1.entryId, v4.recordedAtIso)).toEqual(v4);
    expect(await book.at(v1.entryId, shiftIso(v1.recordedAtIso, -1))).toBeNull();
    expect(await book.at(v1.entryId, new Date(v4.recordedAt.getTime() + 1))).toEqual(v4);
    expect(await book.at(v1.entryId, new Date('2000-01-01T00:00:00Z'))).toBeNull();
    // An entry that never existed did not exist then either.
    expect(await book.at(GHOST, new Date())).toBeNull();
  });

  it('at accepts the same instant written with another time-zone offset', async () => {
    const v1 = await book.insert({ name: 'Offset' });
    const iso = v1.recordedAtIso; // 2026-…T09:25:10.123456Z
    const ms = Date.parse(iso);
    const local = new Date(ms + 2 * 3600_000).toISOString().slice(0, 19);
    expect(await book.at(v1.entryId, `${local}${iso.slice(19, 26)}+02:00`)).toEqual(v1);
    expect(await book.at(v1.entryId, `${local}${shiftIso(iso, -1).slice(19, 26)}+02:00`)).toBeNull();
  });

  it('tells apart two versions recorded within one millisecond (recordedAtIso, not Date)', async () => {
    // Two versions of one entry written by one script (an insert and an update through the view,
    // one round trip) are microseconds apart; retry until a pair shares its millisecond (the first
    // try almost always does).
    let pair: [Awaited<ReturnType<typeof book.insert>>, Awaited<ReturnType<typeof book.insert>>] | undefined;
    for (let attempt = 0; attempt < 50 && !pair; attempt++) {
      const id = crypto.randomUUID();
      await db.exec(
        `INSERT INTO addresses (entry_id, name, city) VALUES ('${id}', 'Micro', 'A');
         UPDATE addresses SET city = 'B' WHERE entry_id = '${id}';`,
      );
      const [a, b] = await book.history(id);
      if (a!.recordedAt.getTime() === b!.recordedAt.getTime()) pair = [a!, b!];
    }
    expect(pair).toBeDefined();
    const [a, b] = pair!;
    expect(a.recordedAtIso).not.toBe(b.recordedAtIso);
    expect((await book.at(a.entryId, a.recordedAtIso))?.data.city).toBe('A');
    expect((await book.at(a.entryId, b.recordedAtIso))?.data.city).toBe('B');
    const rowsA = await book.listAt(a.recordedAtIso, { where: { name: 'Micro' } });
    const rowsB = await book.listAt(b.recordedAtIso, { where: { name: 'Micro' } });
    expect(rowsA.find((v) => v.entryId === a.entryId)?.data.city).toBe('A');
    expect(rowsB.find((v) => v.entryId === a.entryId)?.data.city).toBe('B');
    // A Date is cut to the millisecond: it cannot name a or b exactly.
    const viaDate = await book.at(a.entryId, a.recordedAt);
    expect(viaDate === null || viaDate.version === 1).toBe(true);
    expect(a.recordedAt.getTime()).toBe(b.recordedAt.getTime());
  });

  it('listAt equals the SQL function <t>_as_of and honours where, orderBy, limit and offset', async () => {
    await db.migrate([addresses]);
    // PGlite's clock ticks in milliseconds, and equal times across entries are allowed: each write
    // here waits for the next tick, so that creation order (the listing order) and the moment
    // `mid` are unambiguous.
    const a = await book.insert({ name: 'LA-Ann', city: 'Bergen' });
    await clockPast(a.recordedAtIso);
    const b = await book.insert({ name: 'LA-Bea', city: 'Bergen' });
    await clockPast(b.recordedAtIso);
    const cc = await book.insert({ name: 'LA-Cid', city: 'Tromsø' });
    await clockPast(cc.recordedAtIso);
    const mid = (await book.update(b.entryId, { city: 'Tromsø' })).recordedAtIso;
    await clockPast(mid);
    await book.delete(a.entryId, { reason: 'gone' });
    await book.update(cc.entryId, { city: 'Bergen' });
    const ours = (await book.listAt(mid)).filter((v) => v.data.name.startsWith('LA-'));
    expect(ours.map((v) => [v.data.name, v.data.city])).toEqual([
      ['LA-Ann', 'Bergen'],
      ['LA-Bea', 'Tromsø'],
      ['LA-Cid', 'Tromsø'],
    ]);
    const sql = await db.query<{
      entry_id: string;
      version: number;
      city: string | null;
      updated_at: string;
    }>(
      `SELECT entry_id::text, version, city,
              to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS updated_at
         FROM addresses_as_of($1) ORDER BY created_at, entry_id`,
      [mid],
    );
    const all = await book.listAt(mid);
    expect(sql.map((r) => [r.entry_id, r.version, r.city, r.updated_at])).toEqual(
      all.map((v) => [v.entryId, v.version, v.data.city, v.recordedAtIso]),
    );
    const tromso = await book.listAt(mid, {
      where: { city: 'Tromsø' },
      orderBy: { field: 'name', direction: 'desc' },
    });
    expect(tromso.filter((v) => v.data.name.startsWith('LA-')).map((v) => v.data.name)).toEqual([
      'LA-Cid',
      'LA-Bea',
    ]);
    const page = await book.listAt(mid, { where: { city: 'Tromsø' }, orderBy: 'name', limit: 1, offset: 1 });
    expect(page.map((v) => v.data.name)).toEqual(['LA-Cid']);
    const byUpdate = await book.listAt(mid, { orderBy: { field: 'updatedAt', direction: 'desc' }, limit: 1 });
    expect(byUpdate[0]!.entryId).toBe(b.entryId);
  });

  it('diff lists changed fields in definition order, compares values structurally, works across delete/restore', async () => {
    const k = db.table(kitchen);
    const seen = new Date('2026-01-02T03:04:05.678Z');
    const v1 = await k.insert({
      label: 'x',
      count: 1,
      doc: { tags: ['a'], n: 1 },
      seenAt: '2026-01-02T03:04:05.678901Z',
    });
    const v2 = await k.update(v1.entryId, { doc: { n: 1, tags: ['a'] }, count: 2 });
    expect(await k.diff(v1.entryId, 1, 2)).toEqual([{ field: 'count', before: 1, after: 2 }]);
    const v3 = await k.update(v1.entryId, {
      seenAt: '2026-01-02T03:04:05.678902Z',
      price: '12.50',
      doc: { tags: ['a', 'b'] },
    });
    const d = await k.diff(v1.entryId, 2, 3);
    expect(d.map((x) => x.field)).toEqual(['price', 'seenAt', 'doc']); // definition order
    expect(d[0]).toEqual({ field: 'price', before: null, after: '12.50' });
    expect(d[1]).toEqual({ field: 'seenAt', before: seen, after: seen }); // a microsecond apart
    expect(d[2]).toEqual({ field: 'doc', before: { n: 1, tags: ['a'] }, after: { tags: ['a', 'b'] } });
    expect(await k.diff(v1.entryId, 3, 3)).toEqual([]);
    // Reverse order swaps before and after.
    expect((await k.diff(v1.entryId, 3, 1)).find((x) => x.field === 'count')).toEqual({
      field: 'count',
      before: 2,
      after: 1,
    });
    await k.delete(v1.entryId, { reason: 'test' });
    expect(await k.diff(v1.entryId, 3, 4)).toEqual([]); // a tombstone carries the data it deleted
    await k.restore(v1.entryId);
    const v6 = await k.update(v1.entryId, { label: 'y' });
    expect(await k.diff(v1.entryId, 3, v6.version)).toEqual([{ field: 'label', before: 'x', after: 'y' }]);
    expect(v3.version).toBe(3);
    expect(v2.data.doc).toEqual({ n: 1, tags: ['a'] });
  });

  it('revert appends a copy of the target version, records revertedTo, restores a deleted entry', async () => {
    const v1 = await book.insert({ name: 'Rev', city: 'One', tel: '111' }, { actor: 'alice' });
    await book.update(v1.entryId, { city: 'Two', tel: null, postcode: '0150' });
    const v3 = await book.revert(v1.entryId, 1, {
      reason: 'undo',
      actor: 'bob',
      meta: { ticket: 7, revertedTo: 99 },
    });
    expect(v3).toMatchObject({
      version: 3,
      op: 'update',
      actor: 'bob',
      reason: 'undo',
      meta: { ticket: 7, revertedTo: 1 },
    });
    expect(v3.data).toEqual(v1.data); // every column, the nulls included
    expect(await book.diff(v1.entryId, 1, 3)).toEqual([]);
    await book.delete(v1.entryId, { reason: 'spam' });
    const v5 = await book.revert(v1.entryId, 2, { reason: 'not spam' });
    expect(v5).toMatchObject({ version: 5, op: 'restore', meta: { revertedTo: 2 } });
    expect(v5.data).toMatchObject({ city: 'Two', tel: null, postcode: '0150' });
    expect(await book.get(v1.entryId)).toEqual(v5);
    // Context meta merges in too.
    const v6 = await db.withContext({ meta: { ip: '10.0.0.1' } }, (scoped) =>
      scoped.table(addresses).revert(v1.entryId, 1, { expectedVersion: 5 }),
    );
    expect(v6.meta).toEqual({ ip: '10.0.0.1', revertedTo: 1 });
  });

  it('revert: the no-op and refusal rules write nothing', async () => {
    const v1 = await book.insert({ name: 'NoOp' });
    const v2 = await book.update(v1.entryId, { city: 'X' });
    const before = await logCount(db);
    // Reverting to the current version would change nothing: refused.
    await expect(book.revert(v1.entryId, 2)).rejects.toMatchObject({ code: 'invalid_state' });
    await expect(book.revert(v1.entryId, 3)).rejects.toMatchObject({ code: 'not_found' });
    await expect(book.revert(v1.entryId, 0)).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'toVersion',
    });
    await expect(book.revert(v1.entryId, 1, { expectedVersion: 1 })).rejects.toMatchObject({
      code: 'version_conflict',
      expected: 1,
      actual: 2,
    });
    await expect(book.revert(GHOST, 1)).rejects.toMatchObject({ code: 'not_found' });
    await expect(book.revert('nope', 1)).rejects.toMatchObject({ code: 'invalid_input', field: 'entryId' });
    await expect(book.revert(v1.entryId, 1, { actor: 'a\u0000b' })).rejects.toMatchObject({
      code: 'invalid_input',
    });
    await book.delete(v1.entryId, { reason: 'bye' });
    const afterDelete = await logCount(db);
    // The tombstone is the current version; reverting to it (or to any delete) changes nothing.
    await expect(book.revert(v1.entryId, 3)).rejects.toMatchObject({ code: 'invalid_state' });
    await book.revert(v1.entryId, 2);
    await expect(book.revert(v1.entryId, 3)).rejects.toMatchObject({ code: 'invalid_state' });
    expect(await logCount(db)).toBe(afterDelete + 1);
    expect(afterDelete).toBe(before + 1);
    expect(v2.version).toBe(2);
  });

  it('deleted lists the recycle bin newest first with who, when and why; restore empties it', async () => {
    const shelf = table('shelf', { title: c.text().notNull() });
    await db.migrate([shelf]);
    const s = db.table(shelf);
    const a = await s.insert({ title: 'A' });
    const b = await s.insert({ title: 'B' });
    const cc = await s.insert({ title: 'C' });
    const da = await s.delete(a.entryId, { reason: 'dup', actor: 'alice' });
    const db2 = await s.delete(b.entryId, { reason: 'spam', actor: 'bob' });
    await s.delete(cc.entryId, { reason: 'x' });
    await s.restore(cc.entryId);
    const bin = await s.deleted();
    expect(bin).toEqual([db2, da]);
    expect(bin[0]).toMatchObject({ op: 'delete', actor: 'bob', reason: 'spam', data: { title: 'B' } });
    expect(await s.deleted({ limit: 1, offset: 1 })).toEqual([da]);
    await s.restore(b.entryId);
    expect((await s.deleted()).map((v) => v.entryId)).toEqual([a.entryId]);
    await expect(s.deleted({ limit: -1 })).rejects.toMatchObject({ code: 'invalid_input', field: 'limit' });
    await expect(s.deleted({ offset: 1.5 })).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'offset',
    });
  });

  it('history pages: newest `limit` below `before`, oldest first; no options means all', async () => {
    const v1 = await book.insert({ name: 'Pages', city: '1' });
    for (let i = 2; i <= 7; i++) await book.update(v1.entryId, { city: String(i) });
    const all = await book.history(v1.entryId);
    expect(all.map((v) => v.version)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const p1 = await book.history(v1.entryId, { limit: 3 });
    expect(p1.map((v) => v.version)).toEqual([5, 6, 7]);
    const p2 = await book.history(v1.entryId, { limit: 3, before: p1[0]!.version });
    expect(p2.map((v) => v.version)).toEqual([2, 3, 4]);
    const p3 = await book.history(v1.entryId, { limit: 3, before: p2[0]!.version });
    expect(p3).toEqual([all[0]]);
    expect(await book.history(v1.entryId, { limit: 3, before: 1 })).toEqual([]);
    expect(await book.history(v1.entryId, { before: 3 })).toEqual(all.slice(0, 2));
    expect(await book.history(v1.entryId, {})).toEqual(all);
    await expect(book.history(GHOST, { limit: 3 })).rejects.toMatchObject({ code: 'not_found' });
    await expect(book.history(v1.entryId, { limit: -1 })).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'limit',
    });
    await expect(book.history(v1.entryId, { before: 0 })).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'before',
    });
    await expect(book.history(v1.entryId, { limit: -2 })).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'limit',
    });
  });

  it('bad input is a typed error and nothing is written', async () => {
    const v1 = await book.insert({ name: 'Bad' });
    const before = await logCount(db);
    const cases: Array<[() => Promise<unknown>, string, string | undefined]> = [
      [() => book.at('not-a-uuid', new Date()), 'invalid_input', 'entryId'],
      [() => book.at(v1.entryId, new Date('nonsense')), 'invalid_input', 'at'],
      [() => book.at(v1.entryId, 'yesterday'), 'invalid_input', 'at'],
      [() => book.at(v1.entryId, '2026-01-01T00:00:00'), 'invalid_input', 'at'], // no time zone
      [() => book.at(v1.entryId, '2026-02-30T00:00:00Z'), 'invalid_input', 'at'],
      [() => book.at(v1.entryId, '2026-01-01T00:00:00.1234567Z'), 'invalid_input', 'at'],
      [() => book.at(v1.entryId, 12345 as never), 'invalid_input', 'at'],
      [() => book.at(v1.entryId, { version: 0 }), 'invalid_input', 'version'],
      [() => book.at(v1.entryId, { version: 1.5 }), 'invalid_input', 'version'],
      [() => book.at(v1.entryId, { version: 1, extra: 1 } as never), 'invalid_input', 'at'],
      [() => book.at(v1.entryId, { version: 2 }), 'not_found', undefined],
      [() => book.at(GHOST, { version: 1 }), 'not_found', undefined],
      [() => book.listAt(new Date(Number.NaN)), 'invalid_input', 'at'],
      [() => book.listAt(new Date('+010000-01-01T00:00:00Z')), 'invalid_input', 'at'],
      [() => book.listAt(new Date(), { where: { nope: 1 } as never }), 'invalid_input', 'nope'],
      [() => book.diff(v1.entryId, 1, 2), 'not_found', undefined],
      [() => book.diff(v1.entryId, 0, 1), 'invalid_input', 'fromVersion'],
      [() => book.diff(v1.entryId, 1, -1), 'invalid_input', 'toVersion'],
      [() => book.diff(GHOST, 1, 1), 'not_found', undefined],
      [() => book.diff('x', 1, 1), 'invalid_input', 'entryId'],
      [() => book.revert(v1.entryId, 1), 'invalid_state', undefined],
    ];
    for (const [promise, code, field] of cases) {
      const err = await promise().catch((e: unknown) => e);
      expect(err, `expected ${code}`).toMatchObject(field === undefined ? { code } : { code, field });
    }
    expect(await logCount(db)).toBe(before);
  });

  it("columns named like the readers' own helper columns (head_op, head_version) read back as stored", async () => {
    const odd = table('odd_names', { headOp: c.text(), headVersion: c.integer(), data: c.text() });
    await db.migrate([odd]);
    const o = db.table(odd);
    const v1 = await o.insert({ headOp: 'forget', headVersion: 41, data: 'a' });
    const v2 = await o.update(v1.entryId, { data: 'b' });
    expect(v2.data).toEqual({ headOp: 'forget', headVersion: 41, data: 'b' });
    expect(await o.at(v1.entryId, { version: 1 })).toEqual(v1);
    expect(await o.at(v1.entryId, v2.recordedAtIso)).toEqual(v2);
    expect(await o.diff(v1.entryId, 1, 2)).toEqual([{ field: 'data', before: 'a', after: 'b' }]);
    expect(await o.get(v1.entryId)).toEqual(v2);
    expect((await o.revert(v1.entryId, 1)).data).toEqual(v1.data);
  });
});

describeEngines('time travel across an added column', (engine) => {
  let t: TestDb;
  let db: Database;
  const notesV1 = table('notes', { title: c.text().notNull(), body: c.text() });
  const notesV2 = table('notes', { title: c.text().notNull(), body: c.text(), tag: c.text() });

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
  });
  afterAll(() => t.close());

  it('diff and revert see the new column as null in the versions written before it existed', async () => {
    await db.migrate([notesV1]);
    const old = db.table(notesV1);
    const v1 = await old.insert({ title: 'Plan', body: 'draft' });
    const v2 = await old.update(v1.entryId, { body: 'final' });
    const mid = v2.recordedAtIso;
    const result = await db.migrate([notesV2]);
    expect(result.changes).toEqual([
      { table: 'notes', change: 'add_columns', columns: ['tag'], summary: 'add column tag text' },
    ]);
    const notes = db.table(notesV2);
    const v3 = await notes.update(v1.entryId, { tag: 'work', title: 'Plan B' });
    expect(v3.data).toEqual({ title: 'Plan B', body: 'final', tag: 'work' });
    expect(await notes.diff(v1.entryId, 1, 3)).toEqual([
      { field: 'title', before: 'Plan', after: 'Plan B' },
      { field: 'body', before: 'draft', after: 'final' },
      { field: 'tag', before: null, after: 'work' },
    ]);
    expect((await notes.at(v1.entryId, mid))?.data).toEqual({ title: 'Plan', body: 'final', tag: null });
    expect((await notes.listAt(mid)).map((v) => v.data)).toEqual([
      { title: 'Plan', body: 'final', tag: null },
    ]);
    const v4 = await notes.revert(v1.entryId, 1, { reason: 'back to the draft' });
    expect(v4.data).toEqual({ title: 'Plan', body: 'draft', tag: null });
    expect(await notes.diff(v1.entryId, 3, 4)).toEqual([
      { field: 'title', before: 'Plan B', after: 'Plan' },
      { field: 'body', before: 'final', after: 'draft' },
      { field: 'tag', before: 'work', after: null },
    ]);
    // Code that does not know the new column still reverts every column, the unknown one too.
    await notes.update(v1.entryId, { tag: 'home' });
    const v6 = await old.revert(v1.entryId, 3);
    expect(v6.data).toEqual({ title: 'Plan B', body: 'final' });
    expect((await notes.get(v1.entryId))?.data.tag).toBe('work');
    expect(await old.diff(v1.entryId, 3, 6)).toEqual([]);
    expect(await notes.diff(v1.entryId, 3, 6)).toEqual([]);
  });
});
