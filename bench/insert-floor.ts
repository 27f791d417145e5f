/**
 * Where an insert's time goes on the server: `npm run bench:insert-floor` (PostgreSQL only, needs
 * `pgbench` on the PATH) takes the chain trigger's INSERT path apart layer by layer, as
 * `bench:floor` does for the update (docs/performance.md, "The insert taken apart"). Every variant
 * is a table of its own, made by the bench's code with 10,000 entries; their inserts run
 * interleaved in one pgbench run (each transaction picks one at random), once on one client with
 * asynchronous commit and once on two clients with durable commit, `--rounds=N` times each
 * (default 3), and it prints each insert's mean latency (median of the rounds) and its ratio to
 * the history trigger's per round (whose trigger does not fire on INSERT: a plain insert).
 *
 * The appendlog variants, each one layer more than the one before:
 * - the head row alone: the chain trigger switched off, its bookkeeping given as constants;
 * - the trigger stamping the row (version, op, times, transaction), no log row;
 * - and a bare INSERT of the log row: no ON CONFLICT, no CHECK, no INSERT refusal, one index;
 * - and the log's two other indexes; and its notNull CHECK; and its INSERT refusal;
 * - and ON CONFLICT DO NOTHING: the generated storage whole, nothing checked or hashed;
 * - and the salt and both spec hashes;
 * - the generated trigger as it is, through the view (the SQL path) and through the library's
 *   own statement (read back from `pg_prepared_statements`, its id `gen_random_uuid()`).
 * The cut-down chain functions are the table's own (`pg_get_functiondef`) rewritten, and exist
 * only in the run's own schema. `--seconds=N` sets each run's length (default 15).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableObjects } from 'appendlog';
import { appendlogFamily, appendlogLibContender } from './src/contenders/appendlog.js';
import { historyTriggerContender } from './src/contenders/history-trigger.js';
import { plainContender } from './src/contenders/plain.js';
import { COLUMNS } from './src/data.js';
import { openPgbenchScratch, runPgbench } from './src/pgbench-scratch.js';
import { summarize } from './src/stats.js';

const ENTRIES = 10_000;
const url = process.env.DATABASE_URL;
const options = new Map(
  process.argv.slice(2).map((a) => {
    const m = /^--(seconds|rounds)=([1-9]\d*)$/.exec(a);
    if (!m) fail(`unknown argument "${a}" (--seconds=N, --rounds=N)`);
    return [m[1]!, Number(m[2])];
  }),
);
const seconds = options.get('seconds') ?? 15;
const rounds = options.get('rounds') ?? 3;

function fail(message: string): never {
  console.error(`bench:insert-floor: ${message}`);
  process.exit(1);
}

/** `sql` with `from` (which must occur once) replaced by `to`. */
function swap(sql: string, from: string, to: string): string {
  if (sql.split(from).length !== 2)
    throw new Error(`the chain function has no single "${from.slice(0, 40)}"`);
  return sql.replace(from, () => to);
}

const zeros = (n: number) => `'\\x${'00'.repeat(n)}'::bytea`;

/**
 * Chain function bodies for the insert ladder, from the generated one (`def`): its header and its
 * INSERT of the log row kept, the rest replaced. Keyed by variant.
 */
function ladder(def: string): Record<string, string> {
  const begin = def.indexOf('\nBEGIN\n') + '\nBEGIN\n'.length;
  const hashAt = def.indexOf('  v_salt := ');
  const logAt = def.indexOf("  IF TG_OP = 'INSERT' THEN\n    INSERT INTO");
  const logEnd = def.indexOf('    RETURN NEW;\n  END IF;\n', logAt) + '    RETURN NEW;\n  END IF;\n'.length;
  if (begin < 0 || hashAt < 0 || logAt < 0 || logEnd < logAt) throw new Error('update bench/insert-floor.ts');
  const header = def.slice(0, begin);
  const hashes = def.slice(hashAt, logAt);
  const logInsert = def.slice(logAt, logEnd);
  const bareInsert = swap(logInsert, '    ON CONFLICT DO NOTHING\n', '');
  const stamp = `  NEW.op := 'insert';
  NEW.version := 1;
  NEW.recorded_at := pg_catalog.clock_timestamp();
  NEW.created_at := NEW.recorded_at;
  NEW.deleted := false;
  NEW.tx_id := pg_catalog.pg_current_xact_id();
`;
  const constants = `  v_salt := ${zeros(16)};\n  v_content_hash := ${zeros(32)};\n  NEW.hash := ${zeros(32)};\n`;
  const end = '  RETURN NEW;\nEND $function$';
  const bare = header + stamp + constants + bareInsert + end;
  return {
    call: `${header}${stamp}  NEW.hash := ${zeros(32)};\n  NEW.seq := 0;\n${end}`,
    bare,
    idx: bare,
    chk: bare,
    stmt: bare,
    stamp: header + stamp + constants + logInsert + end,
    hash: header + stamp + hashes + logInsert + end,
  };
}

/** What each variant's table loses of the generated storage. */
function storageCuts(schema: string, t: string): string[] {
  const log = `${schema}.${t}_log`;
  const cuts: string[] = [];
  if (t === 'bare')
    cuts.push(`DROP INDEX ${schema}.bare_log_entry_time_idx`, `DROP INDEX ${schema}.bare_log_tx_idx`);
  if (t === 'bare' || t === 'idx') cuts.push(`ALTER TABLE ${log} DROP CONSTRAINT name_required`);
  if (t === 'bare' || t === 'idx' || t === 'chk') cuts.push(`DROP TRIGGER appendlog_refuse_insert ON ${log}`);
  if (t === 'head') cuts.push(`ALTER TABLE ${schema}.head_head DISABLE TRIGGER appendlog_chain`);
  return cuts;
}

const LABELS: Record<string, string> = {
  plain: 'plain insert',
  trig: 'history trigger (a plain insert: its trigger does not fire)',
  head: 'the head row alone, chain trigger off',
  call: '+ the chain trigger stamping the row, no log row',
  bare: '+ the log row, a bare INSERT (no ON CONFLICT, CHECK or refusal; one index)',
  idx: "+ the log's two other indexes",
  chk: '+ the notNull CHECK',
  stmt: '+ the INSERT-refusal statement trigger',
  stamp: '+ ON CONFLICT DO NOTHING (stamp only)',
  hash: '+ the salt and both spec hashes',
  items: 'the generated trigger, through the view (SQL path)',
  lib: "the generated trigger, the library's statement",
};

async function main(): Promise<void> {
  if (!url) fail('set DATABASE_URL to a PostgreSQL database');
  const { schema, sql, db, dir, close } = await openPgbenchScratch(url, 'insfloor', fail);
  try {
    const plain = plainContender(sql);
    await plain.family.create('plain');
    await plain.family.fill('plain', ENTRIES, 1);
    const trig = historyTriggerContender(sql);
    await trig.family.create('trig');
    await trig.family.fill('trig', ENTRIES, 1);
    const family = appendlogFamily(sql, db);
    const tables = ['head', 'call', 'bare', 'idx', 'chk', 'stmt', 'stamp', 'hash', 'items', 'lib'];
    for (const t of tables) {
      await family.create(t);
      await family.fill(t, ENTRIES, 1);
    }
    await appendlogLibContender(family, db).insert('lib', 1);
    const [prepared] = await db.query<{ statement: string }>(
      'SELECT statement FROM pg_catalog.pg_prepared_statements ORDER BY prepare_time DESC LIMIT 1',
    );
    const [{ def }] = (await sql.query<{ def: string }>(
      null,
      `SELECT pg_get_functiondef(tgfoid) AS def FROM pg_catalog.pg_trigger
        WHERE tgrelid = $1::regclass AND tgname = 'appendlog_chain'`,
      [tableObjects(schema, 'items').head],
    )) as [{ def: string }];
    const bodies = ladder(def);
    const ddl = ["BEGIN; SET LOCAL appendlog.allow_ddl = 'on'"];
    for (const [t, body] of Object.entries(bodies)) {
      ddl.push(
        body
          .replaceAll(`"${schema}"."items_`, `"${schema}"."${t}_`)
          .replace(`${schema}.items_log_chain()`, `${schema}.${t}_log_chain()`),
      );
    }
    for (const t of tables) ddl.push(...storageCuts(schema, t));
    ddl.push('COMMIT');
    await sql.exec(ddl.join(';\n'));
    await sql.exec('CHECKPOINT');

    const values = `'Person ' || :n, :n || ' Main Street', 'City ' || (:n % 97), 'PC ' || :n, '+47 555 ' || :n`;
    const cols = COLUMNS.join(', ');
    const statement = (t: string): string => {
      if (t === 'plain' || t === 'trig') return `INSERT INTO ${schema}.${t} (${cols}) VALUES (${values})`;
      if (t === 'head')
        return `INSERT INTO ${schema}.head_head (entry_id, version, op, recorded_at, tx_id, hash, seq, deleted, created_at, ${cols})
          VALUES (pg_catalog.gen_random_uuid(), 1, 'insert', clock_timestamp(), pg_current_xact_id(), '\\x00'::bytea, 0, false, clock_timestamp(), ${values})`;
      if (t === 'lib')
        return (
          prepared!.statement
            .replace(/\$(\d+)(::\w+)?/g, (_, n: string, cast = '') =>
              n === '1'
                ? 'pg_catalog.gen_random_uuid()'
                : Number(n) <= 4
                  ? `NULL${cast}`
                  : `(${values.split(', ')[Number(n) - 5]})${cast}`,
            )
            // pgbench reads ":MI" as a variable: spell the colons of to_char's format without one.
            .replaceAll('HH24:MI:SS', `HH24' || chr(58) || 'MI' || chr(58) || 'SS`)
        );
      return `INSERT INTO ${tableObjects(schema, t).view} (${cols}) VALUES (${values})`;
    };
    const order = ['plain', 'trig', ...tables];
    const files = order.map((t, i) => {
      const file = join(dir, `s${i}.pgb`);
      writeFileSync(file, `\\set n random(1, 1000000000)\n${statement(t).replace(/\s+/g, ' ')};\n`);
      return file;
    });
    const runs = [
      { label: '1 client, asynchronous commit (server CPU)', clients: 1, commit: 'off' },
      { label: '2 clients, durable commit', clients: 2, commit: 'on' },
    ] as const;
    console.log(
      `bench:insert-floor: ${ENTRIES} entries per table, ${rounds} × ${seconds} s per setting, schema ${schema}`,
    );
    for (const run of runs) {
      const latencies: number[][] = order.map(() => []);
      for (let r = 0; r < rounds; r++) {
        const { latencies: us } = runPgbench(url, schema, files, { ...run, seconds }, fail);
        for (const [i, u] of us.entries()) latencies[i]!.push(u);
      }
      const trigIndex = order.indexOf('trig');
      console.log(`\n${run.label}`);
      console.log('| insert | mean latency, median of rounds | ÷ history trigger, median (range) |');
      console.log('|---|--:|--:|');
      order.forEach((t, i) => {
        const us = summarize(latencies[i]!);
        const ratio = summarize(latencies[i]!.map((u, r) => u / latencies[trigIndex]![r]!));
        console.log(
          `| ${LABELS[t]} | ${us.median.toFixed(0)} µs | ${ratio.median.toFixed(2)}× (${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)}) |`,
        );
      });
    }
  } finally {
    await close();
  }
}

await main();
