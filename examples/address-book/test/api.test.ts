import type { Hono } from 'hono';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Env } from '../src/context.js';
import { api, appFor, describeEngines, sessionFor, type TestBook } from './support.js';

describeEngines('Address Book JSON API', (engine) => {
  let t: TestBook;
  let app: Hono<Env>;
  const count = async () => (await api(app, 'GET', '/people')).body.items.length;

  beforeAll(async () => {
    t = await engine.open();
    app = appFor(t.db);
  });
  afterAll(() => t.close());

  it('creates, reads, lists and searches people as Version objects', async () => {
    const created = await api(
      app,
      'POST',
      '/people',
      { data: { name: 'Ada Lovelace', city: ' London ' } },
      'alice',
    );
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      version: 1,
      op: 'insert',
      actor: (await sessionFor(t.db, 'alice')).id,
      data: { name: 'Ada Lovelace', city: 'London', tel: null },
    });
    expect(created.body.entryId).toMatch(/^[0-9a-f-]{36}$/);
    const read = await api(app, 'GET', `/people/${created.body.entryId}`);
    expect(read).toMatchObject({ status: 200, body: { entryId: created.body.entryId, version: 1 } });
    await api(app, 'POST', '/people', { data: { name: 'Alan Turing', city: 'Wilmslow' } });
    const found = await api(app, 'GET', '/people?q=wilms');
    expect(found.body.items.map((p) => p.data.name)).toEqual(['Alan Turing']);
    expect(found.body.next).toBeNull();
  });

  it('updates with expectedVersion and answers 409 with both versions on a stale one, writing nothing', async () => {
    const { body: v1 } = await api(app, 'POST', '/people', {
      data: { name: 'Grace Hopper', city: 'Arlington' },
    });
    const v2 = await api(
      app,
      'PATCH',
      `/people/${v1.entryId}`,
      { data: { city: 'Washington' }, expectedVersion: 1, reason: 'moved' },
      'bob',
    );
    expect(v2).toMatchObject({
      status: 200,
      body: { version: 2, op: 'update', actor: (await sessionFor(t.db, 'bob')).id, reason: 'moved' },
    });
    expect(v2.body.data).toMatchObject({ name: 'Grace Hopper', city: 'Washington' });
    const stale = await api(app, 'PATCH', `/people/${v1.entryId}`, {
      data: { city: 'Boston' },
      expectedVersion: 1,
    });
    expect(stale).toMatchObject({
      status: 409,
      body: { error: { code: 'version_conflict', expected: 1, actual: 2 } },
    });
    const history = await api(app, 'GET', `/people/${v1.entryId}/history`);
    expect(history.body.items.map((v) => [v.version, v.data.city])).toEqual([
      [2, 'Washington'],
      [1, 'Arlington'],
    ]);
    expect(history.body).toMatchObject({ next: null, total: 2 });
    expect((await api(app, 'GET', `/people/${v1.entryId}/versions/1`)).body.data.city).toBe('Arlington');
    expect((await api(app, 'GET', `/people/${v1.entryId}/versions/3`)).status).toBe(404);
  });

  it('deletes only with a reason (422 otherwise), then restores', async () => {
    const { body: v1 } = await api(app, 'POST', '/people', { data: { name: 'Katherine Johnson' } });
    const noReason = await api(app, 'DELETE', `/people/${v1.entryId}`, {});
    expect(noReason).toMatchObject({ status: 422, body: { error: { code: 'reason_required' } } });
    const blank = await api(app, 'DELETE', `/people/${v1.entryId}`, { reason: '   ' });
    expect(blank).toMatchObject({ status: 422, body: { error: { code: 'reason_required' } } });
    const deleted = await api(app, 'DELETE', `/people/${v1.entryId}`, {
      reason: 'left the team',
      expectedVersion: 1,
    });
    expect(deleted).toMatchObject({
      status: 200,
      body: { version: 2, op: 'delete', reason: 'left the team' },
    });
    expect((await api(app, 'GET', `/people/${v1.entryId}`)).status).toBe(404);
    const restored = await api(app, 'POST', `/people/${v1.entryId}/restore`, {});
    expect(restored).toMatchObject({ status: 200, body: { version: 3, op: 'restore' } });
    const again = await api(app, 'POST', `/people/${v1.entryId}/restore`, {});
    expect(again).toMatchObject({ status: 400, body: { error: { code: 'invalid_state' } } });
  });

  it('diffs, reverts, pages the history, lists the recycle bin and the book as of a moment', async () => {
    const { body: v1 } = await api(app, 'POST', '/people', {
      data: { name: 'Alan Turing', city: 'Manchester' },
    });
    const id = v1.entryId;
    const { body: v2 } = await api(app, 'PATCH', `/people/${id}`, {
      data: { city: 'Wilmslow', tel: '01625' },
    });
    const diff = await api(app, 'GET', `/people/${id}/diff?from=1&to=2`);
    expect(diff).toMatchObject({
      status: 200,
      body: [
        { field: 'city', before: 'Manchester', after: 'Wilmslow' },
        { field: 'tel', before: null, after: '01625' },
      ],
    });
    const stale = await api(app, 'POST', `/people/${id}/revert`, { version: 1, expectedVersion: 1 });
    expect(stale).toMatchObject({ status: 409, body: { error: { code: 'version_conflict' } } });
    const reverted = await api(app, 'POST', `/people/${id}/revert`, {
      version: 1,
      reason: 'undo',
      expectedVersion: 2,
    });
    expect(reverted).toMatchObject({
      status: 200,
      body: { version: 3, op: 'update', reason: 'undo', meta: { revertedTo: 1 } },
    });
    expect(reverted.body.data).toMatchObject({ city: 'Manchester', tel: null });
    const toCurrent = await api(app, 'POST', `/people/${id}/revert`, { version: 3 });
    expect(toCurrent).toMatchObject({ status: 400, body: { error: { code: 'invalid_state' } } });
    // Paged like the lists, newest first: `next` goes on to the older versions.
    const page = await api(app, 'GET', `/people/${id}/history?limit=2`);
    expect(page.body.items.map((v) => v.version)).toEqual([3, 2]);
    expect(page.body).toMatchObject({ next: 'v2', total: 3 });
    const rest = await api(app, 'GET', `/people/${id}/history?limit=2&after=${page.body.next}`);
    expect(rest.body.items.map((v) => v.version)).toEqual([1]);
    expect(rest.body).toMatchObject({ next: null, total: 3 });
    expect(await api(app, 'GET', `/people/${id}/history?after=2`)).toMatchObject({
      status: 422,
      body: { error: { code: 'invalid_input', field: 'after' } },
    });
    // The form from before the paging: `before` (and `limit`), a plain array oldest first.
    const older = await api(app, 'GET', `/people/${id}/history?limit=2&before=2`);
    expect(older.body.map((v) => v.version)).toEqual([1]);
    expect(
      (await api(app, 'GET', `/people/${id}/history?limit=2&before=4`)).body.map((v) => v.version),
    ).toEqual([2, 3]);

    const asOf = await api(app, 'GET', `/as-of?at=${encodeURIComponent(v2.recordedAtIso)}`);
    expect(asOf.body.items.find((p) => p.entryId === id)).toMatchObject({
      version: 2,
      data: { city: 'Wilmslow' },
    });
    expect(await api(app, 'GET', '/as-of?at=yesterday')).toMatchObject({
      status: 422,
      body: { error: { field: 'at' } },
    });
    expect((await api(app, 'GET', '/as-of?at=2000-01-01T00:00:00Z')).body).toEqual({ items: [], next: null });

    await api(app, 'DELETE', `/people/${id}`, { reason: 'duplicate' });
    const bin = await api(app, 'GET', '/bin');
    expect(bin.body.items[0]).toMatchObject({ entryId: id, op: 'delete', reason: 'duplicate' });
  });

  it('maps unknown entries to 404 and malformed ids to 422', async () => {
    const ghost = '00000000-0000-4000-8000-000000000000';
    expect(await api(app, 'GET', `/people/${ghost}`)).toMatchObject({
      status: 404,
      body: { error: { code: 'not_found' } },
    });
    expect(await api(app, 'PATCH', `/people/${ghost}`, { data: { city: 'x' } })).toMatchObject({
      status: 404,
      body: { error: { code: 'not_found' } },
    });
    expect(await api(app, 'GET', `/people/${ghost}/history`)).toMatchObject({ status: 404 });
    expect(await api(app, 'GET', '/people/not-a-uuid')).toMatchObject({
      status: 422,
      body: { error: { code: 'invalid_input', field: 'id' } },
    });
    expect((await api(app, 'GET', '/nowhere')).status).toBe(404);
  });

  it('refuses bad input with 422 naming the field, and writes nothing', async () => {
    const before = await count();
    const cases: Array<[unknown, string]> = [
      [{ data: { city: 'Oslo' } }, 'name'],
      [{ data: { name: '   ' } }, 'name'],
      [{ data: { name: 'x', shoeSize: 44 } }, 'shoeSize'],
      [{ data: { name: 'x', city: 42 } }, 'city'],
      [{ data: { name: 'x\u0000y' } }, 'name'],
      [{ data: { name: 'x'.repeat(201) } }, 'name'],
      [{ data: { name: 'x', tel: 'call me maybe' } }, 'tel'],
      [{ name: 'no envelope' }, 'data'],
      [[1, 2], 'body'],
    ];
    for (const [body, field] of cases) {
      const res = await api(app, 'POST', '/people', body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.body.error).toMatchObject({ code: 'invalid_input', field });
    }
    // A lone surrogate passes the app's checks and is refused by the library, still as a 422.
    const surrogate = await api(app, 'POST', '/people', '{"data":{"name":"bad \\ud800 text"}}');
    expect(surrogate).toMatchObject({
      status: 422,
      body: { error: { code: 'invalid_input', field: 'name' } },
    });
    const huge = await app.request('http://localhost/api/people', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: { name: 'x', city: 'y'.repeat(100_000) } }),
    });
    expect(huge.status).toBe(413);
    const notJson = await api(app, 'POST', '/people', '{"data":');
    expect(notJson).toMatchObject({ status: 422, body: { error: { code: 'invalid_input', field: 'body' } } });
    expect(await count()).toBe(before);
  });

  it('needs a signed-in account whose role allows it, and a JSON body, for every write', async () => {
    const before = await count();
    const anonymous = await api(app, 'POST', '/people', { data: { name: 'Nobody' } }, null);
    expect(anonymous).toMatchObject({ status: 401, body: { error: { code: 'unauthenticated' } } });
    expect((await api(app, 'GET', '/people', undefined, null)).status).toBe(401);
    // An X-Actor header names nobody any more: the actor is the account.
    const claimed = await app.request('http://localhost/api/people', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-actor': 'mallory' },
      body: JSON.stringify({ data: { name: 'Nobody' } }),
    });
    expect(claimed.status).toBe(401);
    const viewer = await api(app, 'POST', '/people', { data: { name: 'Nobody' } }, 'vera', 'viewer');
    expect(viewer).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    expect((await api(app, 'GET', '/people', undefined, 'vera', 'viewer')).status).toBe(200);
    const editor = await api(app, 'GET', '/verify', undefined, 'ed', 'editor');
    expect(editor).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    const { token } = await sessionFor(t.db, 'ed', 'editor');
    const form = await app.request('http://localhost/api/people', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `session=${token}` },
      body: 'data=1',
    });
    expect(form.status).toBe(422);
    expect(await count()).toBe(before);
  });
});
