import { afterAll, beforeAll, expect, it } from 'vitest';
import { column as c, type Database, table } from '../src/index.js';
import { TABLE_CODE_REVISION } from '../src/sql/table-ddl.js';
import { catalogDdlV0 } from './fixtures/catalog-v0.js';
import { codeDdl as codeDdlV0, createStorageDdl as createStorageDdlV0 } from './fixtures/table-ddl-v0.js';
import { describeEngines, type TestDb } from './support/engines.js';
import { verifyChain } from './support/verify-chain.js';

const legacyV1 = table('legacy', { name: c.text().notNull(), city: c.text() });
const legacyV2 = table('legacy', {
  name: c.text().notNull(),
  city: c.text(),
  kind: c.text().notNull().default('person'),
});
const v1Columns = [
  { sqlName: 'name', type: 'text' as const, notNull: true },
  { sqlName: 'city', type: 'text' as const, notNull: false },
];

// Catalog change 1: the schema history gains columns, summary and applied_by.
describeEngines('catalog upgrade: a schema made by an older appendlog', (engine) => {
  let t: TestDb;
  let db: Database;
  let entryId: string;

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    // Exactly what appendlog 0.1.0 (c44c477) left behind: its catalog, its table code, its record.
    await db.transaction(async (tx) => {
      await tx.exec(catalogDdlV0(t.schema));
      await tx.exec(
        createStorageDdlV0(t.schema, 'legacy', v1Columns) + codeDdlV0(t.schema, 'legacy', v1Columns),
      );
      await tx.query(
        `INSERT INTO appendlog_schema_history (table_name, change, definition, library_version, statements)
         VALUES ('legacy', 'create_table', $1::jsonb, '0.1.0', '-- old')`,
        [JSON.stringify({ columns: v1Columns })],
      );
    });
    // Written the way 0.1.0 wrote: through its append function, which inserted into the log.
    const [v] = await db.query<{ entry_id: string }>(
      `SELECT entry_id::text FROM legacy_append('insert', NULL, NULL, NULL, NULL, NULL, $1)`,
      [JSON.stringify({ name: 'Old', city: 'Before' })],
    );
    entryId = v!.entry_id;
    await db.query(`SELECT 1 FROM legacy_append('update', $1, 1, NULL, NULL, NULL, $2)`, [
      entryId,
      JSON.stringify({ city: 'Still before' }),
    ]);
  });
  afterAll(() => t.close());

  async function codeRevision(): Promise<number | null> {
    const [row] = await db.query<{ revision: number | null }>(
      `SELECT substring(prosrc, 'appendlog table code revision ([0-9]+)')::integer AS revision
         FROM pg_proc WHERE oid = 'legacy_log_chain'::regproc`,
    );
    return row!.revision;
  }

  it('reads the old history before any upgrade', async () => {
    const [old] = await db.schemaHistory();
    expect(old).toMatchObject({
      seq: 1,
      table: 'legacy',
      change: 'create_table',
      columns: null,
      summary: null,
      appliedBy: null,
      libraryVersion: '0.1.0',
      definition: { columns: v1Columns },
    });
  });

  it('migrating the same definition upgrades the catalog and the table code; the old record is kept as it was', async () => {
    expect(await codeRevision()).toBe(null);
    const result = await db.migrate([legacyV1]);
    expect(result.changes).toEqual([
      {
        table: 'legacy',
        change: 'upgrade_code',
        columns: [],
        summary: `regenerate the table's code (revision 1 to ${TABLE_CODE_REVISION})`,
      },
    ]);
    expect(result.statements).toHaveLength(2);
    expect(result.statements[0]).toContain('ADD COLUMN IF NOT EXISTS columns text[]');
    expect(result.statements[1]).toContain(`appendlog table code revision ${TABLE_CODE_REVISION}`);
    // The storage moves to head-first with the code: the head now holds the latest version whole.
    expect(result.statements[1]).toContain('RENAME COLUMN updated_at TO recorded_at');
    expect(await codeRevision()).toBe(TABLE_CODE_REVISION);
    expect(
      await db.query(
        `SELECT h.version, h.op, h.name, h.city, h.tx_id = l.tx_id AND h.parent_hash = l.parent_hash AS same
           FROM legacy_head h JOIN legacy_log l ON l.seq = h.seq`,
      ),
    ).toEqual([{ version: 2, op: 'update', name: 'Old', city: 'Still before', same: true }]);
    const cols = await db.query<{ attname: string }>(
      `SELECT attname FROM pg_attribute WHERE attrelid = 'appendlog_schema_history'::regclass AND attnum > 0 ORDER BY attnum`,
    );
    expect(cols.map((r) => r.attname)).toEqual([
      'seq',
      'applied_at',
      'table_name',
      'change',
      'definition',
      'library_version',
      'statements',
      'columns',
      'summary',
      'applied_by',
    ]);
    const [old] = await db.schemaHistory();
    expect(old).toMatchObject({
      seq: 1,
      columns: null,
      summary: null,
      appliedBy: null,
      statements: '-- old',
    });
    const [, upgrade] = await db.schemaHistory();
    expect(upgrade).toMatchObject({ seq: 2, change: 'upgrade_code', definition: { columns: v1Columns } });
    expect(await db.migrate([legacyV1])).toEqual({ statements: [], changes: [], behind: [] });
    // Catalog change 2 (issue 16): appendlog_context() arrives with the upgraded catalog.
    await db.transaction(async (tx) => {
      await tx.query(`SELECT appendlog_context(reason => 'upgraded')`);
      expect(await tx.query(`SELECT current_setting('appendlog.reason') AS r`)).toEqual([{ r: 'upgraded' }]);
    });
  });

  it('the upgraded code keeps the chain of versions written by the old code', async () => {
    expect((await db.table(legacyV1).get(entryId))?.data).toEqual({ name: 'Old', city: 'Still before' });
    expect((await db.table(legacyV1).update(entryId, { city: 'Upgraded' })).version).toBe(3);
    // The old write path, an INSERT into the log, is gone with the log's chain trigger: the log
    // refuses every INSERT that does not come from the head's.
    await expect(
      db.query(`INSERT INTO legacy_log (entry_id, op, name) VALUES ($1, 'update', 'x')`, [entryId]),
    ).rejects.toMatchObject({ code: 'append_only' });
    // The old storage keeps its CHECK on op; the head's chain trigger refuses a bad op before it.
    await expect(
      db.query(`UPDATE legacy_head SET op = 'rewrite' WHERE entry_id = $1`, [entryId]),
    ).rejects.toMatchObject({ code: 'invalid_input', field: 'op' });
    expect(await verifyChain(db, 'legacy')).toEqual({ checked: 3, erased: 0, failures: [] });
    expect(await db.verify()).toMatchObject({ ok: true, checked: 3, failures: [] });
  });

  it('extends the old table with a notNull column with a default; old versions still verify', async () => {
    const result = await db.migrate([legacyV2]);
    expect(result.changes).toEqual([
      {
        table: 'legacy',
        change: 'add_columns',
        columns: ['kind'],
        summary: `add column kind text not null default 'person'::text`,
      },
    ]);
    const [, , added] = await db.schemaHistory();
    expect(added).toMatchObject({ seq: 3, columns: ['kind'], libraryVersion: expect.any(String) });
    expect(added?.appliedBy).toEqual(expect.any(String));
    const v2 = db.table(legacyV2);
    expect((await v2.get(entryId))?.data).toEqual({ name: 'Old', city: 'Upgraded', kind: null });
    expect((await db.table(legacyV1).update(entryId, { city: 'After' })).version).toBe(4);
    expect((await v2.get(entryId))?.data.kind).toBe('person');
    const check = await verifyChain(db, 'legacy');
    expect(check).toEqual({ checked: 4, erased: 0, failures: [] });
  });

  it('never replaces code from a newer appendlog with older code', async () => {
    // Pretend a newer library made the table's code.
    const [fn] = await db.query<{ def: string }>(
      `SELECT pg_get_functiondef('legacy_log_chain'::regproc) AS def`,
    );
    await db.exec(
      fn!.def.replace(`code revision ${TABLE_CODE_REVISION}`, `code revision ${TABLE_CODE_REVISION + 1}`),
    );
    expect(await db.migrate([legacyV2])).toEqual({ statements: [], changes: [], behind: [] });
    const legacyV3 = table('legacy', { ...legacyV2.definition, tel: c.text() });
    await expect(db.migrate([legacyV3])).rejects.toMatchObject({ code: 'destructive_migration' });
    expect(await codeRevision()).toBe(TABLE_CODE_REVISION + 1);
  });

  it('the upgraded history is still append-only', async () => {
    for (const sql of ['DELETE FROM legacy_head', 'TRUNCATE legacy_head', 'DELETE FROM legacy_log']) {
      await expect(db.query(sql), sql).rejects.toMatchObject({ code: 'append_only' });
    }
    await expect(db.query(`UPDATE appendlog_schema_history SET summary = 'x'`)).rejects.toMatchObject({
      code: 'append_only',
    });
    await expect(db.query(`DELETE FROM appendlog_schema_history`)).rejects.toMatchObject({
      code: 'append_only',
    });
  });
});
