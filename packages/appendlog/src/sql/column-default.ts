import type { ColumnType } from '../schema/column.js';
import { quoteIdent, quoteLiteral } from '../schema/names.js';
import type { TableObjects } from './names.js';

/** The parts of a column its default code needs. */
export interface DefaultedColumn {
  sqlName: string;
  type: ColumnType;
  notNull: boolean;
  default?: unknown;
}

/**
 * The SQL constant of a column's default, or `undefined` without one. Defaults are encoded values
 * (see `ResolvedColumn.default`): every literal carries its own offset or is ISO, so the constant
 * reads the same under any TimeZone or DateStyle.
 */
export function defaultSql(c: DefaultedColumn): string | undefined {
  if (c.default === undefined) return undefined;
  return `${quoteLiteral(defaultText(c))}::${c.type}`;
}

/**
 * {@link defaultSql} for use inside a generated function body. Bodies are dollar-quoted
 * (`$fn$ … $fn$`), and a default is free text that could contain the closing quote, so a text
 * with a `$` in it is spelled in hex instead.
 */
export function bodyDefaultSql(c: DefaultedColumn): string | undefined {
  if (c.default === undefined) return undefined;
  const text = defaultText(c);
  if (!text.includes('$')) return `${quoteLiteral(text)}::${c.type}`;
  const hex = Buffer.from(text, 'utf8').toString('hex');
  return `pg_catalog.convert_from(pg_catalog.decode('${hex}', 'hex'), 'UTF8')::${c.type}`;
}

function defaultText(c: DefaultedColumn): string {
  return c.type === 'jsonb' ? JSON.stringify(c.default) : String(c.default);
}

/**
 * Sets (or drops) the default of one column on the head, for inserts (the library's, raw ones),
 * on the log, to match, and on the view, for `INSERT INTO <view>`. Each applies to rows inserted
 * later only: nothing stored changes.
 */
export function columnDefaultDdl(o: TableObjects, c: DefaultedColumn): string {
  return `${headDefaultDdl(o, c)}\n${logDefaultDdl(o, c)}\n${viewDefaultDdl(o, c)}`;
}

/** The head's part of {@link columnDefaultDdl}. */
export function headDefaultDdl(o: TableObjects, c: DefaultedColumn): string {
  return `ALTER TABLE ${o.head} ALTER COLUMN ${quoteIdent(c.sqlName)} ${defaultAction(c)};`;
}

/** The log's half of {@link columnDefaultDdl}. */
export function logDefaultDdl(o: TableObjects, c: DefaultedColumn): string {
  return `ALTER TABLE ${o.log} ALTER COLUMN ${quoteIdent(c.sqlName)} ${defaultAction(c)};`;
}

/** The view's half of {@link columnDefaultDdl}. */
export function viewDefaultDdl(o: TableObjects, c: DefaultedColumn): string {
  return `ALTER VIEW ${o.view} ALTER COLUMN ${quoteIdent(c.sqlName)} ${defaultAction(c)};`;
}

function defaultAction(c: DefaultedColumn): string {
  const value = defaultSql(c);
  return value === undefined ? 'DROP DEFAULT' : `SET DEFAULT ${value}`;
}

/** plpgsql assignments that give `rec` every column default: the start of a new entry. */
export function assignDefaultsSql(rec: string, columns: readonly DefaultedColumn[]): string[] {
  return columns.flatMap((c) => {
    const value = bodyDefaultSql(c);
    return value === undefined ? [] : [`${rec}.${quoteIdent(c.sqlName)} := ${value};`];
  });
}

/**
 * plpgsql assignments that fill a notNull column's default into a new version that would carry no
 * value: a revert to a version from before the column was added. The new version must satisfy
 * notNull; the old versions keep their null.
 */
export function fillRequiredDefaultsSql(rec: string, columns: readonly DefaultedColumn[]): string[] {
  return columns.flatMap((c) => {
    const value = bodyDefaultSql(c);
    if (value === undefined || !c.notNull) return [];
    const ref = `${rec}.${quoteIdent(c.sqlName)}`;
    return [`${ref} := coalesce(${ref}, ${value});`];
  });
}
