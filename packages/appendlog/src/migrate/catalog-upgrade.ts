import { createHash } from 'node:crypto';
import { quoteLiteral } from '../schema/names.js';
import { catalogDdl } from '../sql/catalog-ddl.js';
import { catalogName } from '../sql/names.js';
import type { SqlRunner } from './sql-runner.js';

const MARK_PREFIX = 'appendlog catalog ';

/**
 * Brings a schema history made by an older appendlog up to date. Each catalog change is one
 * idempotent statement here, with its upgrade test in test/migrate-catalog-upgrade.test.ts.
 * Rows written before a column existed keep null in it: the history does not invent what it
 * did not record.
 */
export function historyUpgradeDdl(schema: string): string {
  const history = catalogName(schema, 'appendlog_schema_history');
  return `
-- catalog change 1: the columns a change touched, a readable summary, and the role that applied it.
ALTER TABLE ${history} ADD COLUMN IF NOT EXISTS columns text[];
ALTER TABLE ${history} ADD COLUMN IF NOT EXISTS summary text;
ALTER TABLE ${history} ADD COLUMN IF NOT EXISTS applied_by text;
`;
}

let fingerprint: string | undefined;

/**
 * A digest of the catalog DDL this library version runs. Stored as the history table's comment,
 * it lets an up-to-date database skip the catalog script, so an idle `migrate` runs nothing.
 */
export function catalogFingerprint(): string {
  fingerprint ??= createHash('sha256')
    .update(catalogDdl('appendlog_fingerprint'))
    .update(historyUpgradeDdl('appendlog_fingerprint'))
    .digest('hex')
    .slice(0, 32);
  return fingerprint;
}

/** The whole catalog script: create or replace, upgrade, then mark it current. */
export function catalogScript(schema: string): string {
  const mark = `COMMENT ON TABLE ${catalogName(schema, 'appendlog_schema_history')} IS ${quoteLiteral(
    MARK_PREFIX + catalogFingerprint(),
  )};\n`;
  return catalogDdl(schema) + historyUpgradeDdl(schema) + mark;
}

/** Whether the schema's catalog was made by exactly this library's catalog script. */
export async function catalogIsCurrent(sql: SqlRunner, schema: string): Promise<boolean> {
  const [row] = await sql.run<{ mark: string | null }>(
    `SELECT pg_catalog.obj_description(pg_catalog.to_regclass($1::text), 'pg_class') AS mark`,
    [catalogName(schema, 'appendlog_schema_history')],
  );
  return row?.mark === MARK_PREFIX + catalogFingerprint();
}
