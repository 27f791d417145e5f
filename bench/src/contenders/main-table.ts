import type { Contender } from '../contender.js';
import { COLUMNS, generatedValues, qi } from '../data.js';
import type { SqlClient } from '../sql-client.js';

/** The current-state table the three classic approaches share: a row per entry, updated in place. */
export function mainTableDdl(t: string): string {
  return `
CREATE TABLE ${qi(t)} (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  name text NOT NULL,
  address_line_1 text,
  city text,
  postcode text,
  tel text
) WITH (fillfactor = 80);
CREATE INDEX ${qi(`${t}_created_idx`)} ON ${qi(t)} (created_at, id);
`;
}

export const cols = COLUMNS.join(', ');
export const currentCols = `id, version, created_at, updated_at, ${cols}`;

/**
 * `get` and `list` on the main table: the same reads for the three approaches that keep the
 * current state in place. `prefix` keeps each contender's prepared statements apart.
 */
export function mainTableReads(sql: SqlClient, prefix: string): Pick<Contender, 'get' | 'list'> {
  return {
    async get(t, id) {
      return (
        await sql.query(`${prefix}_get_${t}`, `SELECT ${currentCols} FROM ${qi(t)} WHERE id = $1`, [id])
      )[0];
    },
    list(t, limit) {
      const lim = limit === null ? '' : ` LIMIT ${limit}`;
      return sql.query(
        `${prefix}_list${limit ?? ''}_${t}`,
        `SELECT ${currentCols} FROM ${qi(t)} ORDER BY created_at, id${lim}`,
      );
    },
  };
}

/** `$1 … $5` for the user columns, offset by `from`. */
export function colParams(from = 1): string {
  return COLUMNS.map((_, i) => `$${i + from}`).join(', ');
}

/**
 * The synthetic time of version `g` of entry `e` when `entries` entries were written level by
 * level from `$t0` on, one millisecond apart: chronological, like a real history.
 */
export function synthTime(t0: string, entries: number, g: string, e: string): string {
  return `(${t0}::timestamptz + ((((${g}) - 1)::bigint * ${entries} + (${e})) * interval '1 millisecond'))`;
}

/** Fills the main table with the final state of `entries` entries at `depth` versions. */
export async function fillMain(
  sql: SqlClient,
  t: string,
  entries: number,
  depth: number,
  t0: string,
): Promise<string[]> {
  await sql.query(
    null,
    `INSERT INTO ${qi(t)} (id, version, created_at, updated_at, ${cols})
     SELECT gen_random_uuid(), ${depth}, ${synthTime('$1', entries, '1', 'e')}, ${synthTime('$1', entries, String(depth), 'e')},
            ${generatedValues('e', String(depth)).join(', ')}
       FROM generate_series(1, ${entries}) e ORDER BY e`,
    [t0],
  );
  const rows = await sql.query<{ id: string }>(
    null,
    `SELECT id::text AS id FROM ${qi(t)} ORDER BY created_at, id`,
  );
  return rows.map((r) => r.id);
}

/** The main table numbered in creation order, for set-based history generation. */
export function numbered(t: string): string {
  return `(SELECT m.*, row_number() OVER (ORDER BY m.created_at, m.id) AS e FROM ${qi(t)} m)`;
}

/** A start time one day back, so that every synthetic history lies in the past. */
export function historyStart(): string {
  return new Date(Date.now() - 86_400_000).toISOString();
}
