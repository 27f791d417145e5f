import type { ContenderId } from './contender.js';
import type { CellResult, EngineResult, SizeResult, WorkloadId } from './suite.js';

export const CONTENDERS: { id: ContenderId; label: string }[] = [
  { id: 'plain', label: 'plain' },
  { id: 'history-trigger', label: 'history trigger' },
  { id: 'app-versions', label: 'app versions' },
  { id: 'appendlog', label: 'appendlog lib' },
  { id: 'appendlog-sql', label: 'appendlog SQL' },
];

const WORKLOAD_LABEL: Record<WorkloadId, string> = {
  insert: 'insert',
  update: 'update',
  get: 'get by id',
  'list-50': 'list 50 current',
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

/** The baseline a cell's ratio is taken against: plain where it can do the work, else app-level versions. */
export function baselineOf(cells: readonly CellResult[], cell: CellResult): CellResult | undefined {
  const same = (c: CellResult) =>
    c.workload === cell.workload && c.depth === cell.depth && c.clients === cell.clients;
  return (
    cells.find((c) => same(c) && c.contender === 'plain') ??
    cells.find((c) => same(c) && c.contender === 'app-versions')
  );
}

/** Contender ÷ baseline, in the direction where above 1 means slower for latency and faster for throughput. */
export function ratio(cell: CellResult, base: CellResult | undefined): number | null {
  if (!base || base.summary.median === 0) return null;
  return cell.summary.median / base.summary.median;
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
  const title =
    r.engine === 'postgres'
      ? `PostgreSQL (${r.serverVersion.split(' on ')[0]})`
      : `PGlite (${r.serverVersion.split(' on ')[0]})`;
  lines.push('');
  lines.push(
    `== ${title}: median of ${rounds} rounds, ± half the range; ×: ratio to plain (†: to app versions)`,
  );
  lines.push(
    '   latency: lower is better, ratio > 1 is slower; throughput (/s): higher is better, ratio < 1 is slower',
  );
  const W = 27;
  lines.push(
    pad('workload', 20) +
      pad('depth', 7, true) +
      pad('cl', 4, true) +
      '  ' +
      CONTENDERS.map((c) => pad(c.label, W)).join(''),
  );
  const keys: string[] = [];
  const byKey = new Map<string, CellResult[]>();
  for (const c of r.cells) {
    const k = `${c.workload}|${c.depth}|${c.clients}`;
    if (!byKey.has(k)) {
      keys.push(k);
      byKey.set(k, []);
    }
    byKey.get(k)!.push(c);
  }
  for (const k of keys) {
    const row = byKey.get(k)!;
    const first = row[0]!;
    let line =
      pad(workloadLabel(first.workload), 20) + pad(first.depth === null ? '-' : String(first.depth), 7, true);
    line += `${pad(String(first.clients), 4, true)}  `;
    for (const { id } of CONTENDERS) {
      const cell = row.find((c) => c.contender === id);
      if (!cell) {
        line += pad('n/a', W);
        continue;
      }
      const base = baselineOf(r.cells, cell);
      const q = base && base !== cell ? ratio(cell, base) : null;
      const mark = base && base.contender !== 'plain' ? '†' : '';
      const text = `${fmtValue(cell)} ±${(cell.summary.spread * 100).toFixed(0)}%${q === null ? '' : ` ${q.toFixed(2)}×${mark}`}`;
      line += pad(text, W);
    }
    lines.push(line);
  }
  if (r.sizes.length > 0) {
    const s0 = r.sizes[0]!;
    lines.push('');
    lines.push(
      `   disk after bulk-loading ${s0.versions.toLocaleString('en')} versions (${s0.entries.toLocaleString('en')} entries): tables + indexes + TOAST`,
    );
    const appv = r.sizes.find((s) => s.family === 'app-versions');
    for (const s of r.sizes) {
      const q = appv ? ` ${(s.bytesCompacted / appv.bytesCompacted).toFixed(2)}× app versions` : '';
      lines.push(
        `   ${pad(s.family, 18)} ${pad(fmtBytes(s.bytesLoaded), 10, true)} as loaded  ${pad(fmtBytes(s.bytesCompacted), 10, true)} compacted${q}`,
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
}

function median(
  r: EngineResult,
  workload: WorkloadId,
  contender: ContenderId,
  depth: number | null,
  clients = 1,
) {
  return r.cells.find(
    (c) => c.workload === workload && c.contender === contender && c.depth === depth && c.clients === clients,
  )?.summary.median;
}

/** The targets of issues 2, 3 and 8, evaluated on one engine's results. */
export function checkTargets(r: EngineResult, depths: readonly number[]): TargetCheck[] {
  const out: TargetCheck[] = [];
  const add = (target: string, value: number | undefined, op: '<=' | '>=', limit: number) => {
    if (value === undefined || !Number.isFinite(value)) return;
    out.push({
      engine: r.engine,
      target,
      value,
      limit,
      op,
      pass: op === '<=' ? value <= limit : value >= limit,
    });
  };
  const div = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? undefined : a / b;
  const clients = Math.max(...r.cells.filter((c) => c.workload === 'update').map((c) => c.clients));
  for (const who of ['appendlog', 'appendlog-sql'] as const) {
    const name = who === 'appendlog' ? 'library' : 'SQL view';
    const up = median(r, 'update', who, null, clients);
    add(
      `update via ${name}, ${clients} client(s), ÷ plain`,
      div(up, median(r, 'update', 'plain', null, clients)),
      '>=',
      0.8,
    );
    add(
      `update via ${name} ÷ history trigger`,
      div(up, median(r, 'update', 'history-trigger', null, clients)),
      '>=',
      1,
    );
    add(
      `update via ${name} ÷ app versions`,
      div(up, median(r, 'update', 'app-versions', null, clients)),
      '>=',
      1,
    );
  }
  const d1 = depths[0]!;
  const dmax = depths[depths.length - 1]!;
  add(
    `get via library ÷ plain PK SELECT (depth ${d1})`,
    div(median(r, 'get', 'appendlog', d1), median(r, 'get', 'plain', d1)),
    '<=',
    1.2,
  );
  add(
    `get via SQL view ÷ plain PK SELECT (depth ${d1})`,
    div(median(r, 'get', 'appendlog-sql', d1), median(r, 'get', 'plain', d1)),
    '<=',
    1.2,
  );
  for (const d of depths.filter((d) => d >= 1000 && d !== d1)) {
    for (const w of ['get', 'list-50'] as const) {
      add(
        `${w} via library, depth ${d} ÷ depth ${d1}`,
        div(median(r, w, 'appendlog', d), median(r, w, 'appendlog', d1)),
        '<=',
        1.2,
      );
    }
  }
  if (!depths.some((d) => d >= 1000) && dmax !== d1) {
    for (const w of ['get', 'list-50'] as const) {
      add(
        `${w} via library, depth ${dmax} ÷ depth ${d1}`,
        div(median(r, w, 'appendlog', dmax), median(r, w, 'appendlog', d1)),
        '<=',
        1.2,
      );
    }
  }
  if (depths.includes(10) && dmax > 10) {
    for (const who of ['appendlog', 'appendlog-sql'] as const) {
      add(
        `as-of one entry via ${who === 'appendlog' ? 'library' : 'SQL'}, depth ${dmax} ÷ depth 10`,
        div(median(r, 'as-of-one', who, dmax), median(r, 'as-of-one', who, 10)),
        '<=',
        2,
      );
    }
  }
  const wide = r.cells.find((c) => c.workload === 'as-of-all')?.depth ?? null;
  for (const who of ['appendlog', 'appendlog-sql'] as const) {
    add(
      `as-of whole table via ${who === 'appendlog' ? 'library (listAt)' : 'SQL (_as_of)'} ÷ list of the same`,
      div(median(r, 'as-of-all', who, wide), median(r, 'list-all', who, wide)),
      '<=',
      5,
    );
  }
  const size = (f: SizeResult['family']) => r.sizes.find((s) => s.family === f)?.bytesCompacted;
  add(
    'disk per version: appendlog ÷ app versions (compacted)',
    div(size('appendlog'), size('app-versions')),
    '<=',
    1.5,
  );
  return out;
}

export function targetsTable(checks: readonly TargetCheck[]): string {
  const lines = ['', '== targets'];
  for (const c of checks) {
    lines.push(
      `   ${c.pass ? 'PASS' : 'MISS'}  [${c.engine}] ${pad(c.target, 62)} ${pad(c.value.toFixed(2), 6, true)}× (${c.op} ${c.limit})`,
    );
  }
  return lines.join('\n');
}
