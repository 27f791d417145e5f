import type { ContenderId } from './contender.js';
import type { CellResult, EngineResult, SizeResult, WorkloadId } from './results.js';

export const CONTENDERS: { id: ContenderId; label: string }[] = [
  { id: 'plain', label: 'plain' },
  { id: 'history-trigger', label: 'history trigger' },
  { id: 'app-versions', label: 'app versions' },
  { id: 'appendlog', label: 'appendlog lib' },
  { id: 'appendlog-sql', label: 'appendlog SQL' },
  { id: 'baseline', label: 'lib (baseline)' },
  { id: 'baseline-sql', label: 'SQL (baseline)' },
];

const WORKLOAD_LABEL: Record<WorkloadId, string> = {
  insert: 'insert',
  update: 'update',
  get: 'get by id',
  'list-50': 'list 50 current',
  'get-large': 'get by id, large',
  'list-50-large': 'list 50, large',
  history: 'history of 1 entry',
  'as-of-one': 'as-of, 1 entry',
  'as-of-all': 'as-of, whole table',
  'list-all': 'list whole table',
  'bulk-load': 'bulk load',
  verify: 'verify',
};

export function workloadLabel(w: WorkloadId): string {
  return WORKLOAD_LABEL[w];
}

function rowLabel(c: CellResult): string {
  return `${workloadLabel(c.workload)}${c.commit === 'async' ? ' (async)' : ''}`;
}

const sameCell = (a: CellResult, b: CellResult) =>
  a.workload === b.workload && a.depth === b.depth && a.clients === b.clients && a.commit === b.commit;

/** The baseline a cell's ratio is taken against: plain where it can do the work, else app-level versions. */
export function baselineOf(cells: readonly CellResult[], cell: CellResult): CellResult | undefined {
  return (
    cells.find((c) => sameCell(c, cell) && c.contender === 'plain') ??
    cells.find((c) => sameCell(c, cell) && c.contender === 'app-versions')
  );
}

function fmtValue(cell: CellResult): string {
  const m = cell.summary.median;
  if (cell.unit === 'us/op') {
    if (m >= 10_000) return `${(m / 1000).toFixed(0)} ms`;
    if (m >= 1000) return `${(m / 1000).toFixed(1)} ms`;
    return `${m.toFixed(0)} µs`;
  }
  const suffix = cell.unit === 'versions/s' ? ' v/s' : '/s';
  if (m >= 10_000) return `${(m / 1000).toFixed(0)}k${suffix}`;
  if (m >= 1000) return `${(m / 1000).toFixed(1)}k${suffix}`;
  return `${m.toFixed(0)}${suffix}`;
}

function pad(s: string, n: number, right = false): string {
  const len = [...s].length;
  if (len >= n) return s;
  return right ? ' '.repeat(n - len) + s : s + ' '.repeat(n - len);
}

export function fmtBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024).toFixed(0)} KiB`;
}

/** The terminal table of one engine: medians with spread, and ratios to the baseline. */
export function engineTable(r: EngineResult, rounds: number): string {
  const lines: string[] = [];
  const name = r.serverVersion.split(' on ')[0] ?? r.serverVersion;
  lines.push('');
  lines.push(`== ${r.engine === 'postgres' ? 'PostgreSQL' : 'PGlite'} (${name})`);
  lines.push(`   median of ${rounds} rounds ± half the range; ×: ratio to plain (†: to app versions).`);
  lines.push('   Latency (µs, ms): ratio > 1 is slower. Throughput (/s): ratio < 1 is slower.');
  lines.push(`   (async): sessions with synchronous_commit = off, so commits do not wait for the disk.`);
  const present = CONTENDERS.filter((c) => r.cells.some((x) => x.contender === c.id));
  const W = 25;
  lines.push(
    `${pad('workload', 25)}${pad('depth', 6, true)}${pad('cl', 3, true)}  ${present.map((c) => pad(c.label, W)).join('')}`,
  );
  const rows: CellResult[][] = [];
  for (const c of r.cells) {
    const row = rows.find((x) => sameCell(x[0]!, c));
    if (row) row.push(c);
    else rows.push([c]);
  }
  for (const row of rows) {
    const first = row[0]!;
    let line = pad(rowLabel(first), 25) + pad(first.depth === null ? '-' : String(first.depth), 6, true);
    line += `${pad(String(first.clients), 3, true)}  `;
    for (const { id } of present) {
      const cell = row.find((c) => c.contender === id);
      if (!cell) {
        line += pad('n/a', W);
        continue;
      }
      const base = baselineOf(r.cells, cell);
      const q =
        base && base !== cell && base.summary.median > 0 ? cell.summary.median / base.summary.median : null;
      const mark = base && base.contender !== 'plain' ? '†' : '';
      const spread = `±${(cell.summary.spread * 100).toFixed(0)}%`;
      line += pad(`${fmtValue(cell)} ${spread}${q === null ? '' : ` ${q.toFixed(2)}×${mark}`}`, W);
    }
    lines.push(line);
  }
  if (r.sizes.length > 0) {
    const s0 = r.sizes[0]!;
    lines.push('');
    lines.push(
      `   disk after bulk-loading ${s0.versions.toLocaleString('en')} versions (${s0.entries.toLocaleString('en')} entries × ${s0.versions / s0.entries}): tables + indexes + TOAST`,
    );
    const appv = r.sizes.find((s) => s.family === 'app-versions');
    for (const s of r.sizes) {
      const q = appv ? `  ${(s.bytesCompacted / appv.bytesCompacted).toFixed(2)}× app versions` : '';
      lines.push(
        `   ${pad(s.family, 16)} ${pad(fmtBytes(s.bytesLoaded), 10, true)} as loaded ${pad(fmtBytes(s.bytesCompacted), 10, true)} compacted${q}`,
      );
    }
  }
  for (const n of r.notes) lines.push(`   note: ${n}`);
  return lines.join('\n');
}

export interface TargetCheck {
  engine: string;
  target: string;
  value: number;
  limit: number;
  op: '<=' | '>=';
  pass: boolean;
  /** What the value counts: a ratio (default) or versions per second. */
  unit?: 'ratio' | 'versions/s';
}

/** A target's value or limit as printed: `0.63×`, or `104,200 v/s`. */
export function targetFigure(c: TargetCheck, n: number): string {
  return c.unit === 'versions/s' ? `${Math.round(n).toLocaleString('en-US')} v/s` : `${n.toFixed(2)}×`;
}

interface Pick {
  workload: WorkloadId;
  contender: ContenderId;
  depth?: number | null;
  clients?: number;
  commit?: CellResult['commit'];
}

function median(r: EngineResult, p: Pick): number | undefined {
  return r.cells.find(
    (c) =>
      c.workload === p.workload &&
      c.contender === p.contender &&
      c.depth === (p.depth ?? null) &&
      c.clients === (p.clients ?? 1) &&
      c.commit === (p.commit ?? null),
  )?.summary.median;
}

/** Adds one target check; a value that could not be measured adds nothing. */
type Add = (
  target: string,
  value: number | undefined,
  op: '<=' | '>=',
  limit: number,
  unit?: TargetCheck['unit'],
) => void;

const div = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? undefined : a / b;

const VIA: [ContenderId, string][] = [
  ['appendlog', 'library'],
  ['appendlog-sql', 'SQL'],
];

/**
 * The targets of issue 15 with those of issues 2, 3, 4 and 8 it leaves standing, evaluated on
 * one engine's results. PostgreSQL's are against the history trigger (writes) and plain (reads);
 * PGlite, single-threaded and without prepared statements, has targets of its own against plain.
 */
export function checkTargets(r: EngineResult, depths: readonly number[]): TargetCheck[] {
  const out: TargetCheck[] = [];
  const add: Add = (target, value, op, limit, unit = 'ratio') => {
    if (value === undefined || !Number.isFinite(value)) return;
    out.push({
      engine: r.engine,
      target,
      value,
      limit,
      op,
      pass: op === '<=' ? value <= limit : value >= limit,
      unit,
    });
  };
  if (r.engine === 'postgres') {
    updateTargets(r, add);
    insertTargets(r, add);
    readTargets(r, add, 1.1);
  } else {
    pgliteTargets(r, add);
  }
  depthTargets(r, add, depths);
  asOfTargets(r, add, depths);
  add(
    'verify throughput on 100,000 versions',
    median(r, { workload: 'verify', contender: 'appendlog' }),
    '>=',
    100_000,
    'versions/s',
  );
  if (r.engine === 'postgres') storageTargets(r, add);
  return out;
}

/**
 * Update throughput with the most clients measured, through the library and the SQL view:
 * ≥ 0.85× the history trigger with durable commits (stretch: ≥ 1× it and ≥ 0.8× plain), ≥ 0.7×
 * it with asynchronous commits.
 */
function updateTargets(r: EngineResult, add: Add): void {
  const ups = r.cells.filter((c) => c.workload === 'update');
  const clients = Math.max(...ups.map((c) => c.clients));
  for (const commit of ['sync', 'async'] as const) {
    if (!ups.some((c) => c.commit === commit)) continue;
    const mode = `${clients} client${clients > 1 ? 's' : ''}, ${commit === 'sync' ? 'durable' : 'async'} commit`;
    const up = (contender: ContenderId) => median(r, { workload: 'update', contender, clients, commit });
    for (const [who, via] of VIA) {
      const trig = div(up(who), up('history-trigger'));
      if (commit === 'sync') {
        add(`update via ${via} ÷ history trigger (${mode})`, trig, '>=', 0.85);
        add(`update via ${via} ÷ history trigger (${mode}) (stretch)`, trig, '>=', 1);
        add(`update via ${via} ÷ plain (${mode}) (stretch)`, div(up(who), up('plain')), '>=', 0.8);
      } else {
        add(`update via ${via} ÷ history trigger (${mode})`, trig, '>=', 0.7);
      }
    }
  }
}

/** Insert latency, through the library and the SQL view: ≤ 1.3× the history trigger's, in each commit mode. */
function insertTargets(r: EngineResult, add: Add): void {
  for (const commit of ['sync', 'async'] as const) {
    const ins = (contender: ContenderId) => median(r, { workload: 'insert', contender, commit });
    for (const [who, via] of VIA) {
      add(
        `insert latency via ${via} ÷ history trigger (${commit === 'sync' ? 'durable' : 'async'} commit)`,
        div(ins(who), ins('history-trigger')),
        '<=',
        1.3,
      );
    }
  }
}

/** `get` and `list 50` latency on the large table, through the library and the SQL view, against plain. */
function readTargets(
  r: EngineResult,
  add: Add,
  limit: number,
  workloads: readonly WorkloadId[] = ['get-large', 'list-50-large'],
): void {
  for (const w of workloads) {
    const depth = r.cells.find((c) => c.workload === w)?.depth ?? null;
    const at = (contender: ContenderId) => median(r, { workload: w, contender, depth });
    for (const [who, via] of VIA) add(`${w} via ${via} ÷ plain`, div(at(who), at('plain')), '<=', limit);
  }
}

/** PGlite: update ≥ 0.5× plain (its one client), `get` ≤ 1.3× plain. */
function pgliteTargets(r: EngineResult, add: Add): void {
  const up = (contender: ContenderId) => median(r, { workload: 'update', contender, commit: 'sync' });
  for (const [who, via] of VIA)
    add(`update via ${via} ÷ plain (1 client)`, div(up(who), up('plain')), '>=', 0.5);
  readTargets(r, add, 1.3, ['get-large']);
}

/** `get` and `list 50` through the library stay flat in depth: the deepest datasets against depth 1. */
function depthTargets(r: EngineResult, add: Add, depths: readonly number[]): void {
  const d1 = depths[0]!;
  const deep = depths.filter((d) => d >= 1000);
  for (const d of deep.length > 0 ? deep : depths.slice(-1)) {
    for (const w of ['get', 'list-50'] as const) {
      const at = (depth: number, contender: ContenderId = 'appendlog') =>
        median(r, { workload: w, contender, depth });
      add(`${w} via library, depth ${d} ÷ depth ${d1}`, div(at(d), at(d1)), '<=', 1.2);
      // The same, each cell first divided by plain in that cell: plain's tables hold no history,
      // so this cancels whatever the machine drifted by between the two cells, measured minutes apart.
      add(
        `${w} via library ÷ plain, depth ${d} ÷ depth ${d1}`,
        div(div(at(d), at(d, 'plain')), div(at(d1), at(d1, 'plain'))),
        '<=',
        1.2,
      );
    }
  }
}

/** Time travel: one entry as of a moment flat in depth, the whole table as of a moment near a list of it. */
function asOfTargets(r: EngineResult, add: Add, depths: readonly number[]): void {
  const dmax = depths[depths.length - 1]!;
  if (depths.includes(10) && dmax > 10) {
    for (const [who, via] of VIA) {
      const at = (depth: number) => median(r, { workload: 'as-of-one', contender: who, depth });
      add(`as-of one entry via ${via}, depth ${dmax} ÷ depth 10`, div(at(dmax), at(10)), '<=', 2);
    }
  }
  const wide = r.cells.find((c) => c.workload === 'as-of-all')?.depth ?? null;
  for (const [who, via] of VIA) {
    add(
      `as-of whole table via ${who === 'appendlog' ? via : 'SQL (_as_of)'} ÷ list of the same`,
      div(
        median(r, { workload: 'as-of-all', contender: who, depth: wide }),
        median(r, { workload: 'list-all', contender: who, depth: wide }),
      ),
      '<=',
      5,
    );
  }
}

/** Disk per version ≤ 1.3× app versions; the library's `insertMany` loads ≥ 0.7× as many versions a second as app versions' bulk load. */
function storageTargets(r: EngineResult, add: Add): void {
  const size = (f: SizeResult['family']) => r.sizes.find((s) => s.family === f)?.bytesCompacted;
  add(
    'disk per version: appendlog ÷ app versions (compacted)',
    div(size('appendlog'), size('app-versions')),
    '<=',
    1.3,
  );
  const depth = r.cells.find((c) => c.workload === 'bulk-load')?.depth ?? null;
  const bulk = (contender: ContenderId) =>
    median(r, { workload: 'bulk-load', contender, depth, commit: 'sync' });
  add(
    'bulk load: library insertMany ÷ app versions (versions/s)',
    div(bulk('appendlog'), bulk('app-versions')),
    '>=',
    0.7,
  );
}

export function targetsTable(checks: readonly TargetCheck[]): string {
  const lines = ['', '== targets'];
  for (const c of checks) {
    lines.push(
      `   ${c.pass ? 'PASS' : 'MISS'}  [${c.engine}] ${pad(c.target, 76)} ${pad(targetFigure(c, c.value), 11, true)} (${c.op} ${targetFigure(c, c.limit)})`,
    );
  }
  return lines.join('\n');
}
