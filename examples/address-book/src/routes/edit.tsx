import { Hono } from 'hono';
import { asAppError, type Deps, type Env, pageOf } from '../context.js';
import { type FieldErrors, readPerson, readReason, readVersion, typedPerson } from '../input.js';
import type { FieldKey, Person } from '../schema.js';
import { DiffTable, fieldChanges, PersonForm, VersionMeta } from '../views/parts.js';
import {
  type C,
  fieldError,
  latestOf,
  needActor,
  notFound,
  PAGE_SIZE,
  type PersonVersion,
  pick,
  render,
  versionOf,
} from './helpers.js';

type Values = Partial<Record<FieldKey, string | null>>;

/**
 * Editing with optimistic concurrency: the form carries the version it was opened at. When
 * someone saved in between, nothing is overwritten: the page shows what changed meanwhile and
 * keeps the visitor's own changes, applied on top of the latest version, for a second look.
 */
export function editRoutes(deps: Deps): Hono<Env> {
  const app = new Hono<Env>();
  app.get('/people/:id/edit', (c) => editForm(c, deps));
  app.post('/people/:id', (c) => saveEdit(c, deps));
  return app;
}

/** `GET /people/:id/edit`: the form at the latest version. */
async function editForm(c: C, deps: Deps) {
  if (c.var.actor === null) return needActor(c);
  const current = await latestOf(deps, c.req.param('id') ?? '');
  if (!current || current.op === 'delete') return notFound(c);
  return editPage(c, { current, values: current.data, errors: {} });
}

/**
 * `POST /people/:id` (the edit form's post): the changed fields saved as a new version at the
 * version the form was opened at, or the form again with the errors or what changed meanwhile.
 */
async function saveEdit(c: C, deps: Deps) {
  if (c.var.actor === null) return needActor(c);
  const { book } = deps;
  const id = c.req.param('id') ?? '';
  const current = await latestOf(deps, id);
  if (!current) return notFound(c);
  if (current.op === 'delete') return c.redirect(`/people/${id}`, 303);
  const body = await c.req.parseBody();
  const { data, errors } = readPerson(pick(body));
  const typed = typedPerson(body);
  const { reason: checkedReason, error: reasonError } = readReason(body.reason, false);
  if (reasonError) errors.reason = reasonError;
  const reason = reasonError ? String(body.reason ?? '') : checkedReason;
  const expected = readVersion(body.expectedVersion);
  if (expected === null || expected > current.version) {
    const outOfDate = { ...errors, version: 'This form is out of date; open it again' };
    return editPage(c, { current, values: typed, reason, errors: outOfDate }, 422);
  }
  if (expected !== current.version) return conflictPage(c, deps, current, expected, data, reason);
  if (Object.keys(errors).length > 0) return editPage(c, { current, values: typed, reason, errors }, 422);

  const changes = fieldChanges(current.data, { ...current.data, ...data });
  if (changes.length === 0) return c.redirect(`/people/${id}?notice=unchanged`, 303);
  const patch = Object.fromEntries(changes.map((ch) => [ch.field, ch.after]));
  try {
    await book.update(id, patch, { expectedVersion: expected, reason, actor: c.var.actor });
    return c.redirect(`/people/${id}?notice=updated`, 303);
  } catch (err) {
    const e = asAppError(err);
    if (e?.code === 'invalid_input')
      return editPage(c, { current, values: typed, reason, errors: fieldError(e) }, 422);
    // Lost a race between reading and writing: same answer as a stale form.
    if (e?.code === 'version_conflict')
      return conflictPage(c, deps, (await latestOf(deps, id))!, expected, data, reason);
    throw err;
  }
}

/**
 * The form again, on top of the latest version: the visitor's own changes kept, theirs shown.
 * Reads the version the form was opened at and the versions since (the newest `PAGE_SIZE` of
 * them, with a link to the rest), not the whole history.
 */
async function conflictPage(
  c: C,
  deps: Deps,
  current: PersonVersion,
  expected: number,
  submitted: Partial<Person>,
  reason?: string,
) {
  const seen = (await versionOf(deps, current, expected))!;
  const since = await deps.book.history(current.entryId, {
    before: current.version + 1,
    limit: Math.min(current.version - expected, PAGE_SIZE),
  });
  const mine = fieldChanges(seen.data, { ...seen.data, ...submitted });
  const theirs = fieldChanges(seen.data, current.data);
  const values: Values = { ...current.data, ...Object.fromEntries(mine.map((m) => [m.field, m.after])) };
  const errors: FieldErrors = {};
  for (const m of mine) {
    const t = theirs.find((x) => x.field === m.field);
    if (t && t.after !== m.after)
      errors[m.field] = `Also changed meanwhile, to “${t.after ?? ''}”. Yours is kept here.`;
  }
  const conflict = { seen, since, theirs };
  return editPage(c, { current, values, reason, errors, conflict }, 409);
}

function editPage(
  c: C,
  props: {
    current: PersonVersion;
    values: Values;
    errors: FieldErrors;
    reason?: string | undefined;
    conflict?: { seen: PersonVersion; since: PersonVersion[]; theirs: ReturnType<typeof fieldChanges> };
  },
  status: 200 | 409 | 422 = 200,
) {
  const { current, conflict } = props;
  return render(
    c,
    `Edit ${current.data.name}`,
    <>
      <h1>Edit {current.data.name}</h1>
      {conflict && (
        <section class="banner conflict" role="alert">
          <h2>Someone changed this person while you were editing</h2>
          <p>
            You started from version {conflict.seen.version}; it is now at version {current.version}. Nothing
            was overwritten. Here is what changed meanwhile:
          </p>
          <ul class="since">
            {conflict.since.map((v) => (
              <li>
                <VersionMeta v={v} />
              </li>
            ))}
          </ul>
          {conflict.since.length < current.version - conflict.seen.version && (
            <p>
              The newest {conflict.since.length} of {current.version - conflict.seen.version} versions since
              yours; <a href={`/people/${current.entryId}/history`}>the history</a> has them all.
            </p>
          )}
          <DiffTable changes={conflict.theirs} />
          <p>Below: version {current.version} with your changes on top. Check them, then save again.</p>
        </section>
      )}
      <PersonForm
        page={pageOf(c)}
        action={`/people/${current.entryId}`}
        values={props.values}
        errors={props.errors}
        submit="Save"
        expectedVersion={current.version}
        reason={props.reason}
      />
    </>,
    status,
  );
}
