import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../src/index.js';
import { describeEngines, describePostgres, postgres, rawPool, type TestDb } from './support/engines.js';
import { addresses } from './support/tables.js';

describeEngines('raw SQL through the view', (engine) => {
  let t: TestDb;
  let db: Database;

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    await db.migrate([addresses]);
  });
  afterAll(() => t.close());

  it('INSERT, UPDATE and DELETE on the view append the same versions the API does', async () => {
    const book = db.table(addresses);
    const [row] = await db.query<{ entry_id: string; version: number }>(
      `INSERT INTO addresses (name, city, address_line_1) VALUES ('Sif', 'Asgard', '1 Hall') RETURNING entry_id, version`,
    );
    expect(row!.version).toBe(1);
    const id = row!.entry_id;
    const updated = await db.query<{ version: number }>(
      `UPDATE addresses SET city = 'Oslo' WHERE entry_id = $1 RETURNING version`,
      [id],
    );
    expect(updated[0]!.version).toBe(2);

    // The same story through the API, for comparison.
    const a1 = await book.insert({ name: 'Sif', city: 'Asgard', addressLine1: '1 Hall' });
    await book.update(a1.entryId, { city: 'Oslo' });

    const viaSql = await book.history(id);
    const viaApi = await book.history(a1.entryId);
    expect(viaSql.map((v) => [v.version, v.op, v.data])).toEqual(
      viaApi.map((v) => [v.version, v.op, v.data]),
    );
    expect(viaSql[1]!.parentHash).toBe(viaSql[0]!.hash);
  });

  it('DELETE through the view is refused without appendlog.reason and appends a tombstone with one', async () => {
    const v = await db.table(addresses).insert({ name: 'Ullr' });
    await expect(db.query('DELETE FROM addresses WHERE entry_id = $1', [v.entryId])).rejects.toMatchObject({
      code: 'reason_required',
      sqlState: 'AL002',
    });
    expect(await db.table(addresses).get(v.entryId)).not.toBeNull();
    await db.transaction(async (tx) => {
      await tx.query(`SET LOCAL appendlog.reason = 'left the realm'`);
      await tx.query(`SET LOCAL appendlog.actor = 'sql-admin'`);
      await tx.query('DELETE FROM addresses WHERE entry_id = $1', [v.entryId]);
    });
    const history = await db.table(addresses).history(v.entryId);
    expect(history.at(-1)).toMatchObject({
      op: 'delete',
      reason: 'left the realm',
      actor: 'sql-admin',
      version: 2,
    });
    expect(await db.table(addresses).get(v.entryId)).toBeNull();
  });

  it('withContext settings reach raw SQL writes', async () => {
    const v = await db.table(addresses).insert({ name: 'Vidar' });
    await db.withContext({ actor: 'ctx', reason: 'cleanup' }, (scoped) =>
      scoped.query('DELETE FROM addresses WHERE entry_id = $1', [v.entryId]),
    );
    const last = (await db.table(addresses).history(v.entryId)).at(-1)!;
    expect(last).toMatchObject({ op: 'delete', actor: 'ctx', reason: 'cleanup' });
  });

  it('refuses setting system columns through the view', async () => {
    const v = await db.table(addresses).insert({ name: 'Vali' });
    await expect(
      db.query('UPDATE addresses SET version = 9 WHERE entry_id = $1', [v.entryId]),
    ).rejects.toMatchObject({ code: 'invalid_input' });
    expect((await db.table(addresses).history(v.entryId)).length).toBe(1);
  });

  it('UPDATE, DELETE and TRUNCATE of the log fail, for the owner too', async () => {
    await db.table(addresses).insert({ name: 'Hel' });
    for (const sql of [
      `UPDATE addresses_log SET city = 'x'`,
      `DELETE FROM addresses_log`,
      `DELETE FROM addresses_log WHERE false`,
      `TRUNCATE addresses_log`,
      `UPDATE addresses_head SET version = 99`,
      `DELETE FROM addresses_head`,
      `TRUNCATE addresses_head`,
      `UPDATE appendlog_schema_history SET change = 'x'`,
    ]) {
      const err = await db.query(sql).catch((e) => e);
      expect(err, sql).toMatchObject({ code: 'append_only', sqlState: 'AL001' });
      expect(err.message, sql).toMatch(/addresses_log|addresses_head|appendlog_schema_history/);
    }
    const [owner] = await db.query<{ owner: string; me: string }>(
      `SELECT pg_catalog.pg_get_userbyid(c.relowner) AS owner, current_user AS me
         FROM pg_catalog.pg_class c WHERE c.relname = 'addresses_log'`,
    );
    expect(owner!.owner).toBe(owner!.me);
  });

  it('a raw INSERT into the log is chained by the trigger, whatever the caller supplied', async () => {
    const v = await db.table(addresses).insert({ name: 'Njord' });
    await db.query(
      `INSERT INTO addresses_log (entry_id, op, name, hash, content_hash, recorded_at, tx_id)
       VALUES ($1, 'update', 'Njord the Rich', '\\x00', '\\x00', '2000-01-01', '1')`,
      [v.entryId],
    );
    const [, v2] = await db.table(addresses).history(v.entryId);
    expect(v2).toMatchObject({ version: 2, parentHash: v.hash });
    expect(v2!.hash).not.toBe('00');
    expect(v2!.recordedAt.getTime()).toBeGreaterThan(Date.parse('2020-01-01'));
  });
});

describePostgres('an application role', () => {
  let t: TestDb;
  const role = `app_${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    t = await postgres.open();
    await t.db.query(`CREATE ROLE ${role} NOLOGIN`);
    await t.db.migrate([addresses], { appRole: role });
  });
  afterAll(async () => {
    await t.close();
    const pool = rawPool(1);
    await pool.query(`DROP OWNED BY ${role}; DROP ROLE ${role}`).catch(() => {});
    await pool.end();
  });

  it('can read and append, and is denied UPDATE/DELETE/TRUNCATE of the log by privilege', async () => {
    const pool = rawPool(1);
    const client = await pool.connect();
    try {
      await client.query(`SET search_path = "${t.schema}"`);
      await client.query(`SET ROLE ${role}`);
      const { rows } = await client.query(`INSERT INTO addresses (name) VALUES ('App') RETURNING entry_id`);
      await client.query(`UPDATE addresses SET city = 'Here' WHERE entry_id = $1`, [rows[0].entry_id]);
      const fn = await client.query(
        `SELECT version FROM addresses_append('update', $1, NULL, 'app', NULL, NULL, '{"tel":"1"}')`,
        [rows[0].entry_id],
      );
      expect(fn.rows[0].version).toBe(3);
      for (const sql of [
        'UPDATE addresses_log SET city = NULL',
        'DELETE FROM addresses_log',
        'TRUNCATE addresses_log',
      ]) {
        await expect(client.query(sql), sql).rejects.toMatchObject({ code: '42501' });
      }
    } finally {
      await client.query('RESET ROLE');
      client.release();
      await pool.end();
    }
  });
});
