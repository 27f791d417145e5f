import { column as c, table, toAppendLogError } from 'appendlog';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addressesAsOf, type DB } from '../src/generated/kysely.js';
import { addresses } from '../src/tables.js';
import { describePostgres, freshDatabase, type ScenarioDb } from './support.js';

describePostgres('Kysely through the view', () => {
  let s: ScenarioDb;
  let kysely: Kysely<DB>;
  let id: string;

  beforeAll(async () => {
    s = await freshDatabase('orm_kysely');
    kysely = new Kysely<DB>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: s.url }) }),
    });
  });
  afterAll(async () => {
    await kysely?.destroy();
    await s?.drop();
  });

  it('inserts, returning what appendlog assigned', async () => {
    const row = await kysely
      .insertInto('addresses')
      .values({ name: 'Ada', city: 'Oslo' })
      .returning(['entry_id', 'version', 'created_at'])
      .executeTakeFirstOrThrow();
    expect(row.version).toBe(1);
    expect(row.created_at).toBeInstanceOf(Date);
    id = row.entry_id;
  });

  it('updates with optimistic locking: the version read is the condition, a stale one matches no row', async () => {
    const updated = await kysely
      .updateTable('addresses')
      .set({ city: 'Bergen' })
      .where('entry_id', '=', id)
      .where('version', '=', 1)
      .returning(['version', 'city'])
      .executeTakeFirstOrThrow();
    expect(updated).toEqual({ version: 2, city: 'Bergen' });
    const stale = await kysely
      .updateTable('addresses')
      .set({ city: 'Trondheim' })
      .where('entry_id', '=', id)
      .where('version', '=', 1)
      .executeTakeFirst();
    expect(stale.numUpdatedRows).toBe(0n);
  });

  it('deletes with a reason set by appendlog_context in the transaction', async () => {
    await expect(kysely.deleteFrom('addresses').where('entry_id', '=', id).execute()).rejects.toMatchObject({
      code: 'AL002',
    });
    const deleted = await kysely.transaction().execute(async (trx) => {
      await sql`SELECT appendlog_context(actor => ${'kysely-user'}, reason => ${'moved away'})`.execute(trx);
      return trx.deleteFrom('addresses').where('entry_id', '=', id).executeTakeFirst();
    });
    expect(deleted.numDeletedRows).toBe(1n);
  });

  it('the history reads back through appendlog, and the log verifies', async () => {
    const history = await s.db.table(addresses).history(id);
    expect(history.map((v) => [v.version, v.op, v.data.city])).toEqual([
      [1, 'insert', 'Oslo'],
      [2, 'update', 'Bergen'],
      [3, 'delete', 'Bergen'],
    ]);
    expect(history[2]).toMatchObject({ actor: 'kysely-user', reason: 'moved away' });
    expect(await s.db.verify()).toMatchObject({ ok: true, checked: 3 });
  });

  it('reads the log and the as-of function through the generated types', async () => {
    const log = await kysely
      .selectFrom('addresses_log')
      .select(['version', 'op', 'city', 'reason'])
      .where('entry_id', '=', id)
      .orderBy('version')
      .execute();
    expect(log).toEqual([
      { version: 1, op: 'insert', city: 'Oslo', reason: null },
      { version: 2, op: 'update', city: 'Bergen', reason: null },
      { version: 3, op: 'delete', city: 'Bergen', reason: 'moved away' },
    ]);
    // As of version 2's own time (microseconds, so the ISO string, not the Date).
    const v2 = (await s.db.table(addresses).history(id))[1]!;
    const asOf = await kysely
      .selectFrom(addressesAsOf(v2.recordedAtIso))
      .selectAll()
      .where('entry_id', '=', id)
      .execute();
    expect(asOf.map((r) => [r.version, r.city])).toEqual([[2, 'Bergen']]);
  });

  it('toAppendLogError reads the SQLSTATE off the pg error Kysely throws', async () => {
    const [row] = await s.db.query<{ entry_id: string }>(
      `INSERT INTO addresses (name) VALUES ('Bo') RETURNING entry_id`,
    );
    const err = await kysely
      .deleteFrom('addresses')
      .where('entry_id', '=', row!.entry_id)
      .execute()
      .catch((e: unknown) => e);
    expect(toAppendLogError(err)).toMatchObject({ code: 'reason_required', sqlState: 'AL002', cause: err });
  });
});

// What the chain trigger decides for ORM writes: duplicate and deleted ids, no-op updates,
// RETURNING after a default, the restore and upsert functions.
describePostgres('Kysely: the writes the chain trigger decides', () => {
  let s: ScenarioDb;
  let kysely: Kysely<DB>;

  beforeAll(async () => {
    s = await freshDatabase('orm_kysely_next');
    kysely = new Kysely<DB>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: s.url }) }),
    });
  });
  afterAll(async () => {
    await kysely?.destroy();
    await s?.drop();
  });

  const insert = (name: string) =>
    kysely.insertInto('addresses').values({ name }).returning('entry_id').executeTakeFirstOrThrow();

  // Holds already (the head's primary key fires first); kept beside the items that need the trigger.
  it('a duplicate entry_id is 23505, which toAppendLogError maps to duplicate', async () => {
    const { entry_id } = await insert('Ada');
    const err = await kysely
      .insertInto('addresses')
      .values({ entry_id, name: 'Ada again' })
      .execute()
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: '23505' });
    expect(toAppendLogError(err)).toMatchObject({ code: 'duplicate' });
  });

  it('inserting a deleted entry’s id says to restore it; addresses_restore(entry_id, reason) does', async () => {
    const { entry_id } = await insert('Bo');
    await kysely.transaction().execute(async (trx) => {
      await sql`SELECT appendlog_context(reason => ${'gone'})`.execute(trx);
      await trx.deleteFrom('addresses').where('entry_id', '=', entry_id).execute();
    });
    const err = await kysely
      .insertInto('addresses')
      .values({ entry_id, name: 'Bo' })
      .execute()
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: '23505', message: expect.stringContaining('deleted: restore it') });
    await sql`SELECT addresses_restore(${entry_id}::uuid, ${'came back'})`.execute(kysely);
    expect((await s.db.table(addresses).history(entry_id)).map((v) => [v.op, v.reason])).toEqual([
      ['insert', null],
      ['delete', 'gone'],
      ['restore', 'came back'],
    ]);
  });

  it('an UPDATE that changes nothing appends no version', async () => {
    const { entry_id } = await insert('Cy');
    const r = await kysely
      .updateTable('addresses')
      .set({ name: 'Cy' })
      .where('entry_id', '=', entry_id)
      .executeTakeFirst();
    expect(r.numUpdatedRows).toBe(1n);
    expect((await s.db.table(addresses).history(entry_id)).map((v) => v.version)).toEqual([1]);
  });

  // Holds already with head-first storage (issue 16 item 4).
  it('RETURNING gives what was stored, after a column with a default was added', async () => {
    const { entry_id } = await insert('Di');
    const withCountry = table('addresses', {
      ...addresses.definition,
      country: c.text().notNull().default('NO'),
    });
    await s.db.migrate([withCountry]);
    const { rows } = await sql<{ country: string }>`
      UPDATE addresses SET city = 'Oslo' WHERE entry_id = ${entry_id} RETURNING country`.execute(kysely);
    expect(rows).toEqual([{ country: 'NO' }]);
    expect((await s.db.table(withCountry).get(entry_id))?.data.country).toBe('NO');
  });

  it('upserts with addresses_upsert(data, actor, reason, meta): an unknown id starts, a live one is patched', async () => {
    const entry_id = '7d1e0f2a-3b4c-4d5e-8f60-718293a4b5c6';
    const upsert = (data: Record<string, unknown>) =>
      sql<{ op: string; version: number }>`
        SELECT op, version FROM addresses_upsert(${JSON.stringify(data)}::jsonb, reason => ${'import'})`.execute(
        kysely,
      );
    expect((await upsert({ entry_id, name: 'Ed' })).rows).toEqual([{ op: 'insert', version: 1 }]);
    expect((await upsert({ entry_id, city: 'Bergen' })).rows).toEqual([{ op: 'update', version: 2 }]);
    const row = await kysely
      .selectFrom('addresses')
      .selectAll()
      .where('entry_id', '=', entry_id)
      .executeTakeFirst();
    expect(row).toMatchObject({ name: 'Ed', city: 'Bergen', version: 2 });
    expect((await s.db.verify()).ok).toBe(true);
  });
});
