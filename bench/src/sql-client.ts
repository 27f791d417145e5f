import type { PGlite } from '@electric-sql/pglite';
import type pg from 'pg';

/**
 * The raw SQL connection the hand-written contenders use: node-postgres with named (prepared)
 * statements on PostgreSQL, the single PGlite connection otherwise.
 */
export interface SqlClient {
  readonly kind: 'postgres' | 'pglite';
  /** One statement; `name` prepares it once per connection (node-postgres only). */
  query<R = Record<string, unknown>>(
    name: string | null,
    text: string,
    params?: readonly unknown[],
  ): Promise<R[]>;
  /** A script of several statements, no parameters. */
  exec(sql: string): Promise<void>;
}

/**
 * A script dropping a bench schema through the DDL guard's hatch: a database where migrate
 * installed the guard refuses a plain drop of appendlog's tables.
 */
export function dropSchemaSql(schema: string): string {
  return `BEGIN; SET LOCAL appendlog.allow_ddl = 'on'; DROP SCHEMA IF EXISTS ${schema} CASCADE; COMMIT`;
}

export function pgClient(pool: pg.Pool): SqlClient {
  return {
    kind: 'postgres',
    async query<R>(name: string | null, text: string, params: readonly unknown[] = []): Promise<R[]> {
      const config = name === null ? { text, values: [...params] } : { name, text, values: [...params] };
      const result = await pool.query(config);
      return result.rows as R[];
    },
    async exec(sql: string): Promise<void> {
      await pool.query(sql);
    },
  };
}

export function pgliteClient(db: PGlite): SqlClient {
  return {
    kind: 'pglite',
    async query<R>(_name: string | null, text: string, params: readonly unknown[] = []): Promise<R[]> {
      const result = await db.query<R>(text, [...params]);
      return result.rows;
    },
    async exec(sql: string): Promise<void> {
      await db.exec(sql);
    },
  };
}
