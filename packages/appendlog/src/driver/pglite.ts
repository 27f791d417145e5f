import type { PGlite } from '@electric-sql/pglite';
import { type PreparedStatements, preparedStatements } from './pglite-prepared.js';
import type { BinaryCopy, Driver, Listener, Queryable, QueryOptions, QueryResult } from './types.js';

interface PGliteLike {
  query<R>(
    sql: string,
    params?: unknown[],
    options?: { rowMode?: 'array' },
  ): Promise<{ rows: R[]; affectedRows?: number; blob?: Blob }>;
  exec(sql: string): Promise<unknown>;
}

/** PGlite writes a COPY to the virtual file `/dev/blob` and hands it over when the statement ends. */
function binaryCopy(client: PGliteLike): BinaryCopy {
  return {
    streams: false,
    async *rows(select: string): AsyncIterable<Uint8Array> {
      const result = await client.query(`COPY (${select}) TO '/dev/blob' (FORMAT binary)`);
      if (result.blob === undefined) throw new Error('appendlog: PGlite returned no blob for a COPY');
      yield new Uint8Array(await result.blob.arrayBuffer());
    },
  };
}

function wrap(client: PGliteLike, prepared: PreparedStatements | null, inTransaction = false): Queryable {
  return {
    ...(inTransaction ? { copyBinary: binaryCopy(client) } : {}),
    async query<R>(
      sql: string,
      params: readonly unknown[] = [],
      options: QueryOptions = {},
    ): Promise<QueryResult<R>> {
      if (options.name !== undefined && prepared !== null) {
        return prepared.run<R>(options.name, sql, params, inTransaction, options.rowMode);
      }
      const result = await client.query<R>(
        sql,
        [...params],
        options.rowMode === undefined ? undefined : { rowMode: 'array' },
      );
      // affectedRows is 0 for a SELECT; node-postgres counts the rows it returned, and so do we.
      return { rows: result.rows, rowCount: result.affectedRows || result.rows.length };
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
  const prepared = preparedStatements(db);
  const base = wrap(db as unknown as PGliteLike, prepared);
  return {
    kind: 'pglite',
    query: base.query,
    exec: base.exec,
    async transaction<T>(fn: (conn: Queryable) => Promise<T>): Promise<T> {
      return db.transaction((tx) => fn(wrap(tx as unknown as PGliteLike, prepared, true)));
    },
    async listen(channel, onNotify): Promise<Listener> {
      // In-process: PGlite delivers a committed transaction's notifications to its own listeners.
      const unlisten = await db.listen(channel, onNotify);
      return {
        async close() {
          if (!db.closed) await unlisten();
        },
      };
    },
    async close(): Promise<void> {
      if (owned && !db.closed) await db.close();
    },
  };
}
