/**
 * The steps of an archive on a range-partitioned log (docs/scale-out.md, "Range-partitioned logs
 * and archives"), timed once each: converting a log of `entries` × `versions` versions in place,
 * verify, a checkpoint, the archive (with 50 versions written after the checkpoint, which move),
 * verify and verify against the checkpoint after it, the archive's CAR export and its check, and
 * dropping the archive's tables; with the log's size before and after.
 *
 *   DATABASE_URL=postgres://… node --import tsx bench/archive.ts [entries, default 10000] [versions each, default 10]
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { column as c, checkCar, connect, exportCar, table } from '../packages/appendlog/src/index.js';

const url = process.env.DATABASE_URL;
if (!url) throw new Error('set DATABASE_URL to a PostgreSQL database');
const entries = Number(process.argv[2] ?? 10_000);
const versions = Number(process.argv[3] ?? 10);
const schema = `bench_archive_${randomBytes(3).toString('hex')}`;
const people = table('people', { name: c.text(), city: c.text(), note: c.text() });
const db = await connect({ url, schema });
const car = join(tmpdir(), `${schema}.car`);

const timed = async <T>(label: string, fn: () => Promise<T>): Promise<T> => {
  const t0 = performance.now();
  const result = await fn();
  console.log(`${label.padEnd(58)} ${Math.round(performance.now() - t0).toLocaleString('en')} ms`);
  return result;
};
const size = async (rel: string) =>
  (
    await db.query<{ s: string }>(`SELECT pg_size_pretty(pg_total_relation_size($1::regclass)) AS s`, [
      `${schema}.${rel}`,
    ])
  )[0]!.s;

try {
  await db.migrate([people]);
  const rows = Array.from({ length: entries }, (_, i) => ({
    name: `n${i}`,
    city: 'c0',
    note: 'x'.repeat(40),
  }));
  await db.table(people).insertMany(rows);
  // Every entry's next version at once: one UPDATE of the head, chained row by row by its trigger.
  for (let v = 2; v <= versions; v++) await db.query(`UPDATE ${schema}.people_head SET city = 'c${v}'`);
  const total = entries * versions;
  console.log(
    `${entries.toLocaleString('en')} entries × ${versions} versions = ${total.toLocaleString('en')} versions`,
  );
  await timed('migrate({ partitioned: true }), converting the log', () =>
    db.migrate([people], { partitioned: true }),
  );
  await timed(`verify (${total.toLocaleString('en')} versions)`, () => db.verify());
  const cp = await timed('checkpoint', () => db.checkpoint());
  for (let i = 0; i < 50; i++) await db.table(people).insert({ name: `late${i}`, city: 'z', note: 'y' });
  console.log(`log before: ${await size('people_log_p0')}`);
  const archived = await timed('archive', () => db.archive());
  const t = archived.tables[0]!;
  console.log(`  ${t.archived} archived, ${t.kept} kept at the boundary, ${t.moved} moved`);
  console.log(
    `log after: live ${await size('people_log_p1')}, boundary ${await size('people_log_k1')}; archive table ${await size('people_log_archive_1')}; leaf index ${await size('appendlog_checkpoint_leaves')}`,
  );
  const after = await timed('verify after', () => db.verify());
  if (!after.ok) throw new Error(`verify failed after the archive: ${JSON.stringify(after.failures)}`);
  await timed('verify({ against }) after', () => db.verify({ against: cp }));
  const exported = await timed('exportCar of the archive', () =>
    exportCar(db, car, { archive: archived.id }),
  );
  console.log(`  ${exported.versions} versions, ${exported.blocks} blocks`);
  const check = await timed('checkCar', () => checkCar(car));
  if (!check.ok) throw new Error('the archive CAR does not check');
  await timed('dropArchive', () => db.dropArchive(archived.id));
} finally {
  rmSync(car, { force: true });
  await db.transaction(async (tx) => {
    await tx.query(`SET LOCAL appendlog.allow_ddl = 'on'`);
    await tx.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  });
  await db.close();
}
