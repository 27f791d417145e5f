import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Database } from '../src/index.js';
import { killAll, spawnChild } from './support/child-processes.js';
import { type AppRoleDb, describePostgres, openAppRole } from './support/engines.js';
import { waitForHorizon } from './support/horizon.js';
import { holdOpen, workloadTables, writeShare } from './support/realtime-workload.js';

const CHILD = fileURLToPath(new URL('./support/projection-child.mjs', import.meta.url));
const DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));
const KILLS = 10;
// The figures are 8 writers × 500 versions across 3 tables, with a transaction held open
// 5 s; the default run is smaller. APPENDLOG_REALTIME_FULL=1 runs the full figures.
const FULL = process.env.APPENDLOG_REALTIME_FULL === '1';
const WRITERS = FULL ? 8 : 2;
const VERSIONS = FULL ? 500 : 250;
const HOLD_MS = FULL ? 5_000 : 1_500;
// Writers pause up to this long between transactions, so the writing spans the kills.
const PAUSE_MS = 150;

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

describePostgres('a projection killed with SIGKILL at random points, as the app role', () => {
  let a: AppRoleDb;

  beforeAll(async () => {
    if (!existsSync(DIST)) throw new Error(`${DIST} is missing: the child processes need \`npm run build\``);
    a = await openAppRole('crash', workloadTables, WRITERS + 2);
    await a.t.db.query(
      'CREATE TABLE proj_counts (table_name text, op text, n integer NOT NULL, PRIMARY KEY (table_name, op))',
    );
    // A version applied twice would violate this key and stop the projection.
    await a.t.db.query(
      'CREATE TABLE proj_seen (table_name text, entry_id uuid, version integer, PRIMARY KEY (table_name, entry_id, version))',
    );
    await a.t.db.query(`GRANT SELECT, INSERT, UPDATE ON proj_counts, proj_seen TO ${a.role}`);
  });
  afterEach(() => killAll());
  afterAll(() => a.close());

  it(`${WRITERS} writers × ${VERSIONS} versions, 3 tables, a transaction open ${HOLD_MS} ms: killed ${KILLS} times, it ends with exactly the right counts`, async () => {
    let progress = 0;
    let transactions = 0;
    const writing = Array.from({ length: WRITERS }, (_, w) =>
      writeShare(
        a.app,
        w + 1,
        VERSIONS,
        (versions) => {
          progress += versions.length;
          transactions += 1;
        },
        PAUSE_MS,
      ),
    );
    const hold = (async () => {
      while (progress < (WRITERS * VERSIONS) / 3) await new Promise((r) => setTimeout(r, 5));
      await holdOpen(a.app, HOLD_MS);
    })();
    const cursors: Array<string | null> = [];
    for (let k = 0; k < KILLS; k++) {
      const child = spawnChild(`projection-${k}`, CHILD, {
        url: process.env.DATABASE_URL,
        schema: a.t.schema,
        role: a.role,
      });
      if (!(await child.line('ready'))) throw new Error(`child exited early: ${child.stderr()}`);
      child.go();
      // Killed at a random moment once it has applied something (mid-transaction, often), or
      // after a while when it has nothing to apply (stalled behind the open transaction, or done).
      const before = cursors.at(-1) ?? null;
      const deadline = Date.now() + 1_500;
      while ((await cursorOf(a.app)) === before && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, Math.random() * 150));
      child.kill();
      const exit = await child.exited;
      expect(exit.signal).toBe('SIGKILL');
      expect(child.lines.filter((l) => 'failed' in l)).toEqual([]);
      cursors.push(await cursorOf(a.app));
    }
    const killsDuringWrites = progress < WRITERS * VERSIONS;
    await Promise.all([...writing, hold]);
    await waitForHorizon(a.t.db, ['addresses', 'kitchen', 'notes']);
    await finish(a.app);

    // The killed processes did apply work: the cursor moved between kills.
    expect(new Set(cursors.filter((c) => c !== null)).size).toBeGreaterThanOrEqual(KILLS / 3);
    const total = WRITERS * VERSIONS + 1;
    const [got] = await a.t.db.query<{ seen: number; logged: number; counted: number }>(
      `SELECT (SELECT count(*) FROM proj_seen)::int AS seen,
              ((SELECT count(*) FROM addresses_log) + (SELECT count(*) FROM kitchen_log)
                + (SELECT count(*) FROM notes_log))::int AS logged,
              (SELECT sum(n) FROM proj_counts)::int AS counted`,
    );
    expect(got).toEqual({ seen: total, logged: total, counted: total });
    const perOp = await a.t.db.query<{ k: string; n: number }>(
      `SELECT k, count(*)::int AS n FROM (
         SELECT 'addresses:' || op AS k FROM addresses_log UNION ALL SELECT 'kitchen:' || op FROM kitchen_log
         UNION ALL SELECT 'notes:' || op FROM notes_log
       ) x GROUP BY k ORDER BY k`,
    );
    const counts = await a.t.db.query<{ k: string; n: number }>(
      `SELECT table_name || ':' || op AS k, n FROM proj_counts ORDER BY 1`,
    );
    expect(counts).toEqual(perOp);
    if (FULL)
      console.info(
        `projection-crash: ${KILLS} kills (${killsDuringWrites ? 'all' : 'not all'} during the writes), ${transactions + 1} transactions, ${total} versions, ${new Set(cursors).size} distinct cursors at the kills`,
      );
  }, 180_000);
});
