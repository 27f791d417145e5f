import type { TableObjects } from './names.js';

/**
 * The FROM and WHERE of "the table as it stood at `at`" over head alias `h` and log alias `l`
 * (the version each live entry had then). `at` is a SQL expression of type timestamptz.
 *
 * Both the SQL function `<t>_as_of(timestamptz)` and `Table.listAt` are built from this one
 * fragment, so they cannot disagree. Plan: one pass over the head, and per entry created by
 * `at` one backward probe of the `(entry_id, recorded_at)` index for the newest version not
 * after `at`; times strictly increase along an entry's chain, so that version is unique.
 */
export function asOfFromSql(o: Pick<TableObjects, 'head' | 'log'>, at: string): string {
  return `FROM ${o.head} h
    CROSS JOIN LATERAL (
      SELECT * FROM ${o.log} x
       WHERE x.entry_id = h.entry_id AND x.recorded_at <= ${at}
       ORDER BY x.recorded_at DESC
       LIMIT 1
    ) l
   WHERE h.created_at <= ${at} AND h.op <> 'forget' AND l.op NOT IN ('delete', 'forget')`;
}
