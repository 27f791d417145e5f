import { LOG_COLUMNS, type LogColumn } from '../model/log-columns.js';
import type { ColumnType } from '../schema/column.js';
import type { ResolvedColumn, TableDef } from '../schema/table.js';

/** A column of a generated type: its SQL name, the key code uses, its type and what may write it. */
export interface GenColumn {
  sqlName: string;
  /** The camelCase key of the table definition (the SQL name for appendlog's own columns). */
  key: string;
  type: ColumnType | 'xid8' | 'bytea';
  notNull: boolean;
  /** appendlog sets it; the application reads it only. */
  system: boolean;
  default?: unknown;
}

/** The columns of the view `<t>` (and of `<t>_as_of`): appendlog's four, then the table's. */
export function viewColumns(def: TableDef): GenColumn[] {
  return [
    { sqlName: 'entry_id', key: 'entryId', type: 'uuid', notNull: true, system: true },
    { sqlName: 'version', key: 'version', type: 'integer', notNull: true, system: true },
    { sqlName: 'created_at', key: 'createdAt', type: 'timestamptz', notNull: true, system: true },
    { sqlName: 'updated_at', key: 'updatedAt', type: 'timestamptz', notNull: true, system: true },
    ...def.columns.map(userColumn),
  ];
}

/** The columns of the log `<t>_log`: its own (model/log-columns.ts), then the table's, all nullable. */
export function logColumns(def: TableDef): GenColumn[] {
  const own = LOG_COLUMNS.map(
    (c: LogColumn): GenColumn => ({
      sqlName: c.name,
      key: camel(c.name),
      type: c.type,
      notNull: c.notNull === true,
      system: true,
    }),
  );
  // Old versions keep null in columns added after them, and erasure nulls a version's values.
  return [...own, ...def.columns.map((c) => ({ ...userColumn(c), notNull: false, system: true }))];
}

function userColumn(c: ResolvedColumn): GenColumn {
  const col: GenColumn = { sqlName: c.sqlName, key: c.key, type: c.type, notNull: c.notNull, system: false };
  if (c.default !== undefined) col.default = c.default;
  return col;
}

/** `address_line_1` → `addressLine1`. */
export function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, ch: string) => ch.toUpperCase());
}

/** `addresses_log` → `AddressesLog`. */
export function pascal(name: string): string {
  const c = camel(name);
  return c.charAt(0).toUpperCase() + c.slice(1);
}

/** A string as a TypeScript single-quoted literal. */
export function tsString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}

/** Text for inside a TypeScript template literal. */
export function tsTemplateText(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/`/g, '\\`').replace(/\$\{/g, '\\${');
}
