/**
 * Update throughput of row-sharded tables on Citus against one node (docs/scale-out.md,
 * "Row-sharded tables on Citus"), in one run: appendlog's `update` and a plain `UPDATE … WHERE
 * id = $1`, each on tables local to the coordinator (one node) and on tables distributed by id over
 * the two workers (the three-node cluster), all through the coordinator, 4 clients each on their
 * own rows, the four in rotating order round after round. Needs the cluster of
 * `../shared/citus/cluster.sh start`; on one machine, all three nodes share its cores.
 *
 *   node --import tsx bench/citus-rows.ts [seconds per round, default 5] [rounds, default 6]
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
const run = randomBytes(3).toString('hex');
const admin = new pg.Pool({ connectionString: COORDINATOR, max: 1 });

/** A schema with appendlog's `people` and a plain table of the same rows; `sharded`: both distributed. */
async function layout(sharded: boolean): Promise<{ schema: string; ids: string[] }> {
  const schema = `bench_${sharded ? 'sharded' : 'local'}_${run}`;
  await admin.query(`CREATE SCHEMA ${schema}`);
  const owner = await connect({ url: COORDINATOR, schema });
  await owner.migrate([people], { distributed: sharded });
  const loaded = await owner
    .table(people)
    .insertMany(
      Array.from({ length: CLIENTS * ROWS_PER_CLIENT }, (_, i) => ({ name: `p${i}`, city: 'start' })),
    );
  await owner.close();
  const ids = loaded.map((v) => v.entryId);
  await admin.query(
    `CREATE TABLE ${schema}.plain_people (id uuid PRIMARY KEY, name text NOT NULL, city text)`,
  );
  if (sharded) await admin.query(`SELECT create_distributed_table($1, 'id')`, [`${schema}.plain_people`]);
  await admin.query(
    `INSERT INTO ${schema}.plain_people SELECT id, 'p', 'start' FROM unnest($1::uuid[]) AS id`,
    [ids],
  );
  return { schema, ids };
}

const local = await layout(false);
const sharded = await layout(true);
const workers = (
  await admin.query<{ nodeport: number }>(
    `SELECT DISTINCT nodeport FROM citus_shards WHERE table_name = $1::regclass ORDER BY 1`,
    [`${sharded.schema}.people_head`],
  )
).rows.map((r) => r.nodeport);

type Client = { db: Database; raw: pg.Pool };
const clientsOf = (schema: string) =>
  Promise.all(
    Array.from({ length: CLIENTS }, async () => ({
      db: await connect({ url: COORDINATOR, schema, pool: { max: 1 } }),
      raw: new pg.Pool({ connectionString: COORDINATOR, max: 1 }),
    })),
  );
const localClients = await clientsOf(local.schema);
const shardedClients = await clientsOf(sharded.schema);
const rowsOf = (ids: string[]) =>
  Array.from({ length: CLIENTS }, (_, k) => ids.slice(k * ROWS_PER_CLIENT, (k + 1) * ROWS_PER_CLIENT));
const appendlog = async ({ db }: Client, id: string, n: number) =>
  void (await db.table(people).update(id, { city: `c${n}` }));
const plain =
  (schema: string, name: string) =>
  async ({ raw }: Client, id: string, n: number) =>
    void (await raw.query({
      name,
      text: `UPDATE ${schema}.plain_people SET city = $2 WHERE id = $1`,
      values: [id, `c${n}`],
    }));

const results = await alternatingRounds<Client, string>(
  {
    'appendlog, 1 node': { clients: localClients, rows: rowsOf(local.ids), one: appendlog },
    'plain, 1 node': {
      clients: localClients,
      rows: rowsOf(local.ids),
      one: plain(local.schema, 'local_update'),
    },
    'appendlog, sharded': { clients: shardedClients, rows: rowsOf(sharded.ids), one: appendlog },
    'plain, sharded': {
      clients: shardedClients,
      rows: rowsOf(sharded.ids),
      one: plain(sharded.schema, 'sharded_update'),
    },
  },
  seconds,
  rounds,
);
console.log(
  `one node: tables local to the coordinator; sharded: distributed by id over workers ${workers.join(', ')}; ${CLIENTS} clients, ${rounds} rounds of ${seconds} s`,
);
for (const line of roundLines(results)) console.log(line);
const m = (k: string) => median(results[k]!);
console.log(
  `appendlog / plain, 1 node (medians):  ${(m('appendlog, 1 node') / m('plain, 1 node')).toFixed(2)}`,
);
console.log(
  `appendlog / plain, sharded (medians): ${(m('appendlog, sharded') / m('plain, sharded')).toFixed(2)}`,
);
console.log(
  `sharded / 1 node, appendlog (medians): ${(m('appendlog, sharded') / m('appendlog, 1 node')).toFixed(2)}`,
);
console.log(
  `sharded / 1 node, plain (medians):     ${(m('plain, sharded') / m('plain, 1 node')).toFixed(2)}`,
);

for (const { db, raw } of [...localClients, ...shardedClients]) {
  await db.close();
  await raw.end();
}
await dropGuardedSchema(admin, local.schema);
await dropGuardedSchema(admin, sharded.schema);
await admin.end();
