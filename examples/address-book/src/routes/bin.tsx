import { Hono } from 'hono';
import { asAppError, type Deps, type Env, pageOf } from '../context.js';
import { type FieldErrors, isEntryId, readReason, readVersion } from '../input.js';
import { type Found, listOrSearch } from '../search.js';
import { ActorName } from '../views/actor.js';
import { CsrfField } from '../views/layout.js';
import { ErrorSummary, Notice, PersonCard, TextField, Time } from '../views/parts.js';
import {
  afterOf,
  type C,
  limitOf,
  may,
  needActor,
  notFound,
  Pager,
  type PersonVersion,
  paged,
  render,
} from './helpers.js';

/** Deleting (soft, with a required reason), the recycle bin, and restoring. */
export function binRoutes(deps: Deps): Hono<Env> {
  const app = new Hono<Env>();
  app.get('/bin', (c) => paged(c, () => binPage(c, deps)));
  app.get('/people/:id/delete', (c) => deleteForm(c, deps));
  app.post('/people/:id/delete', (c) => deletePerson(c, deps));
  app.post('/people/:id/restore', (c) => restorePerson(c, deps));
  return app;
}

/** `GET /bin`: the deleted people newest first, or those matching `?q=` by name. */
async function binPage(c: C, deps: Deps) {
  const q = (c.req.query('q') ?? '').trim();
  const page = await listOrSearch(deps, q, { in: 'bin', limit: limitOf(c), after: afterOf(c) });
  const bin = page.items;
  return render(
    c,
    'Recycle bin',
    <>
      {c.req.query('notice') === 'deleted' && <Notice>Moved to the recycle bin. It can be restored.</Notice>}
      <h1>Recycle bin</h1>
      <p class="muted">
        Deleted people, {q === '' ? 'newest first' : 'by name'}. Restoring appends a version; the deletion
        stays in the history.
      </p>
      <form method="get" action="/bin" class="search">
        <input
          type="search"
          name="q"
          value={q}
          placeholder="Search the recycle bin"
          aria-label="Search the recycle bin"
        />
        <button type="submit">Search</button>
      </form>
      {bin.length === 0 ? (
        <p class="empty">
          {q === '' ? 'The recycle bin is empty.' : 'Nobody in the bin matches that search.'}
        </p>
      ) : (
        <BinTable c={c} bin={bin} />
      )}
      <Pager c={c} next={page.next} shown={bin.length} noun="deleted people" />
    </>,
  );
}

function BinTable(props: { c: C; bin: Found[] }) {
  return (
    <table class="bin">
      <thead>
        <tr>
          <th>Name</th>
          <th>Deleted</th>
          <th>Reason</th>
          <th>Action</th>
        </tr>
      </thead>
      <tbody>
        {props.bin.map((t) => (
          <tr>
            <td>
              <a href={`/people/${t.entryId}/history`}>{t.data.name}</a>
            </td>
            <td class="muted">
              <Time at={t.recordedAt} /> by <ActorName actor={t.actor} at={t.recordedAt} />
            </td>
            <td>{t.reason}</td>
            <td>
              {may(props.c, 'editor') ? (
                <form method="post" action={`/people/${t.entryId}/restore`}>
                  <CsrfField page={pageOf(props.c)} />
                  <input type="hidden" name="expectedVersion" value={String(t.version)} />
                  <button type="submit" class="secondary small" aria-label={`Restore ${t.data.name}`}>
                    Restore
                  </button>
                </form>
              ) : (
                <span class="muted">editors restore</span>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The live person the path names, or null. */
async function livePerson(c: C, { book }: Deps): Promise<PersonVersion | null> {
  const id = c.req.param('id') ?? '';
  return isEntryId(id) ? await book.get(id) : null;
}

/** `GET /people/:id/delete`: the confirmation, asking why. */
async function deleteForm(c: C, deps: Deps) {
  if (c.var.actor === null) return needActor(c);
  const current = await livePerson(c, deps);
  if (current === null) return notFound(c);
  return deletePage(c, current, {}, '');
}

/** `POST /people/:id/delete`: into the recycle bin with the reason, at the version the form showed. */
async function deletePerson(c: C, deps: Deps) {
  if (c.var.actor === null) return needActor(c);
  const { book } = deps;
  const current = await livePerson(c, deps);
  if (current === null) return notFound(c);
  const id = c.req.param('id') ?? '';
  const body = await c.req.parseBody();
  const typed = String(body.reason ?? '');
  const { reason, error } = readReason(body.reason, true);
  if (error || reason === undefined) return deletePage(c, current, { reason: error }, typed, 422);
  const expected = readVersion(body.expectedVersion);
  const changed = {
    version: 'Someone changed this person meanwhile: check the details, then confirm again.',
  };
  if (expected !== current.version) return deletePage(c, current, changed, typed, 409);
  try {
    await book.delete(id, { reason, expectedVersion: expected, actor: c.var.actor });
  } catch (err) {
    const e = asAppError(err);
    if (e?.code === 'invalid_input' || e?.code === 'reason_required') {
      return deletePage(c, current, { reason: e.message }, typed, 422);
    }
    if (e?.code === 'version_conflict')
      return deletePage(c, (await book.get(id)) ?? current, changed, typed, 409);
    throw err;
  }
  return c.redirect('/bin?notice=deleted', 303);
}

/** `POST /people/:id/restore`: back from the bin, then the person's page. */
async function restorePerson(c: C, { book }: Deps) {
  if (c.var.actor === null) return needActor(c);
  const id = c.req.param('id') ?? '';
  if (!isEntryId(id)) return notFound(c);
  const body = await c.req.parseBody();
  const expected = readVersion(body.expectedVersion) ?? undefined;
  try {
    await book.restore(id, { actor: c.var.actor, expectedVersion: expected });
  } catch (err) {
    const e = asAppError(err);
    if (e?.code === 'not_found') return notFound(c);
    // Restored by someone else meanwhile, or not deleted at all: the entry page shows how it stands.
    if (e?.code === 'invalid_state' || e?.code === 'version_conflict')
      return c.redirect(`/people/${id}`, 303);
    throw err;
  }
  return c.redirect(`/people/${id}?notice=restored`, 303);
}

/** The delete confirmation, again with the reason typed and its error after a refused post. */
function deletePage(
  c: C,
  current: PersonVersion,
  errors: FieldErrors,
  reason: string,
  status: 200 | 409 | 422 = 200,
) {
  return render(
    c,
    `Delete ${current.data.name}`,
    <>
      <h1>Delete {current.data.name}?</h1>
      <p>
        The entry moves to the recycle bin and can be restored; its history stays. Say why: the reason is
        recorded with the deletion.
      </p>
      <PersonCard data={current.data} />
      <ErrorSummary errors={errors} />
      <form method="post" action={`/people/${current.entryId}/delete`} class="person-form" novalidate>
        <CsrfField page={pageOf(c)} />
        <input type="hidden" name="expectedVersion" value={String(current.version)} />
        <TextField name="reason" label="Reason" value={reason} error={errors.reason} required />
        <button type="submit" class="danger">
          Delete
        </button>
      </form>
    </>,
    status,
  );
}
