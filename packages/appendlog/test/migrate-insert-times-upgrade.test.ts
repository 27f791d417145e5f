import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../src/index.js';
import { TABLE_CODE_REVISION } from '../src/sql/table-ddl.js';
import { describeEngines, type TestDb } from './support/engines.js';
import { installRevision } from './support/fixture-revision.js';
import { rejection } from './support/rejection.js';
import { addresses } from './support/tables.js';
import { verifyChain } from './support/verify-chain.js';

// Revision 10 overwrites the created_at and updated_at an INSERT brings (ORMs that manage them set
// both) instead of refusing the row, and names the column when it does refuse one. A database
// made by revision 9 (test/fixtures/table-code-v9.sql) gets the new code at its next migrate.
describeEngines('INSERT times: upgrade from code revision 9', (engine) => {
  let t: TestDb;
  let db: Database;
  let id = '';
  const stampedInsert = `INSERT INTO addresses (name, created_at, updated_at) VALUES ('Sif', '2000-01-01', '2000-01-01') RETURNING entry_id::text`;

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    await installRevision(db, t.schema, 9);
    const [a] = await db.query<{ entry_id: string }>(
      `INSERT INTO addresses (name, city) VALUES ('Thor', 'Asgard') RETURNING entry_id::text`,
    );
    id = a!.entry_id;
  });
  afterAll(() => t.close());

  it('revision 9 refused an INSERT that set the times, naming version whatever the column', async () => {
    const err = await rejection(db.query(stampedInsert));
    expect(err).toMatchObject({ code: 'invalid_input', field: 'version' });
    const head = await rejection(db.query(`INSERT INTO addresses_head (name, hash) VALUES ('Sif', '\\x00')`));
    expect(head).toMatchObject({ code: 'invalid_input', field: 'version' });
  });

  it('after the upgrade the times are appendlog’s, a refused column is named, and the chain goes on', async () => {
    const result = await db.migrate([addresses]);
    expect(result.changes.map((c) => c.summary)).toEqual([
      `regenerate the table's code (revision 9 to ${TABLE_CODE_REVISION})`,
    ]);
    expect(TABLE_CODE_REVISION).toBe(10);
    const [row] = await db.query<{ entry_id: string }>(stampedInsert);
    const [times] = await db.query<{ recent: boolean }>(
      `SELECT created_at > now() - interval '1 hour' AND updated_at = created_at AS recent FROM addresses WHERE entry_id = $1`,
      [row!.entry_id],
    );
    expect(times).toEqual({ recent: true });
    const head = await rejection(db.query(`INSERT INTO addresses_head (name, hash) VALUES ('Sif', '\\x00')`));
    expect(head).toMatchObject({ code: 'invalid_input', field: 'hash' });
    // The entry revision 9 wrote goes on under the new code.
    await db.query(`UPDATE addresses SET city = 'Midgard' WHERE entry_id = $1`, [id]);
    expect((await db.table(addresses).history(id)).map((v) => v.version)).toEqual([1, 2]);
    expect(await db.verify()).toMatchObject({ ok: true, checked: 3, failures: [] });
    expect(await verifyChain(db, 'addresses')).toEqual({ checked: 3, erased: 0, failures: [] });
  });
});
