/** The rows a statement returned. */
export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

export interface QueryOptions {
  /** Prepare once per connection under this name (node-postgres); ignored where not supported. */
  name?: string;
  /**
   * `array`: each row as the array of its values in select-list order, not an object keyed by
   * column name (the driver then builds no object per row: a library read decodes by position).
   * `text`: the same, where the driver can, with each value the server's text (null for NULL),
   * unparsed: node-postgres runs a named statement so without describing its result each time.
   * Elsewhere (PGlite, an unnamed statement) `text` reads as `array`: a reader of `text` rows
   * takes both forms.
   */
  rowMode?: 'array' | 'text';
}

/** One connection's worth of SQL: what a transaction callback gets. */
export interface Queryable {
  /** One statement with `$1…` parameters. */
  query<R = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ): Promise<QueryResult<R>>;
  /** A script of several statements, no parameters (DDL). */
  exec(sql: string): Promise<void>;
  /**
   * The rows of `select` in PostgreSQL's binary COPY format, handed to a callback as byte chunks
   * (any split). Only on a connection held for a transaction. `streams` says whether the chunks
   * arrive while the server still produces them (node-postgres, and PGlite where it has
   * `execProtocolRawStream`) or all at once when it has finished (older PGlite): callers that must
   * keep memory flat page through a large result when it does not stream.
   */
  copyBinary?: BinaryCopy;
}

/** See {@link Queryable.copyBinary}. */
export interface BinaryCopy {
  readonly streams: boolean;
  /**
   * Runs the COPY, calling `onChunk` with each chunk as it comes; resolves when the COPY is done.
   * A chunk may live in memory the driver reuses once `onChunk` returns: copy what you keep. If
   * `onChunk` throws, the COPY stops (or its rest is skipped) and `copy` rejects with that error.
   */
  copy(select: string, onChunk: (chunk: Uint8Array) => void): Promise<void>;
}

/**
 * The narrow interface appendlog needs from a database client. One adapter per client
 * library lives beside this file.
 */
export interface Driver extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /**
   * LISTENs on `channel` until the listener is closed: on a connection of its own (node-postgres;
   * a pooled one would go back to the pool still listening), or on the instance (PGlite).
   * `onLost` is called once if that connection fails; no notification arrives after it.
   */
  listen(
    channel: string,
    onNotify: (payload: string) => void,
    onLost: (err: Error) => void,
  ): Promise<Listener>;
  /** Runs `fn` on one connection inside BEGIN … COMMIT, rolling back if it throws. */
  transaction<T>(fn: (conn: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** A LISTEN in force; `close` ends it (and its connection, where it has one). */
export interface Listener {
  close(): Promise<void>;
}
