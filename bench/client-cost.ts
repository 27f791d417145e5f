/**
 * The library's client-side cost on PostgreSQL: each library call against the very statement it
 * sends, sent raw through node-postgres (named, prepared, the same pool settings), alternating in
 * one process, so that only what the library adds in Node differs. Prints µs per operation and
 * Node's CPU per operation (process.cpuUsage), medians of many short rounds (each variant once a
 * round, in rotating order) with their interquartile range, and each round's ratio to `raw`.
 * On a machine shared with other work, CPU per operation is the steadier of the two.
 *
 *   DATABASE_URL=postgres://… node --import tsx bench/client-cost.ts [--ops=update,list,insert]
 *     [--clients=1,2] [--rounds=40] [--ms=150] [--async]
 *
 * `--baseline=DIR` adds `base`, the library of another build (a package directory with a built
 * dist/), run the same way beside this one.
 *
 * Variants: `lib` the library; `raw` its statement through a pg Pool; `raw-noret` (update) the
 * same without RETURNING; `plain` (list) an ordinary table's list of the same rows, as the bench's
 * plain contender reads it; `view` the bench's SQL path (the view).
 */
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { connect, type Database, tableObjects } from 'appendlog';
import pg from 'pg';
import { itemData, itemParams, itemsTable, rotate } from './src/data.js';
import { quantile } from './src/stats.js';

type Op = 'update' | 'list' | 'insert';

interface Args {
  ops: Op[];
  clients: number[];
  rounds: number;
  ms: number;
  async: boolean;
  baseline: string | null;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    ops: ['update', 'list', 'insert'],
    clients: [1, 2],
    rounds: 8,
    ms: 1500,
    async: false,
    baseline: null,
  };
  for (const a of argv) {
    const [k, v = ''] = a.split('=');
    if (k === '--ops') args.ops = v.split(',') as Op[];
    else if (k === '--clients') args.clients = v.split(',').map(Number);
    else if (k === '--rounds') args.rounds = Number(v);
    else if (k === '--ms') args.ms = Number(v);
    else if (k === '--async') args.async = true;
    else if (k === '--baseline') args.baseline = path.resolve(v);
    else
      throw new Error(
        `unknown argument "${a}" (--ops=, --clients=, --rounds=, --ms=, --async, --baseline=DIR)`,
      );
  }
  return args;
}

const SCHEMA = 'client_cost';
/** As the bench's sessions: no DDL guard for this schema, and its hatch open where one guards the database. */
const HATCH = '-c appendlog.ddl_guard=off -c appendlog.allow_ddl=on';
const ENTRIES = 10_000;

/** One variant: `run(worker, i)` does one operation. */
interface Variant {
  name: string;
  run: (worker: number, i: number) => Promise<unknown>;
}

/** The library's statements, as it sends them: recorded from a pool whose `query` notes them. */
async function recordStatements(
  url: string,
  ids: readonly string[],
): Promise<Record<Op, { text: string; values: unknown[] }>> {
  const pool = new pg.Pool({
    connectionString: url,
    max: 1,
    options: `-c search_path=${SCHEMA},public ${HATCH}`,
  });
  const seen: { text: string; values: unknown[] }[] = [];
  const query = pool.query.bind(pool) as (c: unknown) => Promise<unknown>;
  (pool as unknown as { query: (c: unknown) => Promise<unknown> }).query = (config: unknown) => {
    const c = config as { text?: string; values?: unknown[] };
    if (typeof c === 'object' && c.text !== undefined) seen.push({ text: c.text, values: c.values ?? [] });
    return query(config);
  };
  const db = await connect({ client: pool, schema: SCHEMA });
  const book = db.table(itemsTable('items'));
  const last = async (f: () => Promise<unknown>) => {
    seen.length = 0;
    await f();
    return seen[seen.length - 1]!;
  };
  const update = await last(() => book.update(ids[0]!, { city: 'Recorded' }));
  const list = await last(() => book.list({ limit: 50 }));
  const insert = await last(() => book.insert(itemData(0)));
  await db.close();
  await pool.end();
  return { update, list, insert };
}

async function setUp(url: string): Promise<string[]> {
  const admin = new pg.Client({ connectionString: url, options: HATCH });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE; CREATE SCHEMA ${SCHEMA}`);
  await admin.end();
  const db = await connect({ url, schema: SCHEMA, pool: { options: HATCH } });
  await db.migrate([itemsTable('items')]);
  await db.table(itemsTable('items')).insertMany(Array.from({ length: ENTRIES }, (_, i) => itemData(i + 1)));
  await db.close();
  // The plain contender's table, with the same rows, for the list.
  const c = new pg.Client({ connectionString: url, options: HATCH });
  await c.connect();
  await c.query(`SET search_path = ${SCHEMA}`);
  await c.query(`CREATE TABLE plain (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(), version integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
    name text NOT NULL, address_line_1 text, city text, postcode text, tel text) WITH (fillfactor = 80)`);
  await c.query(`CREATE INDEX plain_created_idx ON plain (created_at, id)`);
  await c.query(`INSERT INTO plain (id, created_at, name, address_line_1, city, postcode, tel)
    SELECT entry_id, created_at, name, address_line_1, city, postcode, tel FROM items_head`);
  for (const t of ['plain', 'items_head', 'items_log']) await c.query(`VACUUM ANALYZE ${t}`);
  const { rows } = await c.query<{ id: string }>(
    `SELECT entry_id::text AS id FROM items_head ORDER BY created_at`,
  );
  await c.end();
  return rows.map((r) => r.id);
}

function variants(
  op: Op,
  db: Database,
  base: Database | null,
  raw: pg.Pool,
  st: Record<Op, { text: string; values: unknown[] }>,
  ids: readonly string[],
): Variant[] {
  const book = db.table(itemsTable('items'));
  const baseBook = base?.table(itemsTable('items'));
  const o = tableObjects(SCHEMA, 'items');
  // Each worker writes its own half of the entries, so two clients never wait on one row lock.
  const idOf = (w: number, i: number) => ids[(w * 4999 + i * 2) % ids.length]!;
  const named = (name: string, text: string, values: unknown[]) =>
    raw.query({ name, text, values, queryMode: 'extended' } as pg.QueryConfig & { queryMode: 'extended' });
  let n = 1_000_000;
  if (op === 'update') {
    const noRet = st.update.text.slice(0, st.update.text.indexOf('\nRETURNING'));
    return [
      { name: 'lib', run: (w, i) => book.update(idOf(w, i), { city: `C${i}` }) },
      ...(baseBook
        ? [{ name: 'base', run: (w: number, i: number) => baseBook.update(idOf(w, i), { city: `C${i}` }) }]
        : []),
      {
        name: 'raw',
        run: (w, i) => named('cc_upd', st.update.text, [idOf(w, i), null, null, null, null, `C${i}`]),
      },
      {
        name: 'raw-noret',
        run: (w, i) => named('cc_upd_noret', noRet, [idOf(w, i), null, null, null, null, `C${i}`]),
      },
      {
        name: 'view',
        run: (w, i) =>
          // A value never set before: an UPDATE of the view that changes nothing appends no version.
          named('cc_upd_view', `UPDATE ${o.view} SET city = $2 WHERE entry_id = $1`, [idOf(w, i), `V${n++}`]),
      },
    ];
  }
  if (op === 'list') {
    const cols = 'name, address_line_1, city, postcode, tel';
    return [
      { name: 'lib', run: () => book.list({ limit: 50 }) },
      ...(baseBook ? [{ name: 'base', run: () => baseBook.list({ limit: 50 }) }] : []),
      { name: 'raw', run: () => named('cc_list', st.list.text, []) },
      {
        name: 'plain',
        run: () =>
          named(
            'cc_list_plain',
            `SELECT id, version, created_at, updated_at, ${cols} FROM plain ORDER BY created_at, id LIMIT 50`,
            [],
          ),
      },
      {
        name: 'view',
        run: () =>
          named(
            'cc_list_view',
            `SELECT entry_id, version, created_at, updated_at, ${cols} FROM ${o.view} ORDER BY created_at, entry_id LIMIT 50`,
            [],
          ),
      },
    ];
  }
  return [
    { name: 'lib', run: () => book.insert(itemData(n++)) },
    ...(baseBook ? [{ name: 'base', run: () => baseBook.insert(itemData(n++)) }] : []),
    {
      name: 'raw',
      run: () => {
        const d = itemParams(n++);
        return named('cc_ins', st.insert.text, [crypto.randomUUID(), null, null, null, ...d]);
      },
    },
    {
      name: 'view',
      run: () =>
        named(
          'cc_ins_view',
          `INSERT INTO ${o.view} (name, address_line_1, city, postcode, tel) VALUES ($1, $2, $3, $4, $5)`,
          itemParams(n++),
        ),
    },
  ];
}

/** Runs `v` on `clients` workers for `ms`; returns µs per operation and Node CPU µs per operation. */
async function batch(v: Variant, clients: number, ms: number): Promise<{ us: number; cpu: number }> {
  let ops = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + ms;
  await Promise.all(
    Array.from({ length: clients }, async (_, w) => {
      for (let i = 0; performance.now() < end; i++) {
        await v.run(w, i);
        ops++;
      }
    }),
  );
  const wall = (performance.now() - t0) * 1000;
  const cpu = process.cpuUsage(cpu0);
  return { us: wall / ops, cpu: (cpu.user + cpu.system) / ops };
}

/** Median (first quartile–third quartile) of `xs`. */
function iqr(xs: readonly number[], digits: number): string {
  const sorted = [...xs].sort((a, b) => a - b);
  const q = (p: number) => quantile(sorted, p).toFixed(digits);
  return `${q(0.5)} (${q(0.25)}–${q(0.75)})`;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is required');
  const ids = await setUp(url);
  const st = await recordStatements(url, ids);
  const extra = `${HATCH}${args.async ? ' -c synchronous_commit=off' : ''}`;
  const db = await connect({ url, schema: SCHEMA, pool: { max: 2, options: extra } });
  const raw = new pg.Pool({
    connectionString: url,
    max: 2,
    options: `-c search_path=${SCHEMA},public ${extra}`,
  });
  const baseConnect = args.baseline
    ? (
        (await import(
          pathToFileURL(path.join(args.baseline, 'dist', 'index.js')).href
        )) as typeof import('appendlog')
      ).connect
    : null;
  const base = baseConnect
    ? await baseConnect({ url, schema: SCHEMA, pool: { max: 2, options: extra } })
    : null;
  try {
    for (const op of args.ops) {
      for (const clients of args.clients) {
        const vs = variants(op, db, base, raw, st, ids);
        for (const v of vs) await batch(v, clients, 300); // warm-up: connections, statements, JIT
        const us = vs.map(() => [] as number[]);
        const cpu = vs.map(() => [] as number[]);
        for (let r = 0; r < args.rounds; r++) {
          for (const k of rotate(
            vs.map((_, k) => k),
            r,
          )) {
            const m = await batch(vs[k]!, clients, args.ms);
            us[k]!.push(m.us);
            cpu[k]!.push(m.cpu);
          }
        }
        process.stdout.write(
          `\n${op}, ${clients} client(s)${args.async ? ', async commit' : ''}: median (interquartile range) of ${args.rounds} rounds\n`,
        );
        process.stdout.write(
          `${'variant'.padEnd(10)} ${'µs/op'.padEnd(20)} ${'Node CPU µs/op'.padEnd(20)} ${'µs ÷ raw'.padEnd(20)} CPU ÷ raw (per round)\n`,
        );
        const rawK = vs.findIndex((v) => v.name === 'raw');
        for (const [k, v] of vs.entries()) {
          const perRound = (xs: number[][]) => xs[k]!.map((x, r) => x / xs[rawK]![r]!);
          process.stdout.write(
            `${v.name.padEnd(10)} ${iqr(us[k]!, 1).padEnd(20)} ${iqr(cpu[k]!, 1).padEnd(20)} ${iqr(perRound(us), 3).padEnd(20)} ${iqr(perRound(cpu), 3)}\n`,
          );
        }
      }
    }
  } finally {
    await db.close();
    await base?.close();
    await raw.end();
    const admin = new pg.Client({ connectionString: url, options: HATCH });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await admin.end();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
