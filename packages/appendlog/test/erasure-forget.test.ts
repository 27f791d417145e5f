import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { column as c, type Database, table } from '../src/index.js';
import { describeEngines, type TestDb } from './support/engines.js';

const contacts = table('contacts', { name: c.text().notNull(), tel: c.text() });
const binNow = table('bin_now', { body: c.text() }, { retention: { deletedFor: '0 days' } });
const binLong = table('bin_long', { body: c.text() }, { retention: { deletedFor: '90 days' } });

const DAY = 86_400_000;
const micros = (iso: string) => Date.parse(iso) * 1000 + Number(iso.slice(23, 26));

describeEngines('erasure: forget and cancelForget', (engine) => {
  let t: TestDb;
  let db: Database;

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    await db.migrate([contacts, binNow, binLong]);
  });
  afterAll(() => t.close());

  const count = async (entryId: string) =>
    (
      await db.query<{ n: number }>('SELECT count(*)::int AS n FROM contacts_log WHERE entry_id = $1', [
        entryId,
      ])
    )[0]!.n;

  it('needs a reason and a valid due time; refusals write nothing', async () => {
    const book = db.table(contacts);
    const v = await book.insert({ name: 'Refused' });
    await expect(book.forget(v.entryId, { reason: ' ' })).rejects.toMatchObject({ code: 'reason_required' });
    await expect(book.forget(v.entryId, undefined as never)).rejects.toMatchObject({
      code: 'reason_required',
    });
    for (const after of ['-3 days', 'soon', '30', '2026-13-45T00:00:00Z', 30, new Date(Number.NaN)]) {
      await expect(
        book.forget(v.entryId, { reason: 'x', after: after as never }),
        String(after),
      ).rejects.toMatchObject({
        code: 'invalid_input',
        field: 'after',
      });
    }
    // Raw SQL meets the same rules in the database.
    await expect(
      db.query(
        `UPDATE contacts_head SET op = 'forget', reason = 'x', meta = '{"erasure":{"after":"-1 day"}}' WHERE entry_id = $1`,
        [v.entryId],
      ),
    ).rejects.toMatchObject({ code: 'invalid_input', field: 'after' });
    await expect(
      db.query(`UPDATE contacts_head SET op = 'forget' WHERE entry_id = $1`, [v.entryId]),
    ).rejects.toMatchObject({ code: 'reason_required' });
    expect(await count(v.entryId)).toBe(1);
    expect(await book.erasure(v.entryId)).toBeNull();
  });

  it('appends a forget version whose due time the database computes and keeps in the hashed metadata', async () => {
    const book = db.table(contacts);
    const a = await book.insert({ name: 'Default Due' });
    const fa = await book.forget(a.entryId, { reason: 'GDPR request #1', meta: { ticket: 1 }, actor: 'dpo' });
    expect(fa).toMatchObject({ op: 'forget', version: 2, reason: 'GDPR request #1', actor: 'dpo' });
    expect(fa.data).toEqual({ name: 'Default Due', tel: null });
    const dueA = (fa.meta as { erasure: { dueAt: string } }).erasure.dueAt;
    expect(fa.meta).toEqual({ ticket: 1, erasure: { dueAt: dueA } });
    // 30 days after the forget, to the microsecond.
    expect(micros(dueA) - micros(fa.recordedAtIso)).toBe(30 * DAY * 1000);

    const b = await book.insert({ name: 'Seven Days' });
    const fb = await book.forget(b.entryId, { reason: 'r', after: '7 days' });
    expect(micros((fb.meta as { erasure: { dueAt: string } }).erasure.dueAt) - micros(fb.recordedAtIso)).toBe(
      7 * DAY * 1000,
    );

    const d = await book.insert({ name: 'Fixed Date' });
    const fd = await book.forget(d.entryId, { reason: 'r', after: new Date('2999-02-03T04:05:06.789Z') });
    expect(fd.meta).toEqual({ erasure: { dueAt: '2999-02-03T04:05:06.789000Z' } });
    const e = await book.insert({ name: 'Past Date' });
    const fe = await book.forget(e.entryId, { reason: 'r', after: '2001-01-01T00:00:00Z' });
    // A due time in the past means now: never before the forget itself.
    expect((fe.meta as { erasure: { dueAt: string } }).erasure.dueAt).toBe(fe.recordedAtIso);

    expect(await book.erasure(a.entryId)).toEqual({
      state: 'scheduled',
      reason: 'GDPR request #1',
      forgottenBy: 'dpo',
      forgottenAt: fa.recordedAt,
      dueAt: new Date(dueA),
      forgetVersion: 2,
      erasedAt: null,
      versions: null,
    });
  });

  it('takes the entry out of get, list, listAt, at, the recycle bin, the view and as-of at once; history keeps it', async () => {
    const book = db.table(contacts);
    const v = await book.insert({ name: 'Vanishing', tel: '123' });
    const binned = await book.insert({ name: 'Binned Then Forgotten' });
    await book.delete(binned.entryId, { reason: 'duplicate' });
    const before = new Date();
    expect((await book.listAt(v.recordedAtIso)).map((x) => x.entryId)).toContain(v.entryId);
    expect((await book.deleted()).map((x) => x.entryId)).toContain(binned.entryId);
    await book.forget(v.entryId, { reason: 'GDPR request #2' });
    await book.forget(binned.entryId, { reason: 'GDPR request #2b' });
    expect(await book.get(v.entryId)).toBeNull();
    expect((await book.list()).map((x) => x.entryId)).not.toContain(v.entryId);
    expect((await book.listAt(v.recordedAtIso)).map((x) => x.entryId)).not.toContain(v.entryId);
    expect((await book.listAt(new Date())).map((x) => x.entryId)).not.toContain(v.entryId);
    expect(await book.at(v.entryId, v.recordedAtIso)).toBeNull();
    expect((await book.deleted()).map((x) => x.entryId)).not.toContain(binned.entryId);
    expect(await db.query('SELECT * FROM contacts WHERE entry_id = $1', [v.entryId])).toEqual([]);
    // Even "as it stood" before the forget: a forgotten entry is gone from the past as well.
    expect(
      await db.query('SELECT * FROM contacts_as_of($1) WHERE entry_id = $2', [
        before.toISOString(),
        v.entryId,
      ]),
    ).toEqual([]);
    expect((await book.history(v.entryId)).map((x) => x.op)).toEqual(['insert', 'forget']);
  });

  it('a forgotten entry cannot be updated, deleted, restored, forgotten again or written by raw SQL', async () => {
    const book = db.table(contacts);
    const v = await book.insert({ name: 'Locked', tel: '1' });
    await book.forget(v.entryId, { reason: 'GDPR request #3' });
    const attempts: Array<[string, () => Promise<unknown>]> = [
      ['update', () => book.update(v.entryId, { tel: '2' })],
      ['delete', () => book.delete(v.entryId, { reason: 'x' })],
      ['restore', () => book.restore(v.entryId)],
      ['restore with a reason', () => book.restore(v.entryId, { reason: 'oops' })],
      ['forget again', () => book.forget(v.entryId, { reason: 'again', after: '0 seconds' })],
      ['revert', () => book.revert(v.entryId, 1, { reason: 'undo' })],
      ['raw update', () => db.query(`UPDATE contacts_head SET name = 'x' WHERE entry_id = $1`, [v.entryId])],
      // The cancel marker with the wrong op ("restore" is right here; "delete" is not).
      [
        'cancel marker on a delete',
        () =>
          db.query(
            `UPDATE contacts_head SET op = 'delete', reason = 'x', meta = '{"cancelForget":true}' WHERE entry_id = $1`,
            [v.entryId],
          ),
      ],
    ];
    for (const [what, attempt] of attempts) {
      await expect(attempt(), what).rejects.toMatchObject({ code: 'invalid_state' });
    }
    const viaView = await db.query(`UPDATE contacts SET tel = '3' WHERE entry_id = $1 RETURNING version`, [
      v.entryId,
    ]);
    expect(viaView).toEqual([]);
    expect(await count(v.entryId)).toBe(2);
  });

  it('cancelForget before the due time brings a live entry back, with a reason and a marker', async () => {
    const book = db.table(contacts);
    const v = await book.insert({ name: 'Regretted', tel: '42' });
    await book.forget(v.entryId, { reason: 'GDPR request #4' });
    await expect(book.cancelForget(v.entryId, { reason: '' })).rejects.toMatchObject({
      code: 'reason_required',
    });
    const back = await book.cancelForget(v.entryId, { reason: 'request withdrawn', actor: 'dpo' });
    expect(back).toMatchObject({
      op: 'restore',
      version: 3,
      reason: 'request withdrawn',
      meta: { cancelForget: true },
    });
    expect(back.data).toEqual({ name: 'Regretted', tel: '42' });
    expect((await book.get(v.entryId))?.version).toBe(3);
    expect(await book.erasure(v.entryId)).toBeNull();
    await expect(book.cancelForget(v.entryId, { reason: 'again' })).rejects.toMatchObject({
      code: 'invalid_state',
    });
    // Live again: ordinary writes work.
    expect((await book.update(v.entryId, { tel: '43' })).version).toBe(4);
    await expect(
      book.cancelForget('00000000-0000-4000-8000-000000000000', { reason: 'x' }),
    ).rejects.toMatchObject({ code: 'not_found' });
  });

  it('forgetting from the recycle bin and cancelling puts the entry back in the bin, not live', async () => {
    const book = db.table(contacts);
    const v = await book.insert({ name: 'Binned' });
    await book.delete(v.entryId, { reason: 'duplicate' });
    await book.forget(v.entryId, { reason: 'GDPR request #5' });
    // The raw cancel with the wrong op is refused: it was deleted, so the cancel is a delete.
    await expect(
      db.query(
        `UPDATE contacts_head SET op = 'restore', reason = 'x', meta = '{"cancelForget":true}' WHERE entry_id = $1`,
        [v.entryId],
      ),
    ).rejects.toMatchObject({ code: 'invalid_state' });
    const back = await book.cancelForget(v.entryId, { reason: 'withdrawn' });
    expect(back).toMatchObject({ op: 'delete', version: 4, meta: { cancelForget: true } });
    expect(await book.get(v.entryId)).toBeNull();
    expect((await book.restore(v.entryId)).data.name).toBe('Binned');
  });

  it('cannot cancel once the erasure is due, even before the purge ran', async () => {
    const book = db.table(contacts);
    const v = await book.insert({ name: 'Too Late' });
    await book.forget(v.entryId, { reason: 'GDPR request #6', after: '0 seconds' });
    await expect(book.cancelForget(v.entryId, { reason: 'withdrawn' })).rejects.toMatchObject({
      code: 'invalid_state',
      message: expect.stringContaining('can no longer be cancelled'),
    });
    expect(await count(v.entryId)).toBe(2);
    await db.purge();
    await expect(book.cancelForget(v.entryId, { reason: 'withdrawn' })).rejects.toMatchObject({
      code: 'invalid_state',
    });
    await expect(book.update(v.entryId, { name: 'Back' })).rejects.toMatchObject({ code: 'invalid_state' });
    expect(await book.erasure(v.entryId)).toMatchObject({
      state: 'erased',
      reason: 'GDPR request #6',
      versions: 2,
    });
  });

  it('retention: deleted entries past their table’s retention are forgotten and erased by purge', async () => {
    const now = db.table(binNow);
    const long = db.table(binLong);
    const keep = await now.insert({ body: 'live, kept' });
    const binned = await now.insert({ body: 'secret in the bin' });
    await now.delete(binned.entryId, { reason: 'spam' });
    const young = await long.insert({ body: 'recently deleted' });
    await long.delete(young.entryId, { reason: 'spam' });

    const preview = await db.purge({ dryRun: true });
    expect(preview.scheduled.map((s) => [s.table, s.entryId, s.retention])).toEqual([
      ['bin_now', binned.entryId, '0 days'],
    ]);
    expect(preview.erased.map((e) => e.entryId)).toContain(binned.entryId);
    expect((await now.history(binned.entryId)).length).toBe(2);

    const result = await db.purge({ now: new Date('2999-01-01T00:00:00Z') });
    expect(result.scheduled.map((s) => s.entryId)).toEqual([binned.entryId]);
    expect(result.erased.find((e) => e.entryId === binned.entryId)).toMatchObject({
      table: 'bin_now',
      versions: 3,
      reason: 'recycle-bin retention: deleted and not restored within 0 days',
    });
    const history = await now.history(binned.entryId);
    expect(history.map((v) => [v.op, v.actor, v.data.body])).toEqual([
      ['insert', null, null],
      ['delete', null, null],
      ['forget', 'appendlog purge', null],
    ]);
    expect(history[2]!.meta).toMatchObject({ erasure: { retention: '0 days' } });
    // The 90-day bin keeps its entry (a claimed `now` in the future changes nothing), live entries stay.
    expect((await long.history(young.entryId)).map((v) => [v.op, v.data.body])).toEqual([
      ['insert', 'recently deleted'],
      ['delete', 'recently deleted'],
    ]);
    expect((await now.get(keep.entryId))?.data.body).toBe('live, kept');
  });

  it('migrate records the retention, once per change', async () => {
    const rows = async () =>
      db.query<{ table_name: string; deleted_for: string | null }>(
        `SELECT table_name, deleted_for FROM appendlog_retention WHERE table_name LIKE 'bin_%' ORDER BY seq`,
      );
    expect(await rows()).toEqual([
      { table_name: 'bin_now', deleted_for: '0 days' },
      { table_name: 'bin_long', deleted_for: '90 days' },
    ]);
    await db.migrate([binNow, binLong]);
    expect(await rows()).toHaveLength(2);
    await db.migrate([
      table('bin_now', { body: c.text() }),
      table('bin_long', { body: c.text() }, { retention: { deletedFor: '3 months' } }),
    ]);
    expect((await rows()).slice(2)).toEqual([
      { table_name: 'bin_now', deleted_for: null },
      { table_name: 'bin_long', deleted_for: '3 months' },
    ]);
    await expect(db.query(`UPDATE appendlog_retention SET deleted_for = '1 day'`)).rejects.toMatchObject({
      code: 'append_only',
    });
  });
});

describeEngines('erasure: retention and old code', (engine) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await engine.open();
  });
  afterAll(() => t.close());

  it('old code running behind a newer migration leaves the retention alone', async () => {
    const v1 = table('bin_old', { body: c.text() });
    const v2 = table('bin_old', { body: c.text(), extra: c.text() }, { retention: { deletedFor: '7 days' } });
    await t.db.migrate([v1]);
    await t.db.migrate([v2]);
    const again = await t.db.migrate([v1]);
    expect(again.behind).toEqual(['bin_old']);
    expect(await t.db.query('SELECT deleted_for FROM appendlog_retention ORDER BY seq')).toEqual([
      { deleted_for: '7 days' },
    ]);
  });
});

describe('table() retention option', () => {
  it('refuses malformed retention before any SQL exists', () => {
    for (const retention of [{ deletedFor: 'forever' }, { deletedFor: -1 }, { keep: '1 day' }, 'x', null]) {
      expect(
        () => table('x', { a: c.text() }, { retention: retention as never }),
        JSON.stringify(retention),
      ).toThrow(expect.objectContaining({ code: 'invalid_input' }));
    }
    expect(
      table('x', { a: c.text() }, { retention: { deletedFor: '  2 weeks   3 days ' } }).retention,
    ).toEqual({
      deletedFor: '2 weeks 3 days',
    });
    expect(table('x', { a: c.text() }).retention).toBeUndefined();
  });
});
