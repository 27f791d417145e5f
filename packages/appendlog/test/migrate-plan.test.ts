import { describe, expect, it } from 'vitest';
import { column as c, table } from '../src/index.js';
import type { ExistingColumn } from '../src/migrate/introspect.js';
import { planMigration, type RecordedDefinition } from '../src/migrate/plan.js';
import { TABLE_CODE_REVISION } from '../src/sql/table-ddl.js';

// The migration planner is a pure function of the definitions, what the database has and the
// schema history: these cases need no database (the suites under migrate-*.test.ts run the plans).
const v1 = table('orders', { item: c.text().notNull(), qty: c.integer() });
const stored: ExistingColumn[] = [
  { sqlName: 'item', type: 'text', notNull: true, sqlType: 'text', hasDefault: false },
  { sqlName: 'qty', type: 'integer', notNull: false, sqlType: 'integer', hasDefault: false },
];
const existing = new Map([['orders', stored]]);
const history: RecordedDefinition[] = [
  { table: 'orders', change: 'create_table', definition: { columns: [...v1.columns] } },
];

describe('the migration planner', () => {
  it('creates a table the database does not have: storage and code in one step', () => {
    const plan = planMigration('public', [v1], new Map(), []);
    expect(plan.changes.map((ch) => [ch.table, ch.change, ch.columns])).toEqual([
      ['orders', 'create_table', ['item', 'qty']],
    ]);
    expect(plan.statements).toHaveLength(1);
    expect(plan.statements[0]).toContain('CREATE TABLE "public"."orders_log"');
    expect(plan.destructive).toEqual([]);
  });

  it('plans nothing for a table that is up to date', () => {
    expect(planMigration('public', [v1], existing, history)).toEqual({
      statements: [],
      changes: [],
      destructive: [],
      behind: [],
    });
  });

  it('adds a nullable column, regenerating the code over every column', () => {
    const v2 = table('orders', { item: c.text().notNull(), qty: c.integer(), note: c.text() });
    const plan = planMigration('public', [v2], existing, history);
    expect(plan.changes.map((ch) => [ch.change, ch.columns])).toEqual([['add_columns', ['note']]]);
    expect(plan.statements.join('\n')).toContain('ALTER TABLE "public"."orders_log" ADD COLUMN "note" text');
    expect(plan.destructive).toEqual([]);
  });

  it('lists a dropped column, a new notNull column without a default and a type change as destructive, and plans nothing', () => {
    const v2 = table('orders', { item: c.integer().notNull(), due: c.date().notNull() });
    const plan = planMigration('public', [v2], existing, history);
    expect(plan.statements).toEqual([]);
    expect(plan.changes).toEqual([]);
    expect(plan.destructive.map((d) => d.column).sort()).toEqual(['due', 'item', 'qty']);
  });

  it('an instance behind (a definition the history already has) plans nothing and refuses nothing', () => {
    const v2 = table('orders', { item: c.text().notNull(), qty: c.integer(), note: c.text() });
    const withNote = new Map<string, ExistingColumn[]>([
      [
        'orders',
        [...stored, { sqlName: 'note', type: 'text', notNull: false, sqlType: 'text', hasDefault: false }],
      ],
    ]);
    const later: RecordedDefinition[] = [
      ...history,
      { table: 'orders', change: 'add_columns', definition: { columns: [...v2.columns] } },
    ];
    const plan = planMigration('public', [v1], withNote, later);
    expect(plan.behind).toEqual(['orders']);
    expect(plan.statements).toEqual([]);
    expect(plan.destructive).toEqual([]);
  });

  it('regenerates older code with the same columns, and refuses to replace newer code', () => {
    const older = planMigration('public', [v1], existing, history, {
      codeRevisions: new Map([['orders', TABLE_CODE_REVISION - 1]]),
    });
    expect(older.changes.map((ch) => ch.change)).toEqual(['upgrade_code']);
    const v2 = table('orders', { item: c.text().notNull(), qty: c.integer(), note: c.text() });
    const newer = planMigration('public', [v2], existing, history, {
      codeRevisions: new Map([['orders', TABLE_CODE_REVISION + 1]]),
    });
    expect(newer.statements).toEqual([]);
    expect(newer.destructive.map((d) => d.change)).toEqual([
      expect.stringContaining("with this library's older revision"),
    ]);
  });

  it('with { all: true }, a recorded table missing from the definitions is a drop, listed as destructive', () => {
    const other = table('notes', { body: c.text() });
    const plan = planMigration('public', [other], existing, history, { all: true });
    expect(plan.destructive).toEqual([
      expect.objectContaining({ table: 'orders', change: expect.stringContaining('dropping a table') }),
    ]);
  });
});
