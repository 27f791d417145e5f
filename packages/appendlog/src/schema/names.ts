import { InvalidInputError } from '../errors.js';
import { SYSTEM_COLUMNS } from '../model/log-columns.js';

/** The longest suffix appendlog appends to a table name (`<t>_view_write`). */
export const LONGEST_SUFFIX = '_view_write';
const MAX_IDENTIFIER_BYTES = 63;
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/** `addressLine1` → `address_line_1`; already snake_case names pass through. */
export function toSnakeCase(key: string): string {
  return key
    .replace(/([a-z])([A-Z0-9])/g, '$1_$2')
    .replace(/([0-9])([A-Za-z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

/** Double-quotes an identifier. Every generated statement goes through here. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A single-quoted SQL literal for generated DDL (never used for user values). */
export function quoteLiteral(value: string): string {
  const quoted = value.replace(/'/g, "''");
  // Under standard_conforming_strings = off a backslash in '…' is an escape ('\' would end the
  // literal early); in E'…' it is one always, so the doubled backslash means one whatever the setting.
  return value.includes('\\') ? `E'${quoted.replace(/\\/g, '\\\\')}'` : `'${quoted}'`;
}

/** Validates a table name: lower snake_case, room left for the longest suffix, not reserved. */
export function validateTableName(name: string): void {
  validateIdentifier(name, 'table', MAX_IDENTIFIER_BYTES - LONGEST_SUFFIX.length);
  if (name.startsWith('appendlog_') || name.startsWith('pg_')) {
    throw new InvalidInputError(`table name "${name}" uses a reserved prefix (appendlog_, pg_)`, 'table');
  }
}

/** Validates a column's SQL name: lower snake_case, at most 63 bytes, no system column name. */
export function validateColumnName(sqlName: string, key: string): void {
  validateIdentifier(sqlName, key, MAX_IDENTIFIER_BYTES);
  if (SYSTEM_COLUMNS.includes(sqlName)) {
    throw new InvalidInputError(
      `column "${key}" maps to "${sqlName}", a name appendlog keeps for itself (${SYSTEM_COLUMNS.join(', ')})`,
      key,
    );
  }
}

/** Validates a schema name for `connect({ schema })`. */
export function validateSchemaName(name: string): void {
  validateIdentifier(name, 'schema', MAX_IDENTIFIER_BYTES);
}

function validateIdentifier(name: string, field: string, maxBytes: number): void {
  if (typeof name !== 'string' || !IDENTIFIER.test(name)) {
    throw new InvalidInputError(
      `${field === 'table' || field === 'schema' ? `${field} name` : `column "${field}" name`} ${JSON.stringify(
        name,
      )} is not a lower snake_case identifier (^[a-z_][a-z0-9_]*$)`,
      field,
    );
  }
  if (Buffer.byteLength(name) > maxBytes) {
    throw new InvalidInputError(
      `${field === 'table' ? 'table' : field} name "${name}" is ${Buffer.byteLength(name)} bytes; at most ${maxBytes} fit`,
      field,
    );
  }
}
