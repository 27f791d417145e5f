import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { connect, type Database } from 'appendlog';
import pg from 'pg';
import type { Contender, Family } from './contender.js';
import { appVersionsContender } from './contenders/app-versions.js';
import { appendlogFamily, appendlogLibContender, appendlogSqlContender } from './contenders/appendlog.js';
import { historyTriggerContender } from './contenders/history-trigger.js';
import { plainContender } from './contenders/plain.js';
import { dropSchemaSql, pgClient, pgliteClient, type SqlClient } from './sql-client.js';

export type EngineName = 'postgres' | 'pglite';
type Connect = typeof connect;

/** One database under test, with every contender bound to it. */
export interface BenchEngine {
  name: EngineName;
  /** Concurrent client counts this engine can run (PGlite has a single connection). */
  clients: number[];
  sql: SqlClient;
  /** The library's own handle (durable sessions). */
  db: Database;
  contenders: Contender[];
  /**
   * The same contenders on sessions with `synchronous_commit = off` (PostgreSQL only): commits do
   * not wait for the WAL flush, so write workloads show CPU cost instead of fsync latency.
   */
  asyncContenders: Contender[] | null;
  families: Family[];
  serverVersion: string;
  settings: Record<string, string>;
  close(): Promise<void>;
}

function bind(
  sql: SqlClient,
  db: Database,
  baseline: Database | null,
): Pick<BenchEngine, 'contenders' | 'families'> {
  const plain = plainContender(sql);
  const trig = historyTriggerContender(sql);
  const appv = appVersionsContender(sql);
  const family = appendlogFamily(sql, db);
  const contenders = [
    plain,
    trig,
    appv,
    appendlogLibContender(family, db),
    appendlogSqlContender(family, sql, db.schema),
  ];
  const families = [plain.family, trig.family, appv.family, family];
  if (baseline) {
    const base = appendlogFamily(sql, baseline, 'baseline');
    contenders.push(appendlogLibContender(base, baseline), appendlogSqlContender(base, sql, baseline.schema));
    families.push(base);
  }
  return { contenders, families };
}

/** `fn` run at most once; later calls get the first call's promise (Ctrl-C and `finally` both close). */
function once(fn: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | null = null;
  return () => {
    done ??= fn();
    return done;
  };
}

async function describeServer(
  sql: SqlClient,
): Promise<{ version: string; settings: Record<string, string> }> {
  const [v] = await sql.query<{ v: string }>(null, 'SELECT version() AS v');
  const names = ['synchronous_commit', 'fsync', 'shared_buffers', 'jit', 'wal_level', 'max_connections'];
  const rows = await sql.query<{ name: string; setting: string; unit: string | null }>(
    null,
    'SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1)',
    [names],
  );
  const settings: Record<string, string> = {};
  for (const r of rows) settings[r.name] = r.unit ? `${r.setting} ${r.unit}` : r.setting;
  return { version: v?.v ?? 'unknown', settings };
}

/**
 * A fresh schema on the PostgreSQL server at `url`, dropped again by `close`. `baseline` is the
 * `connect` of another appendlog build, measured beside this one.
 */
export async function openPostgres(url: string, baseline: Connect | null): Promise<BenchEngine> {
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Pool({ connectionString: url, max: 1 });
  await admin.query(`CREATE SCHEMA ${schema}`);
  const closers: Array<() => Promise<void>> = [];
  const session = async (extra: string) => {
    // The bench creates and drops appendlog tables of its own every round: no DDL guard is
    // installed for it, and where one already guards the database, its hatch is open.
    const options = `-c search_path=${schema},public -c appendlog.ddl_guard=off -c appendlog.allow_ddl=on${extra}`;
    // Two connections per pool: the 2-client workloads run one worker on each.
    const pool = new pg.Pool({ connectionString: url, max: 2, options });
    pool.on('error', () => {});
    const db = await connect({ url, schema, pool: { max: 2, options } });
    const base = baseline ? await baseline({ url, schema, pool: { max: 2, options } }) : null;
    closers.push(async () => {
      await base?.close();
      await db.close();
      await pool.end();
    });
    const sql = pgClient(pool);
    return { sql, db, ...bind(sql, db, base) };
  };
  const durable = await session('');
  const fast = await session(' -c synchronous_commit=off');
  const { version, settings } = await describeServer(durable.sql);
  return {
    name: 'postgres',
    clients: [1, 2],
    sql: durable.sql,
    db: durable.db,
    contenders: durable.contenders,
    asyncContenders: fast.contenders,
    families: durable.families,
    serverVersion: version,
    settings,
    close: once(async () => {
      for (const close of closers) await close();
      await admin.query(dropSchemaSql(schema));
      await admin.end();
    }),
  };
}

/** A fresh in-memory PGlite. */
export async function openPGlite(baseline: Connect | null): Promise<BenchEngine> {
  const pgl = await PGlite.create();
  // As on PostgreSQL: the bench drops its own appendlog tables, so no DDL guard (docs/sql-and-orms.md).
  await pgl.exec(`SET appendlog.ddl_guard = 'off'`);
  const sql = pgliteClient(pgl);
  const db = await connect({ client: pgl });
  const base = baseline ? await baseline({ client: pgl }) : null;
  const { version, settings } = await describeServer(sql);
  return {
    name: 'pglite',
    clients: [1],
    sql,
    db,
    ...bind(sql, db, base),
    asyncContenders: null,
    serverVersion: version,
    settings,
    close: once(async () => {
      await base?.close();
      await db.close();
      await pgl.close();
    }),
  };
}
