import { toAppendLogError } from 'appendlog';
import postgres from 'postgres';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addresses } from '../src/tables.js';
import { describePostgres, freshDatabase, type ScenarioDb } from './support.js';

describePostgres('postgres.js through the view', () => {
  let s: ScenarioDb;
  let sql: postgres.Sql;
  let id: string;

  beforeAll(async () => {
    s = await freshDatabase('orm_postgresjs');
    sql = postgres(s.url, { max: 2, onnotice: () => {} });
  });
  afterAll(async () => {
    await sql?.end();
    await s?.drop();
  });

  it('inserts, returning what appendlog assigned', async () => {
    const [row] = await sql<{ entry_id: string; version: number }[]>`
      INSERT INTO addresses ${sql({ name: 'Ada', city: 'Oslo' })} RETURNING entry_id, version`;
    expect(row!.version).toBe(1);
    id = row!.entry_id;
  });

  it('updates with optimistic locking: the version read is the condition, a stale one matches no row', async () => {
    const updated = await sql`
      UPDATE addresses SET ${sql({ city: 'Bergen' })} WHERE entry_id = ${id} AND version = ${1}
      RETURNING version, city`;
    expect([...updated]).toEqual([{ version: 2, city: 'Bergen' }]);
    const stale =
      await sql`UPDATE addresses SET city = 'Trondheim' WHERE entry_id = ${id} AND version = ${1}`;
    expect(stale.count).toBe(0);
  });

  it('deletes with a reason set by appendlog_context in sql.begin', async () => {
    const deleted = await sql.begin(async (tx) => {
      await tx`SELECT appendlog_context(actor => ${'postgres-js-user'}, reason => ${'moved away'})`;
      return tx`DELETE FROM addresses WHERE entry_id = ${id}`;
    });
    expect(deleted.count).toBe(1);
  });

  it('the history reads back through appendlog, and the log verifies', async () => {
    const history = await s.db.table(addresses).history(id);
    expect(history.map((v) => [v.version, v.op, v.data.city])).toEqual([
      [1, 'insert', 'Oslo'],
      [2, 'update', 'Bergen'],
      [3, 'delete', 'Bergen'],
    ]);
    expect(history[2]).toMatchObject({ actor: 'postgres-js-user', reason: 'moved away' });
    expect(await s.db.verify()).toMatchObject({ ok: true, checked: 3 });
  });

  it('toAppendLogError reads the SQLSTATE off postgres.js’s PostgresError', async () => {
    const [row] = await sql<
      { entry_id: string }[]
    >`INSERT INTO addresses (name) VALUES ('Bo') RETURNING entry_id`;
    const err = await sql`DELETE FROM addresses WHERE entry_id = ${row!.entry_id}`.catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'PostgresError', code: 'AL002' });
    expect(toAppendLogError(err)).toMatchObject({ code: 'reason_required', sqlState: 'AL002', cause: err });
    const bad = await sql`SELECT appendlog_context(meta => ${sql.json([1])})`.catch((e: unknown) => e);
    expect(toAppendLogError(bad)).toMatchObject({ code: 'invalid_input', field: 'meta' });
  });

  it('a duplicate entry_id is 23505 (duplicate); addresses_restore and addresses_upsert', async () => {
    const [row] = await sql<
      { entry_id: string }[]
    >`INSERT INTO addresses (name) VALUES ('Cy') RETURNING entry_id`;
    const entryId = row!.entry_id;
    const dup = await sql`INSERT INTO addresses (entry_id, name) VALUES (${entryId}, 'Cy again')`.catch(
      (e: unknown) => e,
    );
    expect(toAppendLogError(dup)).toMatchObject({ code: 'duplicate', sqlState: '23505' });
    await sql.begin(async (tx) => {
      await tx`SELECT appendlog_context(reason => ${'moved'})`;
      await tx`DELETE FROM addresses WHERE entry_id = ${entryId}`;
    });
    await sql`SELECT addresses_restore(${entryId}::uuid, ${'back'})`;
    const up =
      await sql`SELECT op, version FROM addresses_upsert(${sql.json({ entry_id: entryId, city: 'Bodø' })})`;
    expect([...up]).toEqual([{ op: 'update', version: 4 }]);
    expect((await s.db.table(addresses).history(entryId)).map((v) => v.op)).toEqual([
      'insert',
      'delete',
      'restore',
      'update',
    ]);
  });
});
