import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../src/index.js';
import { TABLE_CODE_REVISION } from '../src/sql/table-ddl.js';
import { describeEngines, type TestDb } from './support/engines.js';
import { addresses } from './support/tables.js';

// Lean log storage (code revision 5) from a database the previous release made: head-first
// tables whose log had a primary key on seq, a unique key on (entry_id, version) and an INSERT
// refusal with a WHEN clause.
const fixture = readFileSync(new URL('./fixtures/table-code-v4.sql', import.meta.url), 'utf8');
const catalogV4 = readFileSync(new URL('./fixtures/catalog-v4.sql', import.meta.url), 'utf8');
const columns = addresses.columns.map((c) => ({ sqlName: c.sqlName, type: c.type, notNull: c.notNull }));

describeEngines('upgrade to lean log storage: a table made by code revision 4', (engine) => {
  let t: TestDb;
  let db: Database;
  let live = '';
  let deleted = '';
  let before: { entry_id: string; version: number; seq: string; hash: string }[] = [];

  const indexes = async () =>
    (
      await db.query<{ def: string }>(
        `SELECT pg_get_indexdef(i.indexrelid) AS def FROM pg_index i
          WHERE i.indrelid = 'addresses_log'::regclass ORDER BY 1`,
      )
    ).map((r) => r.def.replace(/ ON \S+ USING btree/, ''));

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    await db.migrate([]); // the catalog
    await db.transaction(async (tx) => {
      await tx.exec(fixture.replaceAll('"fixture_schema"', `"${t.schema}"`));
      await tx.query(
        `INSERT INTO appendlog_schema_history (table_name, change, definition, library_version, statements)
         VALUES ('addresses', 'create_table', $1::jsonb, '0.1.0', '-- revision 4')`,
        [JSON.stringify({ columns })],
      );
    });
    // Written the way revision 4 wrote: through the head (the view).
    const [a] = await db.query<{ entry_id: string }>(
      `INSERT INTO addresses (name, city) VALUES ('Live', 'Old town') RETURNING entry_id::text`,
    );
    live = a!.entry_id;
    await db.query(`UPDATE addresses SET city = 'New town' WHERE entry_id = $1`, [live]);
    const [b] = await db.query<{ entry_id: string }>(
      `INSERT INTO addresses (name) VALUES ('Deleted') RETURNING entry_id::text`,
    );
    deleted = b!.entry_id;
    await db.transaction(async (tx) => {
      await tx.exec(`SET LOCAL appendlog.reason = 'duplicate'`);
      await tx.query(`DELETE FROM addresses WHERE entry_id = $1`, [deleted]);
    });
    before = await db.query(
      `SELECT entry_id::text, version, seq::text, encode(hash, 'hex') AS hash FROM addresses_log ORDER BY seq`,
    );
  });
  afterAll(() => t.close());

  it('the fixture is revision 4 storage', async () => {
    expect(await indexes()).toEqual([
      'CREATE INDEX addresses_log_entry_time_idx (entry_id, recorded_at)',
      'CREATE INDEX addresses_log_tx_idx (tx_id, seq)',
      'CREATE UNIQUE INDEX addresses_log_entry_id_version_key (entry_id, version)',
      'CREATE UNIQUE INDEX addresses_log_pkey (seq)',
    ]);
  });

  it('migrate moves storage and code to revision 5 in one step, keeping every version as it was', async () => {
    const result = await db.migrate([addresses]);
    expect(result.changes).toEqual([
      {
        table: 'addresses',
        change: 'upgrade_code',
        columns: [],
        summary: `regenerate the table's code (revision 4 to ${TABLE_CODE_REVISION})`,
      },
    ]);
    expect(await db.migrate([addresses])).toEqual({ statements: [], changes: [], behind: [] });
    expect(await indexes()).toEqual([
      'CREATE INDEX addresses_log_entry_time_idx (entry_id, recorded_at)',
      'CREATE INDEX addresses_log_tx_idx (tx_id, seq)',
      'CREATE UNIQUE INDEX addresses_log_entry_id_version_key (entry_id, version)',
    ]);
    const [trigger] = await db.query<{ def: string }>(
      `SELECT pg_get_triggerdef(oid) AS def FROM pg_trigger
        WHERE tgrelid = 'addresses_log'::regclass AND tgname = 'appendlog_refuse_insert'`,
    );
    expect(trigger!.def).not.toContain('WHEN');
    expect(
      await db.query(
        `SELECT entry_id::text, version, seq::text, encode(hash, 'hex') AS hash FROM addresses_log ORDER BY seq`,
      ),
    ).toEqual(before);
    expect(await db.verify()).toMatchObject({ ok: true, checked: 4, failures: [] });
  });

  it('writes go on: the library, the view and a set-based load chain onto the old versions', async () => {
    const book = db.table(addresses);
    const v3 = await book.update(live, { city: 'Upgraded' }, { expectedVersion: 2 });
    expect(v3).toMatchObject({
      version: 3,
      parentHash: before.find((r) => r.entry_id === live && r.version === 2)!.hash,
    });
    await db.query(`UPDATE addresses SET city = 'Through the view' WHERE entry_id = $1`, [live]);
    await book.restore(deleted, { reason: 'not a duplicate' });
    const loaded = await book.insertMany([{ name: 'One' }, { name: 'Two' }]);
    expect(loaded.map((v) => v.version)).toEqual([1, 1]);
    expect(await db.verify()).toMatchObject({ ok: true, checked: 9, failures: [] });
  });

  it('the log still refuses a direct INSERT, and a version that exists already', async () => {
    await expect(
      db.query(
        `INSERT INTO addresses_log (entry_id, version, op, recorded_at, tx_id, content_hash, hash, name)
         VALUES ($1, 1, 'insert', now(), pg_current_xact_id(), '\\x00', '\\x00', 'x')`,
        [live],
      ),
    ).rejects.toMatchObject({ code: 'append_only' });
    await expect(
      db.query(`INSERT INTO addresses (entry_id, name) VALUES ($1, 'Again')`, [live]),
    ).rejects.toMatchObject({
      code: 'duplicate',
    });
  });

  it('an instance of the previous release migrating during a rolling deploy leaves the tables writable', async () => {
    // Every migrate re-runs the catalog script; the older one re-creates the catalog functions
    // it knows as it knew them, which must not change what revision-5 tables rely on.
    await db.exec(catalogV4.replaceAll('"fixture_schema"', `"${t.schema}"`));
    const book = db.table(addresses);
    const fresh = await book.insert({ name: 'After the old migrate' });
    await book.update(fresh.entryId, { city: 'Still chained' });
    await book.insertMany([{ name: 'Three' }]);
    await expect(
      db.query(
        `INSERT INTO addresses_log (entry_id, version, op, recorded_at, tx_id, content_hash, hash, name)
         VALUES ($1, 9, 'update', now(), pg_current_xact_id(), '\\x00', '\\x00', 'x')`,
        [live],
      ),
    ).rejects.toMatchObject({ code: 'append_only' });
    expect(await db.verify()).toMatchObject({ ok: true, failures: [] });
  });
});
