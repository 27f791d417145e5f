import type { Stamp } from './data.js';

/** `baseline` is appendlog built from another checkout (`--baseline`), for before/after figures. */
export type FamilyId = 'plain' | 'history-trigger' | 'app-versions' | 'appendlog' | 'baseline';
export type ContenderId =
  | 'plain'
  | 'history-trigger'
  | 'app-versions'
  | 'appendlog'
  | 'appendlog-sql'
  | 'baseline'
  | 'baseline-sql';

/**
 * How one approach stores data: creating, filling (setup, untimed) and measuring its tables.
 * `appendlog` and `appendlog-sql` share one family: the same tables, read and written two ways.
 */
export interface Family {
  readonly id: FamilyId;
  /** Creates the empty tables of dataset `t`. */
  create(t: string): Promise<void>;
  /**
   * Fills dataset `t` (created, empty) with `entries` entries of `depth` versions each, set-based,
   * then compacts the current-state table as steady-state autovacuum would. Returns the entry ids
   * in creation order.
   */
  fill(t: string, entries: number, depth: number): Promise<string[]>;
  /** The recorded time of every version of one entry, oldest first (null: the family keeps no history). */
  versionTimes(t: string, id: string): Promise<Stamp[] | null>;
  /** A moment at which every entry of `t` had exactly `version` versions. */
  momentAfterVersion(t: string, version: number): Promise<Stamp | null>;
  /** Timed: loads `entries` × `versionsPerEntry` versions into the empty dataset `t`, set-based. */
  bulkLoad(t: string, entries: number, versionsPerEntry: number): Promise<void>;
  /** The relations holding `t` (tables; their indexes and TOAST count through pg_total_relation_size). */
  relations(t: string): string[];
  drop(t: string): Promise<void>;
}

/** One contender: a family read and written one particular way. Every method is one timed operation. */
export interface Contender {
  readonly id: ContenderId;
  readonly label: string;
  readonly family: Family;
  insert(t: string, n: number): Promise<void>;
  update(t: string, id: string, city: string): Promise<void>;
  get(t: string, id: string): Promise<unknown>;
  /** The current rows in creation order; `limit` null lists them all. */
  list(t: string, limit: number | null): Promise<unknown[]>;
  /** Every version of one entry, oldest first; null when the approach keeps no history. */
  readonly history: ((t: string, id: string) => Promise<unknown[]>) | null;
  /** One entry as it stood at `at`. */
  readonly asOfOne: ((t: string, id: string, at: Stamp) => Promise<unknown>) | null;
  /** The whole table as it stood at `at`. */
  readonly asOfAll: ((t: string, at: Stamp) => Promise<unknown[]>) | null;
  /**
   * The timed bulk load of `entries` × `versions` versions into the empty dataset `t`: `family`
   * runs the family's set-based SQL load (whose tables are then sized); a function is a bulk path
   * of the contender's own (timed, not sized); null: none.
   */
  readonly bulk: 'family' | BulkLoad | null;
}

/** A contender's own bulk path: `entries` × `versions` versions into the empty dataset `t`. */
export type BulkLoad = (t: string, entries: number, versions: number) => Promise<void>;
