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

/** node-postgres's Query class (`Client.Query`), as much of it as {@link textRowsQuery} uses. */
interface PgQueryClass {
  new (
    config: { text: string; name: string; values: unknown[]; rowMode: 'array' },
    values?: undefined,
    callback?: (err: Error | null, result: { rows: unknown[]; rowCount: number | null }) => void,
  ): PgQuery;
}

interface PgQuery {
  text: string;
  name: string;
  values: unknown[];
  types: unknown;
  _result: { rows: unknown[] };
  hasBeenParsed(connection: PgConnection): boolean;
  prepare(connection: PgConnection): void;
}

interface PgConnection {
  submittedNamedStatements: Record<string, string>;
  parse(config: { text: string; name: string; types: unknown }): void;
  bind(config: { statement: string; values: unknown[]; valueMapper: (v: unknown) => string | null }): void;
  execute(config: { portal: string }): void;
  sync(): void;
}

/**
 * A named statement whose rows come back as the server's text, each an array in select-list order:
 * node-postgres's own Query, but sent as Parse (the first time on a connection), Bind, Execute and
 * Sync, without the Describe it sends before every execution. The server then sends no row
 * description, and node-postgres parses none and sets up no converter per column: an update
 * returning its version took about 14% less of Node's CPU, a list of 50 about 11%
 * (docs/performance.md, "The library's client cost, second look"). Being node-postgres's Query,
 * it keeps its error handling and its bookkeeping of the statements prepared on a connection.
 */
function textRowsQuery(Query: PgQueryClass): PgQueryClass {
  // One class per node-postgres Query class, not one per transaction's connection.
  let TextRows = textRowsClasses.get(Query);
  if (TextRows === undefined) {
    TextRows = defineTextRowsQuery(Query);
    textRowsClasses.set(Query, TextRows);
  }
  return TextRows;
}

const textRowsClasses = new WeakMap<PgQueryClass, PgQueryClass>();

function defineTextRowsQuery(Query: PgQueryClass): PgQueryClass {
  return class TextRowsQuery extends Query {
    override prepare(connection: PgConnection): void {
      // Another node-postgres than the one this was written against (8.x): its own prepare, with
      // the Describe; the rows are read the same way below either way.
      if (!speaksExtendedProtocol(connection)) {
        super.prepare(connection);
        return;
      }
      if (!this.hasBeenParsed(connection)) {
        connection.parse({ text: this.text, name: this.name, types: this.types });
        connection.submittedNamedStatements[this.name] = this.text;
      }
      connection.bind({ statement: this.name, values: this.values, valueMapper: textParam });
      connection.execute({ portal: '' });
      connection.sync();
    }

    handleDataRow(msg: { fields: unknown[] }): void {
      this._result.rows.push(msg.fields);
    }
  } as unknown as PgQueryClass;
}

/** Whether `Query` is node-postgres's Query class with the methods {@link defineTextRowsQuery} builds on (not pg-native's). */
function isPgQueryClass(Query: PgQueryClass | undefined): Query is PgQueryClass {
  const proto = (Query as { prototype?: Record<string, unknown> } | undefined)?.prototype;
  return (
    typeof proto?.prepare === 'function' &&
    typeof proto.hasBeenParsed === 'function' &&
    typeof proto.handleDataRow === 'function'
  );
}

/** Whether a node-postgres connection has the members {@link defineTextRowsQuery} uses. */
function speaksExtendedProtocol(connection: PgConnection): boolean {
  return (
    typeof connection.submittedNamedStatements === 'object' &&
    connection.submittedNamedStatements !== null &&
    typeof connection.parse === 'function' &&
    typeof connection.bind === 'function' &&
    typeof connection.execute === 'function' &&
    typeof connection.sync === 'function'
  );
}

/** A parameter as text, as node-postgres writes a string, number, boolean or bigint. */
function textParam(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

/** Whether every parameter is a value {@link textParam} writes as node-postgres would. */
function plainParams(params: readonly unknown[]): boolean {
  for (const p of params) {
    const t = typeof p;
    if (
      p !== null &&
      p !== undefined &&
      t !== 'string' &&
      t !== 'number' &&
      t !== 'boolean' &&
      t !== 'bigint'
    )
      return false;
  }
  return true;
}

/**
 * `client` is a pool (which checks out a connection per statement and sets the callback of the
 * query it runs) or one held connection (whose `query` of a Query object returns no promise).
 */
function wrap(client: PgQueryable, state?: ConnectionState, Query?: PgQueryClass): Queryable {
  const TextRows = isPgQueryClass(Query) ? textRowsQuery(Query) : undefined;
  const textRows = (config: { text: string; name: string; values: unknown[]; rowMode: 'array' }) => {
    const submit = client.query as unknown as (q: PgQuery) => unknown;
    if (state === undefined) {
      return submit.call(client, new TextRows!(config)) as Promise<{
        rows: unknown[];
        rowCount: number | null;
      }>;
    }
    return new Promise<{ rows: unknown[]; rowCount: number | null }>((resolve, reject) => {
      submit.call(client, new TextRows!(config, undefined, (err, res) => (err ? reject(err) : resolve(res))));
    });
  };
  return {
    ...(state === undefined ? {} : { copyBinary: binaryCopy(client, state) }),
    async query<R>(
      sql: string,
      params: readonly unknown[] = [],
      options: QueryOptions = {},
    ): Promise<QueryResult<R>> {
      if (options.rowMode === 'text' && options.name !== undefined && TextRows && plainParams(params)) {
        const result = await textRows({
          text: sql,
          name: options.name,
          values: [...params],
          rowMode: 'array',
        });
        return { rows: result.rows as R[], rowCount: result.rowCount ?? result.rows.length };
      }
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
      if (options.rowMode !== undefined) config.rowMode = 'array';
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
    async copy(select: string, onChunk: (chunk: Uint8Array) => void): Promise<void> {
      const { to } = await import('pg-copy-streams');
      const stream = (client as unknown as { query(q: unknown): Readable }).query(
        to(`COPY (${select}) TO STDOUT (FORMAT binary)`),
      );
      let finished = false;
      try {
        for await (const chunk of stream) onChunk(chunk as Uint8Array);
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
  const Query = (pool as unknown as PoolInternals).Client?.Query as PgQueryClass | undefined;
  const base = wrap(pool as unknown as PgQueryable, undefined, Query);
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
        const result = await fn(wrap(client as unknown as PgQueryable, state, Query));
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
  Client: (new (config: unknown) => import('pg').Client) & { Query?: unknown };
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
