import { afterAll, beforeAll, expect, it } from 'vitest';
import { formatReport } from '../src/cli/commands/verify.js';
import type { Database } from '../src/index.js';
import { describeEngines, type TestDb } from './support/engines.js';
import { addresses } from './support/tables.js';

/**
 * A log restored from a cluster whose transaction ids are ahead of this one's (docs/operations.md):
 * here made by copying a version into the log with its tx_id moved three epochs up, which only a
 * superuser can do. restore.test.ts does it for real, with pg_dump into a second cluster.
 */
describeEngines('transaction ids ahead of the cluster', (engine) => {
  let t: TestDb;
  let db: Database;

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    await db.migrate([addresses]);
    const v = await db.table(addresses).insert({ name: 'Ada' });
    await db.table(addresses).update(v.entryId, { city: 'Oslo' });
  });
  afterAll(() => t.close());

  it('is not raised by a database that was not restored', async () => {
    // Not raised is the point: the changes themselves may still be held back on a shared server,
    // behind another test file's open transaction (the feed is gap-free), and then the cursor is null.
    await expect(db.changes()).resolves.toMatchObject({ changes: expect.any(Array) });
    await expect(db.checkpoint()).resolves.toMatchObject({ treeSize: expect.any(Number) });
    expect((await db.verify()).warnings).toBeUndefined();
  });

  it('is not raised by the reader’s own writes, which may be at or above its snapshot’s xmax', async () => {
    await db.transaction(async (tx) => {
      const own = await tx.table(addresses).insert({ name: 'Mine' });
      const [row] = await tx.query<{ above: boolean }>(
        `SELECT $1::xid8 >= pg_catalog.pg_snapshot_xmax(pg_catalog.pg_current_snapshot()) AS above`,
        [own.txId],
      );
      // On PGlite nothing else commits, so the case is certain; on a shared server it is likely.
      if (engine.name === 'pglite') expect(row?.above).toBe(true);
      await expect(tx.changes()).resolves.toBeDefined();
      await expect(tx.changes({ since: own.txId })).resolves.toMatchObject({ changes: [] });
      expect((await tx.verify()).warnings).toBeUndefined();
    });
  });

  it('makes changes refuse a cursor the cluster has not reached (read before a rewind)', async () => {
    const [row] = await db.query<{ ahead: string }>(
      `SELECT (pg_catalog.pg_snapshot_xmax(pg_catalog.pg_current_snapshot())::text::numeric + 1000)::text AS ahead`,
    );
    for (const since of [row!.ahead, '18446744073709551615']) {
      const err = await db.changes({ since }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'tx_ids_ahead', table: null, txId: since });
      expect((err as Error).message).toMatch(
        /^changes refused: the cursor \d+ is at or above this cluster's next transaction id \d+: .*docs\/operations\.md#cursors-and-checkpoints-from-ahead$/,
      );
    }
    // A cursor of this cluster, even the latest, is always below.
    const { cursor } = await db.changes({ limit: 1_000 });
    await expect(db.changes({ since: cursor })).resolves.toMatchObject({ cursor });
  });

  it('makes changes and checkpoint refuse, typed, and verify warn', async () => {
    const log = `"${t.schema}".addresses_log`;
    // A restored row from a cluster further ahead, loaded as a restore loads it: triggers off.
    const [ahead] = await db.transaction(async (tx) => {
      await tx.exec('SET LOCAL session_replication_role = replica');
      return tx.query<{ tx_id: string }>(
        `INSERT INTO ${log} (entry_id, version, op, recorded_at, tx_id, salt, content_hash, parent_hash, hash, name, city)
       SELECT pg_catalog.gen_random_uuid(), version, op, recorded_at,
              (tx_id::text::numeric + 3 * 4294967296)::text::xid8, salt, content_hash, parent_hash, hash, name, city
         FROM ${log} ORDER BY seq LIMIT 1
       RETURNING tx_id::text`,
      );
    });
    const expected = {
      code: 'tx_ids_ahead',
      name: 'TransactionIdsAheadError',
      table: 'addresses',
      txId: ahead!.tx_id,
      nextTxId: expect.stringMatching(/^\d+$/),
    };
    const changes = await db.changes().catch((e: unknown) => e);
    expect(changes).toMatchObject(expected);
    expect(BigInt((changes as { nextTxId: string }).nextTxId)).toBeLessThan(BigInt(ahead!.tx_id));
    expect((changes as Error).message).toMatch(
      /^changes refused: .*addresses_log holds transaction id \d+, at or above this cluster's next transaction id \d+: the data was restored from a cluster .*docs\/operations\.md#restore-into-another-cluster$/,
    );
    await expect(db.changes({ since: ahead!.tx_id })).rejects.toMatchObject(expected);
    await expect(db.checkpoint()).rejects.toMatchObject({
      ...expected,
      message: expect.stringMatching(/^checkpoint refused: /),
    });
    const report = await db.verify();
    expect(report.warnings).toEqual([
      { table: 'addresses', problem: 'tx_ids_ahead', detail: expect.stringContaining(ahead!.tx_id) },
    ]);
    expect(formatReport(report)).toContain('WARNING addresses: tx_ids_ahead — ');
  });
});
