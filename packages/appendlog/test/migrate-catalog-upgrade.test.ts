import { afterAll, beforeAll, expect, it } from 'vitest';
import { column as c, type Database, table } from '../src/index.js';
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
    const book = db.table(legacyV1);
    const v = await book.insert({ name: 'Old', city: 'Before' });
    await book.update(v.entryId, { city: 'Still before' });
    entryId = v.entryId;
  });
  afterAll(() => t.close());

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

  it('migrating the same definition upgrades the catalog only; the old record is kept as it was', async () => {
    const result = await db.migrate([legacyV1]);
    expect(result.changes).toEqual([]);
    expect(result.statements).toHaveLength(1);
    expect(result.statements[0]).toContain('ADD COLUMN IF NOT EXISTS columns text[]');
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
    expect(await db.migrate([legacyV1])).toEqual({ statements: [], changes: [], behind: [] });
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
    const [, added] = await db.schemaHistory();
    expect(added).toMatchObject({ seq: 2, columns: ['kind'], libraryVersion: expect.any(String) });
    expect(added?.appliedBy).toEqual(expect.any(String));
    const v2 = db.table(legacyV2);
    expect((await v2.get(entryId))?.data).toEqual({ name: 'Old', city: 'Still before', kind: null });
    expect((await db.table(legacyV1).update(entryId, { city: 'After' })).version).toBe(3);
    expect((await v2.get(entryId))?.data.kind).toBe('person');
    const check = await verifyChain(db, 'legacy');
    expect(check).toEqual({ checked: 3, erased: 0, failures: [] });
  });

  it('the upgraded history is still append-only', async () => {
    await expect(db.query(`UPDATE appendlog_schema_history SET summary = 'x'`)).rejects.toMatchObject({
      code: 'append_only',
    });
    await expect(db.query(`DELETE FROM appendlog_schema_history`)).rejects.toMatchObject({
      code: 'append_only',
    });
  });
});
