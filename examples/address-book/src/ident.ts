import type { Database } from 'appendlog';

/** A name as a quoted SQL identifier: `"it"`, with any `"` inside doubled. */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** One of the app's own plain tables, in the schema of `db`'s appendlog tables. */
export function plainTable(db: Database, name: string): string {
  return `${ident(db.schema)}.${ident(name)}`;
}
