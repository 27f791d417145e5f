import { Hono } from 'hono';
import { asAppError, type Deps, type Env, pageOf } from '../context.js';
import { erasureRequests } from '../erasures.js';
import { type FieldErrors, readReason, readVersion } from '../input.js';
import { CsrfField } from '../views/layout.js';
import { ErasureLine, ErrorSummary, Notice, PersonCard, TextField } from '../views/parts.js';
import { count } from '../words.js';
import {
  afterOf,
  type C,
  latestOf,
  limitOf,
  needActor,
  notFound,
  Pager,
  type PersonVersion,
  paged,
  render,
} from './helpers.js';

/** When a forget is due: until then it can be cancelled; then the purge erases the content. */
const GRACE = [
  { after: '30 days', label: 'in 30 days (it can be cancelled until then)' },
  { after: '7 days', label: 'in 7 days' },
  { after: '0 seconds', label: 'at the next purge (no way back)' },
] as const;

/**
 * "Forget this person" (the right to erasure): the entry leaves every read at once, and the
 * purge erases the content of all its versions once due. The register lists every request.
 */
export function erasureRoutes(deps: Deps): Hono<Env> {
  const app = new Hono<Env>();
  app.get('/people/:id/forget', (c) => forgetForm(c, deps));
  app.post('/people/:id/forget', (c) => forgetPerson(c, deps));
  app.post('/people/:id/cancel-forget', (c) => cancelForget(c, deps));
  app.get('/erasures', (c) => paged(c, () => erasuresPage(c, deps)));
  app.post('/erasures/purge', (c) => purge(c, deps));
  return app;
}

/** `GET /people/:id/forget`: the confirmation, asking why and when the content goes. */
async function forgetForm(c: C, deps: Deps) {
  if (c.var.actor === null) return needActor(c);
  const latest = await latestOf(deps, c.req.param('id') ?? '');
  if (!latest || latest.op === 'forget') return notFound(c);
  return forgetPage(c, latest, {}, '', GRACE[0].after);
}

/** `POST /people/:id/forget`: the erasure request recorded, due after the chosen grace. */
async function forgetPerson(c: C, deps: Deps) {
  if (c.var.actor === null) return needActor(c);
  const { book } = deps;
  const id = c.req.param('id') ?? '';
  const latest = await latestOf(deps, id);
  if (!latest || latest.op === 'forget') return notFound(c);
  const body = await c.req.parseBody();
  const typed = String(body.reason ?? '');
  const after = GRACE.find((g) => g.after === body.after)?.after ?? GRACE[0].after;
  const { reason, error } = readReason(body.reason, true);
  if (error || reason === undefined) return forgetPage(c, latest, { reason: error }, typed, after, 422);
  const expected = readVersion(body.expectedVersion) ?? undefined;
  try {
    await book.forget(id, { reason, after, expectedVersion: expected, actor: c.var.actor });
  } catch (err) {
    const e = asAppError(err);
    if (e?.code === 'version_conflict') {
      const changed = { version: 'Someone changed this person meanwhile: check, then confirm again.' };
      return forgetPage(c, (await latestOf(deps, id))!, changed, typed, after, 409);
    }
    if (e?.code === 'invalid_input' || e?.code === 'reason_required') {
      return forgetPage(c, latest, { reason: e.message }, typed, after, 422);
    }
    throw err;
  }
  return c.redirect(`/people/${id}?notice=forgotten`, 303);
}

/** `POST /people/:id/cancel-forget`: the request withdrawn (with a reason) while not yet due. */
async function cancelForget(c: C, deps: Deps) {
  if (c.var.actor === null) return needActor(c);
  const { book } = deps;
  const id = c.req.param('id') ?? '';
  if ((await latestOf(deps, id)) === null) return notFound(c);
  const body = await c.req.parseBody();
  const { reason, error } = readReason(body.reason, true);
  if (error || reason === undefined) return c.redirect(`/people/${id}?notice=cancel-needs-reason`, 303);
  try {
    await book.cancelForget(id, { reason, actor: c.var.actor });
  } catch (err) {
    // Already due or erased, or cancelled meanwhile: the entry page says how it stands.
    if (asAppError(err)?.code === 'invalid_state') return c.redirect(`/people/${id}`, 303);
    throw err;
  }
  return c.redirect(`/people/${id}?notice=unforgotten`, 303);
}

/** `GET /erasures`: the register of requests, newest first, and the button that runs the purge. */
async function erasuresPage(c: C, deps: Deps) {
  const page = await erasureRequests(deps, { limit: limitOf(c), after: afterOf(c) });
  const erased = c.req.query('erased');
  return render(
    c,
    'Erasures',
    <>
      {erased !== undefined && (
        <Notice>{`The purge erased ${count(Number(erased) || 0, 'forgotten person', 'forgotten people')}.`}</Notice>
      )}
      <h1>Erasure requests</h1>
      <p class="muted">
        People forgotten on request. They left every list, search, the recycle bin and time travel at once;
        once due, the purge erases the content of all their versions. Who asked, when and why stays, and the
        hashes still verify.
      </p>
      <form method="post" action="/erasures/purge">
        <CsrfField page={pageOf(c)} />
        <button type="submit" class="secondary">
          Run the purge now
        </button>{' '}
        <span class="muted">(normally a scheduled job: the server runs it every hour)</span>
      </form>
      {page.items.length === 0 ? (
        <p class="empty">Nobody has been forgotten.</p>
      ) : (
        <ul class="erasures">
          {page.items.map((r) => (
            <li>
              <a href={`/people/${r.entryId}/history`}>A forgotten person</a>:{' '}
              <ErasureLine status={r.status} />
            </li>
          ))}
        </ul>
      )}
      <Pager c={c} next={page.next} shown={page.items.length} noun="requests" />
    </>,
  );
}

/** `POST /erasures/purge`: erases what is due now, then the register says how many. */
async function purge(c: C, { owner }: Deps) {
  if (c.var.actor === null) return needActor(c);
  const result = await owner.purge();
  return c.redirect(`/erasures?erased=${result.erased.length}`, 303);
}

/** The forget confirmation, again with what was typed and its error after a refused post. */
function forgetPage(
  c: C,
  latest: PersonVersion,
  errors: FieldErrors,
  reason: string,
  after: string,
  status: 200 | 409 | 422 = 200,
) {
  return render(
    c,
    `Forget ${latest.data.name}`,
    <>
      <h1>Forget {latest.data.name}?</h1>
      <p>
        For a request to erase someone's personal data. They leave every list, search, the recycle bin and
        time travel now. When the request is due, the purge erases the content of every version of this person
        for good. The history keeps who asked, when and why, and the hash chain still verifies.
      </p>
      <PersonCard data={latest.data} />
      <ErrorSummary errors={errors} />
      <form method="post" action={`/people/${latest.entryId}/forget`} class="person-form" novalidate>
        <CsrfField page={pageOf(c)} />
        <input type="hidden" name="expectedVersion" value={String(latest.version)} />
        <TextField
          name="reason"
          label="Reason (e.g. the request's reference)"
          value={reason}
          error={errors.reason}
          required
        />
        <fieldset class="field">
          <legend>Erase the content</legend>
          {GRACE.map((g) => (
            <label class="choice">
              <input type="radio" name="after" value={g.after} checked={g.after === after} /> {g.label}
            </label>
          ))}
        </fieldset>
        <button type="submit" class="danger">
          Forget this person
        </button>
      </form>
    </>,
    status,
  );
}
