import { afterAll, beforeAll, expect, it } from 'vitest';
import { addresses } from '../src/schema.js';
import { api, Client, describeEngines, location, sessionFor, type TestBook } from './support.js';

const HOSTILE = '<script>alert(1)</script>';

describeEngines('Address Book: forgetting a person (erasure)', (engine) => {
  let t: TestBook;
  let browser: Client;
  const book = () => t.db.table(addresses);
  const create = async (form: Record<string, string>) => {
    const res = await browser.post('/people', form);
    return location(res).split('/')[2]!.split('?')[0]!;
  };

  beforeAll(async () => {
    t = await engine.open();
    browser = new Client(t.db);
    await browser.actAs('alice');
  });
  afterAll(() => t.close());

  it('forgets at once, erases at the purge, and shows "erased on <date>: <reason>"', async () => {
    const id = await create({ name: 'Charles Babbage', city: 'London', tel: '+44 20 7946 0442' });
    await browser.post(`/people/${id}`, {
      expectedVersion: '1',
      name: 'Charles Babbage',
      city: 'Marylebone',
      tel: '+44 20 7946 0442',
    });
    expect(await (await browser.get(`/people/${id}`)).text()).toContain(`href="/people/${id}/forget"`);
    const form = await (await browser.get(`/people/${id}/forget`)).text();
    expect(form).toContain('value="0 seconds"');
    const noReason = await browser.post(`/people/${id}/forget`, {
      expectedVersion: '2',
      reason: ' ',
      after: '0 seconds',
    });
    expect(noReason.status).toBe(422);
    expect(await book().get(id)).not.toBeNull();

    const done = await browser.post(`/people/${id}/forget`, {
      expectedVersion: '2',
      reason: 'erasure request #7',
      after: '0 seconds',
    });
    expect(location(done)).toBe(`/people/${id}?notice=forgotten`);
    expect(await book().get(id)).toBeNull();
    expect(await (await browser.get('/')).text()).not.toContain('Charles Babbage');
    expect(await (await browser.get('/bin')).text()).not.toContain('Charles Babbage');
    const page = await (await browser.get(`/people/${id}`)).text();
    expect(page).toContain('A forgotten person');
    expect(page).toContain('<q class="reason">erasure request #7</q>');
    expect(page).not.toContain('Charles Babbage');
    const hidden = await (await browser.get(`/people/${id}/history`)).text();
    expect(hidden).toContain('content hidden: this person was forgotten');
    expect(hidden).not.toContain('Marylebone');
    expect(await (await browser.get(`/people/${id}/versions/1`)).text()).not.toContain('Charles Babbage');
    expect(await (await browser.get('/erasures')).text()).toContain('to be erased after');

    const purge = await browser.post('/erasures/purge', {});
    expect(location(purge)).toBe('/erasures?erased=1');
    const history = await book().history(id);
    expect(history.every((v) => v.redactedAt !== null && v.data.name === null)).toBe(true);
    const erased = await (await browser.get(`/people/${id}/history`)).text();
    // The banner at the top, then each of the 3 versions.
    expect(
      erased.match(/erased on <time[^>]*>[^<]*<\/time>: <q class="reason">erasure request #7<\/q>/g)?.length,
    ).toBe(4);
    expect(await (await browser.get('/erasures')).text()).toMatch(
      /erased on <time[^>]*>[^<]*<\/time>: <q class="reason">erasure request #7/,
    );
    const integrity = await (await browser.get('/integrity')).text();
    expect(integrity).toContain('✓ Everything verifies');
    expect(integrity).toContain('3 of them erased on request');
  });

  it('a request can be cancelled before it is due, with a reason', async () => {
    const id = await create({ name: 'Grace Hopper', city: 'Arlington' });
    await browser.post(`/people/${id}/forget`, {
      expectedVersion: '1',
      reason: 'asked by phone',
      after: '30 days',
    });
    const page = await (await browser.get(`/people/${id}`)).text();
    expect(page).toContain('to be erased after');
    expect(page).toContain(`action="/people/${id}/cancel-forget"`);
    const noReason = await browser.post(`/people/${id}/cancel-forget`, { reason: '' });
    expect(location(noReason)).toBe(`/people/${id}?notice=cancel-needs-reason`);
    const cancelled = await browser.post(`/people/${id}/cancel-forget`, { reason: 'withdrawn' });
    expect(location(cancelled)).toBe(`/people/${id}?notice=unforgotten`);
    expect((await book().get(id))?.data.city).toBe('Arlington');
    // Not due: the purge leaves a scheduled request alone.
    await browser.post(`/people/${id}/forget`, {
      expectedVersion: '3',
      reason: 'asked again',
      after: '30 days',
    });
    await browser.post('/erasures/purge', {});
    expect((await book().history(id)).every((v) => v.redactedAt === null)).toBe(true);
  });

  it('renders a hostile reason inert', async () => {
    const id = await create({ name: 'Hostile' });
    await browser.post(`/people/${id}/forget`, { expectedVersion: '1', reason: HOSTILE, after: '30 days' });
    for (const path of [`/people/${id}`, `/people/${id}/history`, '/erasures']) {
      const html = await (await browser.get(path)).text();
      expect(html, path).not.toContain('<script>alert(1)');
      expect(html, path).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    }
  });

  it('has the same operations in the JSON API', async () => {
    const { body: v1 } = await api(browser.app, 'POST', '/people', { data: { name: 'Alan Turing' } });
    const noReason = await api(browser.app, 'POST', `/people/${v1.entryId}/forget`, {});
    expect(noReason).toMatchObject({ status: 422, body: { error: { code: 'reason_required' } } });
    const forgot = await api(browser.app, 'POST', `/people/${v1.entryId}/forget`, {
      reason: 'request #9',
      after: '7 days',
    });
    expect(forgot).toMatchObject({ status: 200, body: { version: 2, op: 'forget', reason: 'request #9' } });
    expect(await api(browser.app, 'GET', `/people/${v1.entryId}`)).toMatchObject({ status: 404 });
    const status = await api(browser.app, 'GET', `/people/${v1.entryId}/erasure`);
    expect(status.body).toMatchObject({
      state: 'scheduled',
      reason: 'request #9',
      forgottenBy: (await sessionFor(t.db, 'tester')).id,
    });
    const back = await api(browser.app, 'POST', `/people/${v1.entryId}/cancel-forget`, {
      reason: 'withdrawn',
    });
    expect(back).toMatchObject({ status: 200, body: { version: 3, op: 'restore' } });
    expect((await api(browser.app, 'GET', `/people/${v1.entryId}/erasure`)).body).toBeNull();
  });
});
