import type { EngineName } from './engine.js';

/** The datasets of one engine. */
export interface EngineSizes {
  /** History depths (versions per entry) of the depth datasets. */
  depths: number[];
  /** The whole-table as-of dataset: entries × versions, read as of the middle of its history. */
  wide: { entries: number; versions: number };
  /** The timed bulk load: entries × versions, repeated `rounds` times. */
  bulk: { entries: number; versions: number; rounds: number };
}

/** What one run measures, and how long it spends doing it. */
export interface BenchConfig {
  quick: boolean;
  engines: EngineName[];
  /** Discarded rounds before measuring (connections warm, statements prepared, caches hot). */
  warmup: number;
  /** Measured rounds; each contender runs once per cell per round, in rotating order. */
  rounds: number;
  /** Wall time of one contender's batch in one cell. */
  batchMs: number;
  /** Entries per depth dataset (list reads 50 of them). */
  depthEntries: number;
  /** Entries of the table the update workloads write to. */
  updateEntries: number;
  sizes: Record<EngineName, EngineSizes>;
}

export function configFor(quick: boolean, engines: EngineName[]): BenchConfig {
  if (quick) {
    const sizes: EngineSizes = {
      depths: [1, 10, 100],
      wide: { entries: 1_000, versions: 20 },
      bulk: { entries: 1_000, versions: 10, rounds: 1 },
    };
    return {
      quick,
      engines,
      warmup: 1,
      rounds: 3,
      batchMs: 25,
      depthEntries: 50,
      updateEntries: 200,
      sizes: { postgres: sizes, pglite: sizes },
    };
  }
  return {
    quick,
    engines,
    warmup: 1,
    rounds: 10,
    batchMs: 40,
    depthEntries: 50,
    updateEntries: 1_000,
    sizes: {
      postgres: {
        depths: [1, 10, 100, 1_000, 10_000],
        wide: { entries: 10_000, versions: 20 },
        bulk: { entries: 10_000, versions: 10, rounds: 2 },
      },
      // Embedded and single-threaded, PGlite builds histories about twice as slowly: shallower
      // datasets keep the run within its time budget (the targets are PostgreSQL's).
      pglite: {
        depths: [1, 10, 100, 1_000],
        wide: { entries: 2_000, versions: 20 },
        bulk: { entries: 10_000, versions: 10, rounds: 1 },
      },
    },
  };
}
