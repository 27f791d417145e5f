import type { Version } from '../model/version.js';
import type { TableDef } from '../schema/table.js';
import { decodeVersion } from './codec.js';

/**
 * One version in a change set, with the table it belongs to.
 *
 * @example
 * for (const v of set.versions) console.log(v.table, v.entryId, v.version, v.op);
 */
export interface ChangedVersion extends Version<Record<string, unknown>> {
  table: string;
}

/**
 * Every version one transaction wrote, across tables, in write order.
 *
 * @example
 * const [set] = (await db.changes()).changes;
 * console.log(`${set.actor} changed ${set.versions.length} rows at ${set.recordedAtIso}`);
 */
export interface ChangeSet {
  txId: string;
  /**
   * On a row-sharded schema (docs/scale-out.md), the Citus node group whose transaction this was:
   * each node numbers its own, so `txId` is that node's. Absent elsewhere.
   */
  node?: number;
  /** When the transaction wrote its first version (see `recordedAtIso` for microseconds). */
  recordedAt: Date;
  recordedAtIso: string;
  /** The actor of the transaction's first version. */
  actor: string | null;
  versions: ChangedVersion[];
}

/**
 * The answer of `db.changes`: the change sets, oldest transaction first, and the cursor to pass
 * as `since` next time.
 *
 * @example
 * const { changes, cursor } = await db.changes({ since: saved });
 */
export interface ChangesResult {
  changes: ChangeSet[];
  /**
   * The txId of the last change set returned, or the `since` given when there was none. On a
   * row-sharded schema, a position per node (`"<node>:<txId>,…"`). Either way, pass it as it is.
   */
  cursor: string | null;
}

/**
 * The change sets of rows as the feed's queries return them (the table's name, the version as
 * JSON, and on a row-sharded schema the writing node `g`), in set order: consecutive versions of
 * one transaction, of one node, form one set.
 */
export function groupChangeSets(
  defs: readonly TableDef[],
  rows: readonly { table_name: string; row: string; g?: number }[],
): ChangeSet[] {
  const byName = new Map(defs.map((d) => [d.name, d]));
  const sets: ChangeSet[] = [];
  for (const r of rows) {
    const version: ChangedVersion = {
      table: r.table_name,
      ...decodeVersion<Record<string, unknown>>(
        byName.get(r.table_name)!,
        JSON.parse(r.row) as Record<string, unknown>,
      ),
    };
    const node = r.g === undefined ? undefined : Number(r.g);
    const last = sets.at(-1);
    if (last?.txId === version.txId && last.node === node) last.versions.push(version);
    else {
      sets.push({
        txId: version.txId,
        ...(node === undefined ? {} : { node }),
        recordedAt: version.recordedAt,
        recordedAtIso: version.recordedAtIso,
        actor: version.actor,
        versions: [version],
      });
    }
  }
  return sets;
}
