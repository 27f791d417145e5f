import type { Database } from '../db.js';
import { forgetRequest } from '../erasure/duration.js';
import type { CancelForgetOptions, ForgetOptions } from '../erasure/options.js';
import {
  cancelForgetLookupSql,
  decodeErasureStatus,
  type ErasureStatus,
  type ErasureStatusRow,
  erasureStatusSql,
} from '../erasure/status.js';
import { InvalidStateError, NotFoundError, ReasonRequiredError } from '../errors.js';
import type { VerifyResult } from '../integrity/report.js';
import { verifyOneTable } from '../integrity/verify.js';
import { quoteIdent, quoteLiteral } from '../schema/names.js';
import type { ColumnMap, InsertData, PatchData, ResolvedColumn, RowData, TableDef } from '../schema/table.js';
import { defaultSql } from '../sql/column-default.js';
import { tableObjects } from '../sql/names.js';
import { LOG_SYSTEM_COLUMNS } from '../sql/table-ddl.js';
import { appendSql } from './append-sql.js';
import {
  checkEntryId,
  checkVersionNumber,
  decodeVersion,
  encodeData,
  encodeFields,
  fieldParam,
  patchJson,
  versionProjection,
} from './codec.js';
import { resolveContext, type WriteContext } from './context.js';
import { diff, type FieldChange } from './diff.js';
import type { AsOf, Instant } from './instant.js';
import { buildListQuery, type ListOptions } from './list-query.js';
import { type RevertOptions, revert } from './revert.js';
import { perTable } from './statement-cache.js';
import { at, deleted, type HistoryOptions, historyPage, listAt, type PageOptions } from './time-travel.js';
import { type Op, removesEntry, type Version } from './version.js';

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

export type { ListOptions, OrderBy } from './list-query.js';

interface Statements {
  append: string;
  get: string;
  history: string;
  listBase: string;
  /**
   * The one-statement update of {@link updateSql} for this set of patched columns, or null once
   * {@link MAX_UPDATE_SHAPES} other sets have one (those updates go through the append function).
   */
  update: (patched: readonly ResolvedColumn[]) => string | null;
}

/**
 * How many sets of patched columns get a one-statement update of their own, per table. Each is a
 * prepared statement on every connection that runs it, so code that patches ever-new combinations
 * of columns must not grow them without bound; past the limit, updates take the append function.
 */
export const MAX_UPDATE_SHAPES = 32;

const statementsFor = perTable((def, schema): Statements => {
  const o = tableObjects(schema, def.name);
  const proj = versionProjection(def);
  const updates = new Map<string, string>();
  return {
    append: appendSql(def, schema),
    // The entry's latest version, read straight from the log: one backward probe of the
    // (entry_id, version) index, where the head would add a second lookup. The head points at
    // exactly this version (the chain trigger moves both in one transaction), and a deleted or
    // forgotten entry's latest version is its tombstone or its forget: `get` says null to those.
    get: `SELECT ${proj} FROM ${o.log} l WHERE l.entry_id = $1 ORDER BY l.version DESC LIMIT 1`,
    history: `SELECT ${proj} FROM ${o.log} l WHERE l.entry_id = $1 ORDER BY l.version`,
    listBase: `SELECT ${proj} FROM ${o.head} h JOIN ${o.log} l ON l.seq = h.seq WHERE NOT h.deleted`,
    update(patched) {
      const key = patched.map((c) => c.sqlName).join(',');
      let sql = updates.get(key);
      if (sql === undefined) {
        if (updates.size >= MAX_UPDATE_SHAPES) return null;
        sql = updateSql(def, schema, patched, proj);
        updates.set(key, sql);
      }
      return sql;
    },
  };
});

/**
 * The usual update as one statement: the new version is the head's version with the patch
 * applied, inserted with the version it follows, which sends it down the chain trigger's fast
 * path. `FOR UPDATE OF hd` makes a concurrent writer of the entry wait; when that writer commits
 * first, the re-checked join finds the version read no longer current and nothing is inserted,
 * and the caller falls back to the append function (as it does for an entry that does not exist,
 * is deleted or forgotten, or is not at `$5`, whose errors the append function raises).
 *
 * The statement carries forward the columns this code knows. A log with more columns (a newer
 * deployment added some, see docs/migrations.md) would lose their values, so the statement checks
 * the log's column count in the catalog and inserts nothing then either: the append function,
 * which migrate regenerates for the columns the database has, carries every one forward.
 * Parameters: entry id, actor, reason, meta, expected version, then one per patched column.
 */
function updateSql(def: TableDef, schema: string, patched: readonly ResolvedColumn[], proj: string): string {
  const o = tableObjects(schema, def.name);
  const values = def.columns.map((c) => {
    const i = patched.indexOf(c);
    if (i >= 0) return `$${6 + i}::${c.type}`;
    const col = `p.${quoteIdent(c.sqlName)}`;
    // A notNull column added after the entry was last written carries its default forward.
    const fill = c.notNull ? defaultSql(c) : undefined;
    return fill === undefined ? col : `coalesce(${col}, ${fill})`;
  });
  return `INSERT INTO ${o.log} AS l (entry_id, op, version, actor, reason, meta${def.columns
    .map((c) => `, ${quoteIdent(c.sqlName)}`)
    .join('')})
SELECT hd.entry_id, 'update', hd.version + 1, $2, $3, $4::jsonb${values.map((v) => `, ${v}`).join('')}
  FROM ${o.head} hd JOIN ${o.log} p ON p.seq = hd.seq
 WHERE hd.entry_id = $1 AND NOT hd.deleted AND hd.op <> 'forget' AND ($5::integer IS NULL OR hd.version = $5)
   AND (SELECT c.relnatts FROM pg_catalog.pg_class c WHERE c.oid = ${quoteLiteral(o.log)}::pg_catalog.regclass) = ${
     LOG_SYSTEM_COLUMNS + def.columns.length
   }
   FOR UPDATE OF hd
RETURNING ${proj}`;
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
    const fields = encodeFields(this.definition, patch, 'patch');
    const expected = expectedOf(options);
    // PGlite keeps no prepared statements, and planning this statement on every call costs more
    // than it saves: there the append function, whose statements plpgsql keeps planned, is faster.
    // In definition order: a set of columns is one statement, whatever order the patch names them in.
    const patched = this.definition.columns.filter((c) => fields.has(c));
    const sql = this.#db.kind === 'postgres' ? this.#st.update(patched) : null;
    if (sql !== null) {
      const ctx = resolveContext(this.#db.context, options);
      const rows = await this.#db.run(
        sql,
        [id, ctx.actor, ctx.reason, ctx.meta, expected, ...patched.map((c) => fieldParam(c, fields.get(c)))],
        true,
      );
      if (rows[0]) return decodeVersion(this.definition, rows[0]);
    }
    // Not the usual case on PostgreSQL (see updateSql and MAX_UPDATE_SHAPES): the append
    // function writes it or says what is wrong.
    return this.#append('update', id, expected, options, patchJson(fields));
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
        `forgetting a ${this.definition.name} entry needs a reason: forget(id, { reason })`,
      );
    }
    const call = { ...options, meta: { ...options.meta, erasure: forgetRequest(options.after) } };
    const ctx = resolveContext(this.#db.context, call);
    if (ctx.reason === null || ctx.reason.trim() === '') {
      throw new ReasonRequiredError(
        `forgetting a ${this.definition.name} entry needs a reason: forget(id, { reason })`,
      );
    }
    return this.#append('forget', id, expectedOf(options), call, null);
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
        `cancelling the forget of a ${this.definition.name} entry needs a reason: cancelForget(id, { reason })`,
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
    return this.#append(op, id, Number(row.version), call, null);
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
    const [row] = await this.#db.run(this.#st.get, [id], true);
    return row && !removesEntry(row.op) ? decodeVersion(this.definition, row) : null;
  }

  /** The live entries, latest versions, filtered by equality and sorted. */
  async list(options: ListOptions<C> = {}): Promise<Version<RowData<C>>[]> {
    const { sql, params } = this.#listQuery(options);
    const rows = await this.#db.run(sql, params, true);
    return rows.map((r) => decodeVersion(this.definition, r));
  }

  /**
   * Every version of an entry, oldest first (deleted entries included). With `limit` and/or
   * `before` (a version number), one page: the newest `limit` versions below `before`, still
   * oldest first; pass the first one's version as `before` for the page before it.
   */
  async history(entryId: string, options?: HistoryOptions): Promise<Version<RowData<C>>[]> {
    if (options !== undefined) return historyPage(this.#db, this.definition, entryId, options);
    const id = checkEntryId(entryId);
    const rows = await this.#db.run(this.#st.history, [id], true);
    if (rows.length === 0) throw new NotFoundError(`${this.definition.name} entry ${id} does not exist`);
    return rows.map((r) => decodeVersion(this.definition, r));
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
  async listAt(when: Instant, options?: ListOptions<C>): Promise<Version<RowData<C>>[]> {
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
  async deleted(options?: PageOptions): Promise<Version<RowData<C>>[]> {
    return deleted(this.#db, this.definition, options);
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
    return buildListQuery(this.definition, this.#st.listBase, [], options, {
      createdAt: 'h.created_at',
      updatedAt: 'h.updated_at',
    });
  }
}

function expectedOf(options: UpdateOptions | undefined): number | null {
  if (options?.expectedVersion === undefined) return null;
  return checkVersionNumber(options.expectedVersion, 'expectedVersion');
}
