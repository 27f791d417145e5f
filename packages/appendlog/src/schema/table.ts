import { InvalidInputError } from '../errors.js';
import { checkRetention, type RetentionPolicy } from '../model/retention-policy.js';
import { encodeValue } from '../model/values.js';
import type { Column, ColumnInputTypes, ColumnType } from './column.js';
import { toSnakeCase, validateColumnName, validateTableName } from './names.js';

export type ColumnMap = Record<string, Column>;

/** One column as the library uses it: its key in `data`, its SQL name, its type. */
export interface ResolvedColumn {
  key: string;
  sqlName: string;
  type: ColumnType;
  notNull: boolean;
  /**
   * The default of inserts that omit the column, validated and encoded as the database takes it
   * (bigint and numeric as strings, timestamps as ISO strings, jsonb as JSON). Absent: no default.
   */
  default?: unknown;
}

type NotNullKeys<C extends ColumnMap> = {
  [K in keyof C]: C[K] extends Column<ColumnType, true> ? K : never;
}[keyof C];
type DefaultedKeys<C extends ColumnMap> = {
  [K in keyof C]: C[K] extends Column<ColumnType, boolean, unknown, true> ? K : never;
}[keyof C];
type NullableKeys<C extends ColumnMap> = Exclude<keyof C, NotNullKeys<C>>;
/** notNull columns that every version has a value for: no default, so they existed from the start. */
type AlwaysSetKeys<C extends ColumnMap> = Exclude<NotNullKeys<C>, DefaultedKeys<C>>;
type ValueOf<Col> = Col extends Column<ColumnType, boolean, infer V> ? V : never;
type InputOf<Col> =
  Col extends Column<infer T, boolean, infer V> ? (T extends 'jsonb' ? V : ColumnInputTypes[T]) : never;
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/**
 * The shape of `data` when reading: every column present, nullable ones may be null. A notNull
 * column with a default may be null too: it may have been added after some versions were written,
 * and those versions honestly read null (docs/migrations.md).
 */
export type RowData<C extends ColumnMap> = Simplify<
  { [K in AlwaysSetKeys<C>]: ValueOf<C[K]> } & {
    [K in Exclude<keyof C, AlwaysSetKeys<C>>]: ValueOf<C[K]> | null;
  }
>;

/** The shape accepted by `insert`: notNull columns without a default required, the rest optional. */
export type InsertData<C extends ColumnMap> = Simplify<
  { [K in AlwaysSetKeys<C>]: InputOf<C[K]> } & {
    [K in Exclude<NotNullKeys<C>, AlwaysSetKeys<C>>]?: InputOf<C[K]>;
  } & { [K in NullableKeys<C>]?: InputOf<C[K]> | null }
>;

/** The shape accepted by `update`: any subset of the columns. */
export type PatchData<C extends ColumnMap> = Simplify<
  { [K in NotNullKeys<C>]?: InputOf<C[K]> } & { [K in NullableKeys<C>]?: InputOf<C[K]> | null }
>;

/** A content type: its name, its columns, and the row types inferred from them. */
export interface TableDef<C extends ColumnMap = ColumnMap> {
  readonly name: string;
  readonly columns: readonly ResolvedColumn[];
  readonly definition: C;
  /** Type-only: the `data` of a version of this table. */
  readonly $inferData: RowData<C>;
  /** Type-only: what `insert` accepts. */
  readonly $inferInsert: InsertData<C>;
  /** The recycle-bin retention, stored by `migrate` and applied by `db.purge()`. */
  readonly retention?: RetentionPolicy | undefined;
}

/**
 * Table-wide options, the third argument of {@link table}.
 *
 * @example
 * const notes = table('notes', { body: c.text() }, { retention: { deletedFor: '90 days' } });
 */
export interface TableOptions {
  /** Erase entries left in the recycle bin longer than this (see docs/erasure.md). */
  retention?: RetentionPolicy;
}

/**
 * Defines a content type. Keys are camelCase in code and snake_case in SQL
 * (`addressLine1` → `address_line_1`); every name is validated here, before any SQL exists.
 *
 * @example
 * import { table, column as c } from 'appendlog';
 * export const addresses = table('addresses', {
 *   name: c.text().notNull(),
 *   addressLine1: c.text(),
 *   city: c.text(),
 * });
 * type Address = typeof addresses.$inferData; // { name: string; addressLine1: string | null; city: … }
 * // With a recycle-bin retention: deleted entries not restored within 90 days get erased by purge.
 * export const notes = table('notes', { body: c.text() }, { retention: { deletedFor: '90 days' } });
 */
export function table<C extends ColumnMap>(
  name: string,
  columns: C,
  options: TableOptions = {},
): TableDef<C> {
  validateTableName(name);
  if (typeof options !== 'object' || options === null) {
    throw new InvalidInputError('table options must be an object', 'options');
  }
  const retention = checkRetention(options.retention);
  if (typeof columns !== 'object' || columns === null || Object.keys(columns).length === 0) {
    throw new InvalidInputError(`table "${name}" needs at least one column`, 'columns');
  }
  const resolved: ResolvedColumn[] = [];
  const seen = new Map<string, string>();
  for (const [key, col] of Object.entries(columns)) {
    const sqlName = col.sqlName ?? toSnakeCase(key);
    validateColumnName(sqlName, key);
    const clash = seen.get(sqlName);
    if (clash !== undefined) {
      throw new InvalidInputError(`columns "${clash}" and "${key}" both map to SQL name "${sqlName}"`, key);
    }
    seen.set(sqlName, key);
    const resolvedColumn: ResolvedColumn = { key, sqlName, type: col.type, notNull: col.isNotNull };
    if (col.hasDefault) resolvedColumn.default = encodeDefault(resolvedColumn, col.defaultValue);
    resolved.push(resolvedColumn);
  }
  return Object.freeze({
    name,
    columns: Object.freeze(resolved),
    definition: columns,
    ...(retention === undefined ? {} : { retention }),
  }) as unknown as TableDef<C>;
}

function encodeDefault(col: ResolvedColumn, value: unknown): unknown {
  if (value === null || value === undefined) {
    throw new InvalidInputError(
      `the default of column "${col.key}" cannot be null; leave default() out instead`,
      col.key,
    );
  }
  return encodeValue({ ...col, notNull: true }, value);
}
