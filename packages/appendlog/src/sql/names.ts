import { quoteIdent } from '../schema/names.js';

/** The qualified, quoted names of every object appendlog creates for one table. */
export interface TableObjects {
  schema: string;
  table: string;
  log: string;
  head: string;
  view: string;
  asOf: string;
  append: string;
  insertMany: string;
  upsert: string;
  restore: string;
  chainFn: string;
  viewWriteFn: string;
  /** Unqualified names, for catalog lookups. */
  raw: { log: string; head: string; view: string; asOf: string; append: string };
}

/**
 * The qualified, quoted names of the objects appendlog keeps for `table` in `schema`, for SQL
 * written by hand beside the library: the log, the head, the view, the as-of, upsert and restore
 * functions. Never quote these names yourself.
 *
 * @example
 * const { log } = tableObjects(db.schema, 'addresses');
 * await db.query(`SELECT count(*) FROM ${log} WHERE actor = $1`, [actor]);
 */
export function tableObjects(schema: string, table: string): TableObjects {
  const q = (name: string) => `${quoteIdent(schema)}.${quoteIdent(name)}`;
  return {
    schema,
    table,
    log: q(`${table}_log`),
    head: q(`${table}_head`),
    view: q(table),
    asOf: q(`${table}_as_of`),
    append: q(`${table}_append`),
    insertMany: q(`${table}_insert_many`),
    upsert: q(`${table}_upsert`),
    restore: q(`${table}_restore`),
    chainFn: q(`${table}_log_chain`),
    viewWriteFn: q(`${table}_view_write`),
    raw: {
      log: `${table}_log`,
      head: `${table}_head`,
      view: table,
      asOf: `${table}_as_of`,
      append: `${table}_append`,
    },
  };
}

/** A catalog object of the schema: `"public".appendlog_schema_history`. */
export function catalogName(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}
