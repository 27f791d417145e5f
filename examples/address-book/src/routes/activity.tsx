import { Hono } from 'hono';
import { activity, RANGES, type RangeName } from '../activity.js';
import type { Deps, Env } from '../context.js';
import { ActivityChart } from '../views/chart.js';
import { count } from '../words.js';
import { render } from './helpers.js';

/** Changes over time, straight from the log: a chart and who made them. */
export function activityRoutes({ db }: Deps): Hono<Env> {
  const app = new Hono<Env>();

  app.get('/activity', async (c) => {
    const asked = c.req.query('range');
    const range = asked !== undefined && Object.hasOwn(RANGES, asked) ? (asked as RangeName) : undefined;
    const data = await activity(db, range);
    const maxActor = Math.max(1, ...data.byActor.map((a) => a.changes));
    return render(
      c,
      'Activity',
      <>
        <h1>Activity</h1>
        <p class="muted">
          Every change is a row in the log, so this chart is one <code>GROUP BY</code> away:{' '}
          {count(data.total, 'change')} in the {RANGES[data.range].label}.
        </p>
        <nav class="tabs" aria-label="Chart period">
          {(Object.keys(RANGES) as RangeName[]).map((r) => (
            <a
              href={`/activity?range=${r}`}
              class={r === data.range ? 'tab current' : 'tab'}
              aria-current={r === data.range ? 'page' : undefined}
            >
              {RANGES[r].label}
            </a>
          ))}
        </nav>
        <ActivityChart activity={data} />
        <section class="panel">
          <h2>Who changed things</h2>
          {data.byActor.length === 0 ? (
            <p class="muted">No changes in this period.</p>
          ) : (
            <ul class="actors">
              {data.byActor.map((a) => (
                <li>
                  <span class="actor-name">{a.actor ?? 'unknown'}</span>
                  <svg class="actor-bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">
                    <rect width={(100 * a.changes) / maxActor} height="10" rx="2" />
                  </svg>
                  <span>{a.changes}</span>
                </li>
              ))}
            </ul>
          )}
        </section>
      </>,
    );
  });

  return app;
}
