import type { ErasureStatus } from 'appendlog';
import { Hono } from 'hono';
import { asAppError, type Deps, type Env, pageOf } from '../context.js';
import { isEntryId, readReason, readVersion } from '../input.js';
import { CsrfField } from '../views/layout.js';
import { DiffTable, ErasureLine, fieldChanges, PersonCard, Time, VersionMeta } from '../views/parts.js';
import { count } from '../words.js';
import {
  type C,
  latestOf,
  may,
  needActor,
  notFound,
  type PersonVersion,
  render,
  versionOf,
} from './helpers.js';

const PAGE = 50;

/** One person's timeline (who, when, why, what changed), any single version, and revert. */
export function historyRoutes(deps: Deps): Hono<Env> {
  const app = new Hono<Env>();
  app.get('/people/:id/history', (c) => historyPage(c, deps));
  app.get('/people/:id/versions/:version', (c) => versionPage(c, deps));
  app.post('/people/:id/revert', (c) => revertPerson(c, deps));
  return app;
}

/**
 * A person's versions below `before` (a version number; all when absent), the newest `limit` of
 * them, oldest first, with the latest version; null when there is no such person. Two bounded
 * reads of the log's `(entry_id, version)` key, whatever the length of the history.
 */
async function versionsOf(
  { book }: Deps,
  id: string,
  page: { limit: number; before?: number | undefined },
): Promise<{ versions: PersonVersion[]; latest: PersonVersion } | null> {
  if (!isEntryId(id)) return null;
  try {
    const versions = await book.history(id, page);
    const latest = page.before === undefined ? versions.at(-1) : (await book.history(id, { limit: 1 }))[0];
    return latest === undefined ? null : { versions, latest };
  } catch (err) {
    if (asAppError(err)?.code === 'not_found') return null;
    throw err;
  }
}

/**
 * `GET /people/:id/history`: the newest 50 versions before `?before=` (a version number, the
 * keyset of `book.history`), newest first, with links to the newer and the older ones.
 */
async function historyPage(c: C, deps: Deps) {
  const { book } = deps;
  const before = readVersion(c.req.query('before')) ?? undefined;
  // One version more than shown: the one before the oldest shown, to diff it against.
  const read = await versionsOf(deps, c.req.param('id') ?? '', { limit: PAGE + 1, before });
  if (read === null) return notFound(c);
  const { latest } = read;
  const all = read.versions;
  const shown = all.length > PAGE ? all.slice(1) : all;
  const older = shown[0] && shown[0].version > 1 ? shown[0].version : null;
  const newest = shown.at(-1);
  const newer = newest !== undefined && newest.version < latest.version ? newest.version + PAGE + 1 : null;
  // A forgotten person's content is hidden, then erased; the who, when and why stay.
  const erasure = latest.op === 'forget' ? await book.erasure(latest.entryId) : null;
  const name = erasure ? 'a forgotten person' : latest.data.name;
  const range =
    shown.length === 0
      ? 'none on this page'
      : shown.length === latest.version
        ? 'newest first'
        : `versions ${shown.at(-1)!.version} to ${shown[0]!.version} shown, newest first`;
  return render(
    c,
    `History of ${name}`,
    <>
      <h1>
        History of <a href={`/people/${latest.entryId}`}>{name}</a>
      </h1>
      {erasure && (
        <p class="banner erased">
          <ErasureLine status={erasure} />.
        </p>
      )}
      <p class="muted">
        {count(latest.version, 'version')}, {range}. Each one is chained to the one before by its hash.
      </p>
      <ol class="timeline">
        {shown.toReversed().map((v) => (
          <TimelineEntry c={c} v={v} previous={all[all.indexOf(v) - 1]} latest={latest} erasure={erasure} />
        ))}
      </ol>
      {(older !== null || newer !== null) && (
        <nav class="pager" aria-label="Pages of versions">
          {newer !== null && (
            <a href={`/people/${latest.entryId}/history${newer > latest.version ? '' : `?before=${newer}`}`}>
              Newer versions
            </a>
          )}{' '}
          {older !== null && (
            <a href={`/people/${latest.entryId}/history?before=${older}`} rel="next">
              Older versions
            </a>
          )}
        </nav>
      )}
    </>,
  );
}

/** One version in the timeline: who, when and why, and what it changed (or that it was erased). */
function TimelineEntry(props: {
  c: C;
  v: PersonVersion;
  previous: PersonVersion | undefined;
  latest: PersonVersion;
  erasure: ErasureStatus | null;
}) {
  const { v, latest, erasure } = props;
  const changes = fieldChanges(props.previous?.data ?? null, v.data);
  return (
    <li class={`entry op-${v.op}`} id={`v${v.version}`}>
      <div class="entry-head">
        <span>
          <VersionMeta v={v} />
          {typeof v.meta?.revertedTo === 'number' && (
            <span class="muted"> (reverted to v{v.meta.revertedTo})</span>
          )}
        </span>
        {erasure === null && (
          <span class="links">
            <a href={`/people/${v.entryId}/versions/${v.version}`}>view</a> ·{' '}
            <a href={`/as-of?at=${encodeURIComponent(v.recordedAtIso)}`}>whole book then</a>
          </span>
        )}
      </div>
      {erasure ? (
        <p class="muted">
          {v.redactedAt ? (
            <>
              erased on <Time at={v.redactedAt} />: <q class="reason">{erasure.reason}</q>
            </>
          ) : (
            'content hidden: this person was forgotten'
          )}
        </p>
      ) : (
        v.op !== 'delete' && changes.length > 0 && <DiffTable changes={changes} />
      )}
      {canRevertTo(v, latest) && may(props.c, 'editor') && <RevertForm c={props.c} v={v} latest={latest} />}
    </li>
  );
}

/**
 * `GET /people/:id/versions/:version`: one version whole, and how it differs from the latest.
 * Reads the latest version, the one shown and (for the diff) those two again: never the others.
 */
async function versionPage(c: C, deps: Deps) {
  const { book } = deps;
  const latest = await latestOf(deps, c.req.param('id') ?? '');
  const n = readVersion(c.req.param('version'));
  if (!latest) return notFound(c);
  const v = n !== null ? await versionOf(deps, latest, n) : undefined;
  if (!v) {
    const has = latest.version === 1 ? 'only version 1' : `versions 1 to ${latest.version}`;
    return notFound(c, `There is no such version: this person has ${has}.`);
  }
  if (latest.op === 'forget') {
    const erasure = (await book.erasure(v.entryId))!;
    return render(
      c,
      `A forgotten person, version ${v.version}`,
      <>
        <h1>
          <a href={`/people/${v.entryId}`}>A forgotten person</a>{' '}
          <span class="muted">
            version {v.version} of {latest.version}
          </span>
        </h1>
        <p class="meta-line">
          <VersionMeta v={v} />
        </p>
        <p class="banner erased">
          <ErasureLine status={erasure} />.
        </p>
      </>,
    );
  }
  const changes = v.version === latest.version ? [] : await book.diff(v.entryId, v.version, latest.version);
  return render(
    c,
    `${v.data.name}, version ${v.version}`,
    <>
      <h1>
        <a href={`/people/${v.entryId}`}>{v.data.name}</a>{' '}
        <span class="muted">
          version {v.version} of {latest.version}
        </span>
      </h1>
      <p class="meta-line">
        <VersionMeta v={v} />
      </p>
      <PersonCard data={v.data} />
      {v.version !== latest.version && (
        <section class="panel">
          <h2>From this version to the latest</h2>
          <DiffTable changes={changes} />
          {canRevertTo(v, latest) && may(c, 'editor') && <RevertForm c={c} v={v} latest={latest} />}
        </section>
      )}
      <p>
        <a href={`/people/${v.entryId}/history#v${v.version}`}>Back to the history</a> ·{' '}
        <a href={`/as-of?at=${encodeURIComponent(v.recordedAtIso)}`}>the whole address book at this moment</a>
      </p>
    </>,
  );
}

/** `POST /people/:id/revert`: a new version with the data of `version`, then the person's page. */
async function revertPerson(c: C, deps: Deps) {
  if (c.var.actor === null) return needActor(c);
  const { book } = deps;
  const id = c.req.param('id') ?? '';
  if ((await latestOf(deps, id)) === null) return notFound(c);
  const body = await c.req.parseBody();
  const n = readVersion(body.version);
  const expected = readVersion(body.expectedVersion) ?? undefined;
  const { reason, error } = readReason(body.reason, false);
  if (n === null) return notReverted(c, id, 'Choose a version to revert to.', 422);
  if (error) return notReverted(c, id, error, 422);
  try {
    await book.revert(id, n, { reason, expectedVersion: expected, actor: c.var.actor });
  } catch (err) {
    const e = asAppError(err);
    if (e?.code === 'version_conflict')
      return notReverted(c, id, 'Someone changed this person meanwhile: look again.', 409);
    if (e?.code === 'invalid_state' || e?.code === 'not_found') return notReverted(c, id, e.message, 400);
    throw err;
  }
  return c.redirect(`/people/${id}?notice=reverted`, 303);
}

/** The page a refused revert answers: why, and the way back to the history. */
function notReverted(c: C, id: string, message: string, status: 400 | 409 | 422) {
  return render(
    c,
    'Not reverted',
    <>
      <h1>Not reverted</h1>
      <p class="error" role="alert">
        {message}
      </p>
      <p>
        Nothing was changed. <a href={`/people/${id}/history`}>Back to the history</a>
      </p>
    </>,
    status,
  );
}

/** Any earlier version that held data can be brought back (a deleted person comes back too). */
function canRevertTo(v: PersonVersion, latest: PersonVersion): boolean {
  return v.version !== latest.version && v.op !== 'delete' && v.op !== 'forget' && latest.op !== 'forget';
}

function RevertForm(props: { c: C; v: PersonVersion; latest: PersonVersion }) {
  const { v, latest } = props;
  return (
    <form method="post" action={`/people/${v.entryId}/revert`} class="revert">
      <CsrfField page={pageOf(props.c)} />
      <input type="hidden" name="version" value={String(v.version)} />
      <input type="hidden" name="expectedVersion" value={String(latest.version)} />
      <input
        name="reason"
        class="small reason-input"
        placeholder="Why? (optional)"
        aria-label={`Why revert to version ${v.version}?`}
      />
      <button type="submit" class="secondary small">
        Revert to v{v.version}
      </button>
    </form>
  );
}
