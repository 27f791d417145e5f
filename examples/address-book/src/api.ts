import { type AppendLogError, InvalidInputError } from 'appendlog';
import { type Context, Hono } from 'hono';
import { asAppError, type Deps, type Env, statusOf } from './context.js';
import { isEntryId, readActor, readInstant, readPerson, readReason, readVersion } from './input.js';
import { MAX_PAGE, PAGE_SIZE } from './routes/helpers.js';
import type { Person } from './schema.js';
import { search } from './search.js';

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
export function apiRoutes({ book, db }: Deps): Hono<Env> {
  const api = new Hono<Env>();

  api.onError((err, c) => {
    const e = asAppError(err);
    if (e === null) throw err;
    return c.json(errorBody(e), statusOf(e));
  });

  /** Writes carry JSON (so a cross-site form cannot forge one) and name their actor in `X-Actor`. */
  const writeInput = async (c: C): Promise<{ actor: string; body: Record<string, unknown> }> => {
    if (!(c.req.header('content-type') ?? '').toLowerCase().startsWith('application/json')) {
      throw new InvalidInputError(
        'send the body as JSON with Content-Type: application/json',
        'content-type',
      );
    }
    const actor = readActor(c.req.header('x-actor'));
    if ('error' in actor) throw new InvalidInputError(`X-Actor header: ${actor.error}`, 'actor');
    const body: unknown = await c.req.json().catch(() => {
      throw new InvalidInputError('the body is not valid JSON', 'body');
    });
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new InvalidInputError('the body must be a JSON object', 'body');
    }
    return { actor: actor.actor, body: body as Record<string, unknown> };
  };

  const idOf = (c: C): string => {
    const id = c.req.param('id') ?? '';
    if (!isEntryId(id)) throw new InvalidInputError(`"${id.slice(0, 40)}" is not an entry id (a UUID)`, 'id');
    return id;
  };

  const dataOf = (body: Record<string, unknown>, partial: boolean): Partial<Person> => {
    const raw = body.data;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new InvalidInputError('put the fields in "data": { "name": … }', 'data');
    }
    const { data, errors } = readPerson(raw as Record<string, unknown>, partial);
    const [field, message] = Object.entries(errors)[0] ?? [];
    if (field !== undefined) throw new InvalidInputError(message ?? 'invalid', field);
    return data;
  };

  const expectedOf = (body: Record<string, unknown>): number | undefined => {
    if (body.expectedVersion === undefined) return undefined;
    const v = readVersion(body.expectedVersion);
    if (v === null)
      throw new InvalidInputError('expectedVersion must be a positive integer', 'expectedVersion');
    return v;
  };

  const reasonOf = (body: Record<string, unknown>, required: boolean): string | undefined => {
    const { reason, error } = readReason(body.reason, required);
    if (error) throw new InvalidInputError(error, 'reason');
    return reason;
  };

  /** `?limit=` (default 50, at most 200) and `?after=` (the `next` of the page before). */
  const pageOf = (c: C) => ({
    limit: Math.min(numberParam(c.req.query('limit'), 'limit') ?? PAGE_SIZE, MAX_PAGE),
    after: c.req.query('after') || undefined,
  });

  api.get('/people', async (c) => {
    const q = (c.req.query('q') ?? '').trim();
    const { limit, after } = pageOf(c);
    if (q !== '') return c.json(await search(db, q, { in: 'book', limit, after }));
    const page = await book.list({ orderBy: 'name', limit, after });
    return c.json({ items: page, next: page.next });
  });

  api.post('/people', async (c) => {
    const { actor, body } = await writeInput(c);
    const data = dataOf(body, false);
    if (data.name === undefined) throw new InvalidInputError('name is required', 'name');
    return c.json(await book.insert({ ...data, name: data.name }, { actor }), 201);
  });

  api.get('/people/:id', async (c) => {
    const id = idOf(c);
    const v = await book.get(id);
    if (v === null) return c.json({ error: { code: 'not_found', message: `no live entry ${id}` } }, 404);
    return c.json(v);
  });

  api.patch('/people/:id', async (c) => {
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
  });

  api.delete('/people/:id', async (c) => {
    const id = idOf(c);
    const { actor, body } = await writeInput(c);
    const reason = reasonOf(body, false);
    return c.json(await book.delete(id, { actor, reason: reason ?? '', expectedVersion: expectedOf(body) }));
  });

  api.post('/people/:id/restore', async (c) => {
    const id = idOf(c);
    const { actor, body } = await writeInput(c);
    return c.json(
      await book.restore(id, { actor, expectedVersion: expectedOf(body), reason: reasonOf(body, false) }),
    );
  });

  api.post('/people/:id/revert', async (c) => {
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
  });

  api.get('/people/:id/history', async (c) => {
    const id = idOf(c);
    const limit = c.req.query('limit');
    const before = c.req.query('before');
    if (limit === undefined && before === undefined) return c.json(await book.history(id));
    return c.json(
      await book.history(id, { limit: numberParam(limit, 'limit'), before: numberParam(before, 'before') }),
    );
  });

  api.get('/people/:id/versions/:version', async (c) => {
    const id = idOf(c);
    const n = numberParam(c.req.param('version'), 'version', true);
    const [v] = await book.history(id, { before: n + 1, limit: 1 });
    if (v?.version !== n)
      return c.json({ error: { code: 'not_found', message: `entry ${id} has no version ${n}` } }, 404);
    return c.json(v);
  });

  api.get('/people/:id/diff', async (c) => {
    const id = idOf(c);
    return c.json(
      await book.diff(
        id,
        numberParam(c.req.query('from'), 'from', true),
        numberParam(c.req.query('to'), 'to', true),
      ),
    );
  });

  api.post('/people/:id/forget', async (c) => {
    const id = idOf(c);
    const { actor, body } = await writeInput(c);
    if (body.after !== undefined && typeof body.after !== 'string') {
      throw new InvalidInputError('after must be a duration like "30 days" or an ISO 8601 time', 'after');
    }
    const reason = reasonOf(body, false) ?? '';
    return c.json(
      await book.forget(id, { reason, after: body.after, actor, expectedVersion: expectedOf(body) }),
    );
  });

  api.post('/people/:id/cancel-forget', async (c) => {
    const id = idOf(c);
    const { actor, body } = await writeInput(c);
    return c.json(await book.cancelForget(id, { reason: reasonOf(body, false) ?? '', actor }));
  });

  api.get('/people/:id/erasure', async (c) => c.json(await book.erasure(idOf(c))));

  api.get('/people/:id/verify', async (c) => c.json(await book.verify(idOf(c))));

  api.get('/verify', async (c) => c.json(await db.verify()));

  api.get('/bin', async (c) => {
    const q = (c.req.query('q') ?? '').trim();
    const { limit, after } = pageOf(c);
    if (q !== '') return c.json(await search(db, q, { in: 'bin', limit, after }));
    const page = await book.deleted({ limit, after });
    return c.json({ items: page, next: page.next });
  });

  api.get('/as-of', async (c) => {
    const at = readInstant(c.req.query('at') ?? '');
    if (at === null)
      throw new InvalidInputError('at must be an ISO 8601 time, like 2026-11-26T09:30:00Z', 'at');
    const page = await book.listAt(at, { orderBy: 'name', ...pageOf(c) });
    return c.json({ items: page, next: page.next });
  });

  api.all('*', (c) =>
    c.json({ error: { code: 'not_found', message: `no route ${c.req.method} ${c.req.path}` } }, 404),
  );

  return api;
}
