import type { Version } from 'appendlog';
import type { Context } from 'hono';
import type { Child } from 'hono/jsx';
import { asAppError, type Deps, type Env, pageOf } from '../context.js';
import { type FieldErrors, isEntryId } from '../input.js';
import { FIELDS, type Person } from '../schema.js';
import { Layout } from '../views/layout.js';

export type C = Context<Env>;
export type PersonVersion = Version<Person>;

/** Answers a full page inside the layout. */
export function render(c: C, title: string, body: Child, status: 200 | 400 | 404 | 409 | 413 | 422 = 200) {
  return c.html(
    <Layout page={pageOf(c)} title={title}>
      {body}
    </Layout>,
    status,
  );
}

/** The 404 page; `what` says what is missing (by default, the person). */
export function notFound(c: C, what = 'There is no such person.') {
  return render(
    c,
    'Not found',
    <>
      <h1>Not found</h1>
      <p>
        {what} <a href="/">Back to the list</a>
      </p>
    </>,
    404,
  );
}

/** Writes need a name to record: send the visitor to choose one first. */
export function needActor(c: C) {
  return c.redirect(`/whoami?next=${encodeURIComponent(new URL(c.req.url).pathname)}`);
}

/** Every version of an entry, oldest first; null when there is no such entry. */
export async function historyOf({ book }: Deps, id: string): Promise<PersonVersion[] | null> {
  if (!isEntryId(id)) return null;
  try {
    return await book.history(id);
  } catch (err) {
    if (asAppError(err)?.code === 'not_found') return null;
    throw err;
  }
}

/** Only the person fields of a form body. */
export function pick(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(FIELDS.map(({ key }) => [key, body[key] ?? null]));
}

/** An `invalid_input` error from the library, placed next to its field. */
export function fieldError(e: { message: string; field?: string | undefined }): FieldErrors {
  const field = FIELDS.find((f) => f.key === e.field)?.key ?? 'name';
  return { [field]: e.message };
}
