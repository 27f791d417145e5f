import { Hono } from 'hono';
import type { Deps, Env } from '../context.js';
import { isEntryId } from '../input.js';
import { Time } from '../views/parts.js';
import { count } from '../words.js';
import { render } from './helpers.js';

/** The integrity report: every hash recomputed, every chain link and the head table checked. */
export function integrityRoutes({ integrity }: Deps): Hono<Env> {
  const app = new Hono<Env>();

  app.get('/integrity', async (c) => {
    const result = await integrity.fresh();
    return render(
      c,
      'Integrity',
      <>
        <h1>Integrity</h1>
        <p>
          Every version carries a SHA-256 hash of its content and of the version before it, so each person's
          history is a chain. Verifying reads the whole log and recomputes every hash from the stored values,
          never trusting one the database computed; it also checks that versions run 1, 2, 3… without a gap
          and that the current state agrees with the log.
        </p>
        <section class={result.ok ? 'banner verified' : 'banner conflict'}>
          <h2>
            {result.ok ? '✓ Everything verifies' : `⚠ ${count(result.failures.length, 'problem')} found`}
          </h2>
          <p>
            {count(result.checked, 'version')} checked
            {result.erased > 0 && `, ${result.erased} of them erased on request (their hashes still verify)`},
            at <Time at={result.at} />.
          </p>
        </section>
        {result.failures.length > 0 && (
          <table class="failures">
            <thead>
              <tr>
                <th>Where</th>
                <th>Problem</th>
                <th>Detail</th>
              </tr>
            </thead>
            <tbody>
              {result.failures.map((f) => (
                <tr>
                  <td>
                    {f.entryId !== null && isEntryId(f.entryId) ? (
                      <a href={`/people/${f.entryId}/history`}>
                        {f.version === null ? 'entry' : `version ${f.version}`}
                      </a>
                    ) : (
                      (f.table ?? 'checkpoint')
                    )}
                  </td>
                  <td>
                    <code>{f.problem}</code>
                  </td>
                  <td>{f.detail}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <p class="muted">
          The badge in the header checks less: at most once a minute, in the background, it re-verifies only
          the chains of the people and accounts written since its last check. This page verifies the whole
          log.
        </p>
        <p class="muted">
          A chain stops silent edits of single versions, not a database superuser who rewrites a whole chain.
          Checkpoints kept outside the database close that gap:{' '}
          <code>npx appendlog checkpoint --out checkpoint</code>, later{' '}
          <code>npx appendlog verify --against checkpoint</code>.
        </p>
      </>,
    );
  });

  return app;
}
