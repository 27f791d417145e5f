import type { BenchConfig } from './config.js';
import type { Contender } from './contender.js';
import { rng } from './data.js';
import { ds, type Prepared } from './datasets.js';
import type { BenchEngine } from './engine.js';
import type { CellResult, WorkloadId } from './results.js';
import { timeLatency, timeThroughput } from './stats.js';

/** One workload at one depth, client count and commit mode: measured once per contender per round. */
export interface Cell {
  workload: WorkloadId;
  depth: number | null;
  clients: number;
  commit: CellResult['commit'];
  unit: CellResult['unit'];
  /** The contenders this cell runs, in the engine's order. */
  contenders: Contender[];
  measure(c: Contender, ms: number): Promise<number>;
}

/** Every timed workload of one engine, in the order a round runs them. */
export function cells(engine: BenchEngine, cfg: BenchConfig, prep: Prepared): Cell[] {
  const sizes = cfg.sizes[engine.name];
  const random = rng(42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  let counter = 0;
  const out: Cell[] = [];
  const all = engine.contenders;
  const read = (
    workload: WorkloadId,
    depth: number | null,
    contenders: Contender[],
    measure: Cell['measure'],
  ) => out.push({ workload, depth, clients: 1, commit: null, unit: 'us/op', contenders, measure });

  const modes: Array<[CellResult['commit'], Contender[]]> = [['sync', all]];
  if (engine.asyncContenders) modes.push(['async', engine.asyncContenders]);
  for (const [commit, contenders] of modes) {
    out.push({
      workload: 'insert',
      depth: null,
      clients: 1,
      commit,
      unit: 'us/op',
      contenders,
      measure: (c, ms) => timeLatency(ms, 3, () => c.insert(ds(c.family.id, 'ins'), ++counter)),
    });
    for (const clients of engine.clients) {
      out.push({
        workload: 'update',
        depth: null,
        clients,
        commit,
        unit: 'ops/s',
        contenders,
        measure: (c, ms) => {
          const t = ds(c.family.id, 'upd');
          const ids = prep.ids.get(t)!;
          const share = Math.floor(ids.length / clients);
          // Each worker updates its own entries: no two clients wait on one row.
          // Throughput is a mean over the batch, so it gets longer batches than the latency medians.
          return timeThroughput(ms * 3, clients, (w) =>
            c.update(t, ids[w * share + Math.floor(random() * share)]!, `City ${++counter}`),
          );
        },
      });
    }
  }
  for (const depth of sizes.depths) {
    const t = (c: Contender) => ds(c.family.id, `d${depth}`);
    read('get', depth, all, (c, ms) => timeLatency(ms, 3, () => c.get(t(c), pick(prep.ids.get(t(c))!))));
    read('list-50', depth, all, (c, ms) => timeLatency(ms, 3, () => c.list(t(c), 50)));
    read(
      'history',
      depth,
      all.filter((c) => c.history !== null),
      (c, ms) => timeLatency(ms, 2, () => c.history!(t(c), pick(prep.samples.get(t(c))!).id)),
    );
    read(
      'as-of-one',
      depth,
      all.filter((c) => c.asOfOne !== null),
      (c, ms) =>
        timeLatency(ms, 3, () => {
          const s = pick(prep.samples.get(t(c))!);
          return c.asOfOne!(t(c), s.id, pick(s.times));
        }),
    );
  }
  const wide = (c: Contender) => ds(c.family.id, 'wide');
  read('list-all', sizes.wide.versions, all, (c, ms) => timeLatency(ms * 2, 2, () => c.list(wide(c), null)));
  read(
    'as-of-all',
    sizes.wide.versions,
    all.filter((c) => c.asOfAll !== null),
    (c, ms) => timeLatency(ms * 2, 2, () => c.asOfAll!(wide(c), prep.wideMoment.get(c.family.id)!)),
  );
  return out;
}
