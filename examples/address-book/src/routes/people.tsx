import type { ErasureStatus, VerifyResult } from 'appendlog';
import { Hono } from 'hono';
import { activity } from '../activity.js';
import { asAppError, type Deps, type Env, pageOf } from '../context.js';
import { type FieldErrors, readPerson, typedPerson } from '../input.js';
import { type Found, listOrSearch } from '../search.js';
import { ActorName } from '../views/actor.js';
import { ActivityChart } from '../views/chart.js';
import { CsrfField } from '../views/layout.js';
import { ErasureLine, Notice, PersonCard, PersonForm, Time, VersionMeta } from '../views/parts.js';
import { count } from '../words.js';
import {
  afterOf,
  type C,
  fieldError,
  latestOf,
  limitOf,
  may,
  needActor,
  notFound,
  Pager,
  type PersonVersion,
  paged,
  pick,
  render,
} from './helpers.js';

const NOTICES: Record<string, string> = {
  created: 'Created. This is version 1 of the entry.',
  updated: 'Saved as a new version. The old one is still in the history.',
  unchanged: 'Nothing changed, so no version was added.',
  deleted: 'Moved to the recycle bin. It can be restored.',
  restored: 'Restored from the recycle bin.',
  reverted: 'Reverted: a new version with the old data. The versions in between stay in the history.',
  forgotten:
    'Forgotten: this person has left every list, search and time travel. The content goes when the request is due.',
  unforgotten: 'The erasure request was cancelled: the person is back where they were.',
  'cancel-needs-reason': 'Cancelling an erasure request needs a reason.',
};

/** The list with search, the create form, and one person's page. */
export function peopleRoutes(deps: Deps): Hono<Env> {
  const app = new Hono<Env>();
  app.get('/', (c) => paged(c, () => peopleList(c, deps)));
  app.get('/new', (c) => (c.var.actor === null ? needActor(c) : newPersonPage(c, {}, {})));
  app.post('/people', (c) => createPerson(c, deps));
  app.get('/people/:id', (c) => personPage(c, deps));
  return app;
}

/** `GET /`: the people by name, or those matching `?q=`, with the activity chart on the first page. */
async function peopleList(c: C, deps: Deps) {
  const q = (c.req.query('q') ?? '').trim();
  const after = afterOf(c);
  const page = await listOrSearch(deps, q, { in: 'book', limit: limitOf(c), after });
  // The chart only on the first page of the whole list, where it is an overview.
  const chart = q === '' && after === undefined ? await activity(deps.activity, deps.db) : null;
  return render(
    c,
    q === '' ? 'People' : `People matching “${q}”`,
    <>
      <div class="page-head">
        <h1>People</h1>
        {may(c, 'editor') && (
          <a class="button" href="/new">
            Add a person
          </a>
        )}
      </div>
      <form method="get" action="/" class="search">
        <input
          type="search"
          name="q"
          value={q}
          placeholder="Search names, addresses, phone numbers"
          aria-label="Search"
        />
        <button type="submit">Search</button>
      </form>
      {q !== '' && (
        <p class="muted">
          Deleted people are in the recycle bin:{' '}
          <a href={`/bin?q=${encodeURIComponent(q)}`}>search the bin for “{q}”</a>.
        </p>
      )}
      {/* Fetched again and swapped in by /live.js when someone changes a person. */}
      <div data-live="list">
        {page.items.length === 0 ? (
          <p class="empty">{q === '' ? 'Nobody here yet.' : 'Nobody matches that search.'}</p>
        ) : (
          <PeopleTable people={page.items} />
        )}
      </div>
      <Pager c={c} next={page.next} shown={page.items.length} noun="people" />
      {chart !== null && (
        <section class="panel">
          <h2>
            Activity <a href="/activity">(more)</a>
          </h2>
          <ActivityChart activity={chart} height={140} />
        </section>
      )}
    </>,
  );
}

function PeopleTable(props: { people: Found[] }) {
  return (
    <table class="people">
      <thead>
        <tr>
          <th>Name</th>
          <th>City</th>
          <th>Telephone</th>
          <th>Last change</th>
        </tr>
      </thead>
      <tbody>
        {props.people.map((p) => (
          <tr>
            <td>
              <a href={`/people/${p.entryId}`}>{p.data.name}</a>
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

/** The create form (`GET /new`), again with what was typed and its errors after a refused post. */
function newPersonPage(c: C, values: Record<string, string | null>, errors: FieldErrors) {
  return render(
    c,
    'Add a person',
    <>
      <h1>Add a person</h1>
      <PersonForm page={pageOf(c)} action="/people" values={values} errors={errors} submit="Add" />
    </>,
    Object.keys(errors).length > 0 ? 422 : 200,
  );
}

/** `POST /people`: inserts version 1 and goes to the person's page. */
async function createPerson(c: C, { book }: Deps) {
  if (c.var.actor === null) return needActor(c);
  const body = pick(await c.req.parseBody());
  const { data, errors } = readPerson(body);
  // On any error the form comes back with what was typed, as typed.
  if (Object.keys(errors).length > 0 || data.name === undefined)
    return newPersonPage(c, typedPerson(body), errors);
  try {
    const v = await book.insert({ ...data, name: data.name }, { actor: c.var.actor });
    return c.redirect(`/people/${v.entryId}?notice=created`, 303);
  } catch (err) {
    const e = asAppError(err);
    if (e?.code === 'invalid_input') return newPersonPage(c, typedPerson(body), fieldError(e));
    throw err;
  }
}

/** `GET /people/:id`: the person's latest version (in the bin or not), or what is left of a forgotten one. */
async function personPage(c: C, deps: Deps) {
  const { book } = deps;
  // The latest version only: its number is how many versions there are.
  const latest = await latestOf(deps, c.req.param('id') ?? '');
  if (latest === null) return notFound(c);
  const check = await book.verify(latest.entryId);
  const notice = NOTICES[c.req.query('notice') ?? ''];
  const props = { c, latest, check, notice };
  if (latest.op === 'forget') {
    const erasure = (await book.erasure(latest.entryId))!;
    return render(
      c,
      'A forgotten person',
      <div data-live={latest.entryId}>
        <ForgottenPersonDetails {...props} erasure={erasure} />
      </div>,
    );
  }
  // Fetched again and swapped in by /live.js when someone changes this person.
  return render(
    c,
    latest.data.name,
    <div data-live={latest.entryId}>
      <PersonDetails {...props} />
    </div>,
  );
}

interface PersonProps {
  c: C;
  latest: PersonVersion;
  check: VerifyResult;
  notice: string | undefined;
}

function PersonDetails({ c, latest, check, notice }: PersonProps) {
  const id = latest.entryId;
  const deleted = latest.op === 'delete';
  return (
    <>
      {notice && <Notice>{notice}</Notice>}
      <div class="page-head">
        <h1>{latest.data.name}</h1>
        {!deleted && may(c, 'editor') && (
          <div class="actions">
            <a class="button" href={`/people/${id}/edit`}>
              Edit
            </a>
            <a class="button danger" href={`/people/${id}/delete`}>
              Delete
            </a>
          </div>
        )}
      </div>
      {deleted && (
        <div class="banner deleted">
          <p>
            In the recycle bin since <Time at={latest.recordedAt} />: <q>{latest.reason}</q> (
            <ActorName actor={latest.actor} at={latest.recordedAt} />
            ).
          </p>
          {may(c, 'editor') && (
            <form method="post" action={`/people/${id}/restore`}>
              <CsrfField page={pageOf(c)} />
              <input type="hidden" name="expectedVersion" value={String(latest.version)} />
              <button type="submit">Restore</button>
            </form>
          )}
        </div>
      )}
      <PersonCard data={latest.data} />
      <p class="meta-line">
        <VersionMeta v={latest} /> ·{' '}
        <a href={`/people/${id}/history`}>History ({count(latest.version, 'version')})</a>
        {may(c, 'admin') && (
          <>
            {' '}
            ·{' '}
            <a href={`/people/${id}/forget`} class="danger-link">
              Forget this person
            </a>
          </>
        )}
      </p>
      <p class="hash" title="SHA-256 of this version, chained to the previous one">
        {check.ok
          ? `✓ ${check.checked === 1 ? 'its one version verifies' : `all ${check.checked} versions verify`}`
          : `⚠ ${count(check.failures.length, 'integrity problem')}`}{' '}
        · hash <code>{latest.hash.slice(0, 16)}…</code>
        {latest.parentHash && (
          <>
            {' '}
            ← parent <code>{latest.parentHash.slice(0, 16)}…</code>
          </>
        )}
      </p>
    </>
  );
}

function ForgottenPersonDetails({
  c,
  latest,
  check,
  notice,
  erasure,
}: PersonProps & { erasure: ErasureStatus }) {
  const id = latest.entryId;
  return (
    <>
      {notice && <Notice>{notice}</Notice>}
      <h1>A forgotten person</h1>
      <div class="banner erased">
        <p>
          <ErasureLine status={erasure} />.
        </p>
        {erasure.state === 'scheduled' && erasure.dueAt > new Date() && may(c, 'admin') && (
          <form method="post" action={`/people/${id}/cancel-forget`} class="revert">
            <CsrfField page={pageOf(c)} />
            <input
              name="reason"
              class="small reason-input"
              placeholder="Why cancel?"
              aria-label="Why cancel?"
            />
            <button type="submit" class="secondary small">
              Cancel the request
            </button>
          </form>
        )}
      </div>
      <p class="meta-line">
        <a href={`/people/${id}/history`}>History ({count(latest.version, 'version')}, content hidden)</a> ·{' '}
        {check.ok
          ? `✓ the chain verifies (${count(check.erased, 'version')} erased)`
          : '⚠ integrity problems'}
      </p>
    </>
  );
}
