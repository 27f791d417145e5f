import type { Listener } from './driver/types.js';
import type { WriteContext } from './model/context.js';

/**
 * What every feature needs of a database handle, and nothing more: statements, scripts, binary
 * COPY, transactions and snapshots, the schema and the write context in force. `Database`
 * implements it; the features (`api/`, `erasure/`, `integrity/`, `export/`, `migrate/`) take a
 * `Session`, never the `Database` class, so the facade can build them without them importing it
 * back (docs/architecture.md, "Layers").
 */
export interface Session {
  /** The schema the tables and the catalog live in. */
  readonly schema: string;
  readonly kind: 'pglite' | 'postgres';
  /** Whether the server runs Citus, which refuses some statements plain PostgreSQL takes. */
  readonly citus: boolean;
  /** The write context in force (actor, reason, meta). */
  readonly context: WriteContext;
  /** One statement, prepared by name on PostgreSQL when `prepare`, errors mapped to typed errors. */
  run<R = Record<string, unknown>>(sql: string, params?: readonly unknown[], prepare?: boolean): Promise<R[]>;
  /**
   * {@link run}, each row the array of its values in select-list order: no object per row is
   * built, for reads that decode by position (a version: `decodeVersionValues` in api/codec.ts).
   * A value is the server's text where the driver can give it so (a prepared statement), else
   * parsed as by {@link run}: readers take both.
   */
  runValues(sql: string, params?: readonly unknown[], prepare?: boolean): Promise<unknown[][]>;
  /** A multi-statement script (DDL). */
  exec(sql: string): Promise<void>;
  /**
   * The rows of `select` in binary COPY format, on this transaction's connection, handed to
   * `onChunk` as they come (a chunk may be reused once `onChunk` returns: copy what you keep).
   */
  copyBinary(select: string, onChunk: (chunk: Uint8Array) => void): Promise<void>;
  /** Whether {@link copyBinary} streams (else it hands the whole result over at the end). */
  readonly copyStreams: boolean;
  /** `fn` in one transaction (a savepoint inside one). */
  transaction<T>(fn: (tx: Session) => Promise<T>): Promise<T>;
  /** `fn` in one REPEATABLE READ, read-only snapshot, its search_path pinned. */
  snapshot<T>(fn: (tx: Session) => Promise<T>): Promise<T>;
  /**
   * LISTENs on `channel` (outside any transaction: a connection of its own on PostgreSQL);
   * `onLost` is called once if that connection fails.
   */
  listen(
    channel: string,
    onNotify: (payload: string) => void,
    onLost: (err: Error) => void,
  ): Promise<Listener>;
  /** `fn` in a transaction whose search_path is `pg_catalog, pg_temp`. */
  pinnedTransaction<T>(fn: (tx: Session) => Promise<T>): Promise<T>;
}
