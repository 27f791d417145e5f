import { Hono } from 'hono';
import { type Activity, activity, type HeldBack, heldBack, RANGES, type RangeName } from '../activity.js';
import { type ActorChange, actorChanges } from '../actor-changes.js';
import type { Deps, Env } from '../context.js';
import { readActor } from '../input.js';
import { ActorName } from '../views/actor.js';
import { ActivityChart } from '../views/chart.js';
import { OpBadge, Time } from '../views/parts.js';
import { count } from '../words.js';
import { afterOf, type C, limitOf, notFound, Pager, paged, render } from './helpers.js';

/** Changes over time, from the activity projection: a chart and who made them. */
export function activityRoutes(deps: Deps): Hono<Env> {
  const app = new Hono<Env>();
  app.get('/activity', (c) => activityPage(c, deps));
  app.get('/activity/actor', (c) => paged(c, () => actorPage(c, deps)));
  return app;
}

/** `GET /activity?range=`: the chart of changes over a period and who made them. */
async function activityPage(c: C, { db, activity: counts }: Deps) {
  const asked = c.req.query('range');
  const range = asked !== undefined && Object.hasOwn(RANGES, asked) ? (asked as RangeName) : undefined;
  const data = await activity(counts, db, range);
  const held = await heldBack(counts);
  return render(
    c,
    'Activity',
    <>
      <h1>Activity</h1>
      <p class="muted">
        Every change is a row in the log; a projection of it keeps counts per minute, op and actor in a table
        of its own, so this chart is one <code>GROUP BY</code> over that table: {count(data.total, 'change')}{' '}
        in the {RANGES[data.range].label}.
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
      {held && <HeldBackNote held={held} />}
      <ActivityChart activity={data} />
      <section class="panel">
        <h2>Who changed things</h2>
        {data.byActor.length === 0 ? (
          <p class="muted">No changes in this period.</p>
        ) : (
          <>
            <p class="muted">
              {data.actors > data.byActor.length
                ? `The ${data.byActor.length} busiest of ${count(data.actors, 'name')} with changes in this period.`
                : `Every name with changes in this period (${data.actors}), busiest first.`}
            </p>
            <ActorBars byActor={data.byActor} />
          </>
        )}
      </section>
    </>,
  );
}

/** Says the chart is behind, and why: committed changes waiting for an open transaction to end. */
function HeldBackNote(props: { held: HeldBack }) {
  const { changes, since, waitingSeconds } = props.held;
  return (
    <p class="notice" role="status">
      Not yet counted: {count(changes, 'change')} held back by a transaction{' '}
      {since ? (
        <>
          open since <Time at={since} />
        </>
      ) : (
        'still open'
      )}
      {waitingSeconds >= 1 && `, the oldest waiting ${count(waitingSeconds, 'second')}`}. The log keeps them;
      the chart counts them when that transaction ends.
    </p>
  );
}

/** One bar per actor, as long as their share of the busiest actor's changes. */
function ActorBars(props: { byActor: Activity['byActor'] }) {
  const maxActor = Math.max(1, ...props.byActor.map((a) => a.changes));
  return (
    <ul class="actors">
      {props.byActor.map((a) => (
        <li>
          <span class="actor-name">
            <ActorName actor={a.actor} />
          </span>
          <svg class="actor-bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true">
            <rect width={(100 * a.changes) / maxActor} height="10" rx="2" />
          </svg>
          <span>{a.changes}</span>
        </li>
      ))}
    </ul>
  );
}

/** `GET /activity/actor?name=`: every change recorded under one name, newest first. */
async function actorPage(c: C, { db }: Deps) {
  const checked = readActor(c.req.query('name'));
  if (!('actor' in checked)) return notFound(c, 'There is no such name.');
  const actor = checked.actor;
  const page = await actorChanges(db, actor, { limit: limitOf(c), after: afterOf(c) });
  return render(
    c,
    `Changes by ${actor}`,
    <>
      <h1>Changes by {actor}</h1>
      <p class="muted">
        Every version recorded under this name, newest first, straight from the log. A forgotten person's name
        is not shown.
      </p>
      {page.items.length === 0 ? (
        <p class="empty">No change was recorded under this name.</p>
      ) : (
        <ChangesTable changes={page.items} />
      )}
      <Pager c={c} next={page.next} shown={page.items.length} noun="changes" />
    </>,
  );
}

export function ChangesTable(props: { changes: ActorChange[] }) {
  return (
    <table class="changes">
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">Person</th>
          <th scope="col">Change</th>
          <th scope="col">Reason</th>
        </tr>
      </thead>
      <tbody>
        {props.changes.map((v) => (
          <tr>
            <td>
              <Time at={v.recordedAt} />
            </td>
            <td>
              <a href={`/people/${v.entryId}/history#v${v.version}`}>{v.name ?? 'A forgotten person'}</a>
            </td>
            <td>
              <OpBadge v={v} /> v{v.version}
            </td>
            <td>{v.reason === null ? <span class="muted">—</span> : <q class="reason">{v.reason}</q>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
