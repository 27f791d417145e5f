import type { BenchConfig } from './config.js';
import type { ContenderId, Family } from './contender.js';
import { qi, rotate } from './data.js';
import { ds } from './datasets.js';
import type { BenchEngine } from './engine.js';
import { progress } from './progress.js';
import type { CellResult, SizeResult } from './results.js';
import { summarize } from './stats.js';

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

/**
 * Timed bulk loads into fresh tables, rotating the contenders. The family loads of the last round
 * are sized; a contender's own bulk path (the library's `insertMany`) is timed only, since it
 * loads its versions in another shape (one per entry).
 */
export async function bulkLoads(
  engine: BenchEngine,
  cfg: BenchConfig,
  results: CellResult[],
  sizes: SizeResult[],
): Promise<void> {
  const { entries, versions, rounds } = cfg.sizes[engine.name].bulk;
  const bulkContenders = engine.contenders.filter((c) => c.bulk !== null);
  const samples = new Map<ContenderId, number[]>();
  for (let r = 0; r < rounds; r++) {
    const order = rotate(bulkContenders, r);
    for (const c of order) {
      const family = c.family;
      const own = c.bulk === 'family' ? null : c.bulk;
      // Two contenders of one family each load tables of their own.
      const t = ds(family.id, `bulk${r}${own ? '_own' : ''}`);
      await family.create(t);
      const start = performance.now();
      await (own ?? family.bulkLoad)(t, entries, versions);
      const secs = (performance.now() - start) / 1000;
      const rate = (entries * versions) / secs;
      samples.set(c.id, [...(samples.get(c.id) ?? []), rate]);
      if (r === rounds - 1 && !own) {
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
      progress(
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
