import type { CatalogRunner } from '../sql/catalog-reader.js';
import { catalogName } from '../sql/names.js';

/** A projection's row of `appendlog_projections`, as read. */
export interface ProjectionRow {
  name: string;
  cursor: string | null;
  tables: string[];
  needs_reset: boolean;
  applied_sets: string;
  applied_at: Date | null;
  rebuilt_at: Date | null;
}

const COLUMNS =
  'name, cursor::text AS cursor, tables, needs_reset, applied_sets::text AS applied_sets, applied_at, rebuilt_at';

/** The statements on `appendlog_projections`, in one place. */
export const projectionRows = {
  /** Registers the projection (or updates the tables it reads); its cursor is left as it is. */
  async register(db: CatalogRunner, schema: string, name: string, tables: readonly string[]): Promise<void> {
    const t = catalogName(schema, 'appendlog_projections');
    await db.run(
      `INSERT INTO ${t} AS p (name, tables) VALUES ($1, $2::text[])
       ON CONFLICT (name) DO UPDATE SET tables = EXCLUDED.tables
        WHERE p.tables IS DISTINCT FROM EXCLUDED.tables`,
      [name, tables],
    );
  },

  /** One projection's row, or every one (by name) when `name` is undefined. */
  async read(db: CatalogRunner, schema: string, name?: string): Promise<ProjectionRow[]> {
    const t = catalogName(schema, 'appendlog_projections');
    return db.run<ProjectionRow>(
      `SELECT ${COLUMNS} FROM ${t} WHERE $1::text IS NULL OR name = $1 ORDER BY name`,
      [name ?? null],
    );
  },

  /**
   * The row locked for this transaction, or none when another transaction holds it (another
   * process applying this projection now): SKIP LOCKED, so the caller leaves it to that one.
   */
  async lock(db: CatalogRunner, schema: string, name: string): Promise<ProjectionRow | undefined> {
    const t = catalogName(schema, 'appendlog_projections');
    const [row] = await db.run<ProjectionRow>(
      `SELECT ${COLUMNS} FROM ${t} WHERE name = $1 FOR UPDATE SKIP LOCKED`,
      [name],
    );
    return row;
  },

  /** Moves the cursor past `sets` applied change sets, in the applying transaction. */
  async advance(
    db: CatalogRunner,
    schema: string,
    name: string,
    cursor: string | null,
    sets: number,
  ): Promise<void> {
    const t = catalogName(schema, 'appendlog_projections');
    await db.run(
      `UPDATE ${t} SET cursor = $2::xid8, needs_reset = false, applied_sets = applied_sets + $3,
              applied_at = pg_catalog.statement_timestamp()
        WHERE name = $1`,
      [name, cursor, sets],
    );
  },

  /** Sets the cursor back to the beginning; the next run resets the projection's own tables first. */
  async rebuild(db: CatalogRunner, schema: string, name: string): Promise<boolean> {
    const t = catalogName(schema, 'appendlog_projections');
    const rows = await db.run(
      `UPDATE ${t} SET cursor = NULL, needs_reset = true, applied_sets = 0,
              rebuilt_at = pg_catalog.statement_timestamp()
        WHERE name = $1 RETURNING name`,
      [name],
    );
    return rows.length > 0;
  },
};
