import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { column as c, connect, type Database, table } from 'appendlog';
import type { EngineName } from './engine.js';
import { quantile } from './stats.js';

const events = table('bench_events', { kind: c.text().notNull(), n: c.integer() });

/** What `benchRealtime` measured on one engine. */
export interface RealtimeResult {
  engine: EngineName;
  latency: { writers: number; writes: number; p50Ms: number; p99Ms: number; maxMs: number };
  catchUp: {
    versions: number;
    transactions: number;
    /** Versions per second read from cursor 0 to the end, by each reader. */
    perSecond: { subscribe: number; byHand: number; projection: number };
  };
}

async function open(engine: EngineName, url: string | undefined) {
  if (engine === 'pglite') {
    const pgl = await PGlite.create();
    const db = await connect({ client: pgl });
    return {
      db,
      writers: [db, db],
      close: async () => {
        await db.close();
        await pgl.close();
      },
    };
  }
  const schema = `bench_rt_${randomBytes(4).toString('hex')}`;
  const db = await connect({ url: url!, schema });
  // Each writer on a connection of its own, as two application instances would be.
  const writers = [await connect({ url: url!, schema }), await connect({ url: url!, schema })];
  return {
    db,
    writers,
    close: async () => {
      for (const w of writers) await w.close();
      // The DDL guard refuses dropping appendlog's tables unless the transaction says it means to.
      await db.transaction(async (tx) => {
        await tx.query(`SET LOCAL appendlog.allow_ddl = 'on'`);
        await tx.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      });
      await db.close();
    },
  };
}

/**
 * Commit → handler: two writers each insert `writes / 2` versions one by one (each its own
 * transaction, a few ms apart), while one subscription (LISTEN/NOTIFY, `interval` 500 ms) hands
 * them to a handler. The latency of a version is from the moment its writer's INSERT returned
 * (committed) to the moment the handler got its change set (0 when the handler was first).
 */
async function feedLatency(db: Database, writers: Database[], writes: number) {
  const committed = new Map<string, number>();
  const handled = new Map<string, number>();
  const start = (await db.changes({ limit: 1_000_000 })).cursor;
  const sub = db.subscribe({ since: start, tables: [events] }, (set) => {
    handled.set(set.txId, performance.now());
  });
  while (!sub.listening) await new Promise((r) => setTimeout(r, 10));
  const perWriter = Math.ceil(writes / writers.length);
  await Promise.all(
    writers.map(async (w, k) => {
      const book = w.table(events);
      for (let i = 0; i < perWriter; i++) {
        const v = await book.insert({ kind: `writer ${k}`, n: i });
        committed.set(v.txId, performance.now());
        await new Promise((r) => setTimeout(r, 2 + Math.random() * 4));
      }
    }),
  );
  while (handled.size < committed.size) await new Promise((r) => setTimeout(r, 10));
  await sub.stop();
  const latencies = [...committed]
    .map(([tx, at]) => Math.max(0, handled.get(tx)! - at))
    .sort((a, b) => a - b);
  return {
    writers: writers.length,
    writes: latencies.length,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    maxMs: latencies.at(-1)!,
  };
}

/** `versions` versions in transactions of `perTx` (set-based), then each reader from cursor 0. */
async function catchUp(db: Database, versions: number, perTx: number) {
  const book = db.table(events);
  const before = (await db.changes({ limit: 1_000_000 })).cursor;
  for (let i = 0; i < versions; i += perTx)
    await book.insertMany(
      Array.from({ length: Math.min(perTx, versions - i) }, (_, k) => ({ kind: 'load', n: i + k })),
    );
  const total = versions + (await countBefore(db, before));

  const timed = async (read: () => Promise<number>) => {
    const started = performance.now();
    const seen = await read();
    if (seen !== total) throw new Error(`read ${seen} versions, expected ${total}`);
    return Math.round(seen / ((performance.now() - started) / 1000));
  };
  const readByHand = async () => {
    let since: string | null = null;
    let seen = 0;
    for (;;) {
      const page = await db.changes({ since, tables: [events], limit: 100 });
      if (page.changes.length === 0) return seen;
      for (const set of page.changes) seen += set.versions.length;
      since = page.cursor;
    }
  };
  await readByHand(); // untimed: the first reader alone would pay for a cold cache
  const byHand = await timed(readByHand);
  const subscribe = await timed(
    () =>
      new Promise<number>((resolve, reject) => {
        let seen = 0;
        const sub = db.subscribe({ tables: [events] }, (set) => {
          seen += set.versions.length;
          if (seen >= total) void sub.stop().then(() => resolve(seen));
        });
        sub.done.catch(reject);
      }),
  );
  const projection = await timed(async () => {
    let seen = 0;
    await db
      .projection(`bench_${randomBytes(3).toString('hex')}`, {
        tables: [events],
        apply: (set) => {
          seen += set.versions.length;
        },
      })
      .catchUp();
    return seen;
  });
  return {
    versions: total,
    transactions: Math.ceil(versions / perTx),
    perSecond: { subscribe, byHand, projection },
  };
}

async function countBefore(db: Database, cursor: string | null): Promise<number> {
  if (cursor === null) return 0;
  const [row] = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM bench_events_log WHERE tx_id <= $1::xid8`,
    [cursor],
  );
  return row!.n;
}

/**
 * The realtime feed on one engine: commit → handler latency under two writers, and catch-up
 * throughput from cursor 0 by `subscribe`, by a projection's `catchUp`, and by polling `changes`
 * by hand (the loop users wrote before).
 */
export async function benchRealtime(
  engine: EngineName,
  url: string | undefined,
  quick: boolean,
): Promise<RealtimeResult> {
  const { db, writers, close } = await open(engine, url);
  try {
    await db.migrate([events]);
    const latency = await feedLatency(db, writers, quick ? 100 : 1_000);
    const catchUpResult = await catchUp(db, quick ? 10_000 : 100_000, 10);
    return { engine, latency, catchUp: catchUpResult };
  } finally {
    await close();
  }
}

/** The results as Markdown. */
export function realtimeTable(r: RealtimeResult): string {
  const { latency: l, catchUp: k } = r;
  const ratio = (x: number) => `${(x / k.perSecond.byHand).toFixed(2)}×`;
  return [
    `\nRealtime on ${r.engine}: commit → handler over ${l.writes} single-version transactions from ${l.writers} writers`,
    '',
    '| p50 | p99 | max |',
    '|--:|--:|--:|',
    `| ${l.p50Ms.toFixed(1)} ms | ${l.p99Ms.toFixed(1)} ms | ${l.maxMs.toFixed(1)} ms |`,
    '',
    `Catch-up from cursor 0: ${k.versions.toLocaleString('en')} versions in ${k.transactions.toLocaleString('en')} transactions`,
    '',
    '| reader | versions/s | vs polling by hand |',
    '|---|--:|--:|',
    `| polling \`changes\` by hand (limit 100) | ${k.perSecond.byHand.toLocaleString('en')} | 1.00× |`,
    `| \`db.subscribe\` | ${k.perSecond.subscribe.toLocaleString('en')} | ${ratio(k.perSecond.subscribe)} |`,
    `| projection \`catchUp()\` (no-op apply) | ${k.perSecond.projection.toLocaleString('en')} | ${ratio(k.perSecond.projection)} |`,
  ].join('\n');
}
