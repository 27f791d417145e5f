import type { Readable } from 'node:stream';
import type { Pool, PoolClient, PoolConfig } from 'pg';
import type { BinaryCopy, Driver, Listener, Queryable, QueryOptions, QueryResult } from './types.js';

interface PgQueryable {
  query(config: {
    text: string;
    values?: unknown[];
    name?: string;
    queryMode?: 'extended';
    rowMode?: 'array';
  }): Promise<{ rows: unknown[]; rowCount: number | null }>;
}

/** Where a held connection notes that it can no longer be trusted with another statement. */
interface ConnectionState {
  broken?: Error;
}

function wrap(client: PgQueryable, state?: ConnectionState): Queryable {
  return {
    ...(state === undefined ? {} : { copyBinary: binaryCopy(client, state) }),
    async query<R>(
      sql: string,
      params: readonly unknown[] = [],
      options: QueryOptions = {},
    ): Promise<QueryResult<R>> {
      // Always the extended protocol, as on PGlite: one statement per call. Without parameters
      // node-postgres would send a simple query, which runs every statement of a script before
      // the caller learns that it got an array of results.
      const config: {
        text: string;
        values: unknown[];
        name?: string;
        queryMode: 'extended';
        rowMode?: 'array';
      } = {
        text: sql,
        values: [...params],
        queryMode: 'extended',
      };
      if (options.name !== undefined) config.name = options.name;
      if (options.rowMode !== undefined) config.rowMode = options.rowMode;
      const result = await client.query(config);
      return { rows: result.rows as R[], rowCount: result.rowCount ?? result.rows.length };
    },
    async exec(sql: string): Promise<void> {
      await client.query({ text: sql });
    },
  };
}

/**
 * `COPY (select) TO STDOUT (FORMAT binary)` through pg-copy-streams: chunks arrive while the
 * server produces them, with backpressure. A reader that stops early leaves the connection in
 * the middle of a COPY, so the connection is marked broken and closed instead of reused.
 */
function binaryCopy(client: PgQueryable, state: ConnectionState): BinaryCopy {
  return {
    streams: true,
    async *rows(select: string): AsyncIterable<Uint8Array> {
      const { to } = await import('pg-copy-streams');
      const stream = (client as unknown as { query(q: unknown): Readable }).query(
        to(`COPY (${select}) TO STDOUT (FORMAT binary)`),
      );
      let finished = false;
      try {
        for await (const chunk of stream) yield chunk as Uint8Array;
        finished = true;
      } finally {
        if (!finished) {
          state.broken ??= new Error('appendlog: a binary COPY was abandoned halfway');
          stream.destroy();
        }
      }
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
      const state: ConnectionState = {};
      // A checked-out client has no error listener: a backend that dies between two statements
      // (pg_terminate_backend, a restart) would crash the process. Note it; the next statement fails.
      const onError = (err: Error) => {
        state.broken = err;
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const result = await fn(wrap(client as unknown as PgQueryable, state));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        // A broken connection is closed below: the server rolls back when it goes.
        if (state.broken === undefined) {
          try {
            await client.query('ROLLBACK');
          } catch (rollbackError) {
            state.broken = rollbackError as Error;
          }
        }
        throw err;
      } finally {
        client.removeListener('error', onError);
        client.release(state.broken);
      }
    },
    listen: (channel, onNotify, onLost) => listenOn(pool, channel, onNotify, onLost),
    async close(): Promise<void> {
      if (owned) await pool.end();
    },
  };
}

/** What a node-postgres pool keeps of how it connects: its client class and their settings. */
interface PoolInternals {
  Client: new (config: unknown) => import('pg').Client;
  options: Record<string, unknown>;
}

/**
 * LISTEN on a client of its own, made with the pool's settings (the same server, credentials,
 * role and search_path), outside the pool: a pooled client would go back listening, and a held
 * one would take a connection from the application's `max`.
 */
async function listenOn(
  pool: Pool,
  channel: string,
  onNotify: (payload: string) => void,
  onLost: (err: Error) => void,
): Promise<Listener> {
  const { Client, options } = pool as unknown as PoolInternals;
  const client = new Client({ ...options, application_name: 'appendlog listener' });
  let closing = false;
  let lost = false;
  let ready = false;
  const lose = (err: Error) => {
    // A failure while connecting is the rejection below, not a lost listener.
    if (!ready || closing || lost) return;
    lost = true;
    // The socket is gone or going: release what is left of the client, then tell the feed.
    client.end().catch(() => {});
    onLost(err);
  };
  client.on('error', lose);
  client.on('end', () => lose(new Error('appendlog: the listening connection ended')));
  client.on('notification', (msg) => {
    if (msg.channel === channel) onNotify(msg.payload ?? '');
  });
  try {
    await client.connect();
    await client.query(`LISTEN "${channel.replaceAll('"', '""')}"`);
    ready = true;
  } catch (err) {
    closing = true;
    await client.end().catch(() => {});
    throw err;
  }
  return {
    async close() {
      if (closing) return;
      closing = true;
      await client.end().catch(() => {});
    },
  };
}
