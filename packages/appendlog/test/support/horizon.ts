import type { Database } from '../../src/index.js';

/**
 * Waits (up to `ms`, 10 s by default) until every transaction that wrote to `tables` is below the
 * snapshot's transaction horizon, so a checkpoint, a change feed or an incremental check covers
 * all of it. On a shared PostgreSQL server another database's open transaction holds the horizon
 * back for a while.
 */
export async function waitForHorizon(
  // Structural, so that the Address Book's tests (on the built package) can call it too.
  db: Pick<Database, 'schema' | 'query'>,
  tables: readonly string[],
  ms = 10_000,
): Promise<void> {
  const union = tables
    .map((t) => `SELECT max(tx_id::text::bigint) AS m FROM "${db.schema}"."${t}_log"`)
    .join(' UNION ALL ');
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const [row] = await db.query<{ ok: boolean }>(
      `SELECT coalesce(pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())::text::bigint > (SELECT max(m) FROM (${union}) x), true) AS ok`,
    );
    if (row?.ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}
