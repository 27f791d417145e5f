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

  it('refuses a version an insert brings through the view, and overwrites the times an update brings', async () => {
    const book = db.table(addresses);
    const v = await book.insert({ name: 'Vali' });
    // An insert that brings a version other than 1 is refused, naming the column: appendlog assigns it.
    await expect(db.query(`INSERT INTO addresses (name, version) VALUES ('Vali', 2)`)).rejects.toMatchObject({
      code: 'invalid_input',
      sqlState: 'AL005',
      field: 'version',
    });
    // An update that names a version other than the current or the next one is a conflict.
    await expect(
      db.query('UPDATE addresses SET version = 9 WHERE entry_id = $1', [v.entryId]),
    ).rejects.toMatchObject({ code: 'version_conflict', sqlState: '40001', expected: 8, actual: 1 });
    await expect(
      db.query(`UPDATE addresses SET entry_id = gen_random_uuid() WHERE entry_id = $1`, [v.entryId]),
    ).rejects.toMatchObject({ code: 'invalid_input', field: 'entry_id' });
    expect((await book.history(v.entryId)).length).toBe(1);
    // Times an update brings are replaced by appendlog's: the next version records now, and the
    // entry keeps its creation time.
    const [row] = await db.query<{ version: number }>(
      `UPDATE addresses SET created_at = '2000-01-01', updated_at = '2000-01-01', city = 'Vanaheim'
        WHERE entry_id = $1 RETURNING version`,
      [v.entryId],
    );
    expect(row!.version).toBe(2);
    const [times] = await db.query<{ created_kept: boolean; now_recorded: boolean }>(
      `SELECT a.created_at = l.recorded_at AS created_kept, a.updated_at > l.recorded_at AS now_recorded
         FROM addresses a JOIN addresses_log l ON l.entry_id = a.entry_id AND l.version = 1
        WHERE a.entry_id = $1`,
      [v.entryId],
    );
    expect(times).toEqual({ created_kept: true, now_recorded: true });
    const current = await book.get(v.entryId);
    expect(current).toMatchObject({ version: 2, data: { city: 'Vanaheim' } });
    expect(current!.recordedAt.getTime()).toBeGreaterThan(Date.parse('2020-01-01'));
  });

  it('UPDATE, DELETE and TRUNCATE of the log fail, for the owner too', async () => {
    await db.table(addresses).insert({ name: 'Hel' });
    for (const sql of [
      `UPDATE addresses_log SET city = 'x'`,
      `DELETE FROM addresses_log`,
      `DELETE FROM addresses_log WHERE false`,
      `TRUNCATE addresses_log`,
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

  it('a raw INSERT into the log is refused, for the owner too, whatever it brings: versions are written through the head', async () => {
    const book = db.table(addresses);
    const v = await book.insert({ name: 'Njord' });
    for (const sql of [
      // Every column a version needs, forged: nothing chained it and the head would not hold it.
      `INSERT INTO addresses_log (entry_id, version, op, name, hash, content_hash, recorded_at, tx_id)
       VALUES ($1, 2, 'update', 'Njord the Rich', '\\x00', '\\x00', '2000-01-01', '1')`,
      // The old write path: the chain trigger used to complete such a row.
      `INSERT INTO addresses_log (entry_id, op, name) VALUES ($1, 'update', 'Njord the Rich')`,
      `INSERT INTO addresses_log (entry_id, op, name) SELECT $1, 'update', 'x' WHERE false`,
    ]) {
      const err = await db.query(sql, [v.entryId]).catch((e) => e);
      expect(err, sql).toMatchObject({ code: 'append_only', sqlState: 'AL001' });
      expect(err.message, sql).toMatch(/INSERT on .*addresses_log/);
    }
    expect((await book.history(v.entryId)).length).toBe(1);
    expect((await book.update(v.entryId, { name: 'Njord the Rich' })).version).toBe(2);
  });

  it('a raw INSERT into the head that brings its own version, transaction or hashes is refused, naming the column', async () => {
    const book = db.table(addresses);
    const [{ n: before } = { n: 0 }] = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM addresses_log',
    );
    for (const [column, value] of [
      ['version', `2`],
      ['tx_id', `'1'`],
      ['hash', `'\\x00'`],
      ['parent_hash', `'\\x00'`],
      ['seq', `1`],
      ['redacted_at', `'2000-01-01'`],
      ['deleted', `false`],
    ]) {
      const sql = `INSERT INTO addresses_head (name, ${column}) VALUES ('Njord', ${value})`;
      await expect(db.query(sql), sql).rejects.toMatchObject({ code: 'invalid_input', field: column });
    }
    // Several at once: the first of them is named.
    await expect(
      db.query(`INSERT INTO addresses_head (name, deleted, hash) VALUES ('Njord', false, '\\x00')`),
    ).rejects.toMatchObject({ code: 'invalid_input', field: 'hash' });
    await expect(
      db.query(`INSERT INTO addresses_head (name, op) VALUES ('Njord', 'update')`),
    ).rejects.toMatchObject({ code: 'invalid_input', field: 'op' });
    const [{ n: after } = { n: 0 }] = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM addresses_log',
    );
    expect(after).toBe(before);
    // Without them, the head is a write path like the view.
    const [row] = await db.query<{ entry_id: string; version: number }>(
      `INSERT INTO addresses_head (name, actor) VALUES ('Njord', 'dba') RETURNING entry_id, version`,
    );
    expect(row!.version).toBe(1);
    expect(await book.get(row!.entry_id)).toMatchObject({ version: 1, data: { name: 'Njord' } });
    expect((await book.history(row!.entry_id))[0]).toMatchObject({ op: 'insert', actor: 'dba' });
  });

  it('a raw UPDATE of the head is chained by the trigger, whatever hashes, times and transaction it supplies', async () => {
    const book = db.table(addresses);
    const v = await book.insert({ name: 'Njord' });
    await db.query(
      `UPDATE addresses_head
          SET name = 'Njord the Rich', hash = '\\x00', parent_hash = '\\x00', recorded_at = '2000-01-01',
              created_at = '2000-01-01', tx_id = '1', seq = 1, redacted_at = '2000-01-01', deleted = true
        WHERE entry_id = $1`,
      [v.entryId],
    );
    const [, v2] = await book.history(v.entryId);
    expect(v2).toMatchObject({
      version: 2,
      op: 'update',
      parentHash: v.hash,
      data: { name: 'Njord the Rich' },
    });
    expect(v2!.hash).not.toBe('00');
    expect(v2!.recordedAt.getTime()).toBeGreaterThan(Date.parse('2020-01-01'));
    expect(v2!.txId).not.toBe('1');
    // The head is that version, whole: not what the statement wrote.
    const [head] = await db.query<Record<string, unknown>>(
      `SELECT h.version, h.seq = l.seq AS same_seq, h.hash = l.hash AS same_hash, h.tx_id = l.tx_id AS same_tx,
              h.recorded_at = l.recorded_at AS same_time,
              h.parent_hash = (SELECT p.hash FROM addresses_log p WHERE p.entry_id = h.entry_id AND p.version = 1) AS same_parent,
              h.created_at = (SELECT f.recorded_at FROM addresses_log f WHERE f.entry_id = h.entry_id AND f.version = 1)
                AS created_kept, h.redacted_at, h.deleted
         FROM addresses_head h JOIN addresses_log l ON l.entry_id = h.entry_id AND l.version = 2
        WHERE h.entry_id = $1`,
      [v.entryId],
    );
    expect(head).toEqual({
      version: 2,
      same_seq: true,
      same_hash: true,
      same_tx: true,
      same_time: true,
      same_parent: true,
      created_kept: true,
      redacted_at: null,
      deleted: false,
    });
    expect((await book.get(v.entryId))?.data.name).toBe('Njord the Rich');
  });

  it('a raw UPDATE of the head: a changed op is that op; one that declares (tx_id = NULL) must name the next version', async () => {
    const book = db.table(addresses);
    const v = await book.insert({ name: 'Frigg' });
    await expect(
      db.query(`UPDATE addresses_head SET op = 'delete' WHERE entry_id = $1`, [v.entryId]),
    ).rejects.toMatchObject({ code: 'reason_required' });
    await db.transaction(async (tx) => {
      await tx.query(`SET LOCAL appendlog.reason = 'moved out'`);
      await tx.query(`SET LOCAL appendlog.actor = 'settings'`);
      await tx.query(`UPDATE addresses_head SET op = 'delete', actor = 'dba' WHERE entry_id = $1`, [
        v.entryId,
      ]);
    });
    expect((await book.history(v.entryId)).at(-1)).toMatchObject({
      version: 2,
      op: 'delete',
      actor: 'dba',
      reason: 'moved out',
    });
    expect(await book.get(v.entryId)).toBeNull();
    // A declaring update without the next version is a conflict, whatever else it says.
    for (const version of ['version', 'version + 2', 'NULL']) {
      const sql = `UPDATE addresses_head SET tx_id = NULL, op = 'restore', version = ${version} WHERE entry_id = $1`;
      await expect(db.query(sql, [v.entryId]), sql).rejects.toMatchObject({ code: 'version_conflict' });
    }
    await db.query(
      `UPDATE addresses_head SET tx_id = NULL, op = 'restore', version = 3, actor = NULL, reason = 'back', meta = '{"ticket": 7}'
        WHERE entry_id = $1`,
      [v.entryId],
    );
    expect((await book.history(v.entryId)).at(-1)).toMatchObject({
      version: 3,
      op: 'restore',
      actor: null,
      reason: 'back',
      meta: { ticket: 7 },
    });
    expect((await book.get(v.entryId))?.version).toBe(3);
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

  it('can read and append, and is denied INSERT/UPDATE/DELETE/TRUNCATE of the log by privilege', async () => {
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
        `INSERT INTO addresses_log (entry_id, version, op, recorded_at, tx_id, content_hash, hash, name)
         VALUES (gen_random_uuid(), 1, 'insert', now(), pg_current_xact_id(), '\\x00', '\\x00', 'forged')`,
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
