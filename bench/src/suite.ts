import { bulkLoads } from './bulk.js';
import type { BenchConfig } from './config.js';
import type { ContenderId } from './contender.js';
import { rotate } from './data.js';
import { prepare } from './datasets.js';
import type { BenchEngine } from './engine.js';
import { progress } from './progress.js';
import type { BenchVerify, CellResult, EngineResult, SizeResult } from './results.js';
import { summarize, timeInterleaved } from './stats.js';
import { type Cell, cells } from './workloads.js';

/** Runs every workload on one engine: build, measure round-robin, bulk-load, size. */
export async function runEngine(
  engine: BenchEngine,
  cfg: BenchConfig,
  benchVerify: BenchVerify | null,
): Promise<EngineResult> {
  const notes: string[] = [];
  progress(`[${engine.name}] ${engine.serverVersion}`);
  const { prep, seconds } = await prepare(engine, cfg);
  await settle(engine);
  const list = cells(engine, cfg, prep);
  const samples = new Map<Cell, Map<ContenderId, number[]>>();
  const start = performance.now();
  for (let r = 0; r < cfg.warmup + cfg.rounds; r++) {
    for (const [i, cell] of list.entries()) {
      const order = rotate(cell.contenders, r + i);
      const ms = cfg.batchMs * cell.scale;
      const values = cell.op
        ? await timeInterleaved(order, ms * order.length, cell.minOps, cell.op)
        : await sequential(order, (c) => cell.batch!(c, ms));
      if (r < cfg.warmup) continue;
      let byContender = samples.get(cell);
      if (!byContender) {
        byContender = new Map();
        samples.set(cell, byContender);
      }
      for (const [k, c] of order.entries())
        byContender.set(c.id, [...(byContender.get(c.id) ?? []), values[k]!]);
    }
    progress(
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
  // Verify before the bulk loads: their tables' autovacuum would still be running beside it.
  let verify: Record<string, unknown> | null = null;
  if (benchVerify && !cfg.quick) {
    progress(`  [${engine.name}] verify (bench/verify.ts)`);
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
  const sizes: SizeResult[] = [];
  await bulkLoads(engine, cfg, results, sizes);
  if (engine.name === 'pglite')
    notes.push('PGlite has a single connection: the 2-client update workload runs on PostgreSQL only.');
  notes.push(
    "bulk load: the library's row is insertMany, every version a new entry; the others load entries × versions, one statement per level.",
  );
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

/**
 * Brings the server to rest after the datasets were built: every table vacuumed and analyzed
 * (or autovacuum would work through the freshly loaded tables while the first rounds are timed,
 * taking one of the machine's cores from whichever contender it overlaps), then a checkpoint, so
 * the one the loads' WAL would trigger does not land in the middle of a cell either.
 */
async function settle(engine: BenchEngine): Promise<void> {
  if (engine.sql.kind !== 'postgres') return;
  const start = performance.now();
  const tables = await engine.sql.query<{ t: string }>(
    null,
    `SELECT format('%I.%I', schemaname, relname) AS t FROM pg_catalog.pg_stat_user_tables
      WHERE schemaname = current_schema()`,
  );
  for (const { t } of tables) await engine.sql.exec(`VACUUM (ANALYZE) ${t}`);
  // CHECKPOINT needs a superuser or pg_checkpoint; without either the run goes on without it.
  await engine.sql.exec('CHECKPOINT').catch(() => progress(`  [${engine.name}] no CHECKPOINT (not allowed)`));
  progress(
    `  [${engine.name}] vacuumed ${tables.length} tables and checkpointed in ${((performance.now() - start) / 1000).toFixed(1)} s`,
  );
}

/** Runs `fn` for each item, one after the other. */
async function sequential<T>(items: readonly T[], fn: (item: T) => Promise<number>): Promise<number[]> {
  const out: number[] = [];
  for (const item of items) out.push(await fn(item));
  return out;
}
