import { randomBytes } from 'node:crypto';
import { connect, type Database } from 'appendlog';
import pg from 'pg';
import { describe } from 'vitest';
import { addresses } from '../src/tables.js';

const url = process.env.DATABASE_URL;

if (!url && process.env.APPENDLOG_REQUIRE_POSTGRES === '1') {
  throw new Error('APPENDLOG_REQUIRE_POSTGRES=1 but DATABASE_URL is not set.');
}

/** `describe` on PostgreSQL only, tagged so CI counts it; skipped, loudly, without DATABASE_URL. */
export function describePostgres(name: string, fn: () => void): void {
  if (url) describe(`${name} [postgres]`, fn);
  else describe.skip(`${name} [postgres] (skipped: no DATABASE_URL)`, fn);
}

/** A fresh database of its own, with `addresses` migrated into it by appendlog. */
export interface ScenarioDb {
  /** The new database's connection string, for the ORM under test. */
  url: string;
  /** appendlog on the same database: reads history and verifies. */
  db: Database;
  drop(): Promise<void>;
}

export interface FreshOptions {
  /** appendlog's schema (`connect({ schema })`); public by default. */
  schema?: string;
  /** Migrate without installing the DDL guard (`appendlog.ddl_guard = off` for the session). */
  noGuard?: boolean;
}

export async function freshDatabase(prefix: string, options: FreshOptions = {}): Promise<ScenarioDb> {
  if (!url) throw new Error('DATABASE_URL is not set');
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const target = new URL(url);
  target.pathname = `/${name}`;
  const appendlogUrl = new URL(target);
  if (options.noGuard) appendlogUrl.searchParams.set('options', '-c appendlog.ddl_guard=off');
  const db = await connect({
    url: appendlogUrl.toString(),
    ...(options.schema ? { schema: options.schema } : {}),
  });
  await db.migrate([addresses]);
  return {
    url: target.toString(),
    db,
    async drop() {
      await db.close();
      const a = new pg.Client({ connectionString: url });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await a.end();
    },
  };
}
