import { afterAll, beforeAll, expect, it } from 'vitest';
import { column as c, type Database, table } from '../src/index.js';
import {
  type AppRoleDb,
  describeEngines,
  describePostgres,
  openAppRole,
  type TestDb,
} from './support/engines.js';

// Issue 14: what an application that is hostile, or owned by an attacker, can do with the role
// `migrate({ appRole })` set up; and what `verify` reports of what only the owner could do.
const people = table(
  'people',
  { name: c.text().notNull(), tel: c.text() },
  { retention: { deletedFor: '30 days' } },
);

describePostgres('a hostile application role', () => {
  let t: TestDb;
  let app: Database;
  let session: AppRoleDb;

  beforeAll(async () => {
    // One connection: the attack's temp objects live in one session.
    session = await openAppRole('hostile', [people], 1);
    ({ t, app } = session);
  });
  afterAll(() => session.close());

  it('cannot move a head from a trigger of its own: every head write is a chained version, the purge erases nothing live', async () => {
    const book = app.table(people);
    const live = await book.insert({ name: 'Live Person', tel: '+47 1' }, { actor: 'app' });
    // The audit's attack: a temp table whose trigger rewrites the head from depth 1.
    const attack = (set: string) =>
      app.transaction(async (tx) => {
        await tx.exec(`
          CREATE TEMP TABLE trap (x int) ON COMMIT DROP;
          CREATE OR REPLACE FUNCTION pg_temp.rewrite() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN
            UPDATE ${t.schema}.people_head SET ${set} WHERE entry_id = '${live.entryId}';
            RETURN NEW;
          END $$;
          CREATE TRIGGER trap AFTER INSERT ON trap FOR EACH ROW EXECUTE FUNCTION pg_temp.rewrite();`);
        await tx.query('INSERT INTO trap VALUES (1)');
      });
    // Without a reason the "delete" is refused like any delete (version = 1 is the version it
    // has, not a new one named, so it is no conflict either).
    await expect(
      attack(`deleted = true, op = 'delete', recorded_at = '2000-01-01', version = 1, hash = '\\x00'`),
    ).rejects.toMatchObject({ code: 'reason_required' });
    // With a reason it is an honest delete: chained, timed now, not in 2000.
    await attack(`deleted = true, op = 'delete', recorded_at = '2000-01-01', reason = 'trap'`);
    const history = await book.history(live.entryId);
    expect(history.map((v) => [v.version, v.op, v.reason])).toEqual([
      [1, 'insert', null],
      [2, 'delete', 'trap'],
    ]);
    expect(history[1]!.recordedAt.getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(history[1]!.parentHash).toBe(history[0]!.hash);
    // The owner's purge applies the 30-day retention to the real time: nothing is due.
    const purged = await t.db.purge();
    expect(purged.scheduled).toEqual([]);
    expect(purged.erased).toEqual([]);
    expect(await t.db.verify()).toMatchObject({ ok: true, failures: [] });
  });

  it('cannot write the log, forge a seq, or delete and truncate the head', async () => {
    const book = app.table(people);
    const v = await book.insert({ name: 'Target' });
    for (const sql of [
      `INSERT INTO people_log (entry_id, version, op, recorded_at, tx_id, content_hash, hash, name)
       VALUES ('${v.entryId}', 2, 'update', now(), pg_current_xact_id(), '\\x00', '\\x00', 'forged')`,
      `INSERT INTO people_log (seq, entry_id, version, op, recorded_at, tx_id, content_hash, hash, name)
       OVERRIDING SYSTEM VALUE VALUES (9999999, '${v.entryId}', 2, 'update', now(), pg_current_xact_id(), '\\x00', '\\x00', 'x')`,
      `UPDATE people_log SET name = 'x' WHERE entry_id = '${v.entryId}'`,
      `DELETE FROM people_log`,
      `TRUNCATE people_log`,
      `DELETE FROM people_head`,
      `TRUNCATE people_head`,
      `ALTER TABLE people_head DISABLE TRIGGER appendlog_chain`,
      `CREATE TRIGGER mine BEFORE UPDATE ON people_head FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()`,
    ]) {
      await expect(app.query(sql), sql).rejects.toMatchObject({
        code: expect.stringMatching(/^42501$|^AL001$/),
      });
    }
    // Honest writes still work and the chain is whole.
    expect((await book.update(v.entryId, { tel: '+47 2' })).version).toBe(2);
    expect(await t.db.verify()).toMatchObject({ ok: true });
  });

  it('cannot set its own version, time, transaction or hash: the chain trigger overwrites or refuses them', async () => {
    const book = app.table(people);
    const v = await book.insert({ name: 'Clock' });
    await app.query(
      `UPDATE people_head SET name = 'Moved', recorded_at = '2999-01-01', tx_id = '1', hash = '\\xff', parent_hash = NULL,
              created_at = '2000-01-01', seq = 1, redacted_at = now() WHERE entry_id = $1`,
      [v.entryId],
    );
    const [h] = await book.history(v.entryId).then((vs) => vs.slice(-1));
    expect(h).toMatchObject({ version: 2, op: 'update', parentHash: v.hash });
    expect(h!.recordedAt.getFullYear()).toBeLessThan(2999);
    await expect(
      app.query(
        `INSERT INTO people_head (entry_id, name, version, hash) VALUES (gen_random_uuid(), 'x', 7, '\\x00')`,
      ),
    ).rejects.toMatchObject({ code: 'invalid_input' });
    expect(await t.db.verify()).toMatchObject({ ok: true });
  });

  it('cannot store oversize actor, reason or meta through raw SQL', async () => {
    const v = await app.table(people).insert({ name: 'Big' });
    const big = 'x'.repeat(5000);
    for (const [sql, field] of [
      [`UPDATE people_head SET actor = '${big}', name = 'a' WHERE entry_id = $1`, 'actor'],
      [`UPDATE people_head SET reason = '${big}', name = 'b' WHERE entry_id = $1`, 'reason'],
      [
        `UPDATE people_head SET meta = jsonb_build_object('blob', repeat('y', 1100000)), name = 'c' WHERE entry_id = $1`,
        'meta',
      ],
      [`UPDATE people_head SET meta = '[1]', name = 'd' WHERE entry_id = $1`, 'meta'],
    ] as const) {
      await expect(app.query(sql, [v.entryId]), field).rejects.toMatchObject({
        code: 'invalid_input',
        field,
      });
    }
    await expect(
      app.transaction(async (tx) => {
        await tx.exec(`SET LOCAL appendlog.actor = '${big}'`);
        await tx.query(`UPDATE people SET name = 'e' WHERE entry_id = $1`, [v.entryId]);
      }),
    ).rejects.toMatchObject({ code: 'invalid_input', field: 'actor' });
    expect((await app.table(people).history(v.entryId)).length).toBe(1);
  });
});

describeEngines('verify reports what only the owner can do', (engine) => {
  let t: TestDb;
  let db: Database;

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
  });
  afterAll(() => t.close());

  it('a disabled trigger, edited generated code and an erasure recorded before its due time', async () => {
    await db.migrate([people]);
    const book = db.table(people);
    const v = await book.insert({ name: 'Owner test' });
    expect(await db.verify()).toMatchObject({ ok: true });

    await db.exec('ALTER TABLE people_log DISABLE TRIGGER appendlog_refuse_change');
    expect((await db.verify()).failures.map((f) => f.problem)).toEqual(['trigger_disabled']);
    await db.exec('ALTER TABLE people_log ENABLE TRIGGER appendlog_refuse_change');

    const [fn] = await db.query<{ def: string }>(
      `SELECT pg_get_functiondef('people_log_chain'::regproc) AS def`,
    );
    const def = fn!.def.replace('RETURN NEW;\nEND', 'RETURN NEW; -- edited\nEND');
    expect(def).not.toBe(fn!.def);
    await db.exec(def);
    const edited = await db.verify();
    expect(edited.failures.map((f) => [f.problem, f.detail.split(' ')[1]])).toEqual([
      ['code_modified', `${t.schema === 'public' ? '"public"' : `"${t.schema}"`}."people_log_chain"`],
    ]);
    await db.exec(fn!.def);
    expect(await db.verify()).toMatchObject({ ok: true });

    // An erasure record that says it ran before the due time (only a superuser with the
    // record's triggers off can write one).
    await book.forget(v.entryId, { reason: 'GDPR', after: '1 day' });
    await db.transaction(async (tx) => {
      await tx.exec('ALTER TABLE appendlog_erasures DISABLE TRIGGER USER');
      await tx.query(
        `INSERT INTO appendlog_erasures (table_name, entry_id, erased_at, tx_id, erased_by, forget_version,
                                         forgotten_at, reason, due_at, versions)
         VALUES ('people', $1, now(), pg_current_xact_id(), 'x', 2, now(), 'GDPR', now() + interval '1 day', 2)`,
        [v.entryId],
      );
      await tx.exec('ALTER TABLE appendlog_erasures ENABLE TRIGGER USER');
    });
    expect((await db.verify()).failures.map((f) => f.problem)).toEqual(['erasure_early']);
  });
});
