import { Hono } from 'hono';
import type { Deps, Env } from '../context.js';
import { readVersion } from '../input.js';
import { DiffTable, fieldChanges, PersonCard, VersionMeta } from '../views/parts.js';
import { historyOf, notFound, render } from './helpers.js';

/** One person's timeline (who, when, why, what changed) and any single version of it. */
export function historyRoutes(deps: Deps): Hono<Env> {
  const app = new Hono<Env>();

  app.get('/people/:id/history', async (c) => {
    const history = await historyOf(deps, c.req.param('id'));
    if (history === null) return notFound(c);
    const latest = history.at(-1)!;
    return render(
      c,
      `History of ${latest.data.name}`,
      <>
        <h1>
          History of <a href={`/people/${latest.entryId}`}>{latest.data.name}</a>
        </h1>
        <p class="muted">
          {history.length} versions, newest first. Each one is chained to the one before by its hash.
        </p>
        <ol class="timeline" reversed>
          {history.toReversed().map((v) => (
            <li class={`entry op-${v.op}`} id={`v${v.version}`}>
              <div class="entry-head">
                <VersionMeta v={v} />
                <a href={`/people/${v.entryId}/versions/${v.version}`}>view</a>
              </div>
              {(v.op === 'insert' || v.op === 'update') && (
                <DiffTable changes={fieldChanges(history[v.version - 2]?.data ?? null, v.data)} />
              )}
            </li>
          ))}
        </ol>
      </>,
    );
  });

  app.get('/people/:id/versions/:version', async (c) => {
    const history = await historyOf(deps, c.req.param('id'));
    const n = readVersion(c.req.param('version'));
    const v = history && n !== null ? history[n - 1] : undefined;
    if (!history || !v) return notFound(c);
    const latest = history.at(-1)!;
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

  return app;
}
