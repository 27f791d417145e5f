import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Database } from '../src/index.js';
import { killAll, spawnChild } from './support/child-processes.js';
import { describePostgres, postgres, type TestDb } from './support/engines.js';
import { waitForHorizon } from './support/horizon.js';
import { addresses, kitchen } from './support/tables.js';

const CHILD = fileURLToPath(new URL('./support/projection-child.mjs', import.meta.url));
const DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const KILLS = 10;

/** The child's projection, run here to finish after the last kill. */
function finish(db: Database) {
  return db
    .projection('crash-counts', {
      batchSize: 7,
      async apply(set, tx) {
        for (const v of set.versions) {
          await tx.query('INSERT INTO proj_seen (table_name, entry_id, version) VALUES ($1, $2, $3)', [
            v.table,
            v.entryId,
            v.version,
          ]);
          await tx.query(
            `INSERT INTO proj_counts (table_name, op, n) VALUES ($1, $2, 1)
             ON CONFLICT (table_name, op) DO UPDATE SET n = proj_counts.n + 1`,
            [v.table, v.op],
          );
        }
      },
    })
    .catchUp();
}

async function cursorOf(db: Database): Promise<string | null> {
  const [row] = await db.query<{ cursor: string | null }>(
    `SELECT cursor::text FROM appendlog_projections WHERE name = 'crash-counts'`,
  );
  return row?.cursor ?? null;
}

describePostgres('a projection killed with SIGKILL at random points', () => {
  let t: TestDb;

  beforeAll(async () => {
    if (!existsSync(DIST)) throw new Error(`${DIST} is missing: the child processes need \`npm run build\``);
    t = await postgres.open();
    await t.db.migrate([addresses, kitchen]);
    await t.db.query(
      'CREATE TABLE proj_counts (table_name text, op text, n integer NOT NULL, PRIMARY KEY (table_name, op))',
    );
    // A version applied twice would violate this key and stop the projection.
    await t.db.query(
      'CREATE TABLE proj_seen (table_name text, entry_id uuid, version integer, PRIMARY KEY (table_name, entry_id, version))',
    );
  });
  afterEach(() => killAll());
  afterAll(() => t.close());

  it(`is restarted ${KILLS} times while writes go on, and ends with exactly the right counts`, async () => {
    let writing = true;
    const writer = (async () => {
      let i = 0;
      while (writing) {
        await t.db.transaction(async (tx) => {
          const k = await tx.table(kitchen).insert({ label: `k${i}`, count: i });
          if (i % 2 === 0) await tx.table(addresses).insert({ name: `a${i}` });
          if (i % 3 === 0) await tx.table(kitchen).update(k.entryId, { count: -i });
        });
        i++;
      }
      return i;
    })();
    const cursors: Array<string | null> = [];
    for (let k = 0; k < KILLS; k++) {
      const child = spawnChild(`projection-${k}`, CHILD, { url: process.env.DATABASE_URL, schema: t.schema });
      if (!(await child.line('ready'))) throw new Error(`child exited early: ${child.stderr()}`);
      child.go();
      // Killed at a random moment once it has applied something (mid-transaction, often).
      const before = cursors.at(-1) ?? null;
      const deadline = Date.now() + 20_000;
      while ((await cursorOf(t.db)) === before && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, Math.random() * 150));
      child.kill();
      const exit = await child.exited;
      expect(exit.signal).toBe('SIGKILL');
      expect(child.lines.filter((l) => 'failed' in l)).toEqual([]);
      cursors.push(await cursorOf(t.db));
    }
    writing = false;
    const transactions = await writer;
    await waitForHorizon(t.db, ['addresses', 'kitchen']);
    await finish(t.db);

    // The killed processes did apply work: the cursor moved between kills.
    expect(new Set(cursors.filter((c) => c !== null)).size).toBeGreaterThan(KILLS / 2);
    const [got] = await t.db.query<{ seen: number; logged: number; counted: number }>(
      `SELECT (SELECT count(*) FROM proj_seen)::int AS seen,
              ((SELECT count(*) FROM addresses_log) + (SELECT count(*) FROM kitchen_log))::int AS logged,
              (SELECT sum(n) FROM proj_counts)::int AS counted`,
    );
    expect(got!.seen).toBe(got!.logged);
    expect(got!.counted).toBe(got!.logged);
    const perOp = await t.db.query<{ k: string; n: number }>(
      `SELECT k, count(*)::int AS n FROM (
         SELECT 'addresses:' || op AS k FROM addresses_log UNION ALL SELECT 'kitchen:' || op FROM kitchen_log
       ) x GROUP BY k ORDER BY k`,
    );
    const counts = await t.db.query<{ k: string; n: number }>(
      `SELECT table_name || ':' || op AS k, n FROM proj_counts ORDER BY 1`,
    );
    expect(counts).toEqual(perOp);
    expect(transactions).toBeGreaterThan(KILLS);
  }, 120_000);
});
