import { serialize } from 'pg-protocol';
import type { QueryResult } from './types.js';

/**
 * What the prepared path needs of a PGlite instance beyond its documented `query`: the wire
 * protocol entry point, the two locks its own `query` takes, and the type (de)serialisers it
 * uses. All are on PGlite 0.2 and later; {@link preparedStatements} returns null if one is missing,
 * and the driver then uses `query` for everything.
 */
interface PGliteWire {
  execProtocol(
    message: Uint8Array,
    options?: { syncToFs?: boolean },
  ): Promise<{ messages: readonly WireMessage[] }>;
  _runExclusiveQuery<T>(fn: () => Promise<T>): Promise<T>;
  _runExclusiveTransaction<T>(fn: () => Promise<T>): Promise<T>;
  serializers: Record<number, ((value: unknown) => string) | undefined>;
  parsers: Record<number, ((text: string, typeId: number) => unknown) | undefined>;
}

interface WireMessage {
  name: string;
  dataTypeIDs?: number[];
  fields?: (string | null)[] | { name: string; dataTypeID: number }[];
  text?: string;
}

interface Prepared {
  paramTypes: readonly number[];
  columns: readonly { name: string; dataTypeID: number }[];
}

/** Runs statements prepared once by name; see {@link preparedStatements}. */
export interface PreparedStatements {
  /**
   * Runs `sql` as the statement `name`, preparing it on first use. `inTransaction`: the caller
   * holds PGlite's transaction (its lock is taken, and the file system is synced at its end).
   * `rowMode` as in `QueryOptions`.
   */
  run<R>(
    name: string,
    sql: string,
    params: readonly unknown[],
    inTransaction: boolean,
    rowMode?: 'array' | 'text',
  ): Promise<QueryResult<R>>;
}

const AFFECTS_ROWS = /^(?:INSERT \d+|UPDATE|DELETE|MERGE|COPY) (\d+)$/;

/**
 * Named prepared statements on PGlite's single connection. PGlite's `query` sends every statement
 * as Parse, Describe, Bind, Describe, Execute and Sync, each a call into WebAssembly, and parses and
 * plans it anew every time: for the library's short, frequent statements that was most of their
 * time (a `get` took 210–350 µs through `query`, 40–60 µs as one Bind, Execute and Sync of a
 * statement prepared before). Parameters are serialised and results parsed with PGlite's own type
 * handlers, as `query` does, so rows come back the same. The statements live as long as the
 * PGlite instance; the library prepares only a bounded set of them (see `PREPARED_LIMITS`).
 */
export function preparedStatements(db: object): PreparedStatements | null {
  // One set per PGlite instance, however many Database objects share it: a name is prepared once.
  if (!byInstance.has(db)) byInstance.set(db, forInstance(db));
  return byInstance.get(db) ?? null;
}

const byInstance = new WeakMap<object, PreparedStatements | null>();

/** SQLSTATE invalid_sql_statement_name: the statement is gone (someone ran DEALLOCATE or DISCARD). */
const NO_SUCH_STATEMENT = '26000';

function forInstance(db: object): PreparedStatements | null {
  const wire = db as Partial<PGliteWire>;
  if (
    typeof wire.execProtocol !== 'function' ||
    typeof wire._runExclusiveQuery !== 'function' ||
    typeof wire._runExclusiveTransaction !== 'function' ||
    typeof wire.serializers !== 'object' ||
    typeof wire.parsers !== 'object'
  ) {
    return null;
  }
  const pg = wire as PGliteWire;
  const prepared = new Map<string, Prepared>();

  async function prepare(name: string, sql: string, sync: boolean): Promise<Prepared> {
    const { messages } = await pg.execProtocol(
      concat([
        serialize.parse({ name, text: sql }),
        serialize.describe({ type: 'S', name }),
        serialize.sync(),
      ]),
      { syncToFs: sync },
    );
    const params = messages.find((m) => m.name === 'parameterDescription');
    const rows = messages.find((m) => m.name === 'rowDescription');
    const statement: Prepared = {
      paramTypes: params?.dataTypeIDs ?? [],
      columns: (rows?.fields as Prepared['columns'] | undefined) ?? [],
    };
    prepared.set(name, statement);
    return statement;
  }

  async function execute<R>(
    name: string,
    sql: string,
    params: readonly unknown[],
    sync: boolean,
    rowMode: 'array' | 'text' | undefined,
  ) {
    const statement = prepared.get(name) ?? (await prepare(name, sql, sync));
    const values = params.map((value, i) => {
      if (value === null || value === undefined) return null;
      const serializer = pg.serializers[statement.paramTypes[i] ?? 0];
      return serializer ? serializer(value) : String(value);
    });
    const { messages } = await pg.execProtocol(
      concat([serialize.bind({ statement: name, values }), serialize.execute({}), serialize.sync()]),
      { syncToFs: sync },
    );
    const rows: R[] = [];
    let rowCount: number | undefined;
    for (const m of messages) {
      if (m.name === 'dataRow') {
        const fields = m.fields as (string | null)[];
        if (rowMode === 'text') rows.push(fields as R);
        else
          rows.push(
            (rowMode === 'array' ? parseValues : parseRow)(statement.columns, fields, pg.parsers) as R,
          );
      } else if (m.name === 'commandComplete') {
        const affected = AFFECTS_ROWS.exec(m.text ?? '');
        if (affected) rowCount = Number(affected[1]);
      }
    }
    return { rows, rowCount: rowCount ?? rows.length };
  }

  /**
   * Runs the statement. One dropped behind our back (`DEALLOCATE`) is forgotten, so its next use
   * prepares it again; outside a transaction, where the failed Bind lost nothing, that is at once.
   * It takes the same locks as PGlite's own query: inside a transaction the transaction's holder
   * already has the first; outside, waiting for it keeps this statement out of someone else's
   * transaction.
   */
  function run<R>(
    name: string,
    sql: string,
    params: readonly unknown[],
    inTransaction: boolean,
    rowMode?: 'array' | 'text',
  ): Promise<QueryResult<R>> {
    const once = async () => {
      try {
        return await execute<R>(name, sql, params, !inTransaction, rowMode);
      } catch (err) {
        const dropped = (err as { code?: unknown }).code === NO_SUCH_STATEMENT && prepared.delete(name);
        if (!dropped || inTransaction) throw err;
        return execute<R>(name, sql, params, true, rowMode);
      }
    };
    if (inTransaction) return pg._runExclusiveQuery(once);
    return pg._runExclusiveTransaction(() => pg._runExclusiveQuery(once));
  }

  return { run };
}

/** A row's values in column order, each parsed by PGlite's parser for its type. */
function parseValues(
  columns: readonly { name: string; dataTypeID: number }[],
  fields: readonly (string | null)[],
  parsers: PGliteWire['parsers'],
): unknown[] {
  const values = new Array<unknown>(columns.length);
  for (let i = 0; i < columns.length; i++) {
    const { dataTypeID } = columns[i]!;
    const text = fields[i] ?? null;
    const parser = parsers[dataTypeID];
    values[i] = text === null ? null : parser ? parser(text, dataTypeID) : text;
  }
  return values;
}

/** A row as an object keyed by column name, each value parsed as in {@link parseValues}. */
function parseRow(
  columns: readonly { name: string; dataTypeID: number }[],
  fields: readonly (string | null)[],
  parsers: PGliteWire['parsers'],
): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (let i = 0; i < columns.length; i++) {
    const { name, dataTypeID } = columns[i]!;
    const text = fields[i] ?? null;
    const parser = parsers[dataTypeID];
    row[name] = text === null ? null : parser ? parser(text, dataTypeID) : text;
  }
  return row;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}
