import type { Op } from 'appendlog';
import type { Activity, Bucket } from '../activity.js';

const OPS: Array<{ op: Op; label: string }> = [
  { op: 'insert', label: 'created' },
  { op: 'update', label: 'edited' },
  { op: 'delete', label: 'deleted' },
  { op: 'restore', label: 'restored' },
  { op: 'forget', label: 'forgotten' },
];

function label(start: Date, range: Activity['range']): string {
  const iso = start.toISOString();
  return range === 'days' ? iso.slice(5, 10) : iso.slice(11, 16);
}

function tooltip(b: Bucket, range: Activity['range']): string {
  const when =
    range === 'days'
      ? b.start.toISOString().slice(0, 10)
      : `${b.start.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  const parts = OPS.filter(({ op }) => b.counts[op] > 0).map(({ op, label }) => `${b.counts[op]} ${label}`);
  return `${when}: ${parts.length === 0 ? 'no changes' : parts.join(', ')}`;
}

/**
 * The y axis's ticks for counts up to `max`: 0 and round steps (1, 2 or 5 times a power of ten),
 * at most five, the last at or above `max`.
 *
 * @example
 * niceTicks(7); // [0, 2, 4, 6, 8]
 */
export function niceTicks(max: number): number[] {
  if (max <= 4) return Array.from({ length: max + 1 }, (_, i) => i);
  const rough = max / 4;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough)!;
  return Array.from({ length: Math.ceil(max / step) + 1 }, (_, i) => i * step);
}

/**
 * A stacked bar chart of changes per bucket, coloured by kind of change, as inline SVG:
 * rendered on the server, no script, a native tooltip on every bar.
 */
export function ActivityChart(props: { activity: Activity; height?: number }) {
  const { buckets, range } = props.activity;
  const width = 720;
  const height = props.height ?? 220;
  const pad = { top: 12, right: 8, bottom: 24, left: 32 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const ticks = niceTicks(Math.max(1, ...buckets.map((b) => b.total)));
  const top = ticks.at(-1)!;
  const step = plotW / buckets.length;
  const barW = Math.max(2, step * 0.72);
  const y = (n: number) => (n / top) * plotH;
  const labelEvery = Math.ceil(buckets.length / 8);
  return (
    <figure class="chart">
      <svg
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={`Changes, ${props.activity.total} in all`}
        xmlns="http://www.w3.org/2000/svg"
      >
        {ticks.map((t) => (
          <g class="tick">
            <line
              x1={pad.left}
              x2={width - pad.right}
              y1={pad.top + plotH - y(t)}
              y2={pad.top + plotH - y(t)}
            />
            <text x={pad.left - 6} y={pad.top + plotH - y(t) + 4} text-anchor="end">
              {String(t)}
            </text>
          </g>
        ))}
        {buckets.map((b, i) => {
          const x = pad.left + i * step + (step - barW) / 2;
          let top = pad.top + plotH;
          return (
            <g class="bar">
              <title>{tooltip(b, range)}</title>
              <rect class="hit" x={pad.left + i * step} y={pad.top} width={step} height={plotH} />
              {OPS.filter(({ op }) => b.counts[op] > 0).map(({ op }) => {
                const h = y(b.counts[op]);
                top -= h;
                return <rect class={`seg op-${op}`} x={x} y={top} width={barW} height={h} rx="1.5" />;
              })}
              {i % labelEvery === 0 && (
                <text class="x-label" x={pad.left + i * step + step / 2} y={height - 6} text-anchor="middle">
                  {label(b.start, range)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption class="legend">
        {OPS.map(({ op, label }) => (
          <span>
            <i class={`swatch op-${op}`} /> {label}
          </span>
        ))}
      </figcaption>
      <ChartTable activity={props.activity} />
    </figure>
  );
}

/** The chart's numbers as a table, for keyboards and screen readers: the periods with changes. */
function ChartTable(props: { activity: Activity }) {
  const { buckets, range } = props.activity;
  const busy = buckets.filter((b) => b.total > 0);
  return (
    <details class="chart-data">
      <summary>The numbers as a table</summary>
      {busy.length === 0 ? (
        <p class="muted">No changes in this period.</p>
      ) : (
        <table>
          <caption class="muted">Periods without changes are left out.</caption>
          <thead>
            <tr>
              <th scope="col">{range === 'days' ? 'Day' : 'Time (UTC)'}</th>
              {OPS.map(({ label }) => (
                <th scope="col">{label}</th>
              ))}
              <th scope="col">total</th>
            </tr>
          </thead>
          <tbody>
            {busy.map((b) => (
              <tr>
                <th scope="row">
                  {range === 'days'
                    ? b.start.toISOString().slice(0, 10)
                    : b.start.toISOString().slice(0, 16).replace('T', ' ')}
                </th>
                {OPS.map(({ op }) => (
                  <td>{String(b.counts[op])}</td>
                ))}
                <td>{String(b.total)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </details>
  );
}
