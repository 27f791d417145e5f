/**
 * Where an update's time goes on the server: `npm run bench:floor` (PostgreSQL only, needs
 * `pgbench` on the PATH) runs six writes interleaved in one pgbench run, each
 * transaction picking one of them at random, so every statement meets the same moments of the
 * machine. pgbench is the client: no Node.js, no driver, no decoding of results, prepared
 * statements. It prints each statement's mean latency and its ratios to plain's and to the
 * history trigger's, once on one client with asynchronous commit (server CPU only) and once on
 * two clients with durable commit (the setting of the update target in `npm run bench`).
 *
 * The six writes, each of a random one of 1,000 entries:
 * - plain: `UPDATE` of an ordinary table (a HOT update), the baseline;
 * - app versions: that `UPDATE` and an `INSERT` of the new version into a versions table, one
 *   statement: the least any history costs, with nothing enforced by the database;
 * - history trigger: the same `UPDATE`, and a plpgsql trigger copies the old row into a history
 *   table: the approach the update target is set against;
 * - appendlog: the statement the library's `update` runs (an `UPDATE` of the head), with the
 *   real chain trigger, which checks, stamps and hashes the version and appends it to the log;
 * - appendlog without hashing: the same, on a table whose chain trigger has both hashes replaced
 *   by constants (what the chain's SHA-256 and their preimages cost);
 * - appendlog, stamp only: the same, on a table whose chain trigger only stamps the row (version,
 *   time, transaction, parent hash, constants for the salt and hashes) and appends it to the log,
 *   checking nothing: the cost of the statement, the trigger call and the log insert themselves,
 *   which no trigger work can go below.
 *
 * The tables, their fill and the first four statements are the bench's own contenders
 * (bench/src/contenders), each statement read back from `pg_prepared_statements` after one
 * update. The two variants are the real chain function rewritten (`pg_get_functiondef`), and
 * exist only in this run's schema, to take the real trigger apart; the library never installs
 * them. `--seconds=N` sets each run's length (default 20).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Contender } from './src/contender.js';
import { appVersionsContender } from './src/contenders/app-versions.js';
import { appendlogFamily, appendlogLibContender } from './src/contenders/appendlog.js';
import { historyTriggerContender } from './src/contenders/history-trigger.js';
import { plainContender } from './src/contenders/plain.js';
import { openPgbenchScratch, runPgbench } from './src/pgbench-scratch.js';
import type { SqlClient } from './src/sql-client.js';

const ENTRIES = 1000;
const url = process.env.DATABASE_URL;
const args = process.argv.slice(2);
const secondsArg = args.length === 0 ? '20' : /^--seconds=([1-9]\d*)$/.exec(args[0] ?? '')?.[1];

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

/** `marker` must occur in the chain function `sql`: its index. */
function find(sql: string, marker: string, from = 0): number {
  const at = sql.indexOf(marker, from);
  if (at < 0) throw new Error(`the chain function has no "${marker}": update bench/floor.ts`);
  return at;
}

/** `sql` with `marker`, which ends with the opening parenthesis of a call, and that call replaced by `by`. */
function replaceCall(sql: string, marker: string, by: string): string {
  const at = find(sql, marker);
  return sql.slice(0, at) + by + sql.slice(closing(sql, at + marker.length - 1) + 1);
}

/** A constant of `n` zero bytes, as wide as the value it replaces. */
const zeros = (n: number) => `'\\x${'00'.repeat(n)}'::bytea`;

/** A chain function definition (`pg_get_functiondef`) with both hashes constant. */
function withoutHashing(def: string): string {
  let out = replaceCall(def, 'v_content_hash := pg_catalog.sha256(', `v_content_hash := ${zeros(32)}`);
  out = replaceCall(out, 'NEW.hash := pg_catalog.sha256(', `NEW.hash := ${zeros(32)}`);
  return out;
}

/**
 * A chain function definition that only stamps an updated head row (the next version, time,
 * transaction, parent hash; the salt and both hashes constant) and appends it to the log as the
 * real one does: no checks, no settings read, no hashing.
 */
function stampOnly(def: string): string {
  const nohash = withoutHashing(def);
  const body = find(nohash, '\nBEGIN\n') + '\nBEGIN\n'.length;
  const salt = find(nohash, '  v_salt := ', body);
  const saltEnd = find(nohash, ';\n', salt) + 2;
  const stamp = `  NEW.op := 'update';
  NEW.version := OLD.version + 1;
  NEW.recorded_at := pg_catalog.clock_timestamp();
  NEW.created_at := OLD.created_at;
  NEW.parent_hash := OLD.hash;
  NEW.deleted := false;
  NEW.tx_id := pg_catalog.pg_current_xact_id();
  v_salt := ${zeros(16)};
`;
  return nohash.slice(0, body) + stamp + nohash.slice(saltEnd);
}

/**
 * A contender's prepared update as a pgbench command: `$1` (the entry id) becomes a lookup of a
 * random entry in `ids`, `$<city>` the new city, and any other parameter (the library's actor,
 * reason, meta and expected version) NULL.
 */
function asScript(statement: string, ids: string, city: number): string {
  const sql = statement
    .replace(/\$(\d+)\b/g, (_, n: string) =>
      n === '1' ? `(SELECT id FROM ${ids} WHERE n = :n)` : Number(n) === city ? `'City ' || :k` : 'NULL',
    )
    // pgbench reads ":MI" as a variable: spell the colons of to_char's format without one.
    .replaceAll(`HH24:MI:SS`, `HH24' || chr(58) || 'MI' || chr(58) || 'SS`);
  return sql.replace(/\s+/g, ' ');
}

/**
 * Builds dataset `t` of `contender` with the bench's own code (the same tables, indexes and fill
 * as in `npm run bench`), numbers its entries into `<t>_ids` for pgbench, runs its update once and
 * returns that statement as prepared on the connection (the latest one it prepared).
 */
async function prepareWrite(
  contender: Contender,
  t: string,
  city: number,
  latestPrepared: () => Promise<string>,
  sql: SqlClient,
): Promise<string> {
  await contender.family.create(t);
  const ids = await contender.family.fill(t, ENTRIES, 1);
  await sql.query(
    null,
    `CREATE TABLE ${t}_ids AS SELECT n::int, id FROM unnest($1::uuid[]) WITH ORDINALITY AS x (id, n)`,
    [ids],
  );
  await sql.exec(`ALTER TABLE ${t}_ids ADD PRIMARY KEY (n)`);
  await contender.update(t, ids[0]!, 'City 2');
  return asScript(await latestPrepared(), `${t}_ids`, city);
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
  // One connection each, so the statement a contender prepared is the latest one on it.
  const { schema, sql, db, dir, close } = await openPgbenchScratch(url, 'floor', fail);
  const latest = `SELECT statement FROM pg_catalog.pg_prepared_statements ORDER BY prepare_time DESC LIMIT 1`;
  const fromSql = async () => (await sql.query<{ statement: string }>(null, latest))[0]!.statement;
  const fromDb = async () => (await db.query<{ statement: string }>(latest))[0]!.statement;
  try {
    const library = appendlogLibContender(appendlogFamily(sql, db), db);
    const plain = plainContender(sql);
    const appVersions = appVersionsContender(sql);
    const trigger = historyTriggerContender(sql);
    const all: [string, string][] = [
      ['plain', await prepareWrite(plain, 'plain', 2, fromSql, sql)],
      ['app versions', await prepareWrite(appVersions, 'appv', 2, fromSql, sql)],
      ['history trigger', await prepareWrite(trigger, 'trig', 2, fromSql, sql)],
      ['appendlog', await prepareWrite(library, 'items', 6, fromDb, sql)],
      ['appendlog without hashing', await prepareWrite(library, 'nohash', 6, fromDb, sql)],
      ['appendlog, stamp only', await prepareWrite(library, 'stamp', 6, fromDb, sql)],
    ];
    const chainOf = async (t: string) =>
      (
        await sql.query<{ def: string }>(
          null,
          `SELECT pg_get_functiondef(tgfoid) AS def FROM pg_catalog.pg_trigger
            WHERE tgrelid = $1::regclass AND tgname = 'appendlog_chain'`,
          [`${t}_head`],
        )
      )[0]!.def;
    await sql.exec(withoutHashing(await chainOf('nohash')));
    await sql.exec(stampOnly(await chainOf('stamp')));
    const relations = [
      ...plain.family.relations('plain'),
      ...appVersions.family.relations('appv'),
      ...trigger.family.relations('trig'),
      ...['items', 'nohash', 'stamp'].flatMap((t) => library.family.relations(t)),
    ];
    for (const t of relations) await sql.exec(`VACUUM ANALYZE ${t}`);
    await sql.exec('CHECKPOINT');

    const files = all.map(([label, text], i) => {
      const file = join(dir, `s${i}.pgb`);
      writeFileSync(file, `\\set n random(1, ${ENTRIES})\n\\set k random(1, 1000000)\n${text};\n`);
      return { label, file };
    });

    const runs: Run[] = [
      { label: '1 client, asynchronous commit (server CPU)', clients: 1, commit: 'off' },
      { label: '2 clients, durable commit (the update target)', clients: 2, commit: 'on' },
    ];
    console.log(`bench:floor: ${ENTRIES} entries per table, ${seconds} s per run, schema ${schema}`);
    for (const run of runs) {
      const { latencies, failed } = runPgbench(
        url,
        schema,
        files.map((f) => f.file),
        { ...run, seconds },
        fail,
      );
      console.log(`\n${run.label}${failed > 0 ? ` (${failed} failed transactions)` : ''}`);
      console.log(
        '| statement | mean latency | latency ÷ plain | throughput ÷ plain | throughput ÷ history trigger |',
      );
      console.log('|---|--:|--:|--:|--:|');
      const of = (label: string) => latencies[files.findIndex((f) => f.label === label)]!;
      const plainUs = of('plain');
      const triggerUs = of('history trigger');
      files.forEach((f, i) => {
        const us = latencies[i]!;
        console.log(
          `| ${f.label} | ${us.toFixed(0)} µs | ${(us / plainUs).toFixed(2)}× | ${(plainUs / us).toFixed(2)}× | ${(triggerUs / us).toFixed(2)}× |`,
        );
      });
    }
  } finally {
    await close();
  }
}

await main();
