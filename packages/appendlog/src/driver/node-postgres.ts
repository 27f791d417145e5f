import type { Pool, PoolClient, PoolConfig } from 'pg';
import type { Driver, Queryable, QueryOptions, QueryResult } from './types.js';

interface PgQueryable {
  query(config: {
    text: string;
    values?: unknown[];
    name?: string;
  }): Promise<{ rows: unknown[]; rowCount: number | null }>;
}

function wrap(client: PgQueryable): Queryable {
  return {
    async query<R>(
      sql: string,
      params: readonly unknown[] = [],
      options: QueryOptions = {},
    ): Promise<QueryResult<R>> {
      const config: { text: string; values: unknown[]; name?: string } = { text: sql, values: [...params] };
      if (options.name !== undefined) config.name = options.name;
      const result = await client.query(config);
      return { rows: result.rows as R[], rowCount: result.rowCount ?? result.rows.length };
    },
    async exec(sql: string): Promise<void> {
      await client.query({ text: sql });
    },
  };
}

/** Opens a node-postgres pool on `url`, loaded lazily. */
export async function openPostgres(url: string, config: PoolConfig = {}): Promise<Driver> {
  let mod: typeof import('pg');
  try {
    mod = await import('pg');
  } catch (cause) {
    throw new Error('appendlog: connect({ url }) needs the pg package; run `npm install pg`', { cause });
  }
  const PoolClass = mod.default?.Pool ?? mod.Pool;
  const pool = new PoolClass({ connectionString: url, ...config });
  // An idle client that dies (server restart) must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  return postgresDriver(pool, true);
}

/** Adapts an existing node-postgres pool. Statements are prepared once per connection by name. */
export function postgresDriver(pool: Pool, owned: boolean): Driver {
  const base = wrap(pool as unknown as PgQueryable);
  return {
    kind: 'postgres',
    query: base.query,
    exec: base.exec,
    async transaction<T>(fn: (conn: Queryable) => Promise<T>): Promise<T> {
      const client: PoolClient = await pool.connect();
      let broken: Error | undefined;
      // A checked-out client has no error listener: a backend that dies between two statements
      // (pg_terminate_backend, a restart) would crash the process. Note it; the next statement fails.
      const onError = (err: Error) => {
        broken = err;
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const result = await fn(wrap(client as unknown as PgQueryable));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackError) {
          broken = rollbackError as Error;
        }
        throw err;
      } finally {
        client.removeListener('error', onError);
        client.release(broken);
      }
    },
    async close(): Promise<void> {
      if (owned) await pool.end();
    },
  };
}
