import type { BenchConfig } from './config.js';
import type { Contender } from './contender.js';
import { rng } from './data.js';
import { ds, type Prepared } from './datasets.js';
import type { BenchEngine } from './engine.js';
import type { CellResult, WorkloadId } from './results.js';
import { timeThroughput } from './stats.js';

/** One workload at one depth, client count and commit mode: measured for every contender each round. */
export interface Cell {
  workload: WorkloadId;
  depth: number | null;
  clients: number;
  commit: CellResult['commit'];
  unit: CellResult['unit'];
  /** The contenders this cell runs, in the engine's order. */
  contenders: Contender[];
  /** Batch length as a multiple of the configured batch. */
  scale: number;
  /**
   * Latency cells: one operation. The runner interleaves the contenders operation by operation
   * (a, b, c, a, b, c …), so a stall of the machine hits them alike.
   */
  op?: (c: Contender) => Promise<unknown>;
  /** The fewest operations per contender and round (latency cells). */
  minOps: number;
  /** Throughput cells: one contender's batch of `ms` milliseconds; returns operations per second. */
  batch?: (c: Contender, ms: number) => Promise<number>;
}

/** Every timed workload of one engine, in the order a round runs them. */
export function cells(engine: BenchEngine, cfg: BenchConfig, prep: Prepared): Cell[] {
  const sizes = cfg.sizes[engine.name];
  const random = rng(42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  let counter = 0;
  const out: Cell[] = [];
  const all = engine.contenders;
  const latency = (
    workload: WorkloadId,
    depth: number | null,
    contenders: Contender[],
    op: (c: Contender) => Promise<unknown>,
    more: Partial<Cell> = {},
  ) =>
    out.push({
      workload,
      depth,
      clients: 1,
      commit: null,
      unit: 'us/op',
      contenders,
      scale: 1,
      minOps: 3,
      op,
      ...more,
    });

  const modes: Array<[CellResult['commit'], Contender[]]> = [['sync', all]];
  if (engine.asyncContenders) modes.push(['async', engine.asyncContenders]);
  for (const [commit, contenders] of modes) {
    latency('insert', null, contenders, (c) => c.insert(ds(c.family.id, 'ins'), ++counter), { commit });
    for (const clients of engine.clients) {
      out.push({
        workload: 'update',
        depth: null,
        clients,
        commit,
        unit: 'ops/s',
        contenders,
        // Throughput is a mean over one contender's batch, so it gets longer batches.
        scale: 3,
        minOps: 0,
        batch: (c, ms) => {
          const t = ds(c.family.id, 'upd');
          const ids = prep.ids.get(t)!;
          const share = Math.floor(ids.length / clients);
          // Each worker updates its own entries: no two clients wait on one row.
          return timeThroughput(ms, clients, (w) =>
            c.update(t, ids[w * share + Math.floor(random() * share)]!, `City ${++counter}`),
          );
        },
      });
    }
  }
  for (const depth of sizes.depths) {
    const t = (c: Contender) => ds(c.family.id, `d${depth}`);
    latency('get', depth, all, (c) => c.get(t(c), pick(prep.ids.get(t(c))!)));
    latency('list-50', depth, all, (c) => c.list(t(c), 50));
    latency(
      'history',
      depth,
      all.filter((c) => c.history !== null),
      (c) => c.history!(t(c), pick(prep.samples.get(t(c))!).id),
      { minOps: 2 },
    );
    latency(
      'as-of-one',
      depth,
      all.filter((c) => c.asOfOne !== null),
      (c) => {
        const s = pick(prep.samples.get(t(c))!);
        return c.asOfOne!(t(c), s.id, pick(s.times));
      },
    );
  }
  const wide = (c: Contender) => ds(c.family.id, 'wide');
  // The depth tables hold 50 entries, few enough for the planner to prefer sequential scans;
  // against plain, get and list are also measured on the large table (10,000 entries).
  latency('get-large', sizes.wide.versions, all, (c) => c.get(wide(c), pick(prep.ids.get(wide(c))!)));
  latency('list-50-large', sizes.wide.versions, all, (c) => c.list(wide(c), 50));
  latency('list-all', sizes.wide.versions, all, (c) => c.list(wide(c), null), { scale: 2, minOps: 2 });
  latency(
    'as-of-all',
    sizes.wide.versions,
    all.filter((c) => c.asOfAll !== null),
    (c) => c.asOfAll!(wide(c), prep.wideMoment.get(c.family.id)!),
    { scale: 2, minOps: 2 },
  );
  return out;
}
