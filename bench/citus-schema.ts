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
import { column as c, connect, type Database, table } from '../packages/appendlog/src/index.js';
import { alternatingRounds, COORDINATOR, dropGuardedSchema, median, roundLines } from './src/citus-rounds.js';

const CLIENTS = 4;
const ROWS_PER_CLIENT = 50;
const seconds = Number(process.argv[2] ?? 5);
const rounds = Number(process.argv[3] ?? 6);

const people = table('people', { name: c.text().notNull(), city: c.text() });
const schema = `bench_tenant_${randomBytes(3).toString('hex')}`;
const admin = new pg.Pool({ connectionString: COORDINATOR, max: 1 });
await admin.query(`CREATE SCHEMA ${schema}`);
await admin.query(`SELECT citus_schema_distribute($1)`, [schema]);
const owner = await connect({ url: COORDINATOR, schema });
await owner.migrate([people]);
await admin.query(`CREATE TABLE ${schema}.plain_people (id uuid PRIMARY KEY, name text NOT NULL, city text)`);

const loaded = await owner
  .table(people)
  .insertMany(
    Array.from({ length: CLIENTS * ROWS_PER_CLIENT }, (_, i) => ({ name: `p${i}`, city: 'start' })),
  );
const ids = loaded.map((v) => v.entryId);
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
type Client = { db: Database; raw: pg.Pool };
const rows = Array.from({ length: CLIENTS }, (_, k) =>
  ids.slice(k * ROWS_PER_CLIENT, (k + 1) * ROWS_PER_CLIENT),
);
const results = await alternatingRounds<Client, 'appendlog' | 'plain'>(
  {
    appendlog: {
      clients,
      rows,
      one: async ({ db }, id, n) => void (await db.table(people).update(id, { city: `c${n}` })),
    },
    plain: {
      clients,
      rows,
      one: async ({ raw }, id, n) =>
        void (await raw.query({
          name: 'plain_update',
          text: `UPDATE ${schema}.plain_people SET city = $2 WHERE id = $1`,
          values: [id, `c${n}`],
        })),
    },
  },
  seconds,
  rounds,
);
console.log(
  `tenant schema ${schema} on worker ${where?.nodeport}, ${CLIENTS} clients, ${rounds} rounds of ${seconds} s`,
);
for (const line of roundLines(results)) console.log(line);
console.log(`appendlog / plain (medians): ${(median(results.appendlog) / median(results.plain)).toFixed(2)}`);

for (const { db, raw } of clients) {
  await db.close();
  await raw.end();
}
await owner.close();
await dropGuardedSchema(admin, schema);
await admin.end();
