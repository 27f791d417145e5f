import { afterAll, beforeAll, expect, it } from 'vitest';
import { toAppendLogError } from '../src/index.js';
import { describeEngines, describePostgres, postgres, rawPool, type TestDb } from './support/engines.js';
import { freshPGlite } from './support/pglite-snapshot.js';
import { addresses } from './support/tables.js';

// Issue 16 item 8: the SQLSTATE inside other clients' errors. Each ORM's own wrapper is tested
// with that ORM in examples/orm; here, the drivers' bare errors and what is left alone.
describeEngines('toAppendLogError on a driver’s own error', (engine) => {
  let t: TestDb;

  beforeAll(async () => {
    t = await engine.open();
    await t.db.migrate([addresses]);
  });
  afterAll(() => t.close());

  it('leaves appendlog’s errors, unknown SQLSTATEs and non-errors as they are', async () => {
    const ours = await t.db.query('DELETE FROM nowhere').catch((e: unknown) => e);
    expect(toAppendLogError(ours)).toBe(ours);
    const plain = new Error('boom');
    expect(toAppendLogError(plain)).toBe(plain);
    expect(toAppendLogError('text')).toBe('text');
    expect(toAppendLogError(null)).toBe(null);
  });
});

describePostgres('toAppendLogError on node-postgres errors', () => {
  let t: TestDb;
  let pool: ReturnType<typeof rawPool>;

  beforeAll(async () => {
    pool = rawPool(1);
    t = await postgres.open();
    await t.db.migrate([addresses]);
  });
  afterAll(async () => {
    await pool.end();
    await t.close();
  });

  it('types a version conflict with both versions, a missing reason, and leaves a syntax error alone', async () => {
    const v = await t.db.table(addresses).insert({ name: 'Ask' });
    await t.db.table(addresses).update(v.entryId, { city: 'Oslo' });
    const conflict = await pool
      .query(`UPDATE ${t.schema}.addresses SET city = 'x', version = 5 WHERE entry_id = $1`, [v.entryId])
      .catch((e: unknown) => e);
    expect(conflict).toMatchObject({ code: '40001' });
    expect(toAppendLogError(conflict)).toMatchObject({
      code: 'version_conflict',
      expected: 4,
      actual: 2,
      cause: conflict,
    });
    const noReason = await pool
      .query(`DELETE FROM ${t.schema}.addresses WHERE entry_id = $1`, [v.entryId])
      .catch((e: unknown) => e);
    expect(toAppendLogError(noReason)).toMatchObject({ code: 'reason_required', sqlState: 'AL002' });
    const syntax = await pool.query('SELEC 1').catch((e: unknown) => e);
    expect(syntax).toMatchObject({ code: '42601' });
    expect(toAppendLogError(syntax)).toBe(syntax);
  });
});

it('toAppendLogError on a bare PGlite error [pglite]', async () => {
  const pg = await freshPGlite();
  try {
    const err = await pg
      .query(`DO $$ BEGIN RAISE EXCEPTION 'appendlog: refused' USING ERRCODE = 'AL001'; END $$`)
      .catch((e: unknown) => e);
    expect(toAppendLogError(err)).toMatchObject({ code: 'append_only', message: 'refused', cause: err });
  } finally {
    await pg.close();
  }
});
