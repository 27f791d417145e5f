import type { Database } from '../db.js';
import { InvalidInputError, NotFoundError, ReasonRequiredError } from '../errors.js';
import { quoteIdent } from '../schema/names.js';
import type { ColumnMap, InsertData, PatchData, RowData, TableDef } from '../schema/table.js';
import { tableObjects } from '../sql/names.js';
import {
  checkEntryId,
  checkVersionNumber,
  decodeVersion,
  encodeData,
  encodeValue,
  versionProjection,
} from './codec.js';
import { resolveContext, type WriteContext } from './context.js';
import type { Op, Version } from './version.js';

/** Who, why and what else, for one write. */
export type WriteOptions = WriteContext;

/** Options of `update`: `expectedVersion` turns a stale write into a `version_conflict`. */
export interface UpdateOptions extends WriteOptions {
  expectedVersion?: number;
}

export interface InsertOptions extends WriteOptions {
  /** Choose the entry's id (a UUID) instead of letting the database draw one. */
  entryId?: string;
}

export interface DeleteOptions extends UpdateOptions {
  reason: string;
}

type OrderField<C extends ColumnMap> = Extract<keyof C, string> | 'createdAt' | 'updatedAt';
/** A field to sort by, ascending unless said otherwise. */
export type OrderBy<C extends ColumnMap> =
  | OrderField<C>
  | { field: OrderField<C>; direction?: 'asc' | 'desc' }
  | Array<OrderField<C> | { field: OrderField<C>; direction?: 'asc' | 'desc' }>;

export interface ListOptions<C extends ColumnMap> {
  /** Equality filters; `null` matches nulls. */
  where?: Partial<RowData<C>>;
  /** Default: creation order. */
  orderBy?: OrderBy<C>;
  limit?: number;
  offset?: number;
}

interface Statements {
  append: string;
  get: string;
  history: string;
  listBase: string;
}

const statementCache = new WeakMap<TableDef, Map<string, Statements>>();

function statementsFor(def: TableDef, schema: string): Statements {
  let bySchema = statementCache.get(def);
  if (!bySchema) {
    bySchema = new Map();
    statementCache.set(def, bySchema);
  }
  let st = bySchema.get(schema);
  if (!st) {
    const o = tableObjects(schema, def.name);
    const proj = versionProjection(def);
    st = {
      append: `SELECT ${proj} FROM ${o.append}($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb) l`,
      get: `SELECT ${proj} FROM ${o.head} h JOIN ${o.log} l ON l.seq = h.seq WHERE h.entry_id = $1 AND NOT h.deleted`,
      history: `SELECT ${proj} FROM ${o.log} l WHERE l.entry_id = $1 ORDER BY l.version`,
      listBase: `SELECT ${proj} FROM ${o.head} h JOIN ${o.log} l ON l.seq = h.seq WHERE NOT h.deleted`,
    };
    bySchema.set(schema, st);
  }
  return st;
}

/**
 * The API of one content type. Every write appends a version; every read returns versions.
 * Get one from `db.table(definition)`.
 *
 * @example
 * const book = db.table(addresses);
 * const v1 = await book.insert({ name: 'Thor', city: 'Asgard' }, { actor: 'alice' });
 * const v2 = await book.update(v1.entryId, { city: 'Oslo' }, { expectedVersion: 1, reason: 'moved' });
 * await book.delete(v1.entryId, { reason: 'duplicate' });
 * await book.restore(v1.entryId);
 */
export class Table<C extends ColumnMap> {
  readonly definition: TableDef<C>;
  readonly #db: Database;
  readonly #st: Statements;

  constructor(db: Database, def: TableDef<C>) {
    this.#db = db;
    this.definition = def;
    this.#st = statementsFor(def, db.schema);
  }

  /** Starts a new entry at version 1. */
  async insert(data: InsertData<C>, options?: InsertOptions): Promise<Version<RowData<C>>> {
    const patch = encodeData(this.definition, data, 'insert');
    const entryId = options?.entryId === undefined ? null : checkEntryId(options.entryId);
    return this.#append('insert', entryId, null, options, patch);
  }

  /**
   * Appends a version with `patch` applied to the latest one; columns not in the patch carry
   * forward. With `expectedVersion`, a concurrent change first is a `version_conflict`.
   */
  async update(entryId: string, patch: PatchData<C>, options?: UpdateOptions): Promise<Version<RowData<C>>> {
    const id = checkEntryId(entryId);
    const encoded = encodeData(this.definition, patch, 'patch');
    return this.#append('update', id, expectedOf(options), options, encoded);
  }

  /** Soft-deletes: appends a tombstone carrying the data; the entry goes to the recycle bin. */
  async delete(entryId: string, options: DeleteOptions): Promise<Version<RowData<C>>> {
    const id = checkEntryId(entryId);
    const ctx = resolveContext(this.#db.context, options);
    if (ctx.reason === null || ctx.reason.trim() === '') {
      throw new ReasonRequiredError(
        `deleting a ${this.definition.name} entry needs a reason: delete(id, { reason })`,
      );
    }
    return this.#append('delete', id, expectedOf(options), options, null);
  }

  /** Brings a deleted entry back as a new version with the data it had. */
  async restore(entryId: string, options?: UpdateOptions): Promise<Version<RowData<C>>> {
    const id = checkEntryId(entryId);
    return this.#append('restore', id, expectedOf(options), options, null);
  }

  /** The latest version of a live entry, or null when it does not exist or is deleted. */
  async get(entryId: string): Promise<Version<RowData<C>> | null> {
    const id = checkEntryId(entryId);
    const rows = await this.#db.run(this.#st.get, [id], true);
    return rows[0] ? decodeVersion(this.definition, rows[0]) : null;
  }

  /** The live entries, latest versions, filtered by equality and sorted. */
  async list(options: ListOptions<C> = {}): Promise<Version<RowData<C>>[]> {
    const { sql, params } = this.#listQuery(options);
    const rows = await this.#db.run(sql, params, true);
    return rows.map((r) => decodeVersion(this.definition, r));
  }

  /** Every version of an entry, oldest first (deleted entries included). */
  async history(entryId: string): Promise<Version<RowData<C>>[]> {
    const id = checkEntryId(entryId);
    const rows = await this.#db.run(this.#st.history, [id], true);
    if (rows.length === 0) throw new NotFoundError(`${this.definition.name} entry ${id} does not exist`);
    return rows.map((r) => decodeVersion(this.definition, r));
  }

  async #append(
    op: Op,
    entryId: string | null,
    expected: number | null,
    options: WriteContext | undefined,
    patch: string | null,
  ): Promise<Version<RowData<C>>> {
    const ctx = resolveContext(this.#db.context, options);
    const rows = await this.#db.run(
      this.#st.append,
      [op, entryId, expected, ctx.actor, ctx.reason, ctx.meta, patch],
      true,
    );
    return decodeVersion(this.definition, rows[0]!);
  }

  #listQuery(options: ListOptions<C>): { sql: string; params: unknown[] } {
    if (typeof options !== 'object' || options === null)
      throw new InvalidInputError('list options must be an object', 'options');
    const def = this.definition;
    const params: unknown[] = [];
    const clauses: string[] = [];
    const byKey = new Map(def.columns.map((c) => [c.key, c]));
    for (const [key, value] of Object.entries(options.where ?? {})) {
      const col = byKey.get(key);
      if (!col) throw new InvalidInputError(`${def.name} has no column "${key}" to filter on`, key);
      if (value === undefined) continue;
      const ref = `l.${quoteIdent(col.sqlName)}`;
      if (value === null) {
        clauses.push(`${ref} IS NULL`);
        continue;
      }
      const encoded = encodeValue({ ...col, notNull: false }, value);
      params.push(col.type === 'jsonb' ? JSON.stringify(encoded) : String(encoded));
      clauses.push(`${ref} = $${params.length}::${col.type}`);
    }
    const order: string[] = [];
    const raw =
      options.orderBy === undefined
        ? []
        : Array.isArray(options.orderBy)
          ? options.orderBy
          : [options.orderBy];
    for (const item of raw) {
      const { field, direction } = typeof item === 'string' ? { field: item, direction: 'asc' } : item;
      if (direction !== undefined && direction !== 'asc' && direction !== 'desc') {
        throw new InvalidInputError(`orderBy direction must be 'asc' or 'desc'`, 'orderBy');
      }
      const dir = direction === 'desc' ? 'DESC' : 'ASC';
      if (field === 'createdAt') order.push(`h.created_at ${dir}`);
      else if (field === 'updatedAt') order.push(`h.updated_at ${dir}`);
      else {
        const col = byKey.get(field as string);
        if (!col)
          throw new InvalidInputError(`${def.name} has no column "${String(field)}" to order by`, 'orderBy');
        order.push(`l.${quoteIdent(col.sqlName)} ${dir}`);
      }
    }
    order.push('h.created_at', 'h.entry_id');
    let sql = `${this.#st.listBase}${clauses.map((c) => ` AND ${c}`).join('')} ORDER BY ${order.join(', ')}`;
    if (options.limit !== undefined) {
      if (!Number.isInteger(options.limit) || options.limit < 0)
        throw new InvalidInputError('limit must be a non-negative integer', 'limit');
      params.push(options.limit);
      sql += ` LIMIT $${params.length}`;
    }
    if (options.offset !== undefined) {
      if (!Number.isInteger(options.offset) || options.offset < 0)
        throw new InvalidInputError('offset must be a non-negative integer', 'offset');
      params.push(options.offset);
      sql += ` OFFSET $${params.length}`;
    }
    return { sql, params };
  }
}

function expectedOf(options: UpdateOptions | undefined): number | null {
  if (options?.expectedVersion === undefined) return null;
  return checkVersionNumber(options.expectedVersion, 'expectedVersion');
}
