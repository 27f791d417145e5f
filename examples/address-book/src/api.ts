import { type AppendLogError, InvalidInputError } from 'appendlog';
import { type Context, Hono } from 'hono';
import { asAppError, type Deps, type Env, statusOf } from './context.js';
import { isEntryId, readInstant, readPerson, readReason, readVersion } from './input.js';
import { MAX_PAGE, PAGE_SIZE } from './routes/helpers.js';
import type { Person } from './schema.js';
import { listOrSearch } from './search.js';

type C = Context<Env>;

/** The JSON body of an error: the library's code and message, and the details it carries. */
function errorBody(err: AppendLogError) {
  const details = err as AppendLogError & {
    field?: string;
    expected?: number | null;
    actual?: number | null;
  };
  return {
    error: {
      code: err.code,
      // The library names its own call (delete(id, { reason })); say what an HTTP caller sends.
      message: err.code === 'reason_required' ? 'a reason is required: send it as "reason"' : err.message,
      ...(details.field !== undefined && { field: details.field }),
      ...(details.expected !== undefined && { expected: details.expected, actual: details.actual }),
    },
  };
}

/** A positive integer from the query string or the path; absent stays undefined. */
function numberParam(value: string | undefined, field: string, required: true): number;
function numberParam(value: string | undefined, field: string): number | undefined;
function numberParam(value: string | undefined, field: string, required = false): number | undefined {
  if (value === undefined && !required) return undefined;
  const n = readVersion(value);
  if (n === null) throw new InvalidInputError(`${field} must be a positive integer`, field);
  return n;
}

/** The JSON API: the same operations as the pages, answering `Version` objects and typed errors. */
export function apiRoutes(deps: Deps): Hono<Env> {
  const api = new Hono<Env>();
  api.onError((err, c) => {
    const e = asAppError(err);
    if (e === null) throw err;
    return c.json(errorBody(e), statusOf(e));
  });

  api.get('/people', (c) => listPeople(c, deps));
  api.post('/people', (c) => createPerson(c, deps));
  api.get('/people/:id', (c) => getPerson(c, deps));
  api.patch('/people/:id', (c) => updatePerson(c, deps));
  api.delete('/people/:id', (c) => deletePerson(c, deps));
  api.post('/people/:id/restore', (c) => restorePerson(c, deps));
  api.post('/people/:id/revert', (c) => revertPerson(c, deps));
  api.get('/people/:id/history', (c) => personHistory(c, deps));
  api.get('/people/:id/versions/:version', (c) => personVersion(c, deps));
  api.get('/people/:id/diff', (c) => personDiff(c, deps));
  api.post('/people/:id/forget', (c) => forgetPerson(c, deps));
  api.post('/people/:id/cancel-forget', (c) => cancelForget(c, deps));
  api.get('/people/:id/erasure', async (c) => c.json(await deps.book.erasure(idOf(c))));
  api.get('/people/:id/verify', async (c) => c.json(await deps.book.verify(idOf(c))));
  api.get('/verify', async (c) => c.json(await deps.db.verify()));
  api.get('/bin', (c) => listBin(c, deps));
  api.get('/as-of', (c) => listAsOf(c, deps));
  api.all('*', (c) =>
    c.json({ error: { code: 'not_found', message: `no route ${c.req.method} ${c.req.path}` } }, 404),
  );
  return api;
}

/** `GET /api/people`: a page of live people by name, or of those matching `?q=`. */
async function listPeople(c: C, deps: Deps) {
  const q = (c.req.query('q') ?? '').trim();
  return c.json(await listOrSearch(deps, q, { in: 'book', ...pageOf(c) }));
}

/** `POST /api/people`: `{ data }` inserted as version 1 (201). */
async function createPerson(c: C, { book }: Deps) {
  const { actor, body } = await writeInput(c);
  const data = dataOf(body, false);
  if (data.name === undefined) throw new InvalidInputError('name is required', 'name');
  return c.json(await book.insert({ ...data, name: data.name }, { actor }), 201);
}

/** `GET /api/people/:id`: the live entry's latest version (404 when deleted, forgotten or unknown). */
async function getPerson(c: C, { book }: Deps) {
  const id = idOf(c);
  const v = await book.get(id);
  if (v === null) return c.json({ error: { code: 'not_found', message: `no live entry ${id}` } }, 404);
  return c.json(v);
}

/** `PATCH /api/people/:id`: the fields in `data` changed, optionally at `expectedVersion`. */
async function updatePerson(c: C, { book }: Deps) {
  const id = idOf(c);
  const { actor, body } = await writeInput(c);
  const patch = dataOf(body, true);
  return c.json(
    await book.update(id, patch, {
      actor,
      expectedVersion: expectedOf(body),
      reason: reasonOf(body, false),
    }),
  );
}

/** `DELETE /api/people/:id`: into the recycle bin, with the `reason` the library requires. */
async function deletePerson(c: C, { book }: Deps) {
  const id = idOf(c);
  const { actor, body } = await writeInput(c);
  const reason = reasonOf(body, false);
  return c.json(await book.delete(id, { actor, reason: reason ?? '', expectedVersion: expectedOf(body) }));
}

/** `POST /api/people/:id/restore`: back from the recycle bin. */
async function restorePerson(c: C, { book }: Deps) {
  const id = idOf(c);
  const { actor, body } = await writeInput(c);
  return c.json(
    await book.restore(id, { actor, expectedVersion: expectedOf(body), reason: reasonOf(body, false) }),
  );
}

/** `POST /api/people/:id/revert`: a new version with the data of `version`. */
async function revertPerson(c: C, { book }: Deps) {
  const id = idOf(c);
  const { actor, body } = await writeInput(c);
  const version = readVersion(body.version);
  if (version === null) throw new InvalidInputError('version must be a positive integer', 'version');
  return c.json(
    await book.revert(id, version, {
      actor,
      expectedVersion: expectedOf(body),
      reason: reasonOf(body, false),
    }),
  );
}

/**
 * `GET /api/people/:id/history`: a page of the versions, newest first, as `{ items, next, total }`
 * (`?limit=`, default 50, at most 200; `?after=` the `next` of the page before; `total` the number
 * of versions). `next` names the oldest version of the page, so it goes on to the older ones.
 * The form from before the paging, `?before=n` (and `?limit=`, the same default and most), still
 * answers a plain array, oldest first, of the newest `limit` versions below `n`.
 */
async function personHistory(c: C, { book }: Deps) {
  const id = idOf(c);
  const before = c.req.query('before');
  const { limit, after } = pageOf(c);
  if (before !== undefined)
    return c.json(await book.history(id, { limit, before: numberParam(before, 'before') }));
  let below: number | undefined;
  if (after !== undefined) {
    const m = /^v(\d{1,10})$/.exec(after);
    below = m === null ? undefined : (readVersion(m[1]) ?? undefined);
    if (below === undefined) throw new InvalidInputError('after is not a cursor of this history', 'after');
  }
  // One more than the page: whether older versions remain.
  const versions = await book.history(id, { limit: limit + 1, before: below });
  const items = versions.slice(-limit).toReversed();
  const latest = below === undefined ? versions.at(-1) : (await book.history(id, { limit: 1 }))[0];
  const oldest = items.at(-1);
  return c.json({
    items,
    next: versions.length > limit && oldest !== undefined ? `v${oldest.version}` : null,
    total: latest?.version ?? 0,
  });
}

/** `GET /api/people/:id/versions/:version`: one version. */
async function personVersion(c: C, { book }: Deps) {
  const id = idOf(c);
  const n = numberParam(c.req.param('version'), 'version', true);
  const [v] = await book.history(id, { before: n + 1, limit: 1 });
  if (v?.version !== n)
    return c.json({ error: { code: 'not_found', message: `entry ${id} has no version ${n}` } }, 404);
  return c.json(v);
}

/** `GET /api/people/:id/diff?from=&to=`: the fields that differ between two versions. */
async function personDiff(c: C, { book }: Deps) {
  const id = idOf(c);
  return c.json(
    await book.diff(
      id,
      numberParam(c.req.query('from'), 'from', true),
      numberParam(c.req.query('to'), 'to', true),
    ),
  );
}

/** `POST /api/people/:id/forget`: an erasure request, due `after` a duration or at a time. */
async function forgetPerson(c: C, { book }: Deps) {
  const id = idOf(c);
  const { actor, body } = await writeInput(c);
  if (body.after !== undefined && typeof body.after !== 'string') {
    throw new InvalidInputError('after must be a duration like "30 days" or an ISO 8601 time', 'after');
  }
  const reason = reasonOf(body, false) ?? '';
  return c.json(
    await book.forget(id, { reason, after: body.after, actor, expectedVersion: expectedOf(body) }),
  );
}

/** `POST /api/people/:id/cancel-forget`: the erasure request withdrawn while it is not yet due. */
async function cancelForget(c: C, { book }: Deps) {
  const id = idOf(c);
  const { actor, body } = await writeInput(c);
  return c.json(await book.cancelForget(id, { reason: reasonOf(body, false) ?? '', actor }));
}

/** `GET /api/bin`: a page of the recycle bin, newest first, or of those in it matching `?q=`. */
async function listBin(c: C, deps: Deps) {
  const q = (c.req.query('q') ?? '').trim();
  return c.json(await listOrSearch(deps, q, { in: 'bin', ...pageOf(c) }));
}

/** `GET /api/as-of?at=`: a page of the book as it stood at a moment, by name. */
async function listAsOf(c: C, { book }: Deps) {
  const at = readInstant(c.req.query('at') ?? '');
  if (at === null)
    throw new InvalidInputError('at must be an ISO 8601 time, like 2026-11-26T09:30:00Z', 'at');
  const page = await book.listAt(at, { orderBy: 'name', ...pageOf(c) });
  return c.json({ items: page, next: page.next });
}

/**
 * Writes carry JSON (so a cross-site form cannot forge one; the session cookie is SameSite too),
 * and their actor is the signed-in account.
 */
async function writeInput(c: C): Promise<{ actor: string; body: Record<string, unknown> }> {
  if (!(c.req.header('content-type') ?? '').toLowerCase().startsWith('application/json')) {
    throw new InvalidInputError('send the body as JSON with Content-Type: application/json', 'content-type');
  }
  const body: unknown = await c.req.json().catch(() => {
    throw new InvalidInputError('the body is not valid JSON', 'body');
  });
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidInputError('the body must be a JSON object', 'body');
  }
  return { actor: c.var.actor!, body: body as Record<string, unknown> };
}

/** The entry id in the path, refused unless it is a UUID. */
function idOf(c: C): string {
  const id = c.req.param('id') ?? '';
  if (!isEntryId(id)) throw new InvalidInputError(`"${id.slice(0, 40)}" is not an entry id (a UUID)`, 'id');
  return id;
}

/** The person fields of a write, checked (`partial` for a patch). */
function dataOf(body: Record<string, unknown>, partial: boolean): Partial<Person> {
  const raw = body.data;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new InvalidInputError('put the fields in "data": { "name": … }', 'data');
  }
  const { data, errors } = readPerson(raw as Record<string, unknown>, partial);
  const [field, message] = Object.entries(errors)[0] ?? [];
  if (field !== undefined) throw new InvalidInputError(message ?? 'invalid', field);
  return data;
}

function expectedOf(body: Record<string, unknown>): number | undefined {
  if (body.expectedVersion === undefined) return undefined;
  const v = readVersion(body.expectedVersion);
  if (v === null)
    throw new InvalidInputError('expectedVersion must be a positive integer', 'expectedVersion');
  return v;
}

function reasonOf(body: Record<string, unknown>, required: boolean): string | undefined {
  const { reason, error } = readReason(body.reason, required);
  if (error) throw new InvalidInputError(error, 'reason');
  return reason;
}

/** `?limit=` (default 50, at most 200) and `?after=` (the `next` of the page before). */
function pageOf(c: C) {
  return {
    limit: Math.min(numberParam(c.req.query('limit'), 'limit') ?? PAGE_SIZE, MAX_PAGE),
    after: c.req.query('after') || undefined,
  };
}
