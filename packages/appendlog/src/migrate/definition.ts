import type { TableDef } from '../schema/table.js';
import { defaultSql } from '../sql/column-default.js';
import type { StoredColumn } from '../sql/table-ddl.js';

/**
 * A table's definition as the schema history records it: its columns in physical order.
 *
 * @example
 * const [record] = await db.schemaHistory({ table: 'addresses' });
 * record?.definition.columns.map((c) => c.sqlName); // ['name', 'address_line_1', …]
 */
export interface TableDefinition {
  columns: StoredColumn[];
}

/** The stored form of a definition's columns (the default only when there is one). */
export function storedColumns(def: TableDef): StoredColumn[] {
  return def.columns.map((c) => {
    const stored: StoredColumn = { sqlName: c.sqlName, type: c.type, notNull: c.notNull };
    if (c.default !== undefined) stored.default = c.default;
    return stored;
  });
}

/** JSON with sorted object keys, so two equal jsonb defaults compare equal whatever their key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

/** Whether two columns have the same default (both none, or equal values). */
export function sameDefault(a: StoredColumn, b: StoredColumn): boolean {
  return canonicalJson(a.default) === canonicalJson(b.default);
}

/** Whether two definitions have the same columns (in any order) with the same types, notNull and defaults. */
export function sameColumns(a: readonly StoredColumn[], b: readonly StoredColumn[]): boolean {
  if (a.length !== b.length) return false;
  const byName = new Map(b.map((c) => [c.sqlName, c]));
  return a.every((c) => {
    const other = byName.get(c.sqlName);
    return (
      other !== undefined && other.type === c.type && other.notNull === c.notNull && sameDefault(c, other)
    );
  });
}

/** `country text not null default 'NO'::text`: one column, as summaries print it. */
export function describeColumn(c: StoredColumn): string {
  const value = defaultSql(c);
  return `${c.sqlName} ${c.type}${c.notNull ? ' not null' : ''}${value === undefined ? '' : ` default ${value}`}`;
}
