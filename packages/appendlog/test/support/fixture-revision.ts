import { readFileSync } from 'node:fs';
import type { Database } from '../../src/index.js';
import { addresses } from './tables.js';

/** A file of `test/fixtures`, as text. */
export const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');

/** A fixture's SQL moved from `fixture_schema` into `schema` (its quoted names and its literals). */
export const inSchema = (sql: string, schema: string) =>
  sql.replaceAll('"fixture_schema"', `"${schema}"`).replaceAll(`'fixture_schema'`, `'${schema}'`);

/**
 * The catalog and the `addresses` table in `schema` as the release of table code `revision` left
 * them (`test/fixtures/catalog-v<revision>.sql`, `table-code-v<revision>.sql`), recorded in the
 * schema history as that release recorded it. No entry is written.
 */
export async function installRevision(db: Database, schema: string, revision: 6 | 7 | 8 | 9): Promise<void> {
  const columns = addresses.columns.map((c) => ({ sqlName: c.sqlName, type: c.type, notNull: c.notNull }));
  await db.exec(inSchema(fixture(`catalog-v${revision}.sql`), schema));
  await db.transaction(async (tx) => {
    await tx.exec(inSchema(fixture(`table-code-v${revision}.sql`), schema));
    await tx.query(
      `INSERT INTO appendlog_schema_history (table_name, change, definition, library_version, statements)
       VALUES ('addresses', 'create_table', $1::jsonb, '0.1.0', $2)`,
      [JSON.stringify({ columns }), `-- revision ${revision}`],
    );
  });
}
