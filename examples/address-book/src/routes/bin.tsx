import { Hono } from 'hono';
import { asAppError, type Deps, type Env, pageOf } from '../context.js';
import { type FieldErrors, isEntryId, readReason, readVersion } from '../input.js';
import { search } from '../search.js';
import { CsrfField } from '../views/layout.js';
import { ErrorSummary, Notice, PersonCard, TextField, Time } from '../views/parts.js';
import {
  afterOf,
  type C,
  limitOf,
  needActor,
  notFound,
  Pager,
  type PersonVersion,
  paged,
  render,
} from './helpers.js';

/** Deleting (soft, with a required reason), the recycle bin, and restoring. */
export function binRoutes({ book, db }: Deps): Hono<Env> {
  const app = new Hono<Env>();

  app.get('/bin', (c) =>
    paged(c, async () => {
      const q = (c.req.query('q') ?? '').trim();
      const limit = limitOf(c);
      const after = afterOf(c);
      // Newest first from the library; a search runs in the database, by name.
      const page =
        q === ''
          ? await book.deleted({ limit, after }).then((p) => ({ items: p, next: p.next }))
          : await search(db, q, { in: 'bin', limit, after });
      const bin = page.items;
      return render(
        c,
        'Recycle bin',
        <>
          {c.req.query('notice') === 'deleted' && (
            <Notice>Moved to the recycle bin. It can be restored.</Notice>
          )}
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
                {bin.map((t) => (
                  <tr>
                    <td>
                      <a href={`/people/${t.entryId}/history`}>{t.data.name}</a>
                    </td>
                    <td class="muted">
                      <Time at={t.recordedAt} /> by {t.actor ?? 'unknown'}
                    </td>
                    <td>{t.reason}</td>
                    <td>
                      <form method="post" action={`/people/${t.entryId}/restore`}>
                        <CsrfField page={pageOf(c)} />
                        <input type="hidden" name="expectedVersion" value={String(t.version)} />
                        <button type="submit" class="secondary small" aria-label={`Restore ${t.data.name}`}>
                          Restore
                        </button>
                      </form>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <Pager c={c} next={page.next} shown={bin.length} noun="deleted people" />
        </>,
      );
    }),
  );

  app.get('/people/:id/delete', async (c) => {
    if (c.var.actor === null) return needActor(c);
    const id = c.req.param('id');
    const current = isEntryId(id) ? await book.get(id) : null;
    if (current === null) return notFound(c);
    return deletePage(c, current, {}, '');
  });

  app.post('/people/:id/delete', async (c) => {
    if (c.var.actor === null) return needActor(c);
    const id = c.req.param('id');
    const current = isEntryId(id) ? await book.get(id) : null;
    if (current === null) return notFound(c);
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
  });

  app.post('/people/:id/restore', async (c) => {
    if (c.var.actor === null) return needActor(c);
    const id = c.req.param('id');
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
  });

  return app;
}

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
