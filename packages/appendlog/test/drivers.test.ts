import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { postgresDriver } from '../src/driver/node-postgres.js';
import { connect } from '../src/index.js';
import { describePostgres, rawPool } from './support/engines.js';
import { freshPGlite } from './support/pglite-snapshot.js';
import { addresses } from './support/tables.js';

describe('drivers', () => {
  it('connect({ dataDir }) keeps the log on disk across reopen', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'appendlog-'));
    try {
      const db = await connect({ dataDir: dir });
      await db.migrate([addresses]);
      const v = await db.table(addresses).insert({ name: 'Persisted' });
      await db.close();
      const again = await connect({ dataDir: dir });
      expect((await again.table(addresses).get(v.entryId))?.data.name).toBe('Persisted');
      expect((await again.migrate([addresses])).changes).toEqual([]);
      await again.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('connect({ client }) adopts an existing PGlite and leaves it open', async () => {
    const pglite = await freshPGlite();
    const db = await connect({ client: pglite });
    expect(db.kind).toBe('pglite');
    await db.migrate([addresses]);
    await db.table(addresses).insert({ name: 'Adopted' });
    await db.close();
    const { rows } = await pglite.query<{ n: number }>('SELECT count(*)::int AS n FROM addresses');
    expect(rows[0]!.n).toBe(1);
    await pglite.close();
  });
});

describePostgres('drivers', () => {
  it('reads rows as arrays in select-list order on request, named or not', async () => {
    const pool = rawPool(1);
    try {
      const driver = postgresDriver(pool, false);
      const sql = `SELECT 7::int AS i, 'x'::text AS s, NULL::text AS z, true AS t, $1::text AS s`;
      const objects = await driver.query(sql, ['p']);
      expect(objects.rows).toEqual([{ i: 7, s: 'p', z: null, t: true }]);
      const expected = { rows: [[7, 'x', null, true, 'p']], rowCount: 1 };
      expect(await driver.query(sql, ['p'], { rowMode: 'array' })).toEqual(expected);
      expect(await driver.query(sql, ['p'], { name: 'appendlog_test_arrays', rowMode: 'array' })).toEqual(
        expected,
      );
      expect(await driver.query(sql, ['p'], { name: 'appendlog_test_arrays' })).toEqual(objects);
      // `text`: a named statement's values as the server's text, on the pool and on a held connection.
      const text = { rows: [['7', 'x', null, 't', 'p']], rowCount: 1 };
      expect(await driver.query(sql, ['p'], { name: 'appendlog_test_arrays', rowMode: 'text' })).toEqual(
        text,
      );
      expect(await driver.query(sql, ['p'], { rowMode: 'text' })).toEqual(expected);
      const held = await driver.transaction(async (tx) => [
        await tx.query(sql, [7], { name: 'appendlog_test_arrays', rowMode: 'text' }),
        await tx.query(sql, [true], { name: 'appendlog_test_arrays', rowMode: 'text' }),
      ]);
      expect(held.map((r) => r.rows[0]![4])).toEqual(['7', 'true']);
      // A failure is the statement's error, and the connection goes on.
      await expect(
        driver.query('SELECT 1 / $1::int AS q', [0], { name: 'appendlog_test_div', rowMode: 'text' }),
      ).rejects.toMatchObject({ code: '22012' });
      expect(
        await driver.query('SELECT 1 / $1::int AS q', [1], { name: 'appendlog_test_div', rowMode: 'text' }),
      ).toEqual({ rows: [['1']], rowCount: 1 });
    } finally {
      await pool.end();
    }
  });

  it('connect({ client }) adopts a node-postgres Pool and leaves it open', async () => {
    const pool = rawPool(2);
    const schema = `t_pool_${Date.now()}`;
    try {
      const db = await connect({ client: pool, schema });
      expect(db.kind).toBe('postgres');
      await db.migrate([addresses]);
      const v = await db.table(addresses).insert({ name: 'Pooled' });
      await db.close();
      const { rows } = await pool.query(`SELECT name FROM "${schema}".addresses WHERE entry_id = $1`, [
        v.entryId,
      ]);
      expect(rows[0].name).toBe('Pooled');
    } finally {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    }
  });
});

describe('connect failures', () => {
  it('says clearly, as a typed connection error, when the server cannot be reached, without leaking the password', async () => {
    const err = await connect({ url: 'postgres://someone:secret@127.0.0.1:1/nowhere' }).catch((e) => e);
    expect(err).toMatchObject({ code: 'connection', sqlState: undefined, cause: { code: 'ECONNREFUSED' } });
    expect(err.message).toMatch(
      /cannot reach the database at postgres:\/\/someone:\*\*\*@127\.0\.0\.1:1\/nowhere/,
    );
    expect(err.message).not.toContain('secret');
  });
});
