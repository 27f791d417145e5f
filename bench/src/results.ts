import type { ContenderId, FamilyId } from './contender.js';
import type { BenchEngine } from './engine.js';
import type { Summary } from './stats.js';

export type WorkloadId =
  | 'insert'
  | 'update'
  | 'get'
  | 'list-50'
  | 'get-large'
  | 'list-50-large'
  | 'history'
  | 'as-of-one'
  | 'as-of-all'
  | 'list-all'
  | 'bulk-load'
  | 'verify';

export interface CellResult {
  workload: WorkloadId;
  /** Versions per entry of the dataset read; null where depth does not apply. */
  depth: number | null;
  clients: number;
  /** Writes only: commits waiting for the WAL flush (`sync`, the server default) or not (`async`). */
  commit: 'sync' | 'async' | null;
  unit: 'us/op' | 'ops/s' | 'versions/s';
  contender: ContenderId;
  summary: Summary;
}

export interface SizeResult {
  family: FamilyId;
  entries: number;
  versions: number;
  /** Bytes of every relation with indexes and TOAST, after the load and a plain VACUUM. */
  bytesLoaded: number;
  /** The same after VACUUM FULL (no dead space left). */
  bytesCompacted: number;
  /** Compacted bytes per relation (table with its indexes and TOAST). */
  relations: Record<string, number>;
  /** Compacted bytes of each heap and each index on its own, to see where the bytes go. */
  detail: Record<string, number>;
}

export interface EngineResult {
  engine: BenchEngine['name'];
  serverVersion: string;
  settings: Record<string, string>;
  setupSeconds: Record<string, number>;
  measureSeconds: number;
  cells: CellResult[];
  sizes: SizeResult[];
  /** What the integrity helper's `benchVerify` reported, when bench/verify.ts exists. */
  verify: Record<string, unknown> | null;
  notes: string[];
}

/** The verify benchmark of issue 4 (bench/verify.ts), when present. */
export type BenchVerify = (db: BenchEngine['db']) => Promise<Record<string, unknown>>;
