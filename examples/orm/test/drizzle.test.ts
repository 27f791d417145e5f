import { toAppendLogError } from 'appendlog';
import { and, eq, sql } from 'drizzle-orm';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addresses, addressesAsOf, addressesLog } from '../src/generated/drizzle.js';
import { addresses as addressesTable } from '../src/tables.js';
import { describePostgres, freshDatabase, type ScenarioDb } from './support.js';

describePostgres('Drizzle through the view', () => {
  let s: ScenarioDb;
  let pool: pg.Pool;
  let db: NodePgDatabase;
  let id: string;

  beforeAll(async () => {
    s = await freshDatabase('orm_drizzle');
    pool = new pg.Pool({ connectionString: s.url });
    db = drizzle({ client: pool });
  });
  afterAll(async () => {
    await pool?.end();
    await s?.drop();
  });

  it('inserts, returning what appendlog assigned', async () => {
    const [row] = await db
      .insert(addresses)
      .values({ name: 'Ada', city: 'Oslo' })
      .returning({ entryId: addresses.entryId, version: addresses.version });
    expect(row!.version).toBe(1);
    id = row!.entryId;
  });

  it('updates with optimistic locking: the version read is the condition, a stale one matches no row', async () => {
    const updated = await db
      .update(addresses)
      .set({ city: 'Bergen' })
      .where(and(eq(addresses.entryId, id), eq(addresses.version, 1)))
      .returning({ version: addresses.version, city: addresses.city });
    expect(updated).toEqual([{ version: 2, city: 'Bergen' }]);
    const stale = await db
      .update(addresses)
      .set({ city: 'Trondheim' })
      .where(and(eq(addresses.entryId, id), eq(addresses.version, 1)));
    expect(stale.rowCount).toBe(0);
  });

  it('deletes with a reason set by appendlog_context in the transaction', async () => {
    const deleted = await db.transaction(async (tx) => {
      await tx.execute(sql`SELECT appendlog_context(actor => ${'drizzle-user'}, reason => ${'moved away'})`);
      return tx.delete(addresses).where(eq(addresses.entryId, id));
    });
    expect(deleted.rowCount).toBe(1);
  });

  it('the history reads back through appendlog, and the log verifies', async () => {
    const history = await s.db.table(addressesTable).history(id);
    expect(history.map((v) => [v.version, v.op, v.data.city])).toEqual([
      [1, 'insert', 'Oslo'],
      [2, 'update', 'Bergen'],
      [3, 'delete', 'Bergen'],
    ]);
    expect(history[2]).toMatchObject({ actor: 'drizzle-user', reason: 'moved away' });
    expect(await s.db.verify()).toMatchObject({ ok: true, checked: 3 });
  });

  it('reads the log and the as-of function through the generated schema', async () => {
    const log = await db
      .select({ version: addressesLog.version, op: addressesLog.op, reason: addressesLog.reason })
      .from(addressesLog)
      .where(eq(addressesLog.entryId, id))
      .orderBy(addressesLog.version);
    expect(log).toEqual([
      { version: 1, op: 'insert', reason: null },
      { version: 2, op: 'update', reason: null },
      { version: 3, op: 'delete', reason: 'moved away' },
    ]);
    const v2 = (await s.db.table(addressesTable).history(id))[1]!;
    const { rows } = await db.execute(addressesAsOf(v2.recordedAtIso));
    expect(rows.filter((r) => r.entry_id === id).map((r) => [r.version, r.city])).toEqual([[2, 'Bergen']]);
  });

  it('read, spread, write: set({ ...row, city }) leaves out the columns appendlog sets', async () => {
    const [inserted] = await db.insert(addresses).values({ name: 'Cy', city: 'Oslo' }).returning();
    const [row] = await db.select().from(addresses).where(eq(addresses.entryId, inserted!.entryId));
    const [saved] = await db
      .update(addresses)
      .set({ ...row!, city: 'Bergen' })
      .where(eq(addresses.entryId, row!.entryId))
      .returning();
    expect(saved).toMatchObject({ version: 2, city: 'Bergen', name: 'Cy' });
  });

  it('toAppendLogError reads the SQLSTATE off the cause of the error Drizzle throws', async () => {
    const [row] = await db.insert(addresses).values({ name: 'Bo' }).returning({ entryId: addresses.entryId });
    const err = await db
      .delete(addresses)
      .where(eq(addresses.entryId, row!.entryId))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ cause: { code: 'AL002' } });
    expect(toAppendLogError(err)).toMatchObject({ code: 'reason_required', sqlState: 'AL002', cause: err });
  });

  it('a duplicate entry_id is 23505 (duplicate); a deleted entry comes back with addresses_restore; addresses_upsert patches it', async () => {
    const [row] = await db.insert(addresses).values({ name: 'Cy' }).returning({ entryId: addresses.entryId });
    const entryId = row!.entryId;
    const dup = await db
      .insert(addresses)
      .values({ entryId, name: 'Cy again' })
      .catch((e: unknown) => e);
    expect(toAppendLogError(dup)).toMatchObject({ code: 'duplicate', sqlState: '23505' });
    await db.transaction(async (tx) => {
      await tx.execute(sql`SELECT appendlog_context(reason => ${'moved'})`);
      await tx.delete(addresses).where(eq(addresses.entryId, entryId));
    });
    await db.execute(sql`SELECT addresses_restore(${entryId}::uuid, ${'back'})`);
    const up = await db.execute(
      sql`SELECT op, version FROM addresses_upsert(${JSON.stringify({ entry_id: entryId, city: 'Bodø' })}::jsonb)`,
    );
    expect(up.rows).toEqual([{ op: 'update', version: 4 }]);
    expect((await s.db.table(addressesTable).history(entryId)).map((v) => v.op)).toEqual([
      'insert',
      'delete',
      'restore',
      'update',
    ]);
  });
});
