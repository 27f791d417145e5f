import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe } from 'vitest';
import { connect, type Database, type TableDef } from '../../src/index.js';
import { freshPGlite } from './pglite-snapshot.js';

/** A database engine the shared suites run against. */
export interface Engine {
  name: 'pglite' | 'postgres';
  /** A fresh, empty database (a new PGlite, or a new schema on PostgreSQL). */
  open(): Promise<TestDb>;
}

export interface TestDb {
  db: Database;
  schema: string;
  /** Opens another handle on the same data (PostgreSQL: a second pool; PGlite: the same instance). */
  reopen(): Promise<Database>;
  close(): Promise<void>;
}

const url = process.env.DATABASE_URL;
const required = process.env.APPENDLOG_REQUIRE_POSTGRES === '1';

// Without DATABASE_URL the PostgreSQL suites are skipped; the run's summary says so once
// (skip-notice-reporter.ts). CI sets APPENDLOG_REQUIRE_POSTGRES=1 so that a missing URL fails.
if (!url && required) {
  throw new Error(
    'APPENDLOG_REQUIRE_POSTGRES=1 but DATABASE_URL is not set: set it to a PostgreSQL database.',
  );
}

export const pglite: Engine = {
  name: 'pglite',
  async open() {
    const client = await freshPGlite();
    const db = await connect({ client });
    // Like the shared PostgreSQL database (support/global-setup.ts): the DDL guard is tested on its own.
    await db.exec(`SET appendlog.ddl_guard = 'off'`);
    return {
      db,
      schema: 'public',
      reopen: async () => db,
      async close() {
        await db.close();
        await client.close();
      },
    };
  },
};

export const postgres: Engine = {
  name: 'postgres',
  async open() {
    if (!url) throw new Error('DATABASE_URL is not set');
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const handles: Database[] = [];
    const open = async () => {
      const db = await connect({ url, schema, notify: true });
      handles.push(db);
      return db;
    };
    const db = await open();
    return {
      db,
      schema,
      reopen: open,
      async close() {
        await Promise.all(handles.slice(1).map((h) => h.close()));
        await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await db.close();
      },
    };
  },
};

/** PGlite always; PostgreSQL when DATABASE_URL is set. */
export const engines: Engine[] = url ? [pglite, postgres] : [pglite];

/** `describe` once per engine, the engine's name in brackets so CI can count the PostgreSQL runs. */
export function describeEngines(name: string, fn: (engine: Engine) => void): void {
  for (const engine of engines) describe(`${name} [${engine.name}]`, () => fn(engine));
}

/** `describe` on PostgreSQL only (skipped, loudly, without DATABASE_URL). */
export function describePostgres(name: string, fn: () => void): void {
  if (url) describe(`${name} [postgres]`, fn);
  else describe.skip(`${name} [postgres] (skipped: no DATABASE_URL)`, fn);
}

/** A raw node-postgres pool on the test server, for superuser tricks the library refuses. */
export function rawPool(max = 2): pg.Pool {
  if (!url) throw new Error('DATABASE_URL is not set');
  return new pg.Pool({ connectionString: url, max });
}

/** A PostgreSQL test schema migrated for a fresh least-privilege role, and handles acting as it. */
export interface AppRoleDb {
  /** The owner's side: the schema, as `postgres.open()` gives it. */
  t: TestDb;
  /** The role `migrate({ appRole })` set up. */
  role: string;
  /** A pool whose every connection acts as the role, on the schema's search_path. */
  pool: pg.Pool;
  /** The library on that pool. */
  app: Database;
  /** Closes the handles, drops the schema and the role. */
  close(): Promise<void>;
}

/**
 * `tables` migrated in a fresh schema with `appRole` set to a new NOLOGIN role named
 * `<prefix>_<random>`, and a pool of `max` connections acting as it (what an application's own
 * credentials can do, which the guarantees must hold against).
 */
export async function openAppRole(
  prefix: string,
  tables: readonly TableDef[],
  max: number,
): Promise<AppRoleDb> {
  const t = await postgres.open();
  const role = `${prefix}_${Math.random().toString(36).slice(2, 8)}`;
  await t.db.query(`CREATE ROLE ${role} NOLOGIN`);
  await t.db.migrate(tables, { appRole: role });
  const pool = new pg.Pool({
    connectionString: url,
    max,
    options: `-c search_path=${t.schema} -c role=${role}`,
  });
  const app = await connect({ client: pool, schema: t.schema });
  return {
    t,
    role,
    pool,
    app,
    async close() {
      await app.close();
      await pool.end();
      await t.close();
      const admin = rawPool(1);
      await admin.query(`DROP OWNED BY ${role}; DROP ROLE ${role}`).catch(() => {});
      await admin.end();
    },
  };
}
