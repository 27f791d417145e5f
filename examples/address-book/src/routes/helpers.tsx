import type { Version } from 'appendlog';
import type { Context } from 'hono';
import type { Child } from 'hono/jsx';
import { atLeast, NameBook, type Role } from '../accounts.js';
import { asAppError, type Deps, type Env, pageOf } from '../context.js';
import { type FieldErrors, isEntryId, readVersion } from '../input.js';
import { FIELDS, type Person } from '../schema.js';
import { Layout } from '../views/layout.js';

export type C = Context<Env>;
export type PersonVersion = Version<Person>;

/** Answers a full page inside the layout. */
export function render(
  c: C,
  title: string,
  body: Child,
  status: 200 | 400 | 401 | 403 | 404 | 409 | 413 | 422 | 429 = 200,
) {
  return c.html(
    <Layout
      page={pageOf(c)}
      title={
        status === 400 || status === 401 || status === 409 || status === 422 || status === 429
          ? `Error: ${title}`
          : title
      }
    >
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

/**
 * The 500 page: the frame of every page, and nothing of the error itself (the server logs it).
 * It stands even when the failure came before the request's account and names were read, and
 * asks no verification for the badge.
 */
export function serverError(c: C) {
  const page = {
    ...pageOf(c),
    account: c.var.account ?? null,
    names: c.var.names ?? NO_NAMES,
    csrf: c.var.csrf ?? '',
    integrity: undefined,
    problem: undefined,
  };
  return c.html(
    <Layout page={page} title="Error: Something went wrong">
      <h1>Something went wrong</h1>
      <p class="error" role="alert">
        The server could not answer this request; what went wrong has been logged. If you sent a form, look
        before sending it again: it may have been saved.
      </p>
      <p>
        <a href="/">Back to the list</a>
      </p>
    </Layout>,
    500,
  );
}

const NO_NAMES = new NameBook([]);

/** Writes need an account to record: send the visitor to sign in first. */
export function needActor(c: C) {
  return c.redirect(`/signin?next=${encodeURIComponent(new URL(c.req.url).pathname)}`);
}

/** Where to go after signing in: a local path only, never another site. */
export function safeNext(value: unknown): string {
  return typeof value === 'string' &&
    value.startsWith('/') &&
    !value.startsWith('//') &&
    !value.startsWith('/\\')
    ? value
    : '/';
}

/**
 * The latest version of an entry (live, in the bin or forgotten); null when there is no such
 * entry. One row of the log's `(entry_id, version)` key, however many versions there are: its
 * version number is also how many there are.
 */
export async function latestOf({ book }: Deps, id: string): Promise<PersonVersion | null> {
  if (!isEntryId(id)) return null;
  try {
    const [latest] = await book.history(id, { limit: 1 });
    return latest ?? null;
  } catch (err) {
    if (asAppError(err)?.code === 'not_found') return null;
    throw err;
  }
}

/**
 * Version `n` of the entry whose latest version is `latest`: that one itself, or the one row of
 * the key below `n + 1`; undefined when there is no such version.
 */
export async function versionOf(
  { book }: Deps,
  latest: PersonVersion,
  n: number,
): Promise<PersonVersion | undefined> {
  if (n >= latest.version) return n === latest.version ? latest : undefined;
  const [v] = await book.history(latest.entryId, { before: n + 1, limit: 1 });
  return v?.version === n ? v : undefined;
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

/** Rows per page of every list, unless `?limit=` asks for fewer (or more, up to `MAX_PAGE`). */
export const PAGE_SIZE = 50;
export const MAX_PAGE = 200;

/** The page size a request asks for: `?limit=` between 1 and `MAX_PAGE`, else `PAGE_SIZE`. */
export function limitOf(c: C): number {
  const n = readVersion(c.req.query('limit'));
  return n === null ? PAGE_SIZE : Math.min(n, MAX_PAGE);
}

/** The cursor a request continues from (`?after=`), or undefined on the first page. */
export function afterOf(c: C): string | undefined {
  const after = c.req.query('after');
  return after === undefined || after === '' ? undefined : after;
}

/**
 * Runs a paged read; a cursor the library (or the search) refuses, from an old or edited link,
 * answers a page that says so and links to the first page, instead of a 500.
 */
export async function paged(c: C, read: () => Promise<Response>): Promise<Response> {
  try {
    return await read();
  } catch (err) {
    const e = asAppError(err);
    if (e?.code !== 'invalid_input' || (e as { field?: string }).field !== 'after') throw err;
    const first = new URL(c.req.url);
    first.searchParams.delete('after');
    return render(
      c,
      'Page link out of date',
      <>
        <h1>That page link does not fit this list</h1>
        <p>
          It belongs to another list or order, or was edited.{' '}
          <a href={first.pathname + first.search}>Start from the first page</a>
        </p>
      </>,
      400,
    );
  }
}

/** "Next page" (and "first page" after it) under a list: nothing is left out without a link to it. */
export function Pager(props: { c: C; next: string | null; shown: number; noun: string }) {
  const url = new URL(props.c.req.url);
  const onFirst = !url.searchParams.has('after');
  const first = new URL(url);
  first.searchParams.delete('after');
  const nextUrl = new URL(url);
  if (props.next !== null) nextUrl.searchParams.set('after', props.next);
  if (onFirst && props.next === null) return null;
  return (
    <nav class="pager" aria-label={`Pages of ${props.noun}`}>
      <p class="muted pager-note">
        {props.shown} {props.noun} on this page{props.next === null ? ', the last' : '; there are more'}.
      </p>
      {!onFirst && <a href={first.pathname + first.search}>← First page</a>}{' '}
      {props.next !== null && (
        <a href={nextUrl.pathname + nextUrl.search} rel="next">
          Next page →
        </a>
      )}
    </nav>
  );
}

/** True when the signed-in account may do what `role` may: pages offer only what the role allows. */
export function may(c: C, role: Role): boolean {
  return c.var.account !== null && atLeast(c.var.account.role, role);
}
