/**
 * Verify throughput (issue 4): versions per second of `db.verify()` on 100,000 versions (the
 * median of three runs after a warm-up), against the raw speed of node:crypto's SHA-256 over the
 * same number of bytes, and the most heap the verifier keeps live on 20,000 and on 100,000
 * versions (it streams, so the two should be alike).
 *
 * `npm run bench` calls `benchVerify(db)`; `npx tsx bench/verify.ts` runs it alone (PostgreSQL
 * when DATABASE_URL is set, else PGlite in memory).
 */
import * as crypto from 'node:crypto';
import { column as c, connect, type Database, table } from 'appendlog';
import { canonicalContentSql, versionHashSql } from '../packages/appendlog/dist/sql/canonical.js';

const big = table('bench_verify', {
  name: c.text().notNull(),
  city: c.text(),
  n: c.integer(),
  price: c.numeric(),
  seenAt: c.timestamptz(),
  doc: c.jsonb(),
});
const small = table('bench_verify_small', big.definition);

export interface VerifyFigures {
  engine: string;
  versions: number;
  /** The median of three runs. */
  seconds: number;
  /** Of the three runs, the fastest and the slowest. */
  secondsRange: [number, number];
  versionsPerSecond: number;
  /** Average bytes SHA-256 hashes per version (content preimage + version preimage). */
  bytesPerVersion: number;
  /** Versions per second if only the two SHA-256 calls per version were done (node:crypto). */
  sha256VersionsPerSecond: number;
  /** verify speed / raw SHA-256 speed. */
  ratioToSha256: number;
  /**
   * Heap kept live during verify (a GC after every page), MiB above the start, on 20,000 and
   * 100,000 versions: the most seen, and at the last page.
   */
  liveHeapMiB: { versions20k: { peak: number; last: number }; versions100k: { peak: number; last: number } };
}

async function populate(db: Database, name: string, versions: number): Promise<void> {
  const log = `"${db.schema}"."${name}_log"`;
  const [{ n } = { n: 0 }] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${log}`);
  if (n >= versions) return;
  const entries = versions / 2;
  const head = `"${db.schema}"."${name}_head"`;
  // Through the head's chain trigger: the same hashes the library writes.
  for (let from = 1; from <= entries; from += 10_000) {
    const to = Math.min(entries, from + 9_999);
    await db.query(
      `INSERT INTO ${head} (name, city, n, price, seen_at, doc)
       SELECT 'name ' || i, 'city ' || (i % 97), i, (i % 1000) / 7.0, now() - i * interval '1 minute', jsonb_build_object('i', i, 'tags', jsonb_build_array('a', 'b'))
         FROM generate_series($1::int, $2::int) i`,
      [from, to],
    );
  }
  // The second version of every entry: the trigger carries the other columns forward.
  await db.query(`UPDATE ${head} SET city = 'moved', n = n + 1 WHERE version = 1`);
}

/** Wall time of one verification of `table`. */
async function timed(db: Database, name: string) {
  const start = process.hrtime.bigint();
  const result = await db.verify({ tables: [name] });
  return { result, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
}

/**
 * The most heap the verifier keeps live while it runs: a full GC after every page (needs
 * `node --expose-gc`; NaN without it), so garbage not yet collected does not count.
 */
async function liveHeap(db: Database, name: string): Promise<{ peak: number; last: number }> {
  const gc = globalThis.gc;
  if (typeof gc !== 'function') return { peak: Number.NaN, last: Number.NaN };
  gc();
  const base = process.memoryUsage().heapUsed;
  let peak = base;
  let last = base;
  await db.verify({
    tables: [name],
    onProgress: () => {
      gc();
      last = process.memoryUsage().heapUsed;
      peak = Math.max(peak, last);
    },
  });
  const mib = (n: number) => Number(((n - base) / 2 ** 20).toFixed(1));
  return { peak: mib(peak), last: mib(last) };
}

export async function benchVerify(db: Database): Promise<VerifyFigures> {
  await db.migrate([big, small]);
  await populate(db, 'bench_verify', 100_000);
  await populate(db, 'bench_verify_small', 20_000);
  // A settled table, as the bench's other tables are after building: no autovacuum running beside.
  for (const t of ['bench_verify', 'bench_verify_small']) {
    for (const suffix of ['log', 'head']) await db.query(`VACUUM ANALYZE "${db.schema}"."${t}_${suffix}"`);
  }

  // One warm-up run, discarded like every cell's first round (the JIT, the table's first read),
  // then the median of three: one run is at the mercy of whatever else the machine does.
  await timed(db, 'bench_verify');
  const runs = [];
  for (let i = 0; i < 3; i++) runs.push(await timed(db, 'bench_verify'));
  const run = runs.sort((a, b) => a.seconds - b.seconds)[1]!;
  if (!run.result.ok) throw new Error(`verify failed: ${JSON.stringify(run.result.failures.slice(0, 3))}`);
  const heapSmall = await liveHeap(db, 'bench_verify_small');
  const heapBig = await liveHeap(db, 'bench_verify');
  const versions = run.result.checked;

  // The exact bytes the verifier hashes, measured by the chain trigger's own SQL.
  const content = canonicalContentSql(db.schema, 'l', big.columns);
  const preimage = versionHashSql(db.schema, 'bench_verify', 'l').replace(/^pg_catalog\.sha256\(/, '(');
  const [bytes] = await db.query<{ c: string; v: string }>(
    `SELECT avg(octet_length(l.salt || ${content}))::text AS c, avg(octet_length(${preimage}))::text AS v FROM "${db.schema}".bench_verify_log l`,
  );
  const contentBytes = Math.round(Number(bytes!.c));
  const versionBytes = Math.round(Number(bytes!.v));
  const a = Buffer.alloc(contentBytes, 7);
  const b = Buffer.alloc(versionBytes, 9);
  // The fastest SHA-256 node:crypto offers, as the verifier uses it: one-shot `hash` where Node
  // has it, the digest as a latin1 string (about twice as fast as a Buffer).
  const sha256 =
    typeof crypto.hash === 'function'
      ? (d: Buffer) => crypto.hash('sha256', d, 'binary')
      : (d: Buffer) => crypto.createHash('sha256').update(d).digest('binary');
  const start = process.hrtime.bigint();
  for (let i = 0; i < versions; i++) {
    sha256(a);
    sha256(b);
  }
  const shaSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  const versionsPerSecond = versions / run.seconds;
  const sha256VersionsPerSecond = versions / shaSeconds;
  return {
    engine: db.kind,
    versions,
    seconds: Number(run.seconds.toFixed(3)),
    secondsRange: [Number(runs[0]!.seconds.toFixed(3)), Number(runs[2]!.seconds.toFixed(3))],
    versionsPerSecond: Math.round(versionsPerSecond),
    bytesPerVersion: contentBytes + versionBytes,
    sha256VersionsPerSecond: Math.round(sha256VersionsPerSecond),
    ratioToSha256: Number((versionsPerSecond / sha256VersionsPerSecond).toFixed(3)),
    liveHeapMiB: { versions20k: heapSmall, versions100k: heapBig },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const db = await connect(
    process.env.DATABASE_URL ? { url: process.env.DATABASE_URL, schema: 'bench_verify' } : {},
  );
  try {
    console.log(JSON.stringify(await benchVerify(db), null, 2));
  } finally {
    await db.close();
  }
}
