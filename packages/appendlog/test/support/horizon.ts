import type { Database } from '../../src/index.js';

/**
 * Waits (up to ~10 s) until every transaction that wrote to `tables` is below the snapshot's
 * transaction horizon, so a checkpoint covers all of it. On a shared PostgreSQL server another
 * database's open transaction holds the horizon back for a while.
 */
export async function waitForHorizon(db: Database, tables: readonly string[]): Promise<void> {
  const union = tables
    .map((t) => `SELECT max(tx_id::text::bigint) AS m FROM "${db.schema}"."${t}_log"`)
    .join(' UNION ALL ');
  for (let i = 0; i < 100; i++) {
    const [row] = await db.query<{ ok: boolean }>(
      `SELECT coalesce(pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())::text::bigint > (SELECT max(m) FROM (${union}) x), true) AS ok`,
    );
    if (row?.ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}
