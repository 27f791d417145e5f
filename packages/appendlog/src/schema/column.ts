/** The PostgreSQL types a column can have. */
export type ColumnType =
  | 'text'
  | 'integer'
  | 'bigint'
  | 'numeric'
  | 'boolean'
  | 'date'
  | 'timestamptz'
  | 'jsonb'
  | 'uuid';

/** PostgreSQL's `format_type` name of each column type. */
const SQL_TYPE_NAMES: Record<string, ColumnType> = {
  text: 'text',
  integer: 'integer',
  bigint: 'bigint',
  numeric: 'numeric',
  boolean: 'boolean',
  date: 'date',
  'timestamp with time zone': 'timestamptz',
  jsonb: 'jsonb',
  uuid: 'uuid',
};

/**
 * The column type of a `pg_catalog.format_type` name, or undefined for a type appendlog does not use.
 *
 * @example
 * columnTypeOfSql('timestamp with time zone'); // 'timestamptz'
 */
export function columnTypeOfSql(formatType: string): ColumnType | undefined {
  return Object.hasOwn(SQL_TYPE_NAMES, formatType) ? SQL_TYPE_NAMES[formatType] : undefined;
}

/** What a column of each type reads back as. */
export interface ColumnValueTypes {
  text: string;
  integer: number;
  /** Exact, as a decimal string (JavaScript numbers lose digits past 2^53). */
  bigint: string;
  /** Exact, as PostgreSQL prints it (`'12.50'`). */
  numeric: string;
  boolean: boolean;
  /** A calendar date, `'YYYY-MM-DD'`, free of time-zone surprises. */
  date: string;
  timestamptz: Date;
  jsonb: unknown;
  uuid: string;
}

/** What a column of each type accepts on write. */
export interface ColumnInputTypes {
  text: string;
  integer: number;
  bigint: string | number | bigint;
  numeric: string | number;
  boolean: boolean;
  date: string;
  timestamptz: Date | string;
  jsonb: unknown;
  uuid: string;
}

/** A column of a table definition; build one with {@link column}. */
export class Column<
  T extends ColumnType = ColumnType,
  NotNull extends boolean = boolean,
  Value = ColumnValueTypes[T],
  HasDefault extends boolean = boolean,
> {
  declare readonly _value: Value;
  readonly type: T;
  readonly isNotNull: NotNull;
  /** An explicit SQL column name, overriding the snake_case mapping of the key. */
  readonly sqlName: string | undefined;
  /** Whether inserts that omit the column get {@link Column.defaultValue}. */
  readonly hasDefault: HasDefault;
  /** The value new entries get when an insert omits the column (see `default`). */
  readonly defaultValue: unknown;

  constructor(
    type: T,
    isNotNull: NotNull,
    sqlName?: string,
    hasDefault?: HasDefault,
    defaultValue?: unknown,
  ) {
    this.type = type;
    this.isNotNull = isNotNull;
    this.sqlName = sqlName;
    this.hasDefault = (hasDefault ?? false) as HasDefault;
    this.defaultValue = defaultValue;
  }

  /** Refuses versions where this column is null. */
  notNull(): Column<T, true, Value, HasDefault> {
    return new Column(this.type, true, this.sqlName, this.hasDefault, this.defaultValue);
  }

  /** Stores the column under this SQL name instead of the snake_case form of its key. */
  named(sqlName: string): Column<T, NotNull, Value, HasDefault> {
    return new Column(this.type, this.isNotNull, sqlName, this.hasDefault, this.defaultValue);
  }

  /**
   * The value an insert that omits the column gets: through the library, the view and a raw
   * `INSERT` into the log alike. It applies to new entries only; versions written before the
   * column existed keep reading null, and nothing old is rewritten (docs/migrations.md).
   *
   * @example
   * const tasks = table('tasks', {
   *   title: c.text().notNull(),
   *   status: c.text().notNull().default('open'), // inserts may omit it
   *   priority: c.integer().default(3),
   * });
   */
  default(value: DefaultInput<T, Value>): Column<T, NotNull, Value, true> {
    return new Column(this.type, this.isNotNull, this.sqlName, true, value);
  }
}

/**
 * What `default()` accepts: a non-null value of the column's input type.
 *
 * @example
 * const status: DefaultInput<'text', string> = 'open';
 */
export type DefaultInput<T extends ColumnType, Value> = T extends 'jsonb'
  ? Exclude<Value, null | undefined>
  : ColumnInputTypes[T];

function make<T extends ColumnType>(type: T): Column<T, false, ColumnValueTypes[T], false> {
  return new Column(type, false);
}

/**
 * Column builders for {@link table} definitions.
 *
 * @example
 * import { table, column as c } from 'appendlog';
 * const products = table('products', {
 *   title: c.text().notNull(),
 *   price: c.numeric(),          // read back as an exact string: '19.90'
 *   stock: c.integer(),
 *   tags: c.jsonb<string[]>(),
 * });
 */
export const column = {
  text: () => make('text'),
  integer: () => make('integer'),
  bigint: () => make('bigint'),
  numeric: () => make('numeric'),
  boolean: () => make('boolean'),
  date: () => make('date'),
  timestamptz: () => make('timestamptz'),
  /** A JSON document; pass a type argument to type what it holds. */
  jsonb: <J = unknown>() => new Column<'jsonb', false, J, false>('jsonb', false),
  uuid: () => make('uuid'),
};
