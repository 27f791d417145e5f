import { afterAll, beforeAll, expect, it } from 'vitest';
import { column as c, type Database, type DestructiveChange, table } from '../src/index.js';
import { describeEngines, type TestDb } from './support/engines.js';
import { schemaSnapshot } from './support/schema-snapshot.js';

const base = {
  title: c.text().notNull(),
  qty: c.integer(),
  note: c.text(),
  status: c.text().notNull().default('open'),
};
const items = table('items', base);
const tags = table('tags', { label: c.text() });
const others = table('others', { anything: c.text() }); // another app's table in the same schema

const { note: _note, ...withoutNote } = base;

describeEngines('migrate refuses destructive changes and leaves the database unchanged', (engine) => {
  let t: TestDb;
  let db: Database;

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    await db.migrate([items, tags]);
    await db.migrate([others]);
    const book = db.table(items);
    const v = await book.insert({ title: 'one', qty: 1, note: 'n' });
    await book.update(v.entryId, { qty: 2 });
  });
  afterAll(() => t.close());

  /** Runs a migration that must be refused; returns the listed changes after checking nothing moved. */
  async function refused(
    tables: Parameters<Database['migrate']>[0],
    options = {},
  ): Promise<DestructiveChange[]> {
    const before = await schemaSnapshot(db);
    const err = await db.migrate(tables, options).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'destructive_migration', name: 'DestructiveMigrationError' });
    const after = await schemaSnapshot(db);
    expect(after).toEqual(before);
    const changes = (err as { changes: DestructiveChange[] }).changes;
    for (const ch of changes) {
      expect((err as Error).message).toContain(
        `${ch.table}${ch.column ? `.${ch.column}` : ''}: ${ch.change}. Instead: ${ch.instead}`,
      );
    }
    return changes;
  }

  it('dropping a column', async () => {
    const changes = await refused([table('items', withoutNote)]);
    expect(changes).toEqual([
      expect.objectContaining({
        table: 'items',
        column: 'note',
        change: expect.stringContaining('dropped or renamed'),
      }),
    ]);
  });

  it('renaming a column (seen as a drop plus an add, and named as a possible rename)', async () => {
    const changes = await refused([table('items', { ...withoutNote, remark: c.text() })]);
    expect(changes).toEqual([
      expect.objectContaining({ column: 'note', change: expect.stringContaining('renamed to remark') }),
    ]);
    expect(changes[0]!.instead).toMatch(/add the new column, write both/);
  });

  it('changing a type', async () => {
    const changes = await refused([table('items', { ...base, qty: c.bigint() })]);
    expect(changes).toEqual([
      expect.objectContaining({ column: 'qty', change: 'type change from integer to bigint' }),
    ]);
  });

  it('adding notNull to an existing column', async () => {
    const changes = await refused([table('items', { ...base, note: c.text().notNull() })]);
    expect(changes).toEqual([
      expect.objectContaining({ column: 'note', change: 'adding notNull to an existing column' }),
    ]);
  });

  it('dropping notNull from a column running code relies on', async () => {
    const changes = await refused([table('items', { ...base, title: c.text() })]);
    expect(changes).toEqual([
      expect.objectContaining({ column: 'title', change: expect.stringContaining('dropping notNull') }),
    ]);
  });

  it('a new notNull column without a default', async () => {
    const changes = await refused([table('items', { ...base, sku: c.text().notNull() })]);
    expect(changes).toEqual([
      expect.objectContaining({ column: 'sku', instead: expect.stringContaining('default') }),
    ]);
  });

  it("removing a notNull column's default", async () => {
    const changes = await refused([table('items', { ...base, status: c.text().notNull() })]);
    expect(changes).toEqual([
      expect.objectContaining({ column: 'status', change: expect.stringContaining('removing the default') }),
    ]);
  });

  it('dropping a table, when { all: true } says the list is complete; without it, unlisted tables are left alone', async () => {
    const changes = await refused([items], { all: true });
    expect(changes.map((ch) => ch.table).sort()).toEqual(['others', 'tags']);
    expect(changes[0]!.change).toContain('dropping a table');
    expect(await db.migrate([items])).toEqual({ statements: [], changes: [], behind: [] });
    expect(await db.migrate([items, tags, others], { all: true })).toEqual({
      statements: [],
      changes: [],
      behind: [],
    });
  });

  it('lists every offending change at once, and creates nothing else asked for in the same call', async () => {
    const changes = await refused(
      [
        table('items', { ...withoutNote, qty: c.text(), status: c.text().notNull() }),
        table('tags', { label: c.text().notNull(), color: c.text() }),
        table('brand_new', { x: c.text() }),
      ],
      { all: true },
    );
    expect(changes.map((ch) => `${ch.table}.${ch.column ?? ''}`)).toEqual([
      'items.note',
      'items.qty',
      'items.status',
      'tags.label',
      'others.',
    ]);
    expect(await db.query(`SELECT 1 FROM pg_catalog.pg_class WHERE relname = 'brand_new_log'`)).toEqual([]);
  });

  it('a dry run is refused the same way', async () => {
    await refused([table('items', withoutNote)], { dryRun: true });
  });

  it('a dry run returns the SQL and runs none of it; the real run then runs exactly that SQL', async () => {
    const v2 = table('items', { ...base, sku: c.text(), priority: c.integer().default(3) });
    const before = await schemaSnapshot(db);
    const dry = await db.migrate([v2], { dryRun: true });
    expect(await schemaSnapshot(db)).toEqual(before);
    expect(dry.changes).toEqual([
      {
        table: 'items',
        change: 'add_columns',
        columns: ['sku', 'priority'],
        summary: `add column sku text; add column priority integer default '3'::integer`,
      },
    ]);
    expect(dry.statements.join('\n')).toMatch(/ALTER TABLE "[a-z0-9_]+"\."items_log" ADD COLUMN "sku" text;/);
    expect(dry.statements.join('\n')).toMatch(/ALTER COLUMN "priority" SET DEFAULT '3'::integer;/);
    const real = await db.migrate([v2]);
    expect(real).toEqual(dry);
    expect(await db.migrate([v2], { dryRun: true })).toEqual({ statements: [], changes: [], behind: [] });
  });

  it('refuses malformed input with a typed error', async () => {
    await expect(db.migrate('items' as never)).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'tables',
    });
    await expect(db.migrate([items, items])).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'tables',
    });
    await expect(db.migrate([items], { all: 'yes' as never })).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'all',
    });
    await expect(db.migrate([items], null as never)).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'options',
    });
    await expect(db.migrate([items], { appRole: 'Bad Role' })).rejects.toMatchObject({
      code: 'invalid_input',
    });
  });

  it('an appRole that does not exist is refused before anything runs, naming the role', async () => {
    const before = await schemaSnapshot(db);
    const err = await db
      .migrate([items, table('more', { x: c.text() })], { appRole: 'no_such_role_here' })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'invalid_input', field: 'appRole' });
    expect((err as Error).message).toContain('"no_such_role_here", which does not exist');
    expect(await schemaSnapshot(db)).toEqual(before);
  });

  it('row sharding (distributed: true) is refused where there is no Citus, before anything runs', async () => {
    const before = await schemaSnapshot(db);
    await expect(db.migrate([items], { distributed: 'yes' as never })).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'distributed',
    });
    const err = await db
      .migrate([items, table('more', { x: c.text() })], { distributed: true })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'invalid_usage' });
    expect((err as Error).message).toContain('not a Citus coordinator');
    expect(await schemaSnapshot(db)).toEqual(before);
  });
});
