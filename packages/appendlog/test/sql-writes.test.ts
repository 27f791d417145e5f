import { afterAll, beforeAll, expect, it } from 'vitest';
import { column as c, type Database, table } from '../src/index.js';
import {
  type AppRoleDb,
  describeEngines,
  describePostgres,
  openAppRole,
  type TestDb,
} from './support/engines.js';
import { rejection } from './support/rejection.js';

// What SQL clients and ORMs write through the view, and the functions for what they cannot spell
// on a view (an upsert, a restore): the writes of issue 16 that the chain trigger decides.
const people = table('people', { name: c.text().notNull(), city: c.text() });

describeEngines('writes through the view as SQL clients and ORMs make them', (engine) => {
  let t: TestDb;
  let db: Database;
  const versions = async (id: string) =>
    (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM people_log WHERE entry_id = $1`, [id]))[0]!
      .n;
  const insert = async (name: string) =>
    (
      await db.query<{ entry_id: string }>(`INSERT INTO people (name) VALUES ($1) RETURNING entry_id::text`, [
        name,
      ])
    )[0]!.entry_id;

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    await db.migrate([people]);
  });
  afterAll(() => t.close());

  it('an UPDATE that changes nothing appends no version (a full-object save, SET name = name)', async () => {
    const id = await insert('Same');
    const [row] = await db.query<{ version: number }>(
      `UPDATE people SET name = name, city = city WHERE entry_id = $1 RETURNING version`,
      [id],
    );
    expect(row).toEqual({ version: 1 });
    // The read-spread-write of an ORM: every column as read, the times in a JS Date (milliseconds).
    const [read] = await db.query<Record<string, unknown>>(`SELECT * FROM people WHERE entry_id = $1`, [id]);
    await db.query(
      `UPDATE people SET name = $2, city = $3, version = $4, created_at = $5, updated_at = $6 WHERE entry_id = $1`,
      [id, read!.name, read!.city, read!.version, read!.created_at, new Date()],
    );
    expect(await versions(id)).toBe(1);
    // A real change after it is version 2, chained as usual.
    await db.query(`UPDATE people SET city = 'Oslo' WHERE entry_id = $1`, [id]);
    expect(await versions(id)).toBe(2);
    expect(await db.verify()).toMatchObject({ ok: true });
  });

  it('ORM-managed columns: created_at and updated_at assignments are ignored, version = version + 1 is optimistic locking', async () => {
    const id = await insert('Managed');
    const [a] = await db.query<{ version: number; city: string }>(
      `UPDATE people SET city = 'Bergen', updated_at = now(), created_at = now() - interval '1 year'
        WHERE entry_id = $1 RETURNING version, city`,
      [id],
    );
    expect(a).toEqual({ version: 2, city: 'Bergen' });
    const [b] = await db.query<{ version: number }>(
      `UPDATE people SET city = 'Tromsø', version = version + 1 WHERE entry_id = $1 AND version = 2 RETURNING version`,
      [id],
    );
    expect(b).toEqual({ version: 3 });
    const [times] = await db.query<{ same: boolean }>(
      `SELECT h.created_at = l.recorded_at AS same FROM people_head h JOIN people_log l
          ON l.entry_id = h.entry_id AND l.version = 1 WHERE h.entry_id = $1`,
      [id],
    );
    expect(times).toEqual({ same: true });
    // A stale version: the writer read version 1 and sets 2, but the entry is at 3.
    const err = await rejection(
      db.query(`UPDATE people SET city = 'Stale', version = 2 WHERE entry_id = $1`, [id]),
    );
    expect(err).toMatchObject({ code: 'version_conflict', sqlState: '40001', expected: 1, actual: 3 });
    expect(err.message).toMatch(/the statement sets version 2, but the entry is at version 3/);
    expect((err.cause as { column?: string }).column).toBe('version');
    expect(await versions(id)).toBe(3);
  });

  it('an INSERT that sets created_at and updated_at (an ORM managing them) gets appendlog’s times instead', async () => {
    const [row] = await db.query<{ entry_id: string; version: number; backdated: boolean }>(
      `INSERT INTO people (name, created_at, updated_at, version) VALUES ('Stamped', $1, $1, 1)
       RETURNING entry_id::text, version, created_at < now() - interval '1 day' OR updated_at < now() - interval '1 day' AS backdated`,
      [new Date('2000-01-01T00:00:00Z')],
    );
    expect(row).toMatchObject({ version: 1, backdated: false });
    const [stored] = await db.query<{ same: boolean; recent: boolean }>(
      `SELECT h.created_at = l.recorded_at AND h.recorded_at = l.recorded_at AS same,
              l.recorded_at > now() - interval '1 hour' AS recent
         FROM people_head h JOIN people_log l ON l.entry_id = h.entry_id AND l.version = 1 WHERE h.entry_id = $1`,
      [row!.entry_id],
    );
    expect(stored).toEqual({ same: true, recent: true });
    expect(await db.verify({ tables: ['people'] })).toMatchObject({ ok: true });
  });

  it('an INSERT that brings its own version is refused, the detail naming the column, and nothing is written', async () => {
    const before = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM people_log`))[0]!.n;
    const err = await rejection(
      db.query(`INSERT INTO people (name, version, updated_at) VALUES ('Restored', 3, now())`),
    );
    expect(err).toMatchObject({ code: 'invalid_input', sqlState: 'AL005', field: 'version' });
    expect((err.cause as { detail?: string }).detail).toBe('field=version');
    const head = await rejection(db.query(`INSERT INTO people_head (name, tx_id) VALUES ('Restored', '7')`));
    expect(head).toMatchObject({ code: 'invalid_input', field: 'tx_id' });
    expect((head.cause as { detail?: string }).detail).toBe('field=tx_id');
    expect((await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM people_log`))[0]!.n).toBe(before);
  });

  it('an entry id that exists is a duplicate (23505) saying what the entry is: live, deleted, forgotten', async () => {
    const live = await insert('Live');
    const err = await rejection(db.query(`INSERT INTO people (entry_id, name) VALUES ($1, 'Again')`, [live]));
    expect(err).toMatchObject({ code: 'duplicate', sqlState: '23505' });
    expect(err.message).toBe(`people entry ${live} already exists (version 1)`);

    const gone = await insert('Gone');
    await db.transaction(async (tx) => {
      await tx.query(`SET LOCAL appendlog.reason = 'duplicate'`);
      await tx.query(`DELETE FROM people WHERE entry_id = $1`, [gone]);
    });
    const deleted = await rejection(
      db.query(`INSERT INTO people (entry_id, name) VALUES ($1, 'Again')`, [gone]),
    );
    expect(deleted).toMatchObject({ code: 'duplicate', sqlState: '23505' });
    expect(deleted.message).toMatch(/is deleted: restore it instead .*people_restore\(entry_id, reason\)/);

    const forgotten = await db.table(people).insert({ name: 'Forgotten' });
    await db.table(people).forget(forgotten.entryId, { reason: 'GDPR request', after: '30 days' });
    const refused = await rejection(
      db.query(`INSERT INTO people (entry_id, name) VALUES ($1, 'Again')`, [forgotten.entryId]),
    );
    expect(refused.message).toMatch(/is forgotten/);
    expect(await versions(live)).toBe(1);
    expect(await versions(gone)).toBe(2);
  });

  it('<t>_upsert: inserts an unknown id, patches a live entry, refuses a deleted one', async () => {
    const id = '5b0c5c9e-8d8a-4a43-9a52-2f6f2b0e0b01';
    const [first] = await db.query<{ version: number; op: string; name: string; actor: string }>(
      `SELECT version, op, name, actor FROM people_upsert(jsonb_build_object('entry_id', $1::text, 'name', 'Upserted'), actor => 'importer')`,
      [id],
    );
    expect(first).toEqual({ version: 1, op: 'insert', name: 'Upserted', actor: 'importer' });
    const [second] = await db.query<{ version: number; op: string; name: string; city: string }>(
      `SELECT version, op, name, city FROM people_upsert($1::jsonb)`,
      [JSON.stringify({ entry_id: id, city: 'Oslo' })],
    );
    expect(second).toEqual({ version: 2, op: 'update', name: 'Upserted', city: 'Oslo' });
    await db.table(people).delete(id, { reason: 'gone' });
    const err = await rejection(
      db.query(`SELECT * FROM people_upsert($1::jsonb)`, [JSON.stringify({ entry_id: id })]),
    );
    expect(err).toMatchObject({ code: 'not_found' });
    expect(err.message).toMatch(/is deleted; restore it first/);
    const bad = await rejection(db.query(`SELECT * FROM people_upsert('{"name": "no id"}')`));
    expect(bad).toMatchObject({ code: 'invalid_input', field: 'entry_id' });
  });

  it('INSERT … ON CONFLICT on the view is accepted but never takes its conflict path: an existing id is 23505, <t>_upsert is the upsert', async () => {
    // docs/sql-and-orms.md and docs/api.md say exactly this. The view is a simple view of the head,
    // so PostgreSQL accepts ON CONFLICT and takes the head's primary key as the arbiter; but the
    // chain trigger (BEFORE INSERT) runs before the conflict check and refuses the known id first.
    const id = await insert('Conflicted');
    for (const clause of [
      'ON CONFLICT (entry_id) DO NOTHING',
      'ON CONFLICT DO NOTHING',
      `ON CONFLICT (entry_id) DO UPDATE SET city = 'Oslo'`,
    ]) {
      const sql = `INSERT INTO people (entry_id, name) VALUES ($1, 'Again') ${clause} RETURNING version`;
      const err = await rejection(db.query(sql, [id]));
      expect(err, sql).toMatchObject({ code: 'duplicate', sqlState: '23505' });
      expect(err.message, sql).toBe(`people entry ${id} already exists (version 1)`);
    }
    expect(await versions(id)).toBe(1);
    expect((await db.table(people).get(id))?.data).toEqual({ name: 'Conflicted', city: null });
    // A new id is an ordinary insert, the clause unused.
    const fresh = '7c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5';
    expect(
      await db.query(
        `INSERT INTO people (entry_id, name) VALUES ($1, 'New') ON CONFLICT (entry_id) DO UPDATE SET city = 'Oslo' RETURNING version, city`,
        [fresh],
      ),
    ).toEqual([{ version: 1, city: null }]);
    // A target with no unique index under it is PostgreSQL's own refusal.
    expect(
      await rejection(db.query(`INSERT INTO people (name) VALUES ('x') ON CONFLICT (name) DO NOTHING`)),
    ).toMatchObject({ code: '42P10' });
    // The upsert that works: the generated function.
    const [up] = await db.query<{ version: number; op: string; city: string }>(
      `SELECT version, op, city FROM people_upsert($1::jsonb)`,
      [JSON.stringify({ entry_id: id, city: 'Oslo' })],
    );
    expect(up).toEqual({ version: 2, op: 'update', city: 'Oslo' });
  });

  it('<t>_restore brings a deleted entry back with a reason', async () => {
    const book = db.table(people);
    const v = await book.insert({ name: 'Binned', city: 'Bodø' });
    await book.delete(v.entryId, { reason: 'by mistake?' });
    const [row] = await db.query<{ version: number; op: string; reason: string; city: string }>(
      `SELECT version, op, reason, city FROM people_restore($1, 'not a mistake')`,
      [v.entryId],
    );
    expect(row).toEqual({ version: 3, op: 'restore', reason: 'not a mistake', city: 'Bodø' });
    expect((await book.get(v.entryId))?.data.city).toBe('Bodø');
    expect(await db.verify()).toMatchObject({ ok: true });
  });

  it('UPDATE … FROM whose join matches one entry twice updates it once, as on any table: one version, one row', async () => {
    const id = await insert('Joined');
    const rows = await db.query(
      `UPDATE people p SET city = s.city, version = p.version + 1
         FROM (VALUES ($1::uuid, 'A'), ($1::uuid, 'B')) s(id, city) WHERE p.entry_id = s.id RETURNING p.version`,
      [id],
    );
    expect(rows).toEqual([{ version: 2 }]);
    expect(await versions(id)).toBe(2);
    expect(['A', 'B']).toContain((await db.table(people).get(id))?.data.city);
  });

  it('MERGE into the view chains like its INSERT, UPDATE and DELETE (PostgreSQL 17+); TRUNCATE is refused', async () => {
    const id = await insert('Merged');
    const [{ n }] = (await db.query<{ n: number }>(
      `SELECT current_setting('server_version_num')::int AS n`,
    )) as [{ n: number }];
    const merge = `MERGE INTO people p USING (SELECT $1::uuid AS id) s ON p.entry_id = s.id
                   WHEN MATCHED THEN UPDATE SET city = 'Oslo'
                   WHEN NOT MATCHED THEN INSERT (entry_id, name) VALUES (s.id, 'New')`;
    if (n >= 170000) {
      await db.query(merge, [id]);
      expect(await versions(id)).toBe(2);
      // A delete by MERGE needs a reason like any other.
      const del = `MERGE INTO people p USING (SELECT $1::uuid AS id) s ON p.entry_id = s.id WHEN MATCHED THEN DELETE`;
      expect(await rejection(db.query(del, [id]))).toMatchObject({ code: 'reason_required' });
      await db.transaction(async (tx) => {
        await tx.query(`SELECT appendlog_context(reason => 'merged away')`);
        await tx.query(del, [id]);
      });
      expect((await db.table(people).history(id)).map((v) => v.op)).toEqual(['insert', 'update', 'delete']);
    } else {
      // PostgreSQL 15 and 16 run MERGE on tables only.
      expect(await rejection(db.query(merge, [id]))).toMatchObject({ code: '0A000' });
      expect(await versions(id)).toBe(1);
    }
    // Not appendlog's refusal but PostgreSQL's: a view cannot be truncated. The driver's own error, its SQLSTATE as code.
    expect(await rejection(db.query('TRUNCATE people'))).toMatchObject({ code: '42809' });
    expect(await rejection(db.query('TRUNCATE people_head'))).toMatchObject({ code: 'append_only' });
    expect((await db.verify({ tables: ['people'] })).ok).toBe(true);
  });

  it('RETURNING gives what was stored, also a column added later with a default', async () => {
    const id = await insert('Before the column');
    const v2 = table('people', {
      name: c.text().notNull(),
      city: c.text(),
      country: c.text().notNull().default('NO'),
    });
    await db.migrate([v2]);
    const [row] = await db.query<{ country: string; city: string }>(
      `UPDATE people SET city = 'Narvik' WHERE entry_id = $1 RETURNING country, city`,
      [id],
    );
    expect(row).toEqual({ country: 'NO', city: 'Narvik' });
    expect(
      await db.query(`SELECT country FROM people_log WHERE entry_id = $1 AND version = 2`, [id]),
    ).toEqual([{ country: 'NO' }]);
  });
});

describePostgres('upsert and restore as the least-privilege application role, concurrently', () => {
  let t: TestDb;
  let app: Database;
  let session: AppRoleDb;

  beforeAll(async () => {
    session = await openAppRole('orm_app', [people], 4);
    ({ t, app } = session);
  });
  afterAll(() => session.close());

  it('the app role’s INSERT cannot backdate an entry: created_at and updated_at it sets are replaced', async () => {
    const [row] = await app.query<{ entry_id: string }>(
      `INSERT INTO people (name, created_at, updated_at) VALUES ('Backdated', '2000-01-01', '2000-01-01') RETURNING entry_id::text`,
    );
    const [times] = await t.db.query<{ created: boolean; recorded: boolean }>(
      `SELECT h.created_at > now() - interval '1 hour' AS created, l.recorded_at > now() - interval '1 hour' AS recorded
         FROM people_log l JOIN people_head h USING (entry_id) WHERE l.entry_id = $1 AND l.version = 1`,
      [row!.entry_id],
    );
    expect(times).toEqual({ created: true, recorded: true });
    const err = await rejection(
      app.query(`INSERT INTO people_head (name, hash) VALUES ('Forged', '\\x00') RETURNING entry_id`),
    );
    expect(err).toMatchObject({ code: 'invalid_input', field: 'hash' });
  });

  it('four connections upserting one new id at once: one insert, three updates, one chain', async () => {
    const id = '0f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a00';
    const results = await Promise.all(
      [1, 2, 3, 4].map((n) =>
        app.query<{ op: string; version: number }>(`SELECT op, version FROM people_upsert($1::jsonb)`, [
          JSON.stringify({ entry_id: id, name: `Writer ${n}` }),
        ]),
      ),
    );
    const ops = results.map((r) => r[0]!.op).sort();
    expect(ops).toEqual(['insert', 'update', 'update', 'update']);
    expect(results.map((r) => r[0]!.version).sort()).toEqual([1, 2, 3, 4]);
    await app.transaction(async (tx) => {
      await tx.query(`SET LOCAL appendlog.reason = 'test'`);
      await tx.query(`DELETE FROM people WHERE entry_id = $1`, [id]);
    });
    const [restored] = await app.query<{ op: string }>(`SELECT op FROM people_restore($1, 'back')`, [id]);
    expect(restored).toEqual({ op: 'restore' });
    expect(await t.db.verify()).toMatchObject({ ok: true, failures: [] });
  });
});
