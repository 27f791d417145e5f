import { InvalidInputError } from 'appendlog';
import { Hono } from 'hono';
import { asAppError, type Deps, type Env, pageOf } from '../context.js';
import { type FieldErrors, isEntryId, readReason, readVersion } from '../input.js';
import { CsrfField } from '../views/layout.js';
import { ErasureLine, ErrorSummary, Notice, PersonCard, TextField } from '../views/parts.js';
import { count } from '../words.js';
import {
  afterOf,
  type C,
  historyOf,
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
  const { book, db } = deps;
  const app = new Hono<Env>();

  app.get('/people/:id/forget', async (c) => {
    if (c.var.actor === null) return needActor(c);
    const latest = (await historyOf(deps, c.req.param('id')))?.at(-1);
    if (!latest || latest.op === 'forget') return notFound(c);
    return forgetPage(c, latest, {}, '', GRACE[0].after);
  });

  app.post('/people/:id/forget', async (c) => {
    if (c.var.actor === null) return needActor(c);
    const id = c.req.param('id');
    const latest = (await historyOf(deps, id))?.at(-1);
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
        return forgetPage(c, (await historyOf(deps, id))!.at(-1)!, changed, typed, after, 409);
      }
      if (e?.code === 'invalid_input' || e?.code === 'reason_required') {
        return forgetPage(c, latest, { reason: e.message }, typed, after, 422);
      }
      throw err;
    }
    return c.redirect(`/people/${id}?notice=forgotten`, 303);
  });

  app.post('/people/:id/cancel-forget', async (c) => {
    if (c.var.actor === null) return needActor(c);
    const id = c.req.param('id');
    if ((await historyOf(deps, id)) === null) return notFound(c);
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
  });

  app.get('/erasures', (c) =>
    paged(c, async () => {
      const limit = limitOf(c);
      const cursor = erasureCursor(afterOf(c));
      // Newest request first, keyset-paged on (recorded_at, entry_id); the status per row on this page only.
      const rows = await db.query<{ entry_id: string; at: string }>(
        `SELECT h.entry_id::text AS entry_id, h.recorded_at::text AS at
         FROM "${db.schema.replaceAll('"', '""')}".addresses_head h
        WHERE h.op = 'forget'
          AND ($1::timestamptz IS NULL OR (h.recorded_at, h.entry_id) < ($1::timestamptz, $2::uuid))
        ORDER BY h.recorded_at DESC, h.entry_id DESC
        LIMIT $3`,
        [cursor?.[0] ?? null, cursor?.[1] ?? null, limit + 1],
      );
      const shown = rows.slice(0, limit);
      const last = shown.at(-1);
      const next =
        rows.length > limit && last
          ? `e.${Buffer.from(JSON.stringify([last.at, last.entry_id])).toString('base64url')}`
          : null;
      const requests = await Promise.all(
        shown.map(async (r) => ({ entryId: r.entry_id, status: (await book.erasure(r.entry_id))! })),
      );
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
            People forgotten on request. They left every list, search, the recycle bin and time travel at
            once; once due, the purge erases the content of all their versions. Who asked, when and why stays,
            and the hashes still verify.
          </p>
          <form method="post" action="/erasures/purge">
            <CsrfField page={pageOf(c)} />
            <button type="submit" class="secondary">
              Run the purge now
            </button>{' '}
            <span class="muted">(normally a scheduled job: the server runs it every hour)</span>
          </form>
          {requests.length === 0 ? (
            <p class="empty">Nobody has been forgotten.</p>
          ) : (
            <ul class="erasures">
              {requests.map((r) => (
                <li>
                  <a href={`/people/${r.entryId}/history`}>A forgotten person</a>:{' '}
                  <ErasureLine status={r.status} />
                </li>
              ))}
            </ul>
          )}
          <Pager c={c} next={next} shown={requests.length} noun="requests" />
        </>,
      );
    }),
  );

  app.post('/erasures/purge', async (c) => {
    if (c.var.actor === null) return needActor(c);
    const result = await db.purge();
    return c.redirect(`/erasures?erased=${result.erased.length}`, 303);
  });

  return app;
}

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

/** The (recorded_at, entry_id) an erasures cursor holds; a cursor of anything else is refused. */
function erasureCursor(after: string | undefined): [string, string] | null {
  if (after === undefined) return null;
  try {
    if (after.startsWith('e.')) {
      const value: unknown = JSON.parse(Buffer.from(after.slice(2), 'base64url').toString('utf8'));
      if (
        Array.isArray(value) &&
        value.length === 2 &&
        typeof value[0] === 'string' &&
        /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})?[+-]\d\d(:\d\d)?$/.test(value[0]) &&
        typeof value[1] === 'string' &&
        isEntryId(value[1])
      )
        return [value[0], value[1]];
    }
  } catch {
    // the typed error below
  }
  throw new InvalidInputError('after is not a cursor of the erasures list', 'after');
}
