/** The five kinds of change a version records. */
export const OPS = ['insert', 'update', 'delete', 'restore', 'forget'] as const;

/** What a version records: one of {@link OPS}. */
export type Op = (typeof OPS)[number];

/**
 * Whether a version with this op takes its entry out of the current state (a delete, or a
 * forget): the head marks the entry deleted, and `get`, `list` and `at` answer without it.
 */
export function removesEntry(op: unknown): boolean {
  return op === 'delete' || op === 'forget';
}

/**
 * One version of an entry, as every read and write returns it.
 *
 * @example
 * const v = await book.update(id, { city: 'Oslo' }, { reason: 'moved' });
 * v.version;     // 2
 * v.parentHash;  // the hash of version 1: the chain link
 * v.data.city;   // 'Oslo'
 */
export interface Version<T> {
  /** The entry's identity across versions (a UUID). */
  entryId: string;
  /** 1, 2, 3 … per entry, assigned by the database, never a gap. */
  version: number;
  op: Op;
  /** When the version was recorded (millisecond precision; see `recordedAtIso`). */
  recordedAt: Date;
  /** The exact recording time, ISO 8601 in UTC with microseconds: `2026-11-26T09:25:10.123456Z`. */
  recordedAtIso: string;
  /** The PostgreSQL transaction that wrote it; versions written together share it. */
  txId: string;
  actor: string | null;
  reason: string | null;
  meta: Record<string, unknown> | null;
  /** SHA-256 of this version (hex), per docs/spec.md. */
  hash: string;
  /** The previous version's hash (hex); null for version 1. */
  parentHash: string | null;
  /** Set once erasure has redacted this version's content. */
  redactedAt: Date | null;
  data: T;
}
