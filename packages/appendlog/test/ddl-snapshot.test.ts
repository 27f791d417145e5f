import { describe, expect, it } from 'vitest';
import { catalogScript } from '../src/migrate/catalog-upgrade.js';
import { planMigration } from '../src/migrate/plan.js';
import { addresses } from './support/tables.js';

// The generated SQL, kept as readable files: a change to it shows up in review as a diff of SQL.
// After an intended change, refresh with `npx vitest run -u packages/appendlog/test/ddl-snapshot.test.ts`.
describe('generated DDL', () => {
  it('creating a table', async () => {
    const plan = planMigration('public', [addresses], new Map(), [], { catalog: catalogScript('public') });
    await expect(plan.statements.join('\n-- next step\n')).toMatchFileSnapshot(
      '__snapshots__/create-addresses.sql',
    );
  });

  it('adding a column to it', async () => {
    const existing = new Map([
      [
        'addresses',
        addresses.columns.map((c) => ({
          sqlName: c.sqlName,
          type: c.type,
          notNull: c.notNull,
          sqlType: c.type,
          hasDefault: false,
        })),
      ],
    ]);
    const { table, column } = await import('../src/index.js');
    const v2 = table('addresses', { ...addresses.definition, email: column.text() });
    const plan = planMigration('public', [v2], existing, []);
    expect(plan.destructive).toEqual([]);
    await expect(plan.statements.join('\n')).toMatchFileSnapshot('__snapshots__/add-column-addresses.sql');
  });
});

describe('table code revision', () => {
  it('changes with the generated code: bump TABLE_CODE_REVISION, then update this snapshot', async () => {
    const { createHash } = await import('node:crypto');
    const { codeDdl, TABLE_CODE_REVISION } = await import('../src/sql/table-ddl.js');
    const code = codeDdl('public', addresses.name, addresses.columns);
    // Databases holding an older revision get the new code at their next migrate, so a change to
    // the code without a new revision would never reach them.
    expect({
      revision: TABLE_CODE_REVISION,
      digest: createHash('sha256').update(code).digest('hex').slice(0, 16),
    }).toMatchInlineSnapshot(`
      {
        "digest": "497477334481bb6d",
        "revision": 10,
      }
    `);
  });
});
