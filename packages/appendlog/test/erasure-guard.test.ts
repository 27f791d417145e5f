import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { column as c, connect, type Database, table } from '../src/index.js';
import { erasureTableDdl } from '../src/sql/erasure-ddl.js';
import { tableObjects } from '../src/sql/names.js';
import { describeEngines, describePostgres, postgres, rawPool, type TestDb } from './support/engines.js';

const cards = table('cards', { holder: c.text().notNull(), pin: c.text() });

/** The exact redaction the purge performs, written by hand. */
const mimic = (extra = '') =>
  `UPDATE cards_log SET holder = NULL, pin = NULL, salt = NULL, redacted_at = now()${extra} WHERE entry_id = $1`;

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
      ]) {
        await expect(db.query(sql, [entry.entryId]), sql).rejects.toMatchObject({ code: 'append_only' });
      }
      // Even inside a transaction that has just recorded (and so redacted) another due entry.
      await expect(
        db.transaction(async (tx) => {
          await tx.query(`INSERT INTO appendlog_erasures (table_name, entry_id) VALUES ('cards', $1)`, [
            other.entryId,
          ]);
          await tx.query(mimic(), [entry.entryId]);
        }),
      ).rejects.toMatchObject({ code: 'append_only' });
    }
    // Nor can the internal row function be called directly.
    await expect(db.query('SELECT cards_erase_rows($1, now())', [due.entryId])).rejects.toMatchObject({
      code: 'append_only',
    });
    expect(await intact(live.entryId)).toBe(1);
    expect(await intact(pending.entryId)).toBe(2);
    expect(await intact(due.entryId)).toBe(2);
    expect(await intact(other.entryId)).toBe(2);
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
    // The purge path with a row function that changes more (or less) than the content: refused.
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
          UPDATE ${tableObjects(t.schema, 'cards').log} SET ${set} WHERE entry_id = p_entry_id;
          GET DIAGNOSTICS n = ROW_COUNT; RETURN n;
        END $fn$`);
      await expect(db.query('SELECT cards_redact($1)', [v.entryId]), set).rejects.toMatchObject({
        code: 'append_only',
      });
    }
    await db.exec(original);
    expect(await intact(v.entryId)).toBe(2);
    expect(await db.query('SELECT cards_redact($1) AS n', [v.entryId])).toEqual([{ n: 2 }]);
    expect(await intact(v.entryId)).toBe(0);
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
    expect((await wallet.history(live.entryId)).map((x) => [x.op, x.data.pin, x.redactedAt])).toEqual([
      ['insert', '5555', null],
      ['update', null, null],
    ]);
    expect(await intact(v.entryId)).toBe(2);
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
  let appPool: pg.Pool;
  const role = `app_${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    t = await postgres.open();
    await t.db.query(`CREATE ROLE ${role} NOLOGIN`);
    await t.db.migrate([cards], { appRole: role });
    // Every connection of this pool acts as the application role.
    const pool = new pg.Pool({
      connectionString: process.env.DATABASE_URL,
      max: 2,
      options: `-c search_path=${t.schema} -c role=${role}`,
    });
    appPool = pool;
    app = await connect({ client: pool, schema: t.schema });
  });
  afterAll(async () => {
    await app.close();
    await appPool.end();
    await t.close();
    const pool = rawPool(1);
    await pool.query(`DROP OWNED BY ${role}; DROP ROLE ${role}`).catch(() => {});
    await pool.end();
  });

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
    ]) {
      await expect(app.query(sql, [v.entryId]), sql).rejects.toMatchObject({ code: '42501' });
    }
    await expect(app.purge()).rejects.toMatchObject({ code: 'invalid_usage' });
    expect((await app.purge({ dryRun: true })).erased.map((e) => e.entryId)).toEqual([v.entryId]);
    const [row] = await app.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM cards_log WHERE entry_id = $1 AND redacted_at IS NULL',
      [v.entryId],
    );
    expect(row!.n).toBe(4);

    // The owner's purge erases it.
    expect((await t.db.purge()).erased.map((e) => e.entryId)).toEqual([v.entryId]);
    expect(await wallet.erasure(v.entryId)).toMatchObject({ state: 'erased', versions: 4 });
  });
});
