// The activity chart's counts come from a projection of the log, not from scanning it: checked
// here against a GROUP BY over the log itself, after writes by several actors, after a rebuild,
// and with the projection following the log in the background as the server runs it.
import { tableObjects } from 'appendlog';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitForHorizon } from '../../../packages/appendlog/test/support/horizon.js';
import { ACTIVITY_PROJECTION, ActivityCounts, activity } from '../src/activity.js';
import { addresses } from '../src/schema.js';
import { describeEngines, type TestBook } from './support.js';

describeEngines('the activity projection', (engine) => {
  let book: TestBook;
  let counts: ActivityCounts;

  beforeAll(async () => {
    book = await engine.open();
    counts = new ActivityCounts(book.db);
  });
  afterAll(() => book.close());

  /** Per op and per actor, straight from the log: what the chart showed before the projection. */
  const fromLog = async () => {
    const log = tableObjects(book.db.schema, 'addresses').log;
    const byOp = await book.db.query<{ op: string; n: number }>(
      `SELECT op, count(*)::int AS n FROM ${log} GROUP BY op ORDER BY op`,
    );
    const byActor = await book.db.query<{ actor: string | null; changes: number }>(
      `SELECT actor, count(*)::int AS changes FROM ${log} GROUP BY actor ORDER BY changes DESC, actor`,
    );
    return { byOp, byActor };
  };
  const fromChart = async () => {
    const a = await activity(counts, book.db, 'days');
    const byOp = new Map<string, number>();
    for (const b of a.buckets)
      for (const [op, n] of Object.entries(b.counts)) if (n > 0) byOp.set(op, (byOp.get(op) ?? 0) + n);
    return {
      byOp: [...byOp].map(([op, n]) => ({ op, n })).sort((x, y) => x.op.localeCompare(y.op)),
      byActor: a.byActor,
      total: a.total,
    };
  };

  it('counts every version once, per op and actor, as a GROUP BY over the log does', async () => {
    const t = book.db.table(addresses);
    const people = await t.insertMany(
      Array.from({ length: 12 }, (_, i) => ({ name: `P${i}` })),
      { actor: 'loader' },
    );
    for (const p of people.slice(0, 5)) await t.update(p.entryId, { city: 'Leeds' }, { actor: 'omar' });
    await t.delete(people[0]!.entryId, { actor: 'lin', reason: 'duplicate' });
    await t.restore(people[0]!.entryId, { actor: 'omar', reason: 'not a duplicate' });
    await book.db.transaction(async (tx) => {
      await tx.table(addresses).insert({ name: 'In a transaction' }, { actor: 'lin' });
      await tx.table(addresses).update(people[1]!.entryId, { tel: '1' }, { actor: 'lin' });
    });
    // Another test's open transaction on a shared server holds the horizon back for a while.
    await waitForHorizon(book.db, ['addresses'], 30_000);
    const log = await fromLog();
    const chart = await fromChart();
    expect(chart.byOp).toEqual(log.byOp);
    expect(chart.byActor).toEqual(log.byActor);
    expect(chart.total).toBe(12 + 5 + 1 + 1 + 2);
    // Reading again applies nothing twice.
    expect(await fromChart()).toEqual(chart);
    const status = await counts.projection.status();
    expect(status).toMatchObject({ name: ACTIVITY_PROJECTION, lagVersions: 0 });
  });

  it('rebuilt from zero, it counts the same', async () => {
    const before = await fromChart();
    await counts.projection.rebuild();
    expect(await fromChart()).toEqual(before);
  });

  it('follows the log in the background, as the server runs it', async () => {
    const run = await counts.start();
    try {
      await book.db.table(addresses).insert({ name: 'Later' }, { actor: 'zoe' });
      await expect
        .poll(async () => (await counts.projection.status()).lagVersions, { timeout: 20_000 })
        .toBe(0);
      const [row] = await book.db.query<{ n: number }>(
        `SELECT sum(n)::int AS n FROM ${counts.table} WHERE actor = 'zoe'`,
      );
      expect(row!.n).toBe(1);
    } finally {
      await run.stop();
    }
    expect((await fromChart()).byActor).toEqual((await fromLog()).byActor);
  });
});
