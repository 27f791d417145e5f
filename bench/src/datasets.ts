import type { BenchConfig } from './config.js';
import type { FamilyId } from './contender.js';
import type { Stamp } from './data.js';
import type { BenchEngine } from './engine.js';
import { progress } from './progress.js';

const PREFIX: Record<FamilyId, string> = {
  plain: 'p',
  'history-trigger': 't',
  'app-versions': 'v',
  appendlog: 'a',
  baseline: 'b',
};
/** The table name of dataset `name` of family `f`. */
export const ds = (f: FamilyId, name: string) => `${PREFIX[f]}_${name}`;

/** What the workloads need to know about the datasets built. */
export interface Prepared {
  ids: Map<string, string[]>;
  /** Sample entries of each depth dataset with the time of each of their versions. */
  samples: Map<string, { id: string; times: Stamp[] }[]>;
  wideMoment: Map<FamilyId, Stamp | null>;
}

/** Builds every dataset of every family (untimed) and samples the moments as-of reads ask for. */
export async function prepare(
  engine: BenchEngine,
  cfg: BenchConfig,
): Promise<{ prep: Prepared; seconds: Record<string, number> }> {
  const sizes = cfg.sizes[engine.name];
  const prep: Prepared = { ids: new Map(), samples: new Map(), wideMoment: new Map() };
  const seconds: Record<string, number> = {};
  for (const family of engine.families) {
    const start = performance.now();
    const f = family.id;
    const build = async (name: string, entries: number, depth: number) => {
      const t = ds(f, name);
      await family.create(t);
      if (entries > 0) prep.ids.set(t, await family.fill(t, entries, depth));
    };
    await build('ins', 0, 0);
    await build('upd', cfg.updateEntries, 1);
    for (const depth of sizes.depths) {
      const t = ds(f, `d${depth}`);
      await build(`d${depth}`, cfg.depthEntries, depth);
      const ids = prep.ids.get(t)!;
      const samples: { id: string; times: Stamp[] }[] = [];
      for (const id of ids.slice(0, 8)) {
        const times = await family.versionTimes(t, id);
        if (times) samples.push({ id, times });
      }
      prep.samples.set(t, samples);
    }
    await build('wide', sizes.wide.entries, sizes.wide.versions);
    prep.wideMoment.set(
      f,
      await family.momentAfterVersion(ds(f, 'wide'), Math.floor(sizes.wide.versions / 2)),
    );
    seconds[f] = (performance.now() - start) / 1000;
    progress(`  [${engine.name}] built ${f} datasets in ${seconds[f]!.toFixed(1)} s`);
  }
  return { prep, seconds };
}
