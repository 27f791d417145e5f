import { InvalidInputError, InvalidStateError, NotFoundError, VersionConflictError } from '../errors.js';
import { resolveContext, type WriteContext } from '../model/context.js';
import { SYSTEM_COLUMNS } from '../model/log-columns.js';
import { checkEntryId, checkVersionNumber } from '../model/values.js';
import { removesEntry, type Version } from '../model/version.js';
import { quoteLiteral } from '../schema/names.js';
import type { ColumnMap, RowData, TableDef } from '../schema/table.js';
import type { Session } from '../session.js';
import { tableObjects } from '../sql/names.js';
import { appendSql } from './append-sql.js';
import { decodeVersion } from './codec.js';
import { perTable } from './statement-cache.js';

/**
 * Options of `revert`: who and why, extra `meta` (merged with `{ revertedTo }`), and an
 * optional `expectedVersion` of the entry's latest version.
 *
 * @example
 * await book.revert(id, 2, { reason: 'undo vandalism', actor: 'mod', expectedVersion: 5 });
 */
export interface RevertOptions extends WriteContext {
  expectedVersion?: number;
}

interface RevertStatements {
  target: string;
  append: string;
}

const statements = perTable((def, schema): RevertStatements => {
  const o = tableObjects(schema, def.name);
  const system = `ARRAY[${SYSTEM_COLUMNS.map(quoteLiteral).join(', ')}]::text[]`;
  return {
    // Every physical column of the target, nulls included, also those this code's definition does not know.
    target: `SELECT h.version AS head_version, h.op AS head_op, h.deleted, t.version, t.op,
                    (pg_catalog.to_jsonb(t) OPERATOR(pg_catalog.-) ${system})::text AS data
               FROM ${o.head} h
               LEFT JOIN ${o.log} t ON t.entry_id = h.entry_id AND t.version = $2
              WHERE h.entry_id = $1
                FOR UPDATE OF h`,
    append: appendSql(def, schema),
  };
});

/**
 * `revert`: appends a version whose data equals version `toVersion`'s, every column included;
 * a deleted entry comes back (op `restore`), a live one gets an `update`. Reverting to the
 * current version, or to a delete or forget version, is refused with `invalid_state` and
 * writes nothing.
 */
export async function revert<C extends ColumnMap>(
  db: Session,
  def: TableDef<C>,
  entryId: string,
  toVersion: number,
  options: RevertOptions = {},
): Promise<Version<RowData<C>>> {
  const id = checkEntryId(entryId);
  const target = checkVersionNumber(toVersion, 'toVersion');
  if (typeof options !== 'object' || options === null)
    throw new InvalidInputError('revert options must be an object', 'options');
  const expected =
    options.expectedVersion === undefined
      ? null
      : checkVersionNumber(options.expectedVersion, 'expectedVersion');
  const ctx = resolveContext(db.context, { ...options, meta: { ...options.meta, revertedTo: target } });
  const st = statements(def, db.schema);
  const name = `${def.name} entry ${id}`;
  return db.transaction(async (tx) => {
    const [row] = await tx.run<{
      head_version: number;
      head_op: string;
      deleted: boolean;
      version: number | null;
      op: string | null;
      data: string | null;
    }>(st.target, [id, target], true);
    if (!row) throw new NotFoundError(`${name} does not exist`);
    if (row.head_op === 'forget') throw new InvalidStateError(`${name} is forgotten and awaits erasure`);
    if (expected !== null && expected !== row.head_version) {
      throw new VersionConflictError(
        `version conflict on ${name}: expected version ${expected}, found ${row.head_version}`,
        expected,
        row.head_version,
      );
    }
    if (row.version === null)
      throw new NotFoundError(`${name} has no version ${target} (latest: ${row.head_version})`);
    if (target === row.head_version) {
      throw new InvalidStateError(
        `${name} is at version ${target} already; reverting to it would change nothing`,
      );
    }
    if (removesEntry(row.op)) {
      throw new InvalidStateError(
        `version ${target} of ${name} is a ${row.op}; revert to a version with live data (to delete, use delete())`,
      );
    }
    const op = row.deleted ? 'restore' : 'update';
    const [appended] = await tx.run(
      st.append,
      [op, id, row.head_version, ctx.actor, ctx.reason, ctx.meta, row.data],
      true,
    );
    return decodeVersion<RowData<C>>(def, appended!);
  });
}
