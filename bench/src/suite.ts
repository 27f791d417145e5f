import type { BenchConfig } from './config.js';
import type { Contender, ContenderId, Family, FamilyId } from './contender.js';
import { qi, rng, type Stamp } from './data.js';
import type { BenchEngine } from './engine.js';
import { type Summary, summarize, timeLatency, timeThroughput } from './stats.js';

export type WorkloadId =
  | 'insert'
  | 'update'
  | 'get'
  | 'list-50'
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

const PREFIX: Record<FamilyId, string> = {
  plain: 'p',
  'history-trigger': 't',
  'app-versions': 'v',
  appendlog: 'a',
  baseline: 'b',
};
const ds = (f: FamilyId, name: string) => `${PREFIX[f]}_${name}`;

interface Prepared {
  ids: Map<string, string[]>;
  /** Sample entries of each depth dataset with the time of each of their versions. */
  samples: Map<string, { id: string; times: Stamp[] }[]>;
  wideMoment: Map<FamilyId, Stamp | null>;
}

function log(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

async function prepare(
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
    log(`  [${engine.name}] built ${f} datasets in ${seconds[f]!.toFixed(1)} s`);
  }
  return { prep, seconds };
}

interface Cell {
  workload: WorkloadId;
  depth: number | null;
  clients: number;
  commit: CellResult['commit'];
  unit: CellResult['unit'];
  /** The contenders this cell runs, in the engine's order. */
  contenders: Contender[];
  measure(c: Contender, ms: number): Promise<number>;
}

function cells(engine: BenchEngine, cfg: BenchConfig, prep: Prepared): Cell[] {
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

async function sizeOf(engine: BenchEngine, family: Family, t: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const rel of family.relations(t)) {
    const [row] = await engine.sql.query<{ n: string }>(
      null,
      `SELECT pg_total_relation_size($1::regclass)::text AS n`,
      [qi(rel)],
    );
    out[rel] = Number(row!.n);
  }
  return out;
}

/** The heap (with TOAST) and every index of each relation, separately. */
async function detailOf(engine: BenchEngine, family: Family, t: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const rel of family.relations(t)) {
    const rows = await engine.sql.query<{ name: string; n: string }>(
      null,
      `SELECT $2::text || ' (heap)' AS name, (pg_table_size($1::regclass))::text AS n
       UNION ALL
       SELECT c.relname::text, pg_relation_size(i.indexrelid)::text
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = $1::regclass`,
      [qi(rel), rel],
    );
    for (const r of rows) out[r.name] = Number(r.n);
  }
  return out;
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

async function bulkLoads(
  engine: BenchEngine,
  cfg: BenchConfig,
  results: CellResult[],
  sizes: SizeResult[],
): Promise<void> {
  const { entries, versions, rounds } = cfg.sizes[engine.name].bulk;
  const bulkContenders = engine.contenders.filter((c) => c.bulk);
  const samples = new Map<ContenderId, number[]>();
  for (let r = 0; r < rounds; r++) {
    const order = rotate(bulkContenders, r);
    for (const c of order) {
      const family = c.family;
      const t = ds(family.id, `bulk${r}`);
      await family.create(t);
      const start = performance.now();
      await family.bulkLoad(t, entries, versions);
      const secs = (performance.now() - start) / 1000;
      const rate = (entries * versions) / secs;
      samples.set(c.id, [...(samples.get(c.id) ?? []), rate]);
      if (r === rounds - 1) {
        for (const rel of family.relations(t)) await engine.sql.exec(`VACUUM ANALYZE ${qi(rel)}`);
        const loaded = await sizeOf(engine, family, t);
        for (const rel of family.relations(t)) await engine.sql.exec(`VACUUM FULL ${qi(rel)}`);
        const compacted = await sizeOf(engine, family, t);
        sizes.push({
          family: family.id,
          entries,
          versions: entries * versions,
          bytesLoaded: sum(loaded),
          bytesCompacted: sum(compacted),
          relations: compacted,
          detail: await detailOf(engine, family, t),
        });
      }
      await family.drop(t);
      log(
        `  [${engine.name}] bulk load ${c.id}: ${(entries * versions).toLocaleString('en')} versions in ${secs.toFixed(2)} s`,
      );
    }
  }
  for (const [contender, s] of samples) {
    results.push({
      workload: 'bulk-load',
      depth: versions,
      clients: 1,
      commit: 'sync',
      unit: 'versions/s',
      contender,
      summary: summarize(s),
    });
  }
}

function rotate<T>(xs: readonly T[], by: number): T[] {
  const k = ((by % xs.length) + xs.length) % xs.length;
  return [...xs.slice(k), ...xs.slice(0, k)];
}

/** Runs every workload on one engine: build, measure round-robin, bulk-load, size. */
export async function runEngine(
  engine: BenchEngine,
  cfg: BenchConfig,
  benchVerify: BenchVerify | null,
): Promise<EngineResult> {
  const notes: string[] = [];
  log(`[${engine.name}] ${engine.serverVersion}`);
  const { prep, seconds } = await prepare(engine, cfg);
  const list = cells(engine, cfg, prep);
  const samples = new Map<Cell, Map<ContenderId, number[]>>();
  const start = performance.now();
  for (let r = 0; r < cfg.warmup + cfg.rounds; r++) {
    for (const [i, cell] of list.entries()) {
      for (const c of rotate(cell.contenders, r + i)) {
        const value = await cell.measure(c, cfg.batchMs);
        if (r < cfg.warmup) continue;
        let byContender = samples.get(cell);
        if (!byContender) {
          byContender = new Map();
          samples.set(cell, byContender);
        }
        byContender.set(c.id, [...(byContender.get(c.id) ?? []), value]);
      }
    }
    log(
      `  [${engine.name}] ${r < cfg.warmup ? 'warm-up' : 'round'} ${r < cfg.warmup ? r + 1 : r - cfg.warmup + 1} done (${((performance.now() - start) / 1000).toFixed(0)} s)`,
    );
  }
  const results: CellResult[] = [];
  for (const cell of list) {
    for (const [contender, s] of samples.get(cell) ?? []) {
      results.push({
        workload: cell.workload,
        depth: cell.depth,
        clients: cell.clients,
        commit: cell.commit,
        unit: cell.unit,
        contender,
        summary: summarize(s),
      });
    }
  }
  const sizes: SizeResult[] = [];
  await bulkLoads(engine, cfg, results, sizes);
  if (engine.name === 'pglite')
    notes.push('PGlite has a single connection: the 2-client update workload runs on PostgreSQL only.');
  notes.push('The library has no bulk API; bulk loads through SQL are the "appendlog (SQL)" row.');
  let verify: Record<string, unknown> | null = null;
  if (benchVerify && !cfg.quick) {
    log(`  [${engine.name}] verify (bench/verify.ts)`);
    verify = await benchVerify(engine.db);
    const rate = Number(verify.versionsPerSecond);
    if (Number.isFinite(rate)) {
      results.push({
        workload: 'verify',
        depth: null,
        clients: 1,
        commit: null,
        unit: 'versions/s',
        contender: 'appendlog',
        summary: summarize([rate]),
      });
    }
  } else {
    notes.push(
      benchVerify
        ? 'verify skipped in --quick runs (it loads 120,000 versions of its own).'
        : 'verify skipped: bench/verify.ts (issue 4) is not in this checkout.',
    );
  }
  return {
    engine: engine.name,
    serverVersion: engine.serverVersion,
    settings: engine.settings,
    setupSeconds: seconds,
    measureSeconds: (performance.now() - start) / 1000,
    cells: results,
    sizes,
    verify,
    notes,
  };
}
