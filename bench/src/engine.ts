import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { connect, type Database } from 'appendlog';
import pg from 'pg';
import type { Contender, Family } from './contender.js';
import { appVersionsContender } from './contenders/app-versions.js';
import { appendlogFamily, appendlogLibContender, appendlogSqlContender } from './contenders/appendlog.js';
import { historyTriggerContender } from './contenders/history-trigger.js';
import { plainContender } from './contenders/plain.js';
import { pgClient, pgliteClient, type SqlClient } from './sql-client.js';

export type EngineName = 'postgres' | 'pglite';

/** One database under test, with every contender bound to it. */
export interface BenchEngine {
  name: EngineName;
  /** Concurrent client counts this engine can run (PGlite has a single connection). */
  clients: number[];
  sql: SqlClient;
  db: Database;
  contenders: Contender[];
  families: Family[];
  serverVersion: string;
  settings: Record<string, string>;
  close(): Promise<void>;
}

function bind(sql: SqlClient, db: Database): Pick<BenchEngine, 'contenders' | 'families'> {
  const plain = plainContender(sql);
  const trig = historyTriggerContender(sql);
  const appv = appVersionsContender(sql);
  const family = appendlogFamily(sql, db);
  const lib = appendlogLibContender(family, db);
  const raw = appendlogSqlContender(family, sql);
  return {
    contenders: [plain, trig, appv, lib, raw],
    families: [plain.family, trig.family, appv.family, family],
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

/** A fresh schema on the PostgreSQL server at `url`, dropped again by `close`. */
export async function openPostgres(url: string): Promise<BenchEngine> {
  const schema = `bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Pool({ connectionString: url, max: 1 });
  await admin.query(`CREATE SCHEMA ${schema}`);
  // Two connections: the 2-client workloads run one worker on each.
  const pool = new pg.Pool({ connectionString: url, max: 2, options: `-c search_path=${schema},public` });
  pool.on('error', () => {});
  const sql = pgClient(pool);
  const db = await connect({ url, schema, pool: { max: 2 } });
  const { version, settings } = await describeServer(sql);
  return {
    name: 'postgres',
    clients: [1, 2],
    sql,
    db,
    ...bind(sql, db),
    serverVersion: version,
    settings,
    async close() {
      await db.close();
      await pool.end();
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    },
  };
}

/** A fresh in-memory PGlite. */
export async function openPGlite(): Promise<BenchEngine> {
  const pgl = await PGlite.create();
  const sql = pgliteClient(pgl);
  const db = await connect({ client: pgl });
  const { version, settings } = await describeServer(sql);
  return {
    name: 'pglite',
    clients: [1],
    sql,
    db,
    ...bind(sql, db),
    serverVersion: version,
    settings,
    async close() {
      await db.close();
      await pgl.close();
    },
  };
}
