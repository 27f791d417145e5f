import type { PGlite } from '@electric-sql/pglite';
import type { Driver, Queryable, QueryResult } from './types.js';

interface PGliteLike {
  query<R>(sql: string, params?: unknown[]): Promise<{ rows: R[]; affectedRows?: number }>;
  exec(sql: string): Promise<unknown>;
}

function wrap(client: PGliteLike): Queryable {
  return {
    async query<R>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
      const result = await client.query<R>(sql, [...params]);
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
    },
    async exec(sql: string): Promise<void> {
      await client.exec(sql);
    },
  };
}

/**
 * Opens PGlite (embedded PostgreSQL in WebAssembly), loaded lazily so that users of a real
 * server never pay for it. `dataDir` undefined means in memory.
 */
export async function openPGlite(dataDir: string | undefined): Promise<Driver> {
  let mod: typeof import('@electric-sql/pglite');
  try {
    mod = await import('@electric-sql/pglite');
  } catch (cause) {
    throw new Error(
      'appendlog: the embedded database needs @electric-sql/pglite; run `npm install @electric-sql/pglite` ' +
        'or connect({ url }) to a PostgreSQL server',
      { cause },
    );
  }
  const db = await mod.PGlite.create(dataDir);
  return pgliteDriver(db, true);
}

/**
 * Adapts an existing PGlite instance. PGlite has one connection and queues statements on it;
 * its `transaction` holds that queue, so the library must never query the outer handle from
 * inside a transaction callback (the Database guards against it).
 */
export function pgliteDriver(db: PGlite, owned: boolean): Driver {
  const base = wrap(db as unknown as PGliteLike);
  return {
    kind: 'pglite',
    query: base.query,
    exec: base.exec,
    async transaction<T>(fn: (conn: Queryable) => Promise<T>): Promise<T> {
      return db.transaction((tx) => fn(wrap(tx as unknown as PGliteLike)));
    },
    async close(): Promise<void> {
      if (owned && !db.closed) await db.close();
    },
  };
}
