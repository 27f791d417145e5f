/**
 * `npm run bench`: appendlog against plain CRUD and the approaches people use today, on
 * PostgreSQL (DATABASE_URL) and on PGlite, in one run. See docs/performance.md.
 *
 *   npm run bench                      full run (about 10 minutes)
 *   npm run bench -- --quick           smoke run (about a minute)
 *   npm run bench -- --engines=pglite  one engine only (postgres, pglite)
 *   npm run bench -- --only=realtime   the realtime feed only (latency, catch-up)
 *   npm run bench -- --only=app-pages  the Address Book's pages only (latency, size, memory)
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type AppPagesResult, appPagesTable, benchAppPages } from './src/app-pages.js';
import { depthChart } from './src/chart.js';
import { type BenchConfig, configFor } from './src/config.js';
import { type BenchEngine, type EngineName, openPGlite, openPostgres } from './src/engine.js';
import { spliceResults } from './src/markdown.js';
import { benchRealtime, type RealtimeResult, realtimeTable } from './src/realtime.js';
import { checkTargets, engineTable, type TargetCheck, targetsTable } from './src/report.js';
import type { BenchVerify, EngineResult } from './src/results.js';
import { runEngine } from './src/suite.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

interface Args {
  quick: boolean;
  /** Only the realtime measurements (no report files written). */
  realtimeOnly: boolean;
  /** Only the Address Book's pages (printed, no report files written). */
  appPagesOnly: boolean;
  engines: EngineName[];
  baseline: string | null;
}

function parseArgs(argv: string[]): Args {
  let quick = false;
  let realtimeOnly = false;
  let appPagesOnly = false;
  let engines: EngineName[] = ['postgres', 'pglite'];
  let baseline: string | null = null;
  for (const a of argv) {
    if (a === '--quick') quick = true;
    else if (a === '--only=realtime') realtimeOnly = true;
    else if (a === '--only=app-pages') appPagesOnly = true;
    else if (a.startsWith('--baseline=')) baseline = path.resolve(a.slice('--baseline='.length));
    else if (a.startsWith('--engines=')) {
      engines = a
        .slice('--engines='.length)
        .split(',')
        .map((e) => {
          if (e !== 'postgres' && e !== 'pglite') throw new Error(`unknown engine "${e}" (postgres, pglite)`);
          return e;
        });
    } else
      throw new Error(
        `unknown argument "${a}" (--quick, --engines=postgres,pglite, --baseline=DIR, --only=realtime, --only=app-pages)`,
      );
  }
  return { quick, realtimeOnly, appPagesOnly, engines, baseline };
}

/** `benchVerify` of bench/verify.ts (issue 4), when that file exists. */
async function loadVerify(): Promise<BenchVerify | null> {
  const file = path.join(here, 'verify.ts');
  if (!existsSync(file)) return null;
  const mod = (await import(pathToFileURL(file).href)) as { benchVerify?: BenchVerify };
  return typeof mod.benchVerify === 'function' ? mod.benchVerify : null;
}

/** `connect` of another appendlog build (a package directory with a built dist/). */
async function loadBaseline(dir: string | null): Promise<typeof import('appendlog').connect | null> {
  if (dir === null) return null;
  const mod = (await import(
    pathToFileURL(path.join(dir, 'dist', 'index.js')).href
  )) as typeof import('appendlog');
  return mod.connect;
}

function version(pkg: string): string {
  try {
    return (
      JSON.parse(readFileSync(path.join(root, 'node_modules', pkg, 'package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const url = process.env.DATABASE_URL;
  const engines = args.engines.filter((e) => {
    if (e === 'postgres' && !url) {
      process.stderr.write('*** DATABASE_URL is not set: PostgreSQL SKIPPED, only PGlite is measured. ***\n');
      return false;
    }
    return true;
  });
  if (args.realtimeOnly) {
    for (const name of engines)
      process.stdout.write(`${realtimeTable(await benchRealtime(name, url, args.quick))}\n`);
    return;
  }
  if (args.appPagesOnly) {
    for (const name of engines) process.stdout.write(`${appPagesTable(await benchAppPages(name, url))}\n`);
    return;
  }
  const cfg: BenchConfig = configFor(args.quick, engines);
  const baseline = await loadBaseline(args.baseline);
  const benchVerify = await loadVerify();
  const started = new Date();
  const results: EngineResult[] = [];
  const checks: TargetCheck[] = [];
  // Ctrl-C still drops the bench schema.
  let open: BenchEngine | null = null;
  process.once('SIGINT', () => {
    interrupted = true;
    process.stderr.write('\ninterrupted: dropping the bench schema\n');
    void (open?.close() ?? Promise.resolve()).finally(() => process.exit(130));
  });
  for (const name of engines) {
    const engine: BenchEngine =
      name === 'postgres' ? await openPostgres(url!, baseline) : await openPGlite(baseline);
    open = engine;
    try {
      const r = await runEngine(engine, cfg, benchVerify);
      results.push(r);
      checks.push(...checkTargets(r, cfg.sizes[name].depths));
    } finally {
      open = null;
      await engine.close();
    }
  }
  for (const r of results) process.stdout.write(`${engineTable(r, cfg.rounds)}\n`);
  process.stdout.write(`${targetsTable(checks)}\n`);
  // The Address Book's pages at 100 and 10,000 people (about 15 s per engine); not in --quick.
  const appPages: AppPagesResult[] = [];
  if (!cfg.quick) {
    for (const name of engines) appPages.push(await benchAppPages(name, url));
    for (const r of appPages) process.stdout.write(`${appPagesTable(r)}\n`);
  }

  // The realtime feed: commit → handler latency under two writers, catch-up throughput (issue 21).
  const realtime: RealtimeResult[] = [];
  for (const name of engines) realtime.push(await benchRealtime(name, url, cfg.quick));
  for (const r of realtime) process.stdout.write(`${realtimeTable(r)}\n`);

  const cpus = os.cpus();
  const report = {
    date: started.toISOString(),
    durationSeconds: (Date.now() - started.getTime()) / 1000,
    quick: cfg.quick,
    baseline: args.baseline,
    machine: {
      cpu: cpus[0]?.model ?? 'unknown',
      cores: cpus.length,
      memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
      os: `${os.type()} ${os.release()} ${os.arch()}`,
      loadAverageAtEnd: os.loadavg(),
    },
    versions: {
      node: process.version,
      appendlog: version('appendlog'),
      pg: version('pg'),
      pglite: version('@electric-sql/pglite'),
      servers: Object.fromEntries(results.map((r) => [r.engine, r.serverVersion])),
    },
    config: cfg,
    targets: checks,
    engines: results,
    appPages,
    realtime,
  };
  const dir = path.join(here, 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${started.toISOString().slice(0, 10)}${cfg.quick ? '-quick' : ''}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`\nresults: ${path.relative(root, file)}\n`);
  if (!cfg.quick) {
    const svg = path.join(root, 'docs', 'images', 'bench-depth.svg');
    mkdirSync(path.dirname(svg), { recursive: true });
    writeFileSync(svg, depthChart(results));
    process.stdout.write(`chart:   ${path.relative(root, svg)}\n`);
    const docPath = path.join(root, 'docs', 'performance.md');
    if (existsSync(docPath)) {
      const stamp = `${started.toISOString().slice(0, 16).replace('T', ' ')} UTC (${report.machine.cores} × ${report.machine.cpu})`;
      const doc = spliceResults(readFileSync(docPath, 'utf8'), results, checks, stamp);
      if (doc !== null) {
        writeFileSync(docPath, doc);
        process.stdout.write(`tables:  ${path.relative(root, docPath)}\n`);
      }
    }
  }
  process.stdout.write(`took ${(report.durationSeconds / 60).toFixed(1)} min\n`);
}

/** Set on Ctrl-C: the SIGINT handler closes the engine and exits, whatever main() does meanwhile. */
let interrupted = false;

main().catch((err: unknown) => {
  if (interrupted) return;
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
