import { Hono } from 'hono';
import { asAppError, type Deps, type Env } from '../context.js';
import { readInstant } from '../input.js';
import { ActorName } from '../views/actor.js';
import { ErrorSummary, TextField, Time } from '../views/parts.js';
import { afterOf, type C, limitOf, Pager, type PersonVersion, paged, render } from './helpers.js';

/** The whole address book as it stood at a moment. */
export function timeTravelRoutes(deps: Deps): Hono<Env> {
  const app = new Hono<Env>();
  app.get('/as-of', (c) => paged(c, () => asOfPage(c, deps)));
  return app;
}

/** `GET /as-of?at=`: the form, and the book by name as it stood at `at`. */
async function asOfPage(c: C, { book }: Deps) {
  const asked = c.req.query('at') ?? '';
  let at = asked === '' ? null : readInstant(asked);
  const notATime = `“${asked}” is not a real date and time; give one like 2026-11-26T09:30:00`;
  let error = asked !== '' && at === null ? notATime : undefined;
  let people: PersonVersion[] = [];
  let next: string | null = null;
  if (at !== null) {
    try {
      const page = await book.listAt(at, { orderBy: 'name', limit: limitOf(c), after: afterOf(c) });
      people = page;
      next = page.next;
    } catch (err) {
      const e = asAppError(err);
      if (e?.code !== 'invalid_input' || (e as { field?: string }).field === 'after') throw err;
      // The library names its parameter and the zone added here; say it in the visitor's words.
      error = notATime;
      at = null;
    }
  }
  // A time that is not one answers 400, its title and the summary on top saying so (announced).
  return render(
    c,
    error === undefined ? 'Time travel' : 'Not a real date and time (time travel)',
    <>
      <h1>Time travel</h1>
      <p class="muted">
        See the whole address book as it stood at any moment. Nothing is recomputed or restored: the log still
        holds every version, so this is a query.
      </p>
      <form method="get" action="/as-of" class="asof">
        <ErrorSummary errors={{ at: error }} />
        <TextField
          name="at"
          label="Date and time (UTC)"
          value={at?.slice(0, 19) ?? asked}
          error={error}
          type="datetime-local"
        />
        <button type="submit">Show</button>
      </form>
      {at !== null && (
        <section>
          <h2>
            As of <Time at={new Date(at)} />
          </h2>
          {people.length === 0 ? (
            <p class="empty">Nobody was in the address book then.</p>
          ) : (
            <PeopleThen people={people} />
          )}
          <Pager c={c} next={next} shown={people.length} noun="people" />
        </section>
      )}
    </>,
    error === undefined ? 200 : 400,
  );
}

/** The people of a past moment, each linking to the version they had then. */
function PeopleThen(props: { people: PersonVersion[] }) {
  return (
    <table class="people">
      <thead>
        <tr>
          <th>Name</th>
          <th>City</th>
          <th>Telephone</th>
          <th>Version then</th>
        </tr>
      </thead>
      <tbody>
        {props.people.map((p) => (
          <tr>
            <td>
              <a href={`/people/${p.entryId}/versions/${p.version}`}>{p.data.name}</a>
            </td>
            <td>{p.data.city ?? ''}</td>
            <td>{p.data.tel ?? ''}</td>
            <td class="muted">
              v{p.version} by <ActorName actor={p.actor} at={p.recordedAt} />, <Time at={p.recordedAt} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
