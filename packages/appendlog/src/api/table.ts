import type { CancelForgetOptions, ForgetOptions } from '../erasure/options.js';
import {
  cancelForgetLookupSql,
  decodeErasureStatus,
  type ErasureStatus,
  type ErasureStatusRow,
  erasureStatusSql,
} from '../erasure/status.js';
import { InvalidInputError, InvalidStateError, NotFoundError, ReasonRequiredError } from '../errors.js';
import type { VerifyResult } from '../integrity/report.js';
import { verifyOneTable } from '../integrity/verify.js';
import { resolveContext, type WriteContext } from '../model/context.js';
import { forgetRequest } from '../model/duration.js';
import { uuidv7 } from '../model/uuid.js';
import { checkEntryId, checkVersionNumber } from '../model/values.js';
import type { Op, Version } from '../model/version.js';
import { quoteIdent } from '../schema/names.js';
import type { ColumnMap, InsertData, PatchData, ResolvedColumn, RowData, TableDef } from '../schema/table.js';
import type { Session } from '../session.js';
import { tableObjects } from '../sql/names.js';
import { appendSql } from './append-sql.js';
import {
  decodeLoaded,
  decodeLoadShared,
  decodeVersion,
  decodeVersionValues,
  decodeWritten,
  encodeFields,
  fieldParam,
  loadedProjection,
  loadReadBack,
  packedProjection,
  patchJson,
  versionProjection,
  writtenProjection,
  writtenReadBack,
} from './codec.js';
import type { Page } from './cursor.js';
import { diff, type FieldChange } from './diff.js';
import type { AsOf, Instant } from './instant.js';
import { buildListQuery, type ListOptions, preparedLimit, toPage } from './list-query.js';
import { type RevertOptions, revert } from './revert.js';
import { perTable } from './statement-cache.js';
import { at, deleted, type HistoryOptions, historyPage, listAt, type PageOptions } from './time-travel.js';

/** Who, why and what else, for one write. */
export type WriteOptions = WriteContext;

/** Options of `update`: `expectedVersion` turns a stale write into a `version_conflict`. */
export interface UpdateOptions extends WriteOptions {
  expectedVersion?: number;
}

export interface InsertOptions extends WriteOptions {
  /**
   * Choose the entry's id (a UUID). Without it the library draws a time-ordered one, a UUIDv7,
   * whose keys land at the end of the tables' indexes (raw SQL inserts that name no id get the
   * head's default, a random `gen_random_uuid()`).
   */
  entryId?: string;
}

export interface DeleteOptions extends UpdateOptions {
  reason: string;
}

export type { ListOptions, OrderBy } from './list-query.js';

interface Statements {
  append: string;
  get: string;
  history: string;
  listBase: string;
  /** The one-statement insert of {@link insertSql} for this set of given columns, or null past the limit. */
  insert: (given: readonly ResolvedColumn[]) => Written | null;
  /** The one-statement update of {@link updateSql} for this set of patched columns, or null past the limit. */
  update: (patched: readonly ResolvedColumn[]) => Written | null;
  /** A delete, restore or forget: {@link updateSql} with the op as parameter and no columns. */
  setOp: string;
  /** A call of the table's set-based load, `<t>_insert_many`, reading back {@link loadedProjection}. */
  loadSql: (readBack: readonly ResolvedColumn[]) => string;
  /** The list statements of {@link MAX_CACHED_LISTS} common calls, by {@link listKey}. */
  lists: Map<string, ReturnType<typeof buildListQuery>>;
}

/**
 * How many sets of columns get a one-statement insert, and how many a one-statement update, of
 * their own, per table. Each is a prepared statement on every connection that runs it, so code
 * that writes ever-new combinations of columns must not grow them without bound; past the limit,
 * writes take the append function.
 */
export const MAX_UPDATE_SHAPES = 32;

/**
 * How many list statements a table keeps built, each for one order and page size of a call with
 * no filter, cursor or offset (a first page, the common call): building one anew took about 4 µs,
 * and a statement text built anew is hashed and compared again by the statement cache and by
 * node-postgres on every call.
 */
const MAX_CACHED_LISTS = 64;

/**
 * The key of a list call whose statement is kept ({@link MAX_CACHED_LISTS}), or null for one that
 * is built every time: with a filter, a cursor or an offset, or a page size not kept prepared.
 */
function listKey(options: ListOptions<ColumnMap>): string | null {
  if (typeof options !== 'object' || options === null) return null;
  if (options.where !== undefined || options.after !== undefined || options.offset !== undefined) return null;
  if (!preparedLimit(options.limit)) return null;
  return `${options.limit}:${JSON.stringify(options.orderBy ?? null)}`;
}

/** An `insert` or `update` statement, and the columns it reads back ({@link writtenProjection}). */
interface Written {
  sql: string;
  readBack: readonly ResolvedColumn[];
}

/** Statements by set of columns, at most {@link MAX_UPDATE_SHAPES} of them. */
function shapes<T>(
  build: (cols: readonly ResolvedColumn[]) => T,
): (cols: readonly ResolvedColumn[]) => T | null {
  const built = new Map<string, T>();
  return (cols) => {
    const key = cols.map((c) => c.sqlName).join(',');
    let statement = built.get(key);
    if (statement === undefined) {
      if (built.size >= MAX_UPDATE_SHAPES) return null;
      statement = build(cols);
      built.set(key, statement);
    }
    return statement;
  };
}

/** The statements of a table on PostgreSQL and PGlite, and on Citus ({@link returning}). */
const statementsFor = perTable((def, schema) => buildStatements(def, schema, false));
const citusStatementsFor = perTable((def, schema) => buildStatements(def, schema, true));

function buildStatements(def: TableDef, schema: string, citus: boolean): Statements {
  const o = tableObjects(schema, def.name);
  const proj = versionProjection(def);
  const ret = (write: string) => returning(write, proj, citus);
  // A write whose input the library holds reads back only what it did not send.
  const written = (write: string, sent: readonly ResolvedColumn[]): Written => {
    const readBack = writtenReadBack(def, sent);
    return { sql: returning(write, writtenProjection(readBack), citus), readBack };
  };
  return {
    append: appendSql(def, schema),
    // The head holds every live entry's latest version whole: one primary-key lookup.
    get: `SELECT ${packedProjection(def)} FROM ${o.head} l WHERE l.entry_id = $1 AND NOT l.deleted`,
    history: `SELECT ${versionProjection(def, 'l', o.log)} FROM ${o.log} l WHERE l.entry_id = $1 ORDER BY l.version`,
    listBase: `SELECT ${proj} FROM ${o.head} l WHERE NOT l.deleted`,
    insert: shapes((given) => written(insertSql(def, schema, given), given)),
    update: shapes((patched) => written(updateSql(def, schema, patched, "'update'"), patched)),
    setOp: ret(updateSql(def, schema, [], '$6')),
    loadSql: (readBack) =>
      `SELECT ${loadedProjection(readBack)} FROM ${o.insertMany}($1::jsonb, $2::text, $3::text, $4::jsonb) WITH ORDINALITY AS l`,
    lists: new Map(),
  };
}

/** Rows per statement of `insertMany`. */
const INSERT_MANY_BATCH = 5000;

/** Parameters per statement of `insertMany` on Citus (PostgreSQL takes at most 65,535). */
const MULTI_ROW_PARAMS = 30_000;

/**
 * One multi-row INSERT of the head ({@link insertSql} for many rows) from `encoded[from]` on,
 * with as many rows as fit {@link MULTI_ROW_PARAMS}; a column a row leaves out gets its DEFAULT.
 * Parameters: actor, reason, meta, then per row its entry id and given values.
 */
function multiRowInsert(
  def: TableDef,
  schema: string,
  encoded: readonly { fields: ReadonlyMap<ResolvedColumn, unknown> }[],
  ids: readonly string[],
  from: number,
  ctx: { actor: string | null; reason: string | null; meta: string | null },
): { sql: string; params: unknown[]; next: number } {
  const params: unknown[] = [ctx.actor, ctx.reason, ctx.meta];
  const used = new Set<ResolvedColumn>();
  const values: string[] = [];
  let i = from;
  for (; i < encoded.length && params.length < MULTI_ROW_PARAMS; i++) {
    for (const c of encoded[i]!.fields.keys()) used.add(c);
  }
  const cols = def.columns.filter((c) => used.has(c));
  for (let r = from; r < i; r++) {
    const fields = encoded[r]!.fields;
    params.push(ids[r]);
    const cells = [`$${params.length}::uuid`, '$1', '$2', '$3::jsonb'];
    for (const c of cols) {
      if (!fields.has(c)) {
        cells.push('DEFAULT');
        continue;
      }
      params.push(fieldParam(c, fields.get(c)));
      cells.push(`$${params.length}::${c.type}`);
    }
    values.push(`(${cells.join(', ')})`);
  }
  const o = tableObjects(schema, def.name);
  const write = `INSERT INTO ${o.head} AS l (entry_id, actor, reason, meta${cols
    .map((c) => `, ${quoteIdent(c.sqlName)}`)
    .join('')})
VALUES ${values.join(',\n       ')}`;
  return { sql: returning(write, versionProjection(def), true), params, next: i };
}

/**
 * A new entry as one statement: an INSERT of the head, which its chain trigger turns into version
 * 1. Columns the statement does not name get the head's defaults (also those a newer deployment
 * added). Parameters: entry id (the caller's, or one the library drew), actor, reason, meta, then one
 * per given column.
 */
function insertSql(def: TableDef, schema: string, given: readonly ResolvedColumn[]): string {
  const o = tableObjects(schema, def.name);
  return `INSERT INTO ${o.head} AS l (entry_id, actor, reason, meta${given
    .map((c) => `, ${quoteIdent(c.sqlName)}`)
    .join('')})
VALUES ($1::uuid, $2, $3, $4::jsonb${given.map((c, i) => `, $${5 + i}::${c.type}`).join('')})`;
}

/**
 * The next version of an entry as one statement: an UPDATE of its head row, which the chain
 * trigger turns into the version (checking it, hashing it, appending it to the log). The row lock
 * and the carry-forward of every column not set, also those this code does not know, come with
 * the UPDATE. `version` names the version written: the one after `$5` when the caller expects a
 * version (a concurrent change first is then a `version_conflict`), else the one after the latest.
 * `tx_id = NULL` declares the op, actor, reason and meta (see the chain trigger).
 * Parameters: entry id, actor, reason, meta, expected version, then the op (for `setOp`) or one
 * per patched column. No row: the entry does not exist.
 */
function updateSql(def: TableDef, schema: string, patched: readonly ResolvedColumn[], op: string): string {
  const o = tableObjects(schema, def.name);
  return `UPDATE ${o.head} AS l
   SET op = ${op}, version = coalesce($5::integer, l.version) + 1, tx_id = NULL,
       actor = $2, reason = $3, meta = $4::jsonb${patched
         .map((c, i) => `, ${quoteIdent(c.sqlName)} = $${6 + i}::${c.type}`)
         .join('')}
 WHERE l.entry_id = $1`;
}

/**
 * A write of the head (aliased `l`) that returns the version it wrote as `proj`. Citus refuses
 * functions that are not immutable in a RETURNING clause, and the projection formats times with
 * `to_char` (stable): there the write returns its row to a CTE and the projection is selected from
 * that. Elsewhere the write returns the projection itself, which costs the server less (an update
 * measured 121–133 µs against 138–141 µs through the CTE on PostgreSQL 15).
 */
function returning(write: string, proj: string, citus: boolean): string {
  return citus ? `WITH l AS (${write}\nRETURNING *)\nSELECT ${proj} FROM l` : `${write}\nRETURNING ${proj}`;
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
  readonly #db: Session;
  readonly #st: Statements;

  constructor(db: Session, def: TableDef<C>) {
    this.#db = db;
    this.definition = def;
    this.#st = (db.citus ? citusStatementsFor : statementsFor)(def, db.schema);
  }

  /** Starts a new entry at version 1. */
  async insert(data: InsertData<C>, options?: InsertOptions): Promise<Version<RowData<C>>> {
    const fields = encodeFields(this.definition, data, 'insert');
    const entryId = options?.entryId === undefined ? uuidv7() : checkEntryId(options.entryId);
    const given = this.definition.columns.filter((c) => fields.has(c));
    const st = this.#st.insert(given);
    if (st === null) return this.#append('insert', entryId, null, options, patchJson(fields));
    const ctx = resolveContext(this.#db.context, options);
    const rows = await this.#db.runValues(
      st.sql,
      [entryId, ctx.actor, ctx.reason, ctx.meta, ...given.map((c) => fieldParam(c, fields.get(c)))],
      true,
    );
    return decodeWritten(this.definition, 'insert', st.readBack, fields, rows[0]!);
  }

  /**
   * Starts many entries at once, set-based: one call of the table's `<t>_insert_many` per 5,000 rows,
   * in one transaction, each version hashed exactly as `insert` would hash it; all are written or none.
   * Returns the versions in the order of `rows`. `entryId` may be given per row.
   *
   * @example
   * const vs = await book.insertMany([{ name: 'Thor' }, { name: 'Loki', city: 'Asgard' }], { actor: 'import' });
   */
  async insertMany(
    rows: readonly (InsertData<C> & { entryId?: string })[],
    options?: WriteOptions,
  ): Promise<Version<RowData<C>>[]> {
    if (!Array.isArray(rows)) throw new InvalidInputError('insertMany takes an array of rows', 'rows');
    const ctx = resolveContext(this.#db.context, options);
    // Validate everything before anything is written.
    const encoded = rows.map((input, index) => {
      const { entryId, ...data } = (input ?? {}) as Record<string, unknown>;
      return {
        entryId: entryId === undefined ? null : checkEntryId(entryId, `rows[${index}].entryId`),
        fields: encodeFields(this.definition, data, 'insert'),
      };
    });
    if (this.#db.citus) return this.#insertEach(encoded, ctx);
    const out: Version<RowData<C>>[] = [];
    // One batch is on the server while the next is serialised and the previous decoded here:
    // the client's work on a load is about as long as the server's, and each runs on its own core.
    const prepare = (from: number) => {
      const slice = encoded.slice(from, from + INSERT_MANY_BATCH);
      const ids = slice.map(({ entryId }) => entryId ?? uuidv7());
      const batch = JSON.stringify(
        slice.map(({ fields }, r) => {
          const row: Record<string, unknown> = { entry_id: ids[r] };
          for (const [c, v] of fields) row[c.sqlName] = v;
          return row;
        }),
      );
      return { slice, ids, batch, readBack: loadReadBack(this.definition, slice) };
    };
    await this.#db.transaction(async (tx) => {
      // Only what the database decided comes back (see loadedProjection); one plan per call of
      // 5,000 rows is nothing, and the set of columns read back varies, so it is not prepared.
      const send = (b: ReturnType<typeof prepare>) =>
        tx.run<{ v: string; s: string | null }>(this.#st.loadSql(b.readBack), [
          b.batch,
          ctx.actor,
          ctx.reason,
          ctx.meta,
        ]);
      let current = encoded.length > 0 ? prepare(0) : null;
      let inflight = current === null ? null : send(current);
      for (let i = 0; current !== null && inflight !== null; i += INSERT_MANY_BATCH) {
        const next = i + INSERT_MANY_BATCH < encoded.length ? prepare(i + INSERT_MANY_BATCH) : null;
        const written = await inflight;
        // Queued behind this one on the same connection; a failure of it is awaited below.
        const following = next === null ? null : send(next);
        following?.catch(() => {});
        if (written.length !== current.slice.length) {
          throw new Error(
            `appendlog: insert_many wrote ${written.length} versions for ${current.slice.length} rows`,
          );
        }
        const shared = decodeLoadShared(written[0]?.s);
        const { slice, ids, readBack } = current;
        written.forEach((w, r) => {
          out.push(decodeLoaded(this.definition, readBack, ids[r]!, slice[r]!.fields, w.v, shared));
        });
        current = next;
        inflight = following;
      }
    });
    return out;
  }

  /**
   * `insertMany` on Citus, whose planner sends a set-based load's `INSERT … SELECT` through the
   * coordinator, where the log's guard cannot know it: multi-row INSERTs of the head instead, which
   * Citus routes row by row to the workers, each version chained there by the head's trigger.
   * Entry ids are drawn here (as everywhere in the library), and the versions, which come back in
   * no particular order from several workers, are returned in the order of `rows` by them.
   */
  async #insertEach(
    encoded: readonly { entryId: string | null; fields: ReadonlyMap<ResolvedColumn, unknown> }[],
    ctx: ReturnType<typeof resolveContext>,
  ): Promise<Version<RowData<C>>[]> {
    const ids = encoded.map((r) => r.entryId ?? uuidv7());
    const byId = new Map<string, Version<RowData<C>>>();
    await this.#db.transaction(async (tx) => {
      for (let i = 0; i < encoded.length; ) {
        const { sql, params, next } = multiRowInsert(this.definition, this.#db.schema, encoded, ids, i, ctx);
        for (const r of await tx.run(sql, params, false)) {
          const v = decodeVersion<RowData<C>>(this.definition, r);
          byId.set(v.entryId, v);
        }
        i = next;
      }
    });
    return ids.map((id) => byId.get(id)!);
  }

  /**
   * Appends a version with `patch` applied to the latest one; columns not in the patch carry
   * forward. With `expectedVersion`, a concurrent change first is a `version_conflict`.
   */
  async update(entryId: string, patch: PatchData<C>, options?: UpdateOptions): Promise<Version<RowData<C>>> {
    const id = checkEntryId(entryId);
    const fields = encodeFields(this.definition, patch, 'patch');
    const expected = expectedOf(options);
    // In definition order: a set of columns is one statement, whatever order the patch names them in.
    const patched = this.definition.columns.filter((c) => fields.has(c));
    const st = this.#st.update(patched);
    if (st === null) return this.#append('update', id, expected, options, patchJson(fields));
    return this.#write(
      st.sql,
      id,
      expected,
      options,
      patched.map((c) => fieldParam(c, fields.get(c))),
      (row) => decodeWritten(this.definition, 'update', st.readBack, fields, row),
    );
  }

  /** Soft-deletes: appends a tombstone carrying the data; the entry goes to the recycle bin. */
  async delete(entryId: string, options: DeleteOptions): Promise<Version<RowData<C>>> {
    const id = checkEntryId(entryId);
    const ctx = resolveContext(this.#db.context, options);
    if (ctx.reason === null || ctx.reason.trim() === '') {
      throw new ReasonRequiredError(
        `deleting an entry of ${this.definition.name} needs a reason: delete(id, { reason })`,
      );
    }
    return this.#write(this.#st.setOp, id, expectedOf(options), options, ['delete']);
  }

  /** Brings a deleted entry back as a new version with the data it had. */
  async restore(entryId: string, options?: UpdateOptions): Promise<Version<RowData<C>>> {
    const id = checkEntryId(entryId);
    return this.#write(this.#st.setOp, id, expectedOf(options), options, ['restore']);
  }

  /**
   * Forgets an entry (a right-to-erasure request): appends a `forget` version with a reason and
   * a due time, and the entry leaves every read at once (get, list, listAt, the recycle bin).
   * From the due time on, `db.purge()` erases the content of all its versions; until then
   * `cancelForget` takes the request back. Nothing else can write a forgotten entry.
   *
   * @example
   * await book.forget(id, { reason: 'GDPR request #12', after: '30 days' });
   */
  async forget(entryId: string, options: ForgetOptions): Promise<Version<RowData<C>>> {
    const id = checkEntryId(entryId);
    if (typeof options !== 'object' || options === null) {
      throw new ReasonRequiredError(
        `forgetting an entry of ${this.definition.name} needs a reason: forget(id, { reason })`,
      );
    }
    const call = { ...options, meta: { ...options.meta, erasure: forgetRequest(options.after) } };
    const ctx = resolveContext(this.#db.context, call);
    if (ctx.reason === null || ctx.reason.trim() === '') {
      throw new ReasonRequiredError(
        `forgetting an entry of ${this.definition.name} needs a reason: forget(id, { reason })`,
      );
    }
    return this.#write(this.#st.setOp, id, expectedOf(options), call, ['forget']);
  }

  /**
   * Takes back a `forget` before it is due: appends a version that puts the entry back where it
   * was (live, or in the recycle bin), with `meta.cancelForget = true`. After the due time it
   * fails with `invalid_state`.
   *
   * @example
   * await book.cancelForget(id, { reason: 'request withdrawn' });
   */
  async cancelForget(entryId: string, options: CancelForgetOptions): Promise<Version<RowData<C>>> {
    const id = checkEntryId(entryId);
    const ctx = resolveContext(this.#db.context, options);
    if (ctx.reason === null || ctx.reason.trim() === '') {
      throw new ReasonRequiredError(
        `cancelling the forget of an entry of ${this.definition.name} needs a reason: cancelForget(id, { reason })`,
      );
    }
    const [row] = await this.#db.run<{ version: number; op: string; prior_op: string | null }>(
      cancelForgetLookupSql(this.#db.schema, this.definition.name),
      [id],
    );
    if (!row) throw new NotFoundError(`${this.definition.name} entry ${id} does not exist`);
    if (row.op !== 'forget') {
      throw new InvalidStateError(
        `${this.definition.name} entry ${id} is not forgotten, so there is nothing to cancel`,
      );
    }
    const op = row.prior_op === 'delete' ? 'delete' : 'restore';
    const call = { ...options, meta: { ...options.meta, cancelForget: true } };
    return this.#write(this.#st.setOp, id, Number(row.version), call, [op]);
  }

  /**
   * The erasure status of an entry: null when it is not forgotten, otherwise when it was
   * forgotten, why, when it is due and, once purged, when it was erased.
   *
   * @example
   * const e = await book.erasure(id); // { state: 'erased', reason: 'GDPR request #12', erasedAt, … }
   */
  async erasure(entryId: string): Promise<ErasureStatus | null> {
    const id = checkEntryId(entryId);
    const [row] = await this.#db.run<ErasureStatusRow>(
      erasureStatusSql(this.#db.schema, this.definition.name),
      [id],
    );
    if (!row) throw new NotFoundError(`${this.definition.name} entry ${id} does not exist`);
    return row.op === 'forget' ? decodeErasureStatus(row) : null;
  }

  /** The latest version of a live entry, or null when it does not exist, is deleted or is forgotten. */
  async get(entryId: string): Promise<Version<RowData<C>> | null> {
    const id = checkEntryId(entryId);
    const [row] = await this.#db.runValues(this.#st.get, [id], true);
    return row ? decodeVersionValues(this.definition, row) : null;
  }

  /**
   * The live entries, latest versions, filtered by equality and sorted. With `limit`, one page:
   * `next` is the cursor to pass as `after` for the page after it (null on the last page).
   *
   * @example
   * let page = await book.list({ orderBy: 'name', limit: 50 });
   * while (page.next) page = await book.list({ orderBy: 'name', limit: 50, after: page.next });
   */
  async list(options: ListOptions<C> = {}): Promise<Page<Version<RowData<C>>>> {
    const { sql, params, prepare, page } = this.#listQuery(options);
    const rows = await this.#db.runValues(sql, params, prepare);
    return toPage(
      rows.map((r) => decodeVersionValues(this.definition, r)),
      page,
    );
  }

  /**
   * Every version of an entry, oldest first (deleted entries included). With `limit` and/or
   * `before` (a version number), one page: the newest `limit` versions below `before`, still
   * oldest first; pass the first one's version as `before` for the page before it.
   */
  async history(entryId: string, options?: HistoryOptions): Promise<Version<RowData<C>>[]> {
    if (options !== undefined) return historyPage(this.#db, this.definition, entryId, options);
    const id = checkEntryId(entryId);
    const rows = await this.#db.runValues(this.#st.history, [id], true);
    if (rows.length === 0) throw new NotFoundError(`${this.definition.name} entry ${id} does not exist`);
    return rows.map((r) => decodeVersionValues(this.definition, r));
  }

  /**
   * Verifies this table's chains (or one entry's) from the column values, and its head rows.
   *
   * @example
   * const { ok, failures } = await book.verify(v1.entryId);
   */
  async verify(entryId?: string): Promise<VerifyResult> {
    const id = entryId === undefined ? undefined : checkEntryId(entryId);
    return verifyOneTable(this.#db, this.definition.name, id);
  }

  /**
   * The entry as it stood at a moment (`Date`, or an ISO string with microseconds such as a
   * version's `recordedAtIso`) or at one version (`{ version }`); null when it did not exist, was
   * deleted or is forgotten. `{ version }` past the latest is a `not_found`.
   *
   * @example
   * await book.at(id, new Date('2026-01-01T00:00:00Z'));
   * await book.at(id, v2.recordedAtIso); // exactly v2 (a Date would cut the microseconds)
   * await book.at(id, { version: 1 });
   */
  async at(entryId: string, when: AsOf): Promise<Version<RowData<C>> | null> {
    return at(this.#db, this.definition, entryId, when);
  }

  /**
   * The live entries as they stood at a moment, filtered, sorted and paged like `list`; the same
   * rows as the SQL function `<table>_as_of(timestamptz)`. `updatedAt` sorts by the time of the
   * version shown.
   *
   * @example
   * const then = await book.listAt('2026-11-26T09:25:10.123456Z', { where: { city: 'Oslo' }, orderBy: 'name' });
   */
  async listAt(when: Instant, options?: ListOptions<C>): Promise<Page<Version<RowData<C>>>> {
    return listAt(this.#db, this.definition, when, options);
  }

  /**
   * The fields that differ between two versions, in definition order; empty when none do.
   *
   * @example
   * await book.diff(id, 1, 2); // [{ field: 'city', before: 'Asgard', after: 'Oslo' }]
   */
  async diff(entryId: string, fromVersion: number, toVersion: number): Promise<FieldChange<C>[]> {
    return diff(this.#db, this.definition, entryId, fromVersion, toVersion);
  }

  /**
   * Appends a version whose data equals version `toVersion`'s (a deleted entry is restored);
   * `meta.revertedTo` records the target. Reverting to the current version is `invalid_state`.
   *
   * @example
   * const v4 = await book.revert(id, 1, { reason: 'undo', actor: 'alice' });
   * v4.meta; // { revertedTo: 1 }
   */
  async revert(entryId: string, toVersion: number, options?: RevertOptions): Promise<Version<RowData<C>>> {
    return revert(this.#db, this.definition, entryId, toVersion, options);
  }

  /**
   * The recycle bin: the tombstones of deleted entries (not forgotten ones), newest first, each
   * with its actor, reason, time and the data it deleted. `restore(entryId)` brings one back.
   *
   * @example
   * for (const t of await book.deleted({ limit: 20 })) console.log(t.data.name, t.actor, t.reason, t.recordedAt);
   */
  async deleted(options?: PageOptions): Promise<Page<Version<RowData<C>>>> {
    return deleted(this.#db, this.definition, options);
  }

  /**
   * One write statement on the head: {@link updateSql}'s parameters, then `rest`; its row decoded
   * by `decode` (the whole version, unless the statement reads back less).
   */
  async #write(
    sql: string,
    entryId: string,
    expected: number | null,
    options: WriteContext | undefined,
    rest: readonly unknown[],
    decode: (row: readonly unknown[]) => Version<RowData<C>> = (row) =>
      decodeVersionValues(this.definition, row),
  ): Promise<Version<RowData<C>>> {
    const ctx = resolveContext(this.#db.context, options);
    const rows = await this.#db.runValues(
      sql,
      [entryId, ctx.actor, ctx.reason, ctx.meta, expected, ...rest],
      true,
    );
    if (!rows[0]) throw new NotFoundError(`${this.definition.name} entry ${entryId} does not exist`);
    return decode(rows[0]);
  }

  async #append(
    op: Op,
    entryId: string | null,
    expected: number | null,
    options: WriteContext | undefined,
    patch: string | null,
  ): Promise<Version<RowData<C>>> {
    const ctx = resolveContext(this.#db.context, options);
    const rows = await this.#db.runValues(
      this.#st.append,
      [op, entryId, expected, ctx.actor, ctx.reason, ctx.meta, patch],
      true,
    );
    return decodeVersionValues(this.definition, rows[0]!);
  }

  #listQuery(options: ListOptions<C>): ReturnType<typeof buildListQuery> {
    const key = listKey(options as ListOptions<ColumnMap>);
    const kept = key === null ? undefined : this.#st.lists.get(key);
    if (kept !== undefined) return { ...kept, params: [] };
    const query = buildListQuery(this.definition, this.#st.listBase, [], options, {
      head: tableObjects(this.#db.schema, this.definition.name).head,
      createdAt: 'l.created_at',
      updatedAt: 'l.recorded_at',
      entryId: 'l.entry_id',
    });
    if (key !== null && this.#st.lists.size < MAX_CACHED_LISTS) this.#st.lists.set(key, query);
    return query;
  }
}

function expectedOf(options: UpdateOptions | undefined): number | null {
  if (options?.expectedVersion === undefined) return null;
  return checkVersionNumber(options.expectedVersion, 'expectedVersion');
}
