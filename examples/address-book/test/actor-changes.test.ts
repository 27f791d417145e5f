import { afterAll, beforeAll, expect, it } from 'vitest';
import { addresses } from '../src/schema.js';
import { Client, describeEngines, type TestBook } from './support.js';

/** The person links of an actor's page, in order ("name#vN"). */
const rowsIn = (html: string) =>
  [...html.matchAll(/<a href="\/people\/[0-9a-f-]{36}\/history#(v\d+)">([^<]*)<\/a>/g)].map(
    (m) => `${m[2]}#${m[1]}`,
  );
const nextLink = (html: string) =>
  /<a href="([^"]*)" rel="next">/.exec(html)?.[1]?.replaceAll('&amp;', '&') ?? null;

describeEngines("Address Book: an account's changes, paged", (engine) => {
  let t: TestBook;
  let browser: Client;
  /** What alice wrote, newest first, as the page should list it. */
  const alices: string[] = [];

  beforeAll(async () => {
    t = await engine.open();
    const book = t.db.table(addresses);
    // Interleaved with bob's changes, some several in one transaction.
    for (let i = 0; i < 5; i++) {
      const p = await book.insert({ name: `Alice ${i}` }, { actor: 'alice' });
      alices.unshift(`Alice ${i}#v1`);
      await book.insert({ name: `Bob ${i}` }, { actor: 'bob' });
      if (i % 2 === 0) {
        await book.update(p.entryId, { city: 'Leeds' }, { actor: 'alice', reason: `moved ${i}` });
        alices.unshift(`Alice ${i}#v2`);
      }
    }
    await t.db.transaction(async (tx) => {
      const b = tx.table(addresses);
      for (const name of ['Batch A', 'Batch B', 'Batch C']) await b.insert({ name }, { actor: 'alice' });
    });
    alices.unshift('Batch C#v1', 'Batch B#v1', 'Batch A#v1');
    const secret = await book.insert({ name: 'Secret Person' }, { actor: 'alice' });
    await book.forget(secret.entryId, { actor: 'bob', reason: 'request #9', after: '30 days' });
    alices.unshift('A forgotten person#v1');
    browser = new Client(t.db);
    await browser.actAs('vera', 'viewer');
  });
  afterAll(() => t.close());

  it('lists every change of one actor, newest first, a page at a time, none twice and none left out', async () => {
    const pages: string[][] = [];
    let path: string | null = '/activity/actor?name=alice&limit=4';
    while (path !== null) {
      const res = await browser.get(path);
      expect(res.status).toBe(200);
      const html = await res.text();
      pages.push(rowsIn(html));
      path = nextLink(html);
      expect(pages.length).toBeLessThan(10);
    }
    expect(pages.map((p) => p.length)).toEqual([4, 4, 4]);
    expect(pages.flat()).toEqual(alices);
    expect(pages.flat().join()).not.toContain('Bob');
  });

  it('never shows a forgotten person by name, not even before the purge', async () => {
    const html = await (await browser.get('/activity/actor?name=alice')).text();
    expect(html).toContain('A forgotten person');
    expect(html).not.toContain('Secret Person');
  });

  it('is linked from the activity page, and a bad cursor or name gets a page, not a 500', async () => {
    // The activity page reads a projection of the log, which takes a change set once no older
    // transaction on the server is still open: on a shared server that can take a moment.
    await expect
      .poll(async () => (await browser.get('/activity')).text(), { timeout: 30_000, interval: 200 })
      .toContain('href="/activity/actor?name=alice"');
    const bad = await browser.get('/activity/actor?name=alice&after=c.1.x');
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('Start from the first page');
    expect((await browser.get('/activity/actor?name=')).status).toBe(404);
    const nobody = await (await browser.get('/activity/actor?name=nobody')).text();
    expect(nobody).toContain('No change was recorded under this name.');
  });

  it('says the activity page names the 10 busiest of how many', async () => {
    // alice, bob, and 11 more names with one change each: 13 in all, of which 10 are named.
    const book = t.db.table(addresses);
    for (let i = 0; i < 11; i++) await book.insert({ name: `By ${i}` }, { actor: `name-${i}` });
    await expect
      .poll(async () => (await browser.get('/activity')).text(), { timeout: 30_000, interval: 200 })
      .toContain('The 10 busiest of 13 names with changes in this period.');
    const html = await (await browser.get('/activity')).text();
    expect([...html.matchAll(/<span class="actor-name">/g)]).toHaveLength(10);
  });
});
