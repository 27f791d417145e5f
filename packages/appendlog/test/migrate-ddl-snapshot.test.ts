import { describe, expect, it } from 'vitest';
import { column as c, table } from '../src/index.js';
import { planMigration } from '../src/migrate/plan.js';

// The SQL of the default machinery, kept as a readable file so a change to it shows in review.
// After an intended change: `npx vitest run packages/appendlog/test/migrate-ddl-snapshot.test.ts -u`.
describe('generated DDL for defaults', () => {
  it('adding a notNull column with a default, and changing another column default', async () => {
    const v1 = table('orders', { item: c.text().notNull(), qty: c.integer().default(1) });
    const v2 = table('orders', {
      item: c.text().notNull(),
      qty: c.integer().default(2),
      country: c.text().notNull().default('NO'),
    });
    const existing = new Map([
      [
        'orders',
        [
          { sqlName: 'item', type: 'text' as const, notNull: true, sqlType: 'text', hasDefault: false },
          { sqlName: 'qty', type: 'integer' as const, notNull: false, sqlType: 'integer', hasDefault: true },
        ],
      ],
    ]);
    const history = [{ table: 'orders', change: 'create_table', definition: { columns: [...v1.columns] } }];
    const plan = planMigration('public', [v2], existing, history);
    expect(plan.destructive).toEqual([]);
    expect(plan.changes.map((ch) => ch.change)).toEqual(['add_columns', 'set_defaults']);
    await expect(plan.statements.join('\n')).toMatchFileSnapshot(
      '__snapshots__/add-default-column-orders.sql',
    );
  });
});
