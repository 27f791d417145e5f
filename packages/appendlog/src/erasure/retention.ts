import type { TableDef } from '../schema/table.js';
import type { Session } from '../session.js';
import { catalogName } from '../sql/names.js';

/**
 * Records each table's recycle-bin retention in `appendlog_retention` when it differs from the
 * latest recorded one (a table without the option records "none" once it had one). Runs inside
 * `migrate`'s transaction, so `appendlog purge` knows the policy without the table definitions.
 */
export async function syncRetention(tx: Session, tables: readonly TableDef[]): Promise<void> {
  const retention = catalogName(tx.schema, 'appendlog_retention');
  for (const def of tables) {
    const wanted = def.retention?.deletedFor ?? null;
    // Compared as written: '90 days' and '3 months' are equal intervals but different policies.
    await tx.run(
      `INSERT INTO ${retention} (table_name, deleted_for)
       SELECT $1::text, $2::text
        WHERE (SELECT r.deleted_for FROM ${retention} r WHERE r.table_name = $1 ORDER BY r.seq DESC LIMIT 1)
              IS DISTINCT FROM $2::text
          AND ($2::text IS NOT NULL OR EXISTS (SELECT 1 FROM ${retention} r WHERE r.table_name = $1))`,
      [def.name, wanted],
    );
  }
}

/** The tables of the schema with a retention in force, and its duration as written. */
export async function readRetention(db: Session): Promise<Map<string, string>> {
  const retention = catalogName(db.schema, 'appendlog_retention');
  const rows = await db.run<{ table_name: string; deleted_for: string | null }>(
    `SELECT DISTINCT ON (table_name) table_name, deleted_for
       FROM ${retention} ORDER BY table_name, seq DESC`,
  );
  return new Map(rows.filter((r) => r.deleted_for !== null).map((r) => [r.table_name, r.deleted_for!]));
}
