import { afterAll, beforeAll, expect, it } from 'vitest';
import { type ChangeSet, column as c, connect, type Database, table, type Version } from '../src/index.js';
import { describePostgres, postgres, type TestDb } from './support/engines.js';
import { addresses, kitchen } from './support/tables.js';

const notes = table('notes', { body: c.text(), n: c.integer() });

// The figures are 8 writers × 500 versions and a transaction held 5 s; the default run is
// smaller to keep the suite's time budget. APPENDLOG_REALTIME_FULL=1 runs the full figures.
const FULL = process.env.APPENDLOG_REALTIME_FULL === '1';
const WRITERS = 8;
const VERSIONS = FULL ? 500 : 120;
const HOLD_MS = FULL ? 5_000 : 1_500;

type Written = Pick<Version<unknown>, 'txId' | 'entryId' | 'version'> & { table: string };

/** A random write of one version to one of the three tables: a new entry, or the next version of one. */
async function writeOne(tx: Database, mine: Map<string, string[]>, rnd: () => number): Promise<Written> {
  const defs = [addresses, kitchen, notes] as const;
  const def = defs[Math.floor(rnd() * 3)]!;
  const ids = mine.get(def.name) ?? [];
  mine.set(def.name, ids);
  let v: Version<unknown>;
  if (ids.length > 0 && rnd() < 0.5) {
    const id = ids[Math.floor(rnd() * ids.length)]!;
    if (def === addresses) v = await tx.table(addresses).update(id, { city: `c${rnd()}` });
    else if (def === kitchen) v = await tx.table(kitchen).update(id, { count: Math.floor(rnd() * 100) });
    else v = await tx.table(notes).update(id, { n: Math.floor(rnd() * 100) });
  } else {
    if (def === addresses) v = await tx.table(addresses).insert({ name: 'n' });
    else if (def === kitchen) v = await tx.table(kitchen).insert({ label: 'k', count: 1 });
    else v = await tx.table(notes).insert({ body: 'b', n: 1 });
    ids.push(v.entryId);
  }
  return { table: def.name, txId: v.txId, entryId: v.entryId, version: v.version };
}

function seeded(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1_103_515_245 + 12_345) % 2_147_483_648;
    return s / 2_147_483_648;
  };
}

describePostgres('db.subscribe under concurrent writers and a long-open transaction', () => {
  let t: TestDb;
  let writers: Database;

  beforeAll(async () => {
    t = await postgres.open();
    await t.db.migrate([addresses, kitchen, notes]);
    writers = await connect({
      url: process.env.DATABASE_URL!,
      schema: t.schema,
      pool: { max: WRITERS + 1 },
      notify: true,
    });
  });
  afterAll(async () => {
    await writers.close();
    await t.close();
  });

  it(`${WRITERS} writers × ${VERSIONS} versions, 3 tables: every version exactly once, in (transaction, seq) order`, async () => {
    const start = (await t.db.changes({ limit: 100_000 })).cursor;
    const delivered: Array<{ set: ChangeSet; at: number }> = [];
    const sub = t.db.subscribe({ since: start, batchSize: 50 }, async (set) => {
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
    const writing = Array.from({ length: WRITERS }, async (_, w) => {
      const rnd = seeded(w + 1);
      const mine = new Map<string, string[]>();
      let left = VERSIONS;
      while (left > 0) {
        const size = Math.min(left, 1 + Math.floor(rnd() * 6));
        const versions = await writers.transaction(async (tx) => {
          const out: Written[] = [];
          for (let i = 0; i < size; i++) out.push(await writeOne(tx, mine, rnd));
          return out;
        });
        byTx.set(versions[0]!.txId, versions);
        committedAt.set(versions[0]!.txId, Date.now());
        left -= size;
        progress += size;
      }
    });
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
  }, 120_000);
});
