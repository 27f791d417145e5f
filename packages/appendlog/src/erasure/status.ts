import { quoteLiteral } from '../schema/names.js';
import { utcIsoSql } from '../sql/canonical.js';
import { catalogName, tableObjects } from '../sql/names.js';
import { op } from '../sql/search-path.js';

/**
 * Where a forgotten entry stands: scheduled for erasure, or erased. What a UI needs to print
 * "erased on <erasedAt>: <reason>" in place of the versions' data.
 *
 * @example
 * const e = await book.erasure(id);
 * if (e?.state === 'erased') console.log(`erased on ${e.erasedAt.toISOString()}: ${e.reason}`);
 * if (e?.state === 'scheduled') console.log(`will be erased after ${e.dueAt.toISOString()}`);
 */
export type ErasureStatus =
  | (ErasureCommon & { state: 'scheduled'; erasedAt: null; versions: null })
  | (ErasureCommon & { state: 'erased'; erasedAt: Date; versions: number });

interface ErasureCommon {
  /** The reason given to `forget` (kept after erasure: the metadata is never redacted). */
  reason: string;
  /** Who asked to forget the entry. */
  forgottenBy: string | null;
  /** When the `forget` version was recorded. */
  forgottenAt: Date;
  /** From then on `purge` erases the entry; until then `cancelForget` can take the request back. */
  dueAt: Date;
  /** The version number of the `forget` version. */
  forgetVersion: number;
}

/** The statement reading an entry's erasure status (`$1`: entry id). */
export function erasureStatusSql(schema: string, table: string): string {
  const o = tableObjects(schema, table);
  const ts = utcIsoSql;
  return `SELECT h.op, h.version, l.reason, l.actor, ${ts('l.recorded_at')} AS forgotten_at,
                 l.meta ${op('->')} 'erasure' ${op('->>')} 'dueAt' AS due_at, ${ts('e.erased_at')} AS erased_at, e.versions
            FROM ${o.head} h
            JOIN ${o.log} l ON l.entry_id = h.entry_id AND l.version = h.version
            LEFT JOIN ${catalogName(schema, 'appendlog_erasures')} e
                   ON e.table_name = ${quoteLiteral(table)} AND e.entry_id = h.entry_id
           WHERE h.entry_id = $1`;
}

/** A row of {@link erasureStatusSql}. */
export interface ErasureStatusRow {
  op: string;
  version: number;
  reason: string | null;
  actor: string | null;
  forgotten_at: string;
  due_at: string | null;
  erased_at: string | null;
  versions: number | null;
}

/** The status of an entry whose head is a `forget` version. */
export function decodeErasureStatus(row: ErasureStatusRow): ErasureStatus {
  const common: ErasureCommon = {
    reason: row.reason ?? '',
    forgottenBy: row.actor,
    forgottenAt: new Date(row.forgotten_at),
    dueAt: new Date(String(row.due_at)),
    forgetVersion: Number(row.version),
  };
  return row.erased_at === null
    ? { ...common, state: 'scheduled', erasedAt: null, versions: null }
    : { ...common, state: 'erased', erasedAt: new Date(row.erased_at), versions: Number(row.versions) };
}

/** The statement finding what a cancelForget must append (`$1`: entry id). */
export function cancelForgetLookupSql(schema: string, table: string): string {
  const o = tableObjects(schema, table);
  return `SELECT h.version, h.op, p.op AS prior_op
            FROM ${o.head} h
            LEFT JOIN ${o.log} p ON p.entry_id = h.entry_id AND p.version = h.version - 1
           WHERE h.entry_id = $1`;
}
