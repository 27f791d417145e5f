/**
 * Where an update's time goes on the server: `npm run bench:floor` (PostgreSQL only, needs
 * `pgbench` on the PATH) runs six writes interleaved in one pgbench run, each
 * transaction picking one of them at random, so every statement meets the same moments of the
 * machine. pgbench is the client: no Node.js, no driver, no decoding of results, prepared
 * statements. It prints each statement's mean latency and its ratios to plain's, once on one
 * client with asynchronous commit (server CPU only) and once on two clients with durable commit
 * (the setting of the update target in `npm run bench`).
 *
 * The six writes, each of a random one of 1,000 entries:
 * - plain: `UPDATE` of an ordinary table (a HOT update), the baseline;
 * - app versions: that `UPDATE` and an `INSERT` of the new version into a versions table, one
 *   statement: the least any history costs, with nothing enforced by the database;
 * - appendlog: the statement the library's `update` runs, captured from `pg_prepared_statements`,
 *   with the real chain trigger;
 * - appendlog without hashing: the same, on a table whose chain trigger has both hashes replaced
 *   by constants (what the chain's SHA-256 and their preimages cost);
 * - appendlog, stamp only: the same, on a table whose chain trigger only stamps the row (time,
 *   transaction, constants for the hashes) and neither checks nor moves the head: the cost of
 *   the statement and the log insert themselves, which no trigger work can go below;
 * - a row appended to the log, stamp only: a bare `INSERT … VALUES` into that table's log, no
 *   head read, no lock, nothing returned: what one more row in a log with appendlog's indexes
 *   costs at the least.
 *
 * The two variants exist only in this run's schema, to take the real trigger apart; the library
 * never installs them. `--seconds=N` sets each run's length (default 20).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { column as c, connect, table } from 'appendlog';
import pg from 'pg';

const ENTRIES = 1000;
const url = process.env.DATABASE_URL;
const args = process.argv.slice(2);
const secondsArg = args.length === 0 ? '20' : /^--seconds=([1-9]\d*)$/.exec(args[0] ?? '')?.[1];

const columns = {
  name: c.text().notNull(),
  addressLine1: c.text(),
  city: c.text(),
  postcode: c.text(),
  tel: c.text(),
};
const VARIANTS = ['items', 'nohash', 'stamp'] as const;

function fail(message: string): never {
  console.error(`bench:floor: ${message}`);
  process.exit(1);
}

/** The index of the parenthesis closing the one at `open`. */
function closing(sql: string, open: number): number {
  let depth = 0;
  for (let i = open; i < sql.length; i++) {
    if (sql[i] === '(') depth++;
    else if (sql[i] === ')' && --depth === 0) return i;
  }
  throw new Error('unbalanced parentheses in the chain function');
}

/** `sql` with the `pg_catalog.sha256(…)` call starting at `marker` replaced by `by`. */
function replaceCall(sql: string, marker: string, by: string): string {
  const at = sql.indexOf(marker);
  if (at < 0) throw new Error(`the chain function has no "${marker}": update bench/floor.ts`);
  const open = sql.indexOf('(', at + marker.length - 'pg_catalog.sha256('.length);
  return sql.slice(0, at) + by + sql.slice(closing(sql, open) + 1);
}

/** A chain function definition (`pg_get_functiondef`) with both hashes constant. */
function withoutHashing(def: string): string {
  const zero = `'\\x00'::bytea`;
  let out = replaceCall(def, 'NEW.content_hash := pg_catalog.sha256(', `NEW.content_hash := ${zero}`);
  out = replaceCall(out, 'hash = pg_catalog.sha256(', `hash = ${zero}`);
  return out;
}

/** A chain function that only stamps the row: a new version number (unique), time, tx, constants. */
function stampOnly(fn: string): string {
  return `
CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  NEW.version := NEW.version + NEW.seq::integer; -- the head never moves: keep (entry_id, version) unique
  NEW.recorded_at := pg_catalog.clock_timestamp();
  NEW.tx_id := pg_catalog.pg_current_xact_id();
  NEW.content_hash := '\\x00'::bytea;
  NEW.hash := '\\x00'::bytea;
  RETURN NEW;
END $fn$;`;
}

/** A prepared update of the library as a pgbench command: parameters become script variables. */
function asScript(statement: string, ids: string): string {
  const sql = statement
    .replaceAll('$1', `(SELECT id FROM ${ids} WHERE n = :n)`)
    .replace(/\$[2-5]\b/g, 'NULL')
    .replaceAll('$6', `'City ' || :k`)
    // pgbench reads ":MI" as a variable: spell the colons of to_char's format without one.
    .replaceAll(`HH24:MI:SS`, `HH24' || chr(58) || 'MI' || chr(58) || 'SS`);
  if (/\$\d/.test(sql)) throw new Error('the captured update has parameters this script does not fill');
  return sql.replace(/\s+/g, ' ');
}

interface Run {
  label: string;
  clients: number;
  commit: 'on' | 'off';
}

async function main(): Promise<void> {
  if (secondsArg === undefined || args.length > 1)
    fail(`unknown arguments "${args.join(' ')}" (--seconds=N)`);
  const seconds = Number(secondsArg);
  if (!url) fail('set DATABASE_URL to a PostgreSQL database (the floor is measured on PostgreSQL only)');
  try {
    execFileSync('pgbench', ['--version'], { stdio: 'ignore' });
  } catch {
    fail('pgbench is not on the PATH (it comes with the PostgreSQL server or client packages)');
  }
  const schema = `floor_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const dir = mkdtempSync(join(tmpdir(), 'appendlog-floor-'));
  try {
    await admin.query(`CREATE SCHEMA ${schema}`);
    const db = await connect({ url, schema, pool: { max: 1 } });
    const scripts: Record<string, string> = {};
    try {
      const tables = VARIANTS.map((name) => table(name, columns));
      await db.migrate(tables);
      for (const def of tables) {
        await admin.query(
          `INSERT INTO ${schema}.${def.name}_log (op, name, address_line_1, city, postcode, tel)
           SELECT 'insert', 'Person ' || e, e || ' Main Street', 'City 1', 'PC ' || e, '+47 555 ' || e
             FROM generate_series(1, ${ENTRIES}) e`,
        );
        await admin.query(
          `CREATE TABLE ${schema}.${def.name}_ids AS
           SELECT row_number() OVER (ORDER BY entry_id)::int AS n, entry_id AS id FROM ${schema}.${def.name}_head;
           ALTER TABLE ${schema}.${def.name}_ids ADD PRIMARY KEY (n)`,
        );
        // The library's own update statement, as prepared on its connection.
        const statement = await db.transaction(async (tx) => {
          const [{ id } = { id: '' }] = await tx.query<{ id: string }>(
            `SELECT id::text FROM ${schema}.${def.name}_ids WHERE n = 1`,
          );
          await tx.table(def).update(id, { city: 'City 2' });
          const [row] = await tx.query<{ statement: string }>(
            `SELECT statement FROM pg_prepared_statements WHERE statement LIKE $1`,
            [`INSERT INTO "${schema}"."${def.name}_log"%`],
          );
          if (!row) throw new Error('the library update did not prepare a statement');
          return row.statement;
        });
        scripts[def.name] = asScript(statement, `${schema}.${def.name}_ids`);
      }
    } finally {
      await db.close();
    }
    const chain = (name: string) => `${schema}.${name}_log_chain`;
    const [{ def } = { def: '' }] = (
      await admin.query<{ def: string }>(`SELECT pg_get_functiondef($1::regproc) AS def`, [chain('nohash')])
    ).rows;
    await admin.query(withoutHashing(def));
    await admin.query(stampOnly(chain('stamp')));

    await admin.query(`
CREATE TABLE ${schema}.plain (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(), version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
  name text NOT NULL, address_line_1 text, city text, postcode text, tel text
) WITH (fillfactor = 80);
CREATE INDEX ON ${schema}.plain (created_at, id);
INSERT INTO ${schema}.plain (name, address_line_1, city, postcode, tel)
SELECT 'Person ' || e, e || ' Main Street', 'City 1', 'PC ' || e, '+47 555 ' || e FROM generate_series(1, ${ENTRIES}) e;
CREATE TABLE ${schema}.plain_ids AS SELECT row_number() OVER (ORDER BY id)::int AS n, id FROM ${schema}.plain;
ALTER TABLE ${schema}.plain_ids ADD PRIMARY KEY (n);
CREATE TABLE ${schema}.appv (LIKE ${schema}.plain INCLUDING ALL) WITH (fillfactor = 80);
INSERT INTO ${schema}.appv SELECT * FROM ${schema}.plain;
CREATE TABLE ${schema}.appv_versions (
  item_id uuid NOT NULL, version integer NOT NULL, changed_at timestamptz NOT NULL,
  name text NOT NULL, address_line_1 text, city text, postcode text, tel text,
  PRIMARY KEY (item_id, version)
);
CREATE INDEX ON ${schema}.appv_versions (item_id, changed_at);
INSERT INTO ${schema}.appv_versions SELECT id, version, updated_at, name, address_line_1, city, postcode, tel FROM ${schema}.appv;
`);
    for (const t of [
      'plain',
      'appv',
      ...VARIANTS.map((v) => `${v}_log`),
      ...VARIANTS.map((v) => `${v}_head`),
    ]) {
      await admin.query(`VACUUM ANALYZE ${schema}.${t}`);
    }
    await admin.query('CHECKPOINT');

    const plainIds = `${schema}.plain_ids`;
    const all: [string, string][] = [
      [
        'plain',
        `UPDATE ${schema}.plain SET city = 'City ' || :k, version = version + 1, updated_at = now() WHERE id = (SELECT id FROM ${plainIds} WHERE n = :n)`,
      ],
      [
        'app versions',
        `WITH m AS (UPDATE ${schema}.appv SET city = 'City ' || :k, version = version + 1, updated_at = now() WHERE id = (SELECT id FROM ${plainIds} WHERE n = :n) RETURNING *) INSERT INTO ${schema}.appv_versions (item_id, version, changed_at, name, address_line_1, city, postcode, tel) SELECT id, version, updated_at, name, address_line_1, city, postcode, tel FROM m`,
      ],
      ['appendlog', scripts.items ?? ''],
      ['appendlog without hashing', scripts.nohash ?? ''],
      ['appendlog, stamp only', scripts.stamp ?? ''],
      [
        'a row appended to the log, stamp only',
        `INSERT INTO ${schema}.stamp_log (entry_id, op, version, name, address_line_1, city, postcode, tel) VALUES ((SELECT id FROM ${schema}.stamp_ids WHERE n = :n), 'update', 2, 'Person', '1 Main Street', 'City ' || :k, 'PC 1', '+47 555 1')`,
      ],
    ];
    const files = all.map(([label, sql], i) => {
      const file = join(dir, `s${i}.pgb`);
      writeFileSync(file, `\\set n random(1, ${ENTRIES})\n\\set k random(1, 1000000)\n${sql};\n`);
      return { label, file };
    });

    const runs: Run[] = [
      { label: '1 client, asynchronous commit (server CPU)', clients: 1, commit: 'off' },
      { label: '2 clients, durable commit (the update target)', clients: 2, commit: 'on' },
    ];
    console.log(`bench:floor: ${ENTRIES} entries per table, ${seconds} s per run, schema ${schema}`);
    for (const run of runs) {
      const out = execFileSync(
        'pgbench',
        [
          '-n',
          '-M',
          'prepared',
          '-c',
          String(run.clients),
          '-j',
          String(run.clients),
          '-T',
          String(seconds),
          ...files.flatMap((f) => ['-f', `${f.file}@1`]),
          url,
        ],
        { encoding: 'utf8', env: { ...process.env, PGOPTIONS: `-c synchronous_commit=${run.commit}` } },
      );
      const latencies = [
        ...out.matchAll(/SQL script \d+:[^\n]*\n(?:.*\n)*? - latency average = ([\d.]+) ms/g),
      ].map((m) => Number(m[1]) * 1000);
      const failed = /number of failed transactions: (\d+)/.exec(out)?.[1];
      if (latencies.length !== files.length) fail(`could not read pgbench's output:\n${out}`);
      console.log(`\n${run.label}${failed && failed !== '0' ? ` (${failed} failed transactions)` : ''}`);
      console.log('| statement | mean latency | latency ÷ plain | throughput ÷ plain |');
      console.log('|---|--:|--:|--:|');
      const base = latencies[0] ?? 1;
      files.forEach((f, i) => {
        const us = latencies[i] ?? 0;
        console.log(
          `| ${f.label} | ${us.toFixed(0)} µs | ${(us / base).toFixed(2)}× | ${(base / us).toFixed(2)}× |`,
        );
      });
    }
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
