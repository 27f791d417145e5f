import type { Database } from '../../src/index.js';
import { tableObjects } from '../../src/sql/names.js';
import { parentHashSql } from '../../src/sql/version-fields.js';

/** The head's columns that copy the version it holds from the log, as the chain trigger sets them. */
const COPIED = [
  'version',
  'op',
  'recorded_at',
  'tx_id',
  'actor',
  'reason',
  'meta',
  'hash',
  'parent_hash',
  'redacted_at',
  'seq',
];

/**
 * Makes the head hold the log's version `version` of an entry (its latest when not given), whole,
 * as a superuser who rewrote the log must for the rewrite to stay consistent: the head keeps a
 * copy of the latest version, and verify compares the two. Run with the triggers off
 * (`session_replication_role = replica`).
 */
export async function headFromLog(
  tx: Database,
  schema: string,
  table: string,
  columns: readonly { sqlName: string }[],
  entryId: string,
  version?: number,
): Promise<void> {
  const o = tableObjects(schema, table);
  const copied = [...COPIED, ...columns.map((c) => `"${c.sqlName}"`)];
  await tx.query(
    `UPDATE ${o.head} h SET ${copied.map((c) => `${c} = ${c === 'parent_hash' ? parentHashSql('x', o.log) : `x.${c}`}`).join(', ')},
            deleted = x.op IN ('delete', 'forget')
       FROM ${o.log} x
      WHERE h.entry_id = $1 AND x.entry_id = h.entry_id
        AND x.version = coalesce($2::integer, (SELECT max(m.version) FROM ${o.log} m WHERE m.entry_id = $1))`,
    [entryId, version ?? null],
  );
}
