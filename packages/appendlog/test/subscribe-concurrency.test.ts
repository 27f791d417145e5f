import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ChangeSet, connect, type Database } from '../src/index.js';
import { type AppRoleDb, describePostgres, openAppRole } from './support/engines.js';
import { notes, type Written, workloadTables, writeShare } from './support/realtime-workload.js';

// The figures are 8 writers × 500 versions and a transaction held 5 s; the default run is
// smaller to keep the suite's time budget. APPENDLOG_REALTIME_FULL=1 runs the full figures.
const FULL = process.env.APPENDLOG_REALTIME_FULL === '1';
const WRITERS = 8;
const VERSIONS = FULL ? 500 : 120;
const HOLD_MS = FULL ? 5_000 : 1_500;

describePostgres('db.subscribe under concurrent writers and a long-open transaction, as the app role', () => {
  let a: AppRoleDb;
  let writers: Database;

  beforeAll(async () => {
    a = await openAppRole('subcc', workloadTables, 4);
    writers = await connect({
      url: process.env.DATABASE_URL!,
      schema: a.t.schema,
      pool: { max: WRITERS + 1, options: `-c role=${a.role}` },
      notify: true,
    });
  });
  afterAll(async () => {
    await writers.close();
    await a.close();
  });

  it(`${WRITERS} writers × ${VERSIONS} versions, 3 tables: every version exactly once, in (transaction, seq) order`, async () => {
    const start = (await a.app.changes({ limit: 100_000 })).cursor;
    const delivered: Array<{ set: ChangeSet; at: number }> = [];
    const sub = a.app.subscribe({ since: start, batchSize: 50 }, async (set) => {
      delivered.push({ set, at: Date.now() });
    });
    const byTx = new Map<string, Written[]>();
    const committedAt = new Map<string, number>();
    let progress = 0;
    let held: { txId: string; commitSentAt: number } | undefined;
    const hold = (async () => {
      while (progress < (WRITERS * VERSIONS) / 3) await new Promise((r) => setTimeout(r, 5));
      const w = await writers.transaction(async (tx) => {
        const v = await tx.table(notes).insert({ body: 'held open', n: 0 });
        await new Promise((r) => setTimeout(r, HOLD_MS));
        held = { txId: v.txId, commitSentAt: Date.now() };
        return { table: 'notes', txId: v.txId, entryId: v.entryId, version: v.version };
      });
      byTx.set(w.txId, [w]);
    })();
    const writing = Array.from({ length: WRITERS }, (_, w) =>
      writeShare(writers, w + 1, VERSIONS, (versions) => {
        byTx.set(versions[0]!.txId, versions);
        committedAt.set(versions[0]!.txId, Date.now());
        progress += versions.length;
      }),
    );
    await Promise.all([...writing, hold]);
    const total = WRITERS * VERSIONS + 1;
    const deadline = Date.now() + 60_000;
    while (delivered.reduce((n, d) => n + d.set.versions.length, 0) < total) {
      if (Date.now() > deadline) throw new Error('the subscriber did not receive every version');
      await new Promise((r) => setTimeout(r, 20));
    }
    await sub.stop();

    // Exactly once, and nothing that was not written.
    const seen = new Map<string, number>();
    for (const { set } of delivered)
      for (const v of set.versions) {
        const key = `${v.table}:${v.entryId}:${v.version}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }
    expect(seen.size).toBe(total);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    // Transactions in txId order, each whole and in its write order.
    const txIds = delivered.map((d) => BigInt(d.set.txId));
    for (let i = 1; i < txIds.length; i++) expect(txIds[i]! > txIds[i - 1]!).toBe(true);
    expect(delivered.length).toBe(byTx.size);
    for (const { set } of delivered) {
      expect(set.versions.map((v) => `${v.table}:${v.entryId}:${v.version}`)).toEqual(
        byTx.get(set.txId)!.map((v) => `${v.table}:${v.entryId}:${v.version}`),
      );
    }
    // The open transaction stalled the feed: nothing after it was handed over before its COMMIT,
    // though writers committed after it meanwhile.
    const h = held!;
    const after = delivered.filter((d) => BigInt(d.set.txId) > BigInt(h.txId));
    const committedDuringHold = after.filter((d) => committedAt.get(d.set.txId)! < h.commitSentAt);
    expect(committedDuringHold.length).toBeGreaterThan(0);
    expect(after.every((d) => d.at >= h.commitSentAt)).toBe(true);
    if (FULL)
      console.info(
        `subscribe: ${total} versions in ${delivered.length} transactions, ${committedDuringHold.length} committed during the ${HOLD_MS} ms hold`,
      );
  }, 120_000);
});
