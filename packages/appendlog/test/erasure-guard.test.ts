import { afterAll, beforeAll, expect, it } from 'vitest';
import { column as c, type Database, table } from '../src/index.js';
import { erasureTableDdl } from '../src/sql/erasure-ddl.js';
import { tableObjects } from '../src/sql/names.js';
import {
  type AppRoleDb,
  describeEngines,
  describePostgres,
  openAppRole,
  type TestDb,
} from './support/engines.js';

const cards = table('cards', { holder: c.text().notNull(), pin: c.text() });

/** The exact redaction the purge performs on the log, written by hand. */
const mimic = (extra = '') =>
  `UPDATE cards_log SET holder = NULL, pin = NULL, salt = NULL, redacted_at = now()${extra} WHERE entry_id = $1`;
/** And on the head's copy of the latest version. */
const mimicHead = `UPDATE cards_head SET holder = NULL, pin = NULL WHERE entry_id = $1`;

describeEngines('erasure: the single sanctioned UPDATE', (engine) => {
  let t: TestDb;
  let db: Database;

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    await db.migrate([cards]);
  });
  afterAll(() => t.close());

  const intact = async (entryId: string) =>
    (
      await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM cards_log WHERE entry_id = $1 AND redacted_at IS NULL AND pin IS NOT NULL',
        [entryId],
      )
    )[0]!.n;
  /** The head's copy: still holding the pin, not redacted. */
  const headIntact = async (entryId: string) =>
    (
      await db.query<{ ok: boolean }>(
        'SELECT pin IS NOT NULL AND redacted_at IS NULL AS ok FROM cards_head WHERE entry_id = $1',
        [entryId],
      )
    )[0]!.ok;

  it('a hand-written redaction UPDATE is refused for live, pending and even due entries', async () => {
    const wallet = db.table(cards);
    const live = await wallet.insert({ holder: 'Live', pin: '1111' });
    const pending = await wallet.insert({ holder: 'Pending', pin: '2222' });
    await wallet.forget(pending.entryId, { reason: 'GDPR' });
    const due = await wallet.insert({ holder: 'Due', pin: '3333' });
    await wallet.forget(due.entryId, { reason: 'GDPR', after: '0 seconds' });
    const other = await wallet.insert({ holder: 'Other', pin: '3334' });
    await wallet.forget(other.entryId, { reason: 'GDPR', after: '0 seconds' });
    for (const entry of [live, pending, due]) {
      for (const sql of [
        mimic(),
        mimic(', reason = NULL'),
        `UPDATE cards_log SET pin = NULL WHERE entry_id = $1`,
        `UPDATE cards_log SET redacted_at = now() WHERE entry_id = $1`,
        `DELETE FROM cards_log WHERE entry_id = $1`,
        `DELETE FROM cards_head WHERE entry_id = $1`,
      ]) {
        await expect(db.query(sql, [entry.entryId]), sql).rejects.toMatchObject({ code: 'append_only' });
      }
      // Even inside a transaction that has just recorded (and so redacted) another due entry.
      // (On the head, a live entry takes it as an update, which its required holder refuses.)
      const attempts: Array<[string, string]> = [
        [mimic(), 'append_only'],
        [mimicHead, entry === live ? 'invalid_input' : 'invalid_state'],
      ];
      for (const [sql, code] of attempts) {
        await expect(
          db.transaction(async (tx) => {
            await tx.query(`INSERT INTO appendlog_erasures (table_name, entry_id) VALUES ('cards', $1)`, [
              other.entryId,
            ]);
            await tx.query(sql, [entry.entryId]);
          }),
          sql,
        ).rejects.toMatchObject({ code });
      }
    }
    // The head's copy of a forgotten entry: an UPDATE that nulls its columns, outside an erasure
    // of that entry, is a write like any other, and a forgotten entry takes none.
    for (const entry of [pending, due]) {
      for (const sql of [
        mimicHead,
        `UPDATE cards_head SET holder = NULL, pin = NULL, redacted_at = now() WHERE entry_id = $1`,
        `UPDATE cards_head SET pin = NULL WHERE entry_id = $1`,
        `UPDATE cards_head SET holder = NULL, pin = NULL, version = version + 1, tx_id = NULL WHERE entry_id = $1`,
      ]) {
        await expect(db.query(sql, [entry.entryId]), sql).rejects.toMatchObject({ code: 'invalid_state' });
      }
    }
    for (const sql of ['TRUNCATE cards_log', 'TRUNCATE cards_head']) {
      await expect(db.query(sql), sql).rejects.toMatchObject({ code: 'append_only' });
    }
    // Nor can the internal row function be called directly.
    await expect(db.query('SELECT cards_erase_rows($1, now())', [due.entryId])).rejects.toMatchObject({
      code: 'append_only',
    });
    expect(await intact(live.entryId)).toBe(1);
    expect(await intact(pending.entryId)).toBe(2);
    expect(await intact(due.entryId)).toBe(2);
    expect(await intact(other.entryId)).toBe(2);
    for (const entry of [live, pending, due]) expect(await headIntact(entry.entryId)).toBe(true);
  });

  it('the guard checks the redaction itself: a trigger-issued UPDATE without a record, or a wrong shape, fails', async () => {
    const wallet = db.table(cards);
    const v = await wallet.insert({ holder: 'Shape', pin: '8888' });
    await wallet.forget(v.entryId, { reason: 'GDPR', after: '0 seconds' });
    // The exact redaction, issued from a trigger (as the purge's own is), but with no erasure record.
    await db.exec(`
      CREATE TABLE sneak (entry_id uuid);
      CREATE FUNCTION sneak_redact() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        UPDATE cards_log SET holder = NULL, pin = NULL, salt = NULL, redacted_at = now() WHERE entry_id = NEW.entry_id;
        RETURN NULL;
      END $fn$;
      CREATE TRIGGER sneak_redact AFTER INSERT ON sneak FOR EACH ROW EXECUTE FUNCTION sneak_redact();`);
    await expect(db.query('INSERT INTO sneak VALUES ($1)', [v.entryId])).rejects.toMatchObject({
      code: 'append_only',
    });
    // The same for the head's copy: without the entry's erasure record, no trigger may null it.
    await db.exec(`
      CREATE OR REPLACE FUNCTION sneak_redact() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        UPDATE cards_head SET holder = NULL, pin = NULL WHERE entry_id = NEW.entry_id;
        RETURN NULL;
      END $fn$;`);
    await expect(db.query('INSERT INTO sneak VALUES ($1)', [v.entryId])).rejects.toMatchObject({
      code: 'invalid_state',
    });
    // The purge path with a row function that changes more (or less) than the content: refused.
    // (The purge calls it with search_path pinned to pg_catalog, so it names its schema.)
    const s = `"${t.schema}"`;
    const original = erasureTableDdl(tableObjects(t.schema, 'cards'), cards.columns);
    for (const set of [
      'holder = NULL, pin = NULL, salt = NULL, redacted_at = p_at, reason = NULL',
      'holder = NULL, pin = NULL, salt = NULL, redacted_at = p_at, meta = NULL',
      'holder = NULL, salt = NULL, redacted_at = p_at',
      'holder = NULL, pin = NULL, redacted_at = p_at',
      "holder = NULL, pin = NULL, salt = NULL, redacted_at = p_at, hash = '\\x00'",
    ]) {
      // Qualified, like the generated one: it runs on the erasure trigger's search_path (pg_catalog).
      await db.exec(`CREATE OR REPLACE FUNCTION cards_erase_rows(p_entry_id uuid, p_at timestamptz) RETURNS integer
        LANGUAGE plpgsql AS $fn$ DECLARE n integer; BEGIN
          UPDATE ${s}.cards_log SET ${set} WHERE entry_id = p_entry_id; GET DIAGNOSTICS n = ROW_COUNT; RETURN n;
        END $fn$`);
      await expect(db.query('SELECT cards_redact($1)', [v.entryId]), set).rejects.toMatchObject({
        code: 'append_only',
      });
    }
    // Nor can it use its one head UPDATE for anything but nulling the content: the rest is kept.
    await db.exec(`CREATE OR REPLACE FUNCTION cards_erase_rows(p_entry_id uuid, p_at timestamptz) RETURNS integer
      LANGUAGE plpgsql AS $fn$ DECLARE n integer; BEGIN
        UPDATE ${s}.cards_log SET holder = NULL, pin = NULL, salt = NULL, redacted_at = p_at
         WHERE entry_id = p_entry_id AND redacted_at IS NULL;
        GET DIAGNOSTICS n = ROW_COUNT;
        UPDATE ${s}.cards_head SET holder = NULL, pin = NULL, reason = 'forged', hash = '\\x00'
         WHERE entry_id = p_entry_id;
        RETURN n;
      END $fn$`);
    const w = await wallet.insert({ holder: 'Kept Shape', pin: '8889' });
    const forgotten = await wallet.forget(w.entryId, { reason: 'GDPR', after: '0 seconds' });
    expect(await db.query('SELECT cards_redact($1) AS n', [w.entryId])).toEqual([{ n: 2 }]);
    const [head] = await db.query<Record<string, unknown>>(
      `SELECT holder, pin, reason, version, encode(hash, 'hex') AS hash, redacted_at IS NOT NULL AS redacted
         FROM cards_head WHERE entry_id = $1`,
      [w.entryId],
    );
    expect(head).toEqual({
      holder: null,
      pin: null,
      reason: 'GDPR',
      version: 2,
      hash: forgotten.hash,
      redacted: true,
    });
    await db.exec(original);
    expect(await intact(v.entryId)).toBe(2);
    expect(await headIntact(v.entryId)).toBe(true);
    expect(await db.query('SELECT cards_redact($1) AS n', [v.entryId])).toEqual([{ n: 2 }]);
    expect(await intact(v.entryId)).toBe(0);
    expect(await db.query('SELECT holder, pin FROM cards_head WHERE entry_id = $1', [v.entryId])).toEqual([
      { holder: null, pin: null },
    ]);
    expect(await db.verify({ tables: ['cards'] })).toMatchObject({ ok: true, failures: [] });
  });

  it('the view never reaches a forgotten entry, and never redacts a live one', async () => {
    const wallet = db.table(cards);
    const v = await wallet.insert({ holder: 'Viewed', pin: '4444' });
    await wallet.forget(v.entryId, { reason: 'GDPR', after: '0 seconds' });
    expect(
      await db.query(`UPDATE cards SET pin = NULL WHERE entry_id = $1 RETURNING version`, [v.entryId]),
    ).toEqual([]);
    await db.transaction(async (tx) => {
      await tx.query(`SET LOCAL appendlog.reason = 'x'`);
      expect(await tx.query(`DELETE FROM cards WHERE entry_id = $1 RETURNING version`, [v.entryId])).toEqual(
        [],
      );
    });
    const live = await wallet.insert({ holder: 'Still Live', pin: '5555' });
    await db.query(`UPDATE cards SET pin = NULL WHERE entry_id = $1`, [live.entryId]);
    // Nor does the head: setting redacted_at there appends an ordinary update, not redacted.
    await db.query(`UPDATE cards_head SET pin = '5556', redacted_at = now() WHERE entry_id = $1`, [
      live.entryId,
    ]);
    expect((await wallet.history(live.entryId)).map((x) => [x.op, x.data.pin, x.redactedAt])).toEqual([
      ['insert', '5555', null],
      ['update', null, null],
      ['update', '5556', null],
    ]);
    expect(await db.query('SELECT redacted_at FROM cards_head WHERE entry_id = $1', [live.entryId])).toEqual([
      { redacted_at: null },
    ]);
    expect(await intact(v.entryId)).toBe(2);
    expect(await headIntact(v.entryId)).toBe(true);
  });

  it('an erasure record is what the log says, whatever the INSERT claims, and cannot be changed', async () => {
    const wallet = db.table(cards);
    const v = await wallet.insert({ holder: 'Recorded', pin: '6666' });
    await wallet.update(v.entryId, { pin: '6667' });
    await wallet.forget(v.entryId, { reason: 'GDPR request #99', after: '0 seconds', actor: 'dpo' });
    await db.query(
      `INSERT INTO appendlog_erasures (table_name, entry_id, erased_at, tx_id, erased_by, forget_version,
                                       forgotten_at, forgotten_by, reason, due_at, versions)
       VALUES ('cards', $1, '2000-01-01', '1', 'mallory', 1, '2000-01-01', 'mallory', 'fake', '2000-01-01', 99)`,
      [v.entryId],
    );
    const [record] = await db.query<Record<string, unknown>>(
      `SELECT reason, forgotten_by, versions, forget_version, erased_by = current_user AS by_me,
              erased_at > now() - interval '1 hour' AS recent
         FROM appendlog_erasures WHERE entry_id = $1`,
      [v.entryId],
    );
    expect(record).toEqual({
      reason: 'GDPR request #99',
      forgotten_by: 'dpo',
      versions: 3,
      forget_version: 3,
      by_me: true,
      recent: true,
    });
    expect(await intact(v.entryId)).toBe(0);
    for (const sql of [
      `UPDATE appendlog_erasures SET reason = 'x'`,
      `DELETE FROM appendlog_erasures`,
      `TRUNCATE appendlog_erasures`,
    ]) {
      await expect(db.query(sql), sql).rejects.toMatchObject({ code: 'append_only' });
    }
    await expect(
      db.query(`INSERT INTO appendlog_erasures (table_name, entry_id) VALUES ('cards', $1)`, [v.entryId]),
    ).rejects.toMatchObject({ code: 'duplicate', sqlState: '23505' });
    await expect(
      db.query(`INSERT INTO appendlog_erasures (table_name, entry_id) VALUES ('nope', $1)`, [v.entryId]),
    ).rejects.toMatchObject({ code: 'invalid_input' });
  });
});

describePostgres('erasure: an application role cannot erase', () => {
  let t: TestDb;
  let app: Database;
  let role: string;
  let session: AppRoleDb;

  beforeAll(async () => {
    // Every connection of this pool acts as the application role.
    session = await openAppRole('app', [cards], 2);
    ({ t, app, role } = session);
  });
  afterAll(() => session.close());

  it('may forget and cancel, may read erasure status, and is denied every redaction path', async () => {
    const [who] = await app.query<{ me: string }>('SELECT current_user AS me');
    expect(who!.me).toBe(role);
    const wallet = app.table(cards);
    const v = await wallet.insert({ holder: 'App Made', pin: '7777' });
    await wallet.forget(v.entryId, { reason: 'GDPR', after: '1 day' });
    await wallet.cancelForget(v.entryId, { reason: 'withdrawn' });
    await wallet.forget(v.entryId, { reason: 'GDPR again', after: '0 seconds' });
    expect(await wallet.erasure(v.entryId)).toMatchObject({ state: 'scheduled', reason: 'GDPR again' });

    for (const sql of [
      'SELECT cards_redact($1)',
      'SELECT cards_erase_rows($1, now())',
      mimic(),
      `INSERT INTO appendlog_erasures (table_name, entry_id) VALUES ('cards', $1)`,
      `DELETE FROM cards_head WHERE entry_id = $1`,
      `INSERT INTO cards_log (entry_id, version, op, recorded_at, tx_id, content_hash, hash, holder)
       SELECT entry_id, version + 1, 'update', now(), tx_id, hash, hash, 'x' FROM cards_head WHERE entry_id = $1`,
    ]) {
      await expect(app.query(sql, [v.entryId]), sql).rejects.toMatchObject({ code: '42501' });
    }
    await expect(app.query('TRUNCATE cards_head')).rejects.toMatchObject({ code: '42501' });
    // The app may update the head (that is how raw SQL writes), but not null a forgotten entry's copy.
    await expect(app.query(mimicHead, [v.entryId])).rejects.toMatchObject({ code: 'invalid_state' });
    await expect(app.purge()).rejects.toMatchObject({ code: 'invalid_usage' });
    expect((await app.purge({ dryRun: true })).erased.map((e) => e.entryId)).toEqual([v.entryId]);
    const [row] = await app.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM cards_log WHERE entry_id = $1 AND redacted_at IS NULL',
      [v.entryId],
    );
    expect(row!.n).toBe(4);
    expect(await app.query('SELECT holder, pin FROM cards_head WHERE entry_id = $1', [v.entryId])).toEqual([
      { holder: 'App Made', pin: '7777' },
    ]);

    // The owner's purge erases it.
    expect((await t.db.purge()).erased.map((e) => e.entryId)).toEqual([v.entryId]);
    expect(await wallet.erasure(v.entryId)).toMatchObject({ state: 'erased', versions: 4 });
  });
});
