import type { Version } from 'appendlog';
import { type Context, Hono } from 'hono';
import { setCookie } from 'hono/cookie';
import type { Child } from 'hono/jsx';
import { activity, RANGES, type RangeName } from './activity.js';
import { asAppError, type Deps, type Env, pageOf } from './context.js';
import { type FieldErrors, isEntryId, readActor, readPerson, readReason, readVersion } from './input.js';
import { FIELDS, type FieldKey, type Person } from './schema.js';
import { ActivityChart } from './views/chart.js';
import { CsrfField, Layout } from './views/layout.js';
import {
  DiffTable,
  fieldChanges,
  Notice,
  PersonCard,
  PersonForm,
  TextField,
  Time,
  VersionMeta,
} from './views/parts.js';

type C = Context<Env>;
type PersonVersion = Version<Person>;

const NOTICES: Record<string, string> = {
  created: 'Created. This is version 1 of the entry.',
  updated: 'Saved as a new version. The old one is still in the history.',
  unchanged: 'Nothing changed, so no version was added.',
  deleted: 'Moved to the recycle bin. It can be restored.',
  restored: 'Restored from the recycle bin.',
};

/** The HTML pages: every form posts back here and redirects after a successful write. */
export function pageRoutes({ book, db }: Deps): Hono<Env> {
  const app = new Hono<Env>();

  const render = (c: C, title: string, body: Child, status: 200 | 404 | 409 | 422 = 200) =>
    c.html(
      <Layout page={pageOf(c)} title={title}>
        {body}
      </Layout>,
      status,
    );

  const notFound = (c: C) =>
    render(
      c,
      'Not found',
      <>
        <h1>Not found</h1>
        <p>
          There is no such person. <a href="/">Back to the list</a>
        </p>
      </>,
      404,
    );

  /** Writes need a name to record; send the visitor to choose one first. */
  const needActor = (c: C) => c.redirect(`/whoami?next=${encodeURIComponent(new URL(c.req.url).pathname)}`);

  /** The version history of an entry, or null when the id is not one. */
  const historyOf = async (id: string): Promise<PersonVersion[] | null> => {
    if (!isEntryId(id)) return null;
    try {
      return await book.history(id);
    } catch (err) {
      if (asAppError(err)?.code === 'not_found') return null;
      throw err;
    }
  };

  app.get('/', async (c) => {
    const q = (c.req.query('q') ?? '').trim();
    const people = await book.list({ orderBy: 'name' });
    const needle = q.toLowerCase();
    const shown =
      q === ''
        ? people
        : people.filter((p) => FIELDS.some(({ key }) => p.data[key]?.toLowerCase().includes(needle)));
    const chart = await activity(db);
    return render(
      c,
      'People',
      <>
        <div class="page-head">
          <h1>People</h1>
          <a class="button" href="/new">
            Add a person
          </a>
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
        {shown.length === 0 ? (
          <p class="empty">{q === '' ? 'Nobody here yet.' : 'Nobody matches that search.'}</p>
        ) : (
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
              {shown.map((p) => (
                <tr>
                  <td>
                    <a href={`/people/${p.entryId}`}>{p.data.name}</a>
                  </td>
                  <td>{p.data.city ?? ''}</td>
                  <td>{p.data.tel ?? ''}</td>
                  <td class="muted">
                    v{p.version} by {p.actor ?? 'unknown'}, <Time at={p.recordedAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <section class="panel">
          <h2>
            Activity <a href="/activity">(more)</a>
          </h2>
          <ActivityChart activity={chart} height={140} />
        </section>
      </>,
    );
  });

  app.get('/whoami', (c) => {
    const next = safeNext(c.req.query('next'));
    return render(c, 'Who are you?', <WhoAmI c={c} next={next} value={c.var.actor ?? ''} errors={{}} />);
  });

  app.post('/whoami', async (c) => {
    const body = await c.req.parseBody();
    const next = safeNext(body.next);
    const checked = readActor(body.actor);
    if ('error' in checked) {
      return render(
        c,
        'Who are you?',
        <WhoAmI c={c} next={next} value={String(body.actor ?? '')} errors={{ actor: checked.error }} />,
        422,
      );
    }
    setCookie(c, 'actor', checked.actor, {
      path: '/',
      httpOnly: true,
      sameSite: 'Lax',
      maxAge: 60 * 60 * 24 * 365,
    });
    return c.redirect(next, 303);
  });

  app.get('/new', (c) => {
    if (c.var.actor === null) return needActor(c);
    return render(
      c,
      'Add a person',
      <>
        <h1>Add a person</h1>
        <PersonForm page={pageOf(c)} action="/people" values={{}} errors={{}} submit="Add" />
      </>,
    );
  });

  app.post('/people', async (c) => {
    if (c.var.actor === null) return needActor(c);
    const body = await c.req.parseBody();
    const { data, errors } = readPerson(pick(body));
    const form = (errs: FieldErrors) =>
      render(
        c,
        'Add a person',
        <>
          <h1>Add a person</h1>
          <PersonForm page={pageOf(c)} action="/people" values={data} errors={errs} submit="Add" />
        </>,
        422,
      );
    if (Object.keys(errors).length > 0 || data.name === undefined) return form(errors);
    try {
      const v = await book.insert({ ...data, name: data.name }, { actor: c.var.actor });
      return c.redirect(`/people/${v.entryId}?notice=created`, 303);
    } catch (err) {
      const e = asAppError(err);
      if (e?.code === 'invalid_input') return form(fieldError(e));
      throw err;
    }
  });

  app.get('/people/:id', async (c) => {
    const history = await historyOf(c.req.param('id'));
    if (history === null) return notFound(c);
    const latest = history.at(-1)!;
    const deleted = latest.op === 'delete';
    const notice = NOTICES[c.req.query('notice') ?? ''];
    return render(
      c,
      latest.data.name,
      <>
        {notice && <Notice>{notice}</Notice>}
        <div class="page-head">
          <h1>{latest.data.name}</h1>
          {!deleted && (
            <div class="actions">
              <a class="button" href={`/people/${latest.entryId}/edit`}>
                Edit
              </a>
              <a class="button danger" href={`/people/${latest.entryId}/delete`}>
                Delete
              </a>
            </div>
          )}
        </div>
        {deleted && (
          <div class="banner deleted">
            <p>
              In the recycle bin since <Time at={latest.recordedAt} />: <q>{latest.reason}</q> (
              {latest.actor ?? 'unknown'}).
            </p>
            <form method="post" action={`/people/${latest.entryId}/restore`}>
              <CsrfField page={pageOf(c)} />
              <input type="hidden" name="expectedVersion" value={String(latest.version)} />
              <button type="submit">Restore</button>
            </form>
          </div>
        )}
        <PersonCard data={latest.data} />
        <p class="meta-line">
          <VersionMeta v={latest} /> ·{' '}
          <a href={`/people/${latest.entryId}/history`}>History ({history.length} versions)</a>
        </p>
        <p class="hash" title="SHA-256 of this version, chained to the previous one">
          hash <code>{latest.hash.slice(0, 16)}…</code>
          {latest.parentHash && (
            <>
              {' '}
              ← parent <code>{latest.parentHash.slice(0, 16)}…</code>
            </>
          )}
        </p>
      </>,
    );
  });

  app.get('/people/:id/edit', async (c) => {
    if (c.var.actor === null) return needActor(c);
    const id = c.req.param('id');
    const current = isEntryId(id) ? await book.get(id) : null;
    if (current === null) return notFound(c);
    return render(
      c,
      `Edit ${current.data.name}`,
      <EditPage
        c={c}
        current={current}
        values={current.data}
        errors={{}}
        expectedVersion={current.version}
      />,
    );
  });

  app.post('/people/:id', async (c) => {
    if (c.var.actor === null) return needActor(c);
    const id = c.req.param('id');
    const history = await historyOf(id);
    if (history === null) return notFound(c);
    const body = await c.req.parseBody();
    const { data, errors } = readPerson(pick(body));
    const { reason, error: reasonError } = readReason(body.reason, false);
    if (reasonError) errors.reason = reasonError;
    const expected = readVersion(body.expectedVersion);
    const current = history.at(-1)!;
    const edit = (errs: FieldErrors, status: 409 | 422, expectedVersion: number, seen?: PersonVersion) =>
      render(
        c,
        `Edit ${current.data.name}`,
        <EditPage
          c={c}
          current={current}
          values={data}
          errors={errs}
          expectedVersion={expectedVersion}
          reason={reason}
          conflict={seen && { seen, since: history.slice(seen.version) }}
        />,
        status,
      );
    if (expected === null || expected > current.version) {
      return edit({ ...errors, version: 'This form is out of date; reload it' }, 422, current.version);
    }
    if (current.op === 'delete') return c.redirect(`/people/${id}`, 303);
    if (expected !== current.version) {
      // Someone saved in between: show what changed instead of overwriting it.
      return edit(errors, 409, current.version, history[expected - 1]!);
    }
    if (Object.keys(errors).length > 0) return edit(errors, 422, expected);
    const patch = Object.fromEntries(
      fieldChanges(current.data, { ...current.data, ...data }).map((ch) => [ch.field, ch.after]),
    );
    if (Object.keys(patch).length === 0) return c.redirect(`/people/${id}?notice=unchanged`, 303);
    try {
      await book.update(id, patch, { expectedVersion: expected, reason, actor: c.var.actor });
      return c.redirect(`/people/${id}?notice=updated`, 303);
    } catch (err) {
      const e = asAppError(err);
      if (e?.code === 'invalid_input') return edit(fieldError(e), 422, expected);
      if (e?.code === 'version_conflict') {
        const fresh = (await historyOf(id))!;
        return c.html(
          <Layout page={pageOf(c)} title={`Edit ${current.data.name}`}>
            <EditPage
              c={c}
              current={fresh.at(-1)!}
              values={data}
              errors={{}}
              expectedVersion={fresh.at(-1)!.version}
              reason={reason}
              conflict={{ seen: fresh[expected - 1]!, since: fresh.slice(expected) }}
            />
          </Layout>,
          409,
        );
      }
      throw err;
    }
  });

  app.get('/people/:id/delete', async (c) => {
    if (c.var.actor === null) return needActor(c);
    const id = c.req.param('id');
    const current = isEntryId(id) ? await book.get(id) : null;
    if (current === null) return notFound(c);
    return render(
      c,
      `Delete ${current.data.name}`,
      <DeletePage c={c} current={current} errors={{}} reason="" />,
    );
  });

  app.post('/people/:id/delete', async (c) => {
    if (c.var.actor === null) return needActor(c);
    const id = c.req.param('id');
    const current = isEntryId(id) ? await book.get(id) : null;
    if (current === null) return notFound(c);
    const body = await c.req.parseBody();
    const { reason, error } = readReason(body.reason, true);
    const again = (errors: FieldErrors, status: 409 | 422) =>
      render(
        c,
        `Delete ${current.data.name}`,
        <DeletePage c={c} current={current} errors={errors} reason={String(body.reason ?? '')} />,
        status,
      );
    if (error || reason === undefined) return again({ reason: error }, 422);
    const expected = readVersion(body.expectedVersion);
    if (expected !== current.version) {
      return again(
        { version: 'Someone changed this person meanwhile; check the details above and confirm again' },
        409,
      );
    }
    try {
      await book.delete(id, { reason, expectedVersion: expected, actor: c.var.actor });
    } catch (err) {
      const e = asAppError(err);
      if (e?.code === 'invalid_input' || e?.code === 'reason_required')
        return again({ reason: e.message }, 422);
      if (e?.code === 'version_conflict')
        return again({ version: 'Someone changed this person meanwhile' }, 409);
      throw err;
    }
    return c.redirect(`/people/${id}?notice=deleted`, 303);
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

  app.get('/people/:id/history', async (c) => {
    const history = await historyOf(c.req.param('id'));
    if (history === null) return notFound(c);
    const latest = history.at(-1)!;
    return render(
      c,
      `History of ${latest.data.name}`,
      <>
        <div class="page-head">
          <h1>
            History of <a href={`/people/${latest.entryId}`}>{latest.data.name}</a>
          </h1>
        </div>
        <p class="muted">
          {history.length} versions, newest first. Each one is chained to the one before by its hash.
        </p>
        <ol class="timeline" reversed>
          {[...history].reverse().map((v) => {
            const before = v.version > 1 ? history[v.version - 2]! : null;
            return (
              <li class={`entry op-${v.op}`} id={`v${v.version}`}>
                <div class="entry-head">
                  <VersionMeta v={v} />
                  <a href={`/people/${v.entryId}/versions/${v.version}`}>view</a>
                </div>
                {v.op === 'insert' || v.op === 'update' ? (
                  <DiffTable changes={fieldChanges(before?.data ?? null, v.data)} />
                ) : null}
              </li>
            );
          })}
        </ol>
      </>,
    );
  });

  app.get('/people/:id/versions/:version', async (c) => {
    const history = await historyOf(c.req.param('id'));
    const n = readVersion(c.req.param('version'));
    const v = history && n !== null ? history[n - 1] : undefined;
    if (!history || !v) return notFound(c);
    const latest = history.at(-1)!;
    return render(
      c,
      `${v.data.name}, version ${v.version}`,
      <>
        <div class="page-head">
          <h1>
            <a href={`/people/${v.entryId}`}>{v.data.name}</a>{' '}
            <span class="muted">
              version {v.version} of {latest.version}
            </span>
          </h1>
        </div>
        <p class="meta-line">
          <VersionMeta v={v} />
        </p>
        <PersonCard data={v.data} />
        {v.version !== latest.version && (
          <section class="panel">
            <h2>What changed from this version to the latest</h2>
            <DiffTable changes={fieldChanges(v.data, latest.data)} />
          </section>
        )}
        <p>
          <a href={`/people/${v.entryId}/history#v${v.version}`}>Back to the history</a>
        </p>
      </>,
    );
  });

  app.get('/activity', async (c) => {
    const asked = c.req.query('range');
    const range = asked && asked in RANGES ? (asked as RangeName) : undefined;
    const data = await activity(db, range);
    const maxActor = Math.max(1, ...data.byActor.map((a) => a.changes));
    return render(
      c,
      'Activity',
      <>
        <h1>Activity</h1>
        <p class="muted">
          Every change is a row in the log, so this chart is one <code>GROUP BY</code> away: {data.total}{' '}
          changes in the {RANGES[data.range].label}.
        </p>
        <nav class="tabs">
          {(Object.keys(RANGES) as RangeName[]).map((r) => (
            <a href={`/activity?range=${r}`} class={r === data.range ? 'tab current' : 'tab'}>
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
                  <span class="actor-bar" data-n={String(a.changes)}>
                    <meter min={0} max={maxActor} value={a.changes} />
                  </span>
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

/** Only the person fields of a form body. */
function pick(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(FIELDS.map(({ key }) => [key, body[key] ?? null]));
}

/** An invalid_input error from the library, placed next to its field. */
function fieldError(e: { message: string; field?: string | undefined }): FieldErrors {
  const field = FIELDS.find((f) => f.key === e.field)?.key ?? 'name';
  return { [field]: e.message };
}

/** Where to go after choosing a name: a local path only (never another site). */
function safeNext(value: unknown): string {
  return typeof value === 'string' &&
    value.startsWith('/') &&
    !value.startsWith('//') &&
    !value.startsWith('/\\')
    ? value
    : '/';
}

function WhoAmI(props: { c: C; next: string; value: string; errors: FieldErrors }) {
  return (
    <>
      <h1>Who are you?</h1>
      <p>
        Every change is recorded with the name of whoever made it. Give the name you want to act as; it is
        kept in a cookie. <strong>This is not a login:</strong> real accounts come later.
      </p>
      <form method="post" action="/whoami" class="person-form">
        <CsrfField page={pageOf(props.c)} />
        <input type="hidden" name="next" value={props.next} />
        <TextField name="actor" label="Your name" value={props.value} error={props.errors.actor} required />
        <button type="submit">Act as this name</button>
      </form>
    </>
  );
}

function EditPage(props: {
  c: C;
  current: PersonVersion;
  values: Partial<Record<FieldKey, string | null>>;
  errors: FieldErrors;
  expectedVersion: number;
  reason?: string | undefined;
  conflict?: { seen: PersonVersion; since: PersonVersion[] } | undefined;
}) {
  const { current, conflict } = props;
  return (
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
          <DiffTable changes={fieldChanges(conflict.seen.data, current.data)} />
          <p>Your values are kept below. Save again to apply them on top of version {current.version}.</p>
        </section>
      )}
      {props.errors.version && <p class="error">{props.errors.version}</p>}
      <PersonForm
        page={pageOf(props.c)}
        action={`/people/${current.entryId}`}
        values={props.values}
        errors={props.errors}
        submit="Save"
        expectedVersion={props.expectedVersion}
        reason={props.reason}
      />
    </>
  );
}

function DeletePage(props: { c: C; current: PersonVersion; errors: FieldErrors; reason: string }) {
  const { current } = props;
  return (
    <>
      <h1>Delete {current.data.name}?</h1>
      <p>
        The entry moves to the recycle bin and can be restored; its history stays. Say why: the reason is
        recorded with the deletion.
      </p>
      <PersonCard data={current.data} />
      {props.errors.version && <p class="error">{props.errors.version}</p>}
      <form method="post" action={`/people/${current.entryId}/delete`} class="person-form" novalidate>
        <CsrfField page={pageOf(props.c)} />
        <input type="hidden" name="expectedVersion" value={String(current.version)} />
        <TextField name="reason" label="Reason" value={props.reason} error={props.errors.reason} required />
        <button type="submit" class="danger">
          Delete
        </button>
      </form>
    </>
  );
}
