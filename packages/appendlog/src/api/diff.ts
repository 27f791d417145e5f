import { InvalidStateError, NotFoundError } from '../errors.js';
import { checkEntryId, checkVersionNumber } from '../model/values.js';
import { quoteIdent } from '../schema/names.js';
import type { ColumnMap, ResolvedColumn, RowData, TableDef } from '../schema/table.js';
import type { Session } from '../session.js';
import { tableObjects } from '../sql/names.js';
import { decodeVersion, HEAD_OP, HEAD_VERSION, type RawVersionRow, versionProjection } from './codec.js';
import { perTable } from './statement-cache.js';

/**
 * One field that differs between two versions: `field` is the key in `data` (camelCase).
 *
 * @example
 * const changes = await book.diff(id, 1, 2);
 * // [{ field: 'city', before: 'Asgard', after: 'Oslo' }]
 * for (const c of changes) console.log(`${c.field}: ${c.before} → ${c.after}`);
 */
export type FieldChange<C extends ColumnMap> = {
  [K in Extract<keyof RowData<C>, string>]: { field: K; before: RowData<C>[K]; after: RowData<C>[K] };
}[Extract<keyof RowData<C>, string>];

const diffSql = perTable((def, schema): string => {
  const o = tableObjects(schema, def.name);
  return `SELECT ${versionProjection(def, 'l', o.log)}, h.op AS ${quoteIdent(HEAD_OP)}, h.version AS ${quoteIdent(HEAD_VERSION)} FROM ${o.head} h
           LEFT JOIN ${o.log} l ON l.entry_id = h.entry_id AND l.version IN ($2, $3)
          WHERE h.entry_id = $1`;
});

/**
 * `diff`: the fields whose values differ between two versions of an entry, in definition order.
 * Any two versions compare, in either order, across deletes and restores (a tombstone carries
 * the data it deleted). Empty when nothing changed.
 */
export async function diff<C extends ColumnMap>(
  db: Session,
  def: TableDef<C>,
  entryId: string,
  fromVersion: number,
  toVersion: number,
): Promise<FieldChange<C>[]> {
  const id = checkEntryId(entryId);
  const from = checkVersionNumber(fromVersion, 'fromVersion');
  const to = checkVersionNumber(toVersion, 'toVersion');
  const rows = await db.run(diffSql(def, db.schema), [id, from, to], true);
  const first = rows[0];
  if (!first) throw new NotFoundError(`${def.name} entry ${id} does not exist`);
  if (first[HEAD_OP] === 'forget') {
    throw new InvalidStateError(`${def.name} entry ${id} is forgotten; its content is no longer readable`);
  }
  const byVersion = new Map(rows.filter((r) => r.version !== null).map((r) => [Number(r.version), r]));
  const missing = [from, to].find((v) => !byVersion.has(v));
  if (missing !== undefined) {
    throw new NotFoundError(
      `${def.name} entry ${id} has no version ${missing} (latest: ${first[HEAD_VERSION]})`,
    );
  }
  return fieldChanges(def, byVersion.get(from)!, byVersion.get(to)!);
}

/** The differing fields of two rows read with `versionProjection`, compared structurally. */
export function fieldChanges<C extends ColumnMap>(
  def: TableDef<C>,
  a: RawVersionRow,
  b: RawVersionRow,
): FieldChange<C>[] {
  const before = decodeVersion<Record<string, unknown>>(def, a).data;
  const after = decodeVersion<Record<string, unknown>>(def, b).data;
  const changes: Array<{ field: string; before: unknown; after: unknown }> = [];
  for (const col of def.columns) {
    if (!sameValue(col, a[col.sqlName], b[col.sqlName], before[col.key], after[col.key])) {
      changes.push({ field: col.key, before: before[col.key], after: after[col.key] });
    }
  }
  return changes as FieldChange<C>[];
}

function sameValue(col: ResolvedColumn, rawA: unknown, rawB: unknown, a: unknown, b: unknown): boolean {
  if (a === null || b === null) return a === b;
  switch (col.type) {
    case 'jsonb':
      return deepEqual(a, b);
    case 'timestamptz':
      // The raw text is canonical UTC with microseconds; a Date would keep milliseconds only.
      return rawA === rawB;
    default:
      return a === b;
  }
}

/** Structural equality of parsed JSON values (object key order does not matter). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const rb = b as Record<string, unknown>;
  return ka.every((k) => Object.hasOwn(rb, k) && deepEqual((a as Record<string, unknown>)[k], rb[k]));
}
