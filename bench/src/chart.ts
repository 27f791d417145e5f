import type { ContenderId } from './contender.js';
import { CONTENDERS, workloadLabel } from './report.js';
import type { EngineResult, WorkloadId } from './results.js';

const COLORS: Record<ContenderId, string> = {
  plain: '#6b7280',
  'history-trigger': '#d97706',
  'app-versions': '#2563eb',
  appendlog: '#059669',
  'appendlog-sql': '#7c3aed',
  baseline: '#9ca3af',
  'baseline-sql': '#c4b5fd',
};
const DASH: Record<ContenderId, string> = {
  plain: '4 3',
  'history-trigger': '',
  'app-versions': '',
  appendlog: '',
  'appendlog-sql': '6 2 2 2',
  baseline: '2 2',
  'baseline-sql': '2 2',
};

const PANELS: WorkloadId[] = ['get', 'list-50', 'as-of-one', 'history'];
const esc = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

function niceMax(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function fmtUs(v: number): string {
  if (v >= 1000) return `${+(v / 1000).toFixed(1)} ms`;
  return `${+v.toFixed(0)} µs`;
}

/**
 * Cost against history depth: one row per engine, one panel per read workload, one line per
 * contender. Linear time axis from zero (flat lines are what "cost does not grow" looks like),
 * except history, which returns every version and so is drawn on a log scale.
 */
export function depthChart(results: readonly EngineResult[]): string {
  const pw = 250;
  const ph = 190;
  const ml = 58;
  const mt = 34;
  const gapX = 64;
  const gapY = 58;
  const legendH = 40;
  const width = ml + PANELS.length * (pw + gapX) + 10;
  const height = legendH + results.length * (ph + mt + gapY) + 10;
  const present = CONTENDERS.filter((c) => results.some((r) => r.cells.some((x) => x.contender === c.id)));
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="11">`,
  );
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  // Legend.
  let lx = ml;
  for (const c of present) {
    out.push(
      `<line x1="${lx}" y1="18" x2="${lx + 22}" y2="18" stroke="${COLORS[c.id]}" stroke-width="2.5" stroke-dasharray="${DASH[c.id]}"/>`,
    );
    out.push(`<circle cx="${lx + 11}" cy="18" r="3" fill="${COLORS[c.id]}"/>`);
    out.push(`<text x="${lx + 28}" y="22" fill="#111">${esc(c.label)}</text>`);
    lx += 40 + c.label.length * 6.5;
  }
  results.forEach((r, row) => {
    const top = legendH + row * (ph + mt + gapY);
    const engine = r.engine === 'postgres' ? 'PostgreSQL' : 'PGlite';
    PANELS.forEach((w, col) => {
      const left = ml + col * (pw + gapX);
      const cells = r.cells.filter((c) => c.workload === w && c.depth !== null && c.clients === 1);
      const depths = [...new Set(cells.map((c) => c.depth!))].sort((a, b) => a - b);
      out.push(
        `<text x="${left}" y="${top + 14}" font-weight="600" fill="#111">${esc(`${engine}: ${workloadLabel(w)}`)}</text>`,
      );
      const y0 = top + mt;
      out.push(`<rect x="${left}" y="${y0}" width="${pw}" height="${ph}" fill="none" stroke="#d1d5db"/>`);
      if (depths.length < 2) return;
      const logY = w === 'history';
      const values = cells.map((c) => c.summary.median);
      const minV = Math.max(1, Math.min(...values));
      const maxV = niceMax(Math.max(...values) * 1.05);
      const lo = logY ? 10 ** Math.floor(Math.log10(minV)) : 0;
      const yOf = (v: number) =>
        logY
          ? y0 +
            ph -
            ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(maxV) - Math.log10(lo))) * ph
          : y0 + ph - (v / maxV) * ph;
      const lmin = Math.log10(depths[0]!);
      const lmax = Math.log10(depths[depths.length - 1]!);
      const xOf = (d: number) => left + 12 + ((Math.log10(d) - lmin) / (lmax - lmin || 1)) * (pw - 24);
      // Grid and axes.
      const ticks = logY
        ? Array.from({ length: Math.round(Math.log10(maxV / lo)) + 1 }, (_, i) => lo * 10 ** i)
        : [0, 0.25, 0.5, 0.75, 1].map((f) => f * maxV);
      for (const t of ticks) {
        const y = yOf(t);
        out.push(
          `<line x1="${left}" y1="${y.toFixed(1)}" x2="${left + pw}" y2="${y.toFixed(1)}" stroke="#f0f0f0"/>`,
        );
        out.push(
          `<text x="${left - 4}" y="${(y + 3).toFixed(1)}" text-anchor="end" fill="#555">${fmtUs(t)}</text>`,
        );
      }
      for (const d of depths) {
        out.push(
          `<text x="${xOf(d).toFixed(1)}" y="${y0 + ph + 14}" text-anchor="middle" fill="#555">${d.toLocaleString('en')}</text>`,
        );
      }
      out.push(
        `<text x="${left + pw / 2}" y="${y0 + ph + 28}" text-anchor="middle" fill="#777">versions per entry${logY ? ' (log time axis)' : ''}</text>`,
      );
      for (const c of present) {
        const pts = cells
          .filter((x) => x.contender === c.id)
          .sort((a, b) => a.depth! - b.depth!)
          .map((x) => [xOf(x.depth!), yOf(x.summary.median)] as const);
        if (pts.length === 0) continue;
        out.push(
          `<polyline fill="none" stroke="${COLORS[c.id]}" stroke-width="2" stroke-dasharray="${DASH[c.id]}" points="${pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')}"/>`,
        );
        for (const [x, y] of pts)
          out.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="2.6" fill="${COLORS[c.id]}"/>`);
      }
    });
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
