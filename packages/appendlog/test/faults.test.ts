import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { connect, type Database } from '../src/index.js';
import { type Child, collect, killAll, spawnChild, startTogether } from './support/child-processes.js';
import { describePostgres } from './support/engines.js';
import {
  createScratchCluster,
  type ScratchCluster,
  scratchClusterUnavailable,
} from './support/scratch-cluster.js';

// Writers and purges are separate Node processes running the built library, so that SIGKILL
// takes them down mid-write; the server they write to is a cluster of this file's own, so that
// it can be crashed. See support/faults-writer.mjs for what a child prints.
const WRITER = fileURLToPath(new URL('./support/faults-writer.mjs', import.meta.url));
const PURGE = fileURLToPath(new URL('./support/faults-purge.mjs', import.meta.url));
const DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));

interface Ack {
  entryId: string;
  version: number;
  op: string;
  hash: string;
}
interface Forgotten {
  entryId: string;
  versions: number;
}
interface Purged {
  entryIds: string[];
  more: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const unavailable = scratchClusterUnavailable();

describePostgres('faults: killed clients, a crashed server, killed and concurrent purges', () => {
  if (unavailable) {
    console.warn(`\n*** faults.test.ts SKIPPED: ${unavailable} ***\n`);
    it.skip(`needs its own PostgreSQL cluster: ${unavailable}`, () => {});
    return;
  }
  let cluster: ScratchCluster | undefined;

  beforeAll(async () => {
    if (!existsSync(DIST)) throw new Error(`${DIST} is missing: the child processes need \`npm run build\``);
    cluster = await createScratchCluster('faults');
  }, 90_000);
  afterEach(killAll);
  afterAll(async () => {
    await killAll();
    await cluster?.drop();
  }, 60_000);

  const url = () => cluster!.url;

  async function withDb<T>(schema: string, fn: (db: Database) => Promise<T>): Promise<T> {
    const db = await connect({ url: url(), schema });
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  }

  /** `count` writers mixing inserts, updates, deletes and restores for `durationMs` after go. */
  const writers = (schema: string, count: number, durationMs: number): Child[] =>
    Array.from({ length: count }, (_, w) =>
      spawnChild(`writer-${w}`, WRITER, { url: url(), schema, writer: w, mode: 'mixed', durationMs }),
    );

  const purge = (schema: string, name: string, batchSize: number): Child =>
    spawnChild(name, PURGE, { url: url(), schema, name, batchSize });

  /** `count` entries of three versions each, forgotten and due now. */
  async function forgetEntries(schema: string, count: number): Promise<Forgotten[]> {
    const seed = spawnChild('writer-seed', WRITER, {
      url: url(),
      schema,
      writer: 'seed',
      mode: 'forget',
      count,
    });
    await startTogether([seed]);
    expect(await seed.exited, seed.stderr()).toEqual({ code: 0, signal: null });
    return collect<Forgotten>([seed], 'forgotten');
  }

  it('kill -9 of 4 of 8 writers mid-write: every acknowledged write kept, nothing duplicated, verify ok', async () => {
    const schema = 'kill_writers';
    const all = writers(schema, 8, 3_000);
    await startTogether(all);
    const victims = [...all].sort(() => Math.random() - 0.5).slice(0, 4);
    await Promise.all(
      victims.map(async (w) => {
        await sleep(200 + Math.random() * 1_800);
        // Right after it announced a write: the kill lands while that write is in flight.
        if (await w.line('begin', w.lines.length)) w.kill();
      }),
    );
    for (const w of all) {
      const killed = victims.includes(w);
      expect(await w.exited, w.stderr()).toEqual(
        killed ? { code: null, signal: 'SIGKILL' } : { code: 0, signal: null },
      );
    }
    const seen = await withDb(schema, (db) => expectAcknowledgedWritesKept(db, all, victims));
    console.info(`[faults] kill -9: 4 of 8 writers killed; ${summary(seen)}`);
  }, 60_000);

  it('the server stopped with -m immediate under 8 writers: every acknowledged commit survives recovery', async () => {
    const schema = 'crash_server';
    // What makes an acknowledged commit durable: both left at their defaults.
    const durability = await withDb(schema, (db) =>
      db.query(`SELECT current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS sync`),
    );
    expect(durability).toEqual([{ fsync: 'on', sync: 'on' }]);
    const all = writers(schema, 8, 60_000);
    await startTogether(all);
    await sleep(1_500);
    for (const w of all)
      expect(collect<Ack>([w], 'ack').length, `${w.name} wrote nothing`).toBeGreaterThan(0);
    await cluster!.crash();
    for (const w of all) expect(await w.exited, w.stderr()).toEqual({ code: 1, signal: null });
    const failures = collect<{ code: string }>(all, 'failed');
    expect(failures.map((f) => f.code)).toEqual(all.map(() => 'connection'));
    await cluster!.start();
    const seen = await withDb(schema, (db) => expectAcknowledgedWritesKept(db, all, all));
    console.info(`[faults] crash: 8 writers, all cut off; ${summary(seen)}`);
  }, 90_000);

  it('a purge killed mid-batch and rerun: every forgotten entry erased exactly once', async () => {
    const schema = 'kill_purge';
    const BATCH = 5;
    const forgotten = await forgetEntries(schema, 300);
    const first = purge(schema, 'faults-purge-killed', BATCH);
    const mid = await withDb(schema, async (db) => {
      await startTogether([first]);
      // Kill it once some batches committed and well before the last.
      await until(async () => (await erasureRecords(db)) >= 40);
      first.kill();
      expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
      // Its server session rolls back the open batch when it notices the client is gone.
      await until(async () => !(await sessionAlive(db, 'faults-purge-killed')));
      return erasureState(db, forgotten);
    });
    const erasedBefore = mid.filter((e) => e.records === 1);
    // Whole batches only: an entry is erased with all its versions, or untouched.
    expect(erasedBefore.length % BATCH).toBe(0);
    expect(erasedBefore.length).toBeGreaterThan(0);
    expect(erasedBefore.length).toBeLessThan(forgotten.length);
    for (const e of mid) {
      expect(e).toMatchObject(e.records === 1 ? { redacted: e.versions, kept: 0 } : { redacted: 0 });
    }

    const rerun = purge(schema, 'faults-purge-rerun', BATCH);
    await startTogether([rerun]);
    expect(await rerun.exited, rerun.stderr()).toEqual({ code: 0, signal: null });
    const [done] = collect<Purged>([rerun], 'purged');
    expect(done!.entryIds).toHaveLength(forgotten.length - erasedBefore.length);
    await withDb(schema, (db) => expectErasedExactlyOnce(db, forgotten));
    console.info(
      `[faults] purge killed after ${erasedBefore.length} of ${forgotten.length} entries; the rerun erased ${done!.entryIds.length}`,
    );
  }, 60_000);

  it('two purges at once share the work: every forgotten entry erased exactly once', async () => {
    const schema = 'two_purges';
    const forgotten = await forgetEntries(schema, 300);
    const both = [purge(schema, 'faults-purge-a', 3), purge(schema, 'faults-purge-b', 3)];
    await startTogether(both);
    for (const p of both) expect(await p.exited, p.stderr()).toEqual({ code: 0, signal: null });
    const [a, b] = both.map((p) => collect<Purged>([p], 'purged')[0]!.entryIds);
    // Each entry reported by exactly one of them, and both did some of the work.
    expect(new Set([...a!, ...b!]).size).toBe(a!.length + b!.length);
    expect(new Set([...a!, ...b!])).toEqual(new Set(forgotten.map((f) => f.entryId)));
    // Both kept taking batches until none was left: neither stops at a batch the other had just
    // erased (it did before eraseBatch told taken from erased: 0, 3, 9 or 24 of 300 in four runs).
    expect(Math.min(a!.length, b!.length)).toBeGreaterThanOrEqual(forgotten.length / 6);
    await withDb(schema, (db) => expectErasedExactlyOnce(db, forgotten));
    console.info(`[faults] two purges: ${a!.length} + ${b!.length} of ${forgotten.length} entries`);
  }, 60_000);
});

interface Seen {
  acks: number;
  versions: number;
  entries: number;
  /** Versions committed whose acknowledgement never reached the writer (in flight when it died). */
  unacknowledged: number;
}

const summary = (s: Seen) =>
  `${s.acks} writes acknowledged, ${s.versions} versions of ${s.entries} entries in the log, ` +
  `${s.unacknowledged} committed without an acknowledgement`;

/**
 * Every acknowledged (entry, version, op, hash) is in the log as acknowledged; no version is
 * logged or acknowledged twice; each entry's versions run 1..n; a writer that finished has no
 * version it did not acknowledge, one that died at most the one in flight; verify passes (which
 * also holds every head to its entry's latest version).
 */
async function expectAcknowledgedWritesKept(
  db: Database,
  writers: readonly Child[],
  died: readonly Child[],
): Promise<Seen> {
  const log = await db.query<Ack & { actor: string }>(
    `SELECT entry_id::text AS "entryId", version, op, encode(hash, 'hex') AS hash, actor
       FROM notes_log ORDER BY entry_id, version`,
  );
  const key = (v: { entryId: string; version: number }) => `${v.entryId}/${v.version}`;
  const logged = new Map(log.map((v) => [key(v), v]));
  expect(logged.size, 'a version logged twice').toBe(log.length);
  const gaps = log.filter(
    (v, i) => v.version !== (log[i - 1]?.entryId === v.entryId ? log[i - 1]!.version + 1 : 1),
  );
  expect(gaps, 'versions not contiguous').toEqual([]);

  const acks = collect<Ack>(writers, 'ack');
  expect(new Set(acks.map(key)).size, 'a version acknowledged twice').toBe(acks.length);
  const lost = acks.filter((a) => {
    const v = logged.get(key(a));
    return v?.op !== a.op || v.hash !== a.hash;
  });
  expect(lost, 'acknowledged writes missing or different').toEqual([]);

  let unacknowledged = 0;
  for (const w of writers) {
    const extra = log.filter((v) => v.actor === w.name).length - collect<Ack>([w], 'ack').length;
    expect(extra, `${w.name}: versions it did not acknowledge`).toBeGreaterThanOrEqual(0);
    expect(extra, `${w.name}: versions it did not acknowledge`).toBeLessThanOrEqual(died.includes(w) ? 1 : 0);
    unacknowledged += extra;
  }
  expect(await db.verify()).toMatchObject({ ok: true, checked: log.length, failures: [] });
  return {
    acks: acks.length,
    versions: log.length,
    entries: new Set(log.map((v) => v.entryId)).size,
    unacknowledged,
  };
}

interface ErasureState {
  entryId: string;
  versions: number;
  /** Versions with redacted_at set. */
  redacted: number;
  /** Versions still holding data or a salt. */
  kept: number;
  /** Rows in appendlog_erasures for the entry. */
  records: number;
  /** The version count that record states. */
  recordedVersions: number | null;
}

async function erasureState(db: Database, forgotten: readonly Forgotten[]): Promise<ErasureState[]> {
  return db.query<ErasureState>(
    `SELECT l.entry_id::text AS "entryId", count(*)::int AS versions,
            count(*) FILTER (WHERE l.redacted_at IS NOT NULL)::int AS redacted,
            count(*) FILTER (WHERE l.body IS NOT NULL OR l.n IS NOT NULL OR l.salt IS NOT NULL)::int AS kept,
            (SELECT count(*)::int FROM appendlog_erasures e
              WHERE e.table_name = 'notes' AND e.entry_id = l.entry_id) AS records,
            (SELECT max(e.versions)::int FROM appendlog_erasures e
              WHERE e.table_name = 'notes' AND e.entry_id = l.entry_id) AS "recordedVersions"
       FROM notes_log l WHERE l.entry_id = ANY($1::uuid[])
      GROUP BY l.entry_id ORDER BY l.entry_id`,
    [forgotten.map((f) => f.entryId)],
  );
}

/** One erasure record per forgotten entry, every version redacted, no other record, verify ok. */
async function expectErasedExactlyOnce(db: Database, forgotten: readonly Forgotten[]): Promise<void> {
  const state = await erasureState(db, forgotten);
  const expected = [...forgotten]
    .sort((x, y) => (x.entryId < y.entryId ? -1 : 1))
    .map((f) => ({
      entryId: f.entryId,
      versions: f.versions,
      redacted: f.versions,
      kept: 0,
      records: 1,
      recordedVersions: f.versions,
    }));
  expect(state).toEqual(expected);
  expect(await erasureRecords(db)).toBe(forgotten.length);
  const versions = forgotten.reduce((n, f) => n + f.versions, 0);
  expect(await db.verify()).toMatchObject({ ok: true, checked: versions, erased: versions, failures: [] });
}

async function erasureRecords(db: Database): Promise<number> {
  const [row] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM appendlog_erasures');
  return row!.n;
}

async function sessionAlive(db: Database, applicationName: string): Promise<boolean> {
  const rows = await db.query('SELECT 1 FROM pg_stat_activity WHERE application_name = $1', [
    applicationName,
  ]);
  return rows.length > 0;
}

async function until(condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}
