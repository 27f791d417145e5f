import { column as c, connect, table } from './src/index.js';

const url = process.argv[2]!;
const mode = process.argv[3] as 'plain' | 'full' | 'none';
const t = table('vac', { secret: c.text(), filler: c.text() });
const db = await connect({ url, schema: 'vacx' });
await db.query('DROP SCHEMA IF EXISTS vacx CASCADE');
await db.migrate([t]);
const p = db.table(t);
const needle = 'NEEDLE-7f3a9c-PERSONAL';
for (let i = 0; i < 200; i++) await p.insert({ secret: `other-${i}`, filler: 'x'.repeat(100) });
const v = await p.insert({ secret: needle, filler: 'y' });
await p.update(v.entryId, { filler: 'z' });
for (let i = 0; i < 200; i++) await p.insert({ secret: `more-${i}`, filler: 'x'.repeat(100) });
await p.forget(v.entryId, { reason: 'r', after: '0 seconds' });
const count = async (label: string) => {
  await db.query('CHECKPOINT');
  const rels = await db.query<{ path: string; rel: string }>(
    `SELECT pg_relation_filepath(c.oid) AS path, c.relname AS rel FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('vacx','pg_toast') AND (c.relname LIKE 'vac%' OR c.oid = (SELECT reltoastrelid FROM pg_class WHERE relname='vac_log' AND relnamespace='vacx'::regnamespace))`,
  );
  const out: string[] = [];
  for (const r of rels.filter((x) => x.path !== null)) {
    const [row] = await db.query<{ f: Buffer }>(`SELECT pg_read_binary_file($1) AS f`, [r.path]);
    let n = 0;
    let at = -1;
    const nb = Buffer.from(needle);
    while ((at = row!.f.indexOf(nb, at + 1)) !== -1) n++;
    out.push(`${r.rel}=${n}`);
  }
  console.log(label, out.join(' '));
};
await count('before purge');
await db.purge({ vacuum: mode === 'none' ? false : mode === 'full' ? 'full' : true });
await count(`after purge (vacuum ${mode})`);
console.log(
  await db.query(
    `SELECT n_dead_tup, n_live_tup FROM pg_stat_user_tables WHERE relid = 'vacx.vac_log'::regclass`,
  ),
);
console.log(await db.query(`SELECT count(*) FROM vacx.vac_log WHERE secret LIKE 'NEEDLE%'`));
console.log(
  await db.query(
    `SELECT datname, backend_xmin, state, xact_start FROM pg_stat_activity WHERE backend_xmin IS NOT NULL`,
  ),
);
await db.exec('VACUUM (FULL, VERBOSE) vacx.vac_log');
await count('after a second VACUUM FULL');
await db.query('DROP SCHEMA vacx CASCADE');
await db.close();
