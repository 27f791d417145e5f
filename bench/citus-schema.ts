/**
 * Update throughput on a Citus tenant schema (docs/scale-out.md, "Schema-per-tenant on Citus"):
 * appendlog's `update` against a plain `UPDATE … WHERE id = $1` of a table in the same distributed
 * schema (so on the same worker), both through the coordinator, 4 clients each on their own rows,
 * in alternating rounds of one run. Needs the cluster of `../shared/citus/cluster.sh start`.
 *
 *   node --import tsx bench/citus-schema.ts [seconds per round, default 5] [rounds, default 6]
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { column as c, connect, table } from '../packages/appendlog/src/index.js';

const COORDINATOR = 'postgres://postgres@127.0.0.1:5601/postgres';
const CLIENTS = 4;
const ROWS_PER_CLIENT = 50;
const seconds = Number(process.argv[2] ?? 5);
const rounds = Number(process.argv[3] ?? 6);

const people = table('people', { name: c.text().notNull(), city: c.text() });
const schema = `bench_tenant_${randomBytes(3).toString('hex')}`;
const admin = new pg.Pool({ connectionString: COORDINATOR, max: 1 });
await admin.query(`CREATE SCHEMA ${schema}`);
await admin.query(`SELECT citus_schema_distribute($1)`, [schema]);
const owner = await connect({
  url: `${COORDINATOR}?options=${encodeURIComponent('-c citus.enable_unsafe_triggers=on')}`,
  schema,
});
await owner.migrate([people]);
await admin.query(`CREATE TABLE ${schema}.plain_people (id uuid PRIMARY KEY, name text NOT NULL, city text)`);

// One by one: the set-based insertMany is refused on a distributed schema (docs/scale-out.md).
const ids: string[] = [];
for (let i = 0; i < CLIENTS * ROWS_PER_CLIENT; i++) {
  ids.push((await owner.table(people).insert({ name: `p${i}`, city: 'start' })).entryId);
}
await admin.query(
  `INSERT INTO ${schema}.plain_people SELECT id, 'p', 'start' FROM unnest($1::uuid[]) AS id`,
  [ids],
);
const [where] = (
  await admin.query<{ nodeport: number }>(
    `SELECT DISTINCT nodeport FROM citus_shards WHERE table_name = $1::regclass`,
    [`${schema}.people_head`],
  )
).rows;

const clients = await Promise.all(
  Array.from({ length: CLIENTS }, async () => ({
    db: await connect({ url: COORDINATOR, schema, pool: { max: 1 } }),
    raw: new pg.Pool({ connectionString: COORDINATOR, max: 1 }),
  })),
);

/** Updates per second of `CLIENTS` clients running `one` on their own rows for `seconds`. */
async function measure(one: (client: (typeof clients)[number], id: string, n: number) => Promise<void>) {
  const end = Date.now() + seconds * 1000;
  const counts = await Promise.all(
    clients.map(async (client, k) => {
      let n = 0;
      while (Date.now() < end) {
        await one(client, ids[k * ROWS_PER_CLIENT + (n % ROWS_PER_CLIENT)]!, n);
        n++;
      }
      return n;
    }),
  );
  return counts.reduce((a, b) => a + b, 0) / seconds;
}

const results: Record<'appendlog' | 'plain', number[]> = { appendlog: [], plain: [] };
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? (['appendlog', 'plain'] as const) : (['plain', 'appendlog'] as const);
  for (const kind of order) {
    results[kind].push(
      await measure(
        kind === 'appendlog'
          ? async ({ db }, id, n) => void (await db.table(people).update(id, { city: `c${n}` }))
          : async ({ raw }, id, n) =>
              void (await raw.query({
                name: 'plain_update',
                text: `UPDATE ${schema}.plain_people SET city = $2 WHERE id = $1`,
                values: [id, `c${n}`],
              })),
      ),
    );
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(
  `tenant schema ${schema} on worker ${where?.nodeport}, ${CLIENTS} clients, ${rounds} rounds of ${seconds} s`,
);
for (const [kind, xs] of Object.entries(results)) {
  console.log(
    `${kind.padEnd(9)} ${xs.map((x) => x.toFixed(0)).join(' ')} updates/s, median ${median(xs).toFixed(0)}`,
  );
}
console.log(`appendlog / plain (medians): ${(median(results.appendlog) / median(results.plain)).toFixed(2)}`);

for (const { db, raw } of clients) {
  await db.close();
  await raw.end();
}
await owner.close();
// The DDL guard migrate installed protects the schema: open its hatch to drop it.
const client = await admin.connect();
await client.query('BEGIN');
await client.query(`SET LOCAL appendlog.allow_ddl = 'on'`);
await client.query(`DROP SCHEMA ${schema} CASCADE`);
await client.query('COMMIT');
client.release();
await admin.end();
