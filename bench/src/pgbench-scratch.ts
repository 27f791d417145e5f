import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Database } from 'appendlog';
import pg from 'pg';
import { dropSchemaSql, pgClient, type SqlClient } from './sql-client.js';

/**
 * What a pgbench harness (`bench:floor`, `bench:insert-floor`) works in: a schema of its own, one
 * connection for the contenders' SQL (so the statement a contender prepared is the latest one on
 * it), the library on one connection, and a folder for pgbench's script files.
 */
export interface PgbenchScratch {
  schema: string;
  sql: SqlClient;
  db: Database;
  dir: string;
  /** Drops the schema (through the DDL guard's hatch, where migrate installed the guard) and the folder. */
  close(): Promise<void>;
}

/** Checks that pgbench is on the PATH, then makes a {@link PgbenchScratch}; `fail` on a missing one. */
export async function openPgbenchScratch(
  url: string,
  prefix: string,
  fail: (message: string) => never,
): Promise<PgbenchScratch> {
  try {
    execFileSync('pgbench', ['--version'], { stdio: 'ignore' });
  } catch {
    fail('pgbench is not on the PATH (it comes with the PostgreSQL server or client packages)');
  }
  const schema = `${prefix}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  // The harness rewrites appendlog's chain functions into variants of its own: no DDL guard is
  // installed for it, and where one already guards the database, its hatch is open (as engine.ts).
  const hatch = '-c appendlog.ddl_guard=off -c appendlog.allow_ddl=on';
  const pool = new pg.Pool({
    connectionString: url,
    max: 1,
    options: `-c search_path=${schema},public ${hatch}`,
  });
  const db = await connect({ url, schema, pool: { max: 1, options: hatch } });
  const dir = mkdtempSync(join(tmpdir(), `appendlog-${prefix}-`));
  return {
    schema,
    sql: pgClient(pool),
    db,
    dir,
    async close() {
      await db.close();
      await pool.end();
      await admin.query(dropSchemaSql(schema));
      await admin.end();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * One pgbench run of `files` interleaved (each script `@1`), prepared, in the scratch's schema:
 * each script's mean latency in µs, in the order of `files`, and how many transactions failed.
 */
export function runPgbench(
  url: string,
  schema: string,
  files: readonly string[],
  run: { clients: number; commit: 'on' | 'off'; seconds: number },
  fail: (message: string) => never,
): { latencies: number[]; failed: number } {
  const clients = String(run.clients);
  const out = execFileSync(
    'pgbench',
    [
      ...['-n', '-M', 'prepared', '-c', clients, '-j', clients, '-T', String(run.seconds)],
      ...files.flatMap((f) => ['-f', `${f}@1`]),
      url,
    ],
    {
      encoding: 'utf8',
      env: {
        ...process.env,
        PGOPTIONS: `-c synchronous_commit=${run.commit} -c search_path=${schema},public`,
      },
    },
  );
  const latencies = [
    ...out.matchAll(/SQL script \d+:[^\n]*\n(?:.*\n)*? - latency average = ([\d.]+) ms/g),
  ].map((m) => Number(m[1]) * 1000);
  if (latencies.length !== files.length) fail(`could not read pgbench's output:\n${out}`);
  return { latencies, failed: Number(/number of failed transactions: (\d+)/.exec(out)?.[1] ?? 0) };
}
