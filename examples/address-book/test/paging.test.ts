import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AccountStore } from '../src/accounts.js';
import { addresses } from '../src/schema.js';
import { api, Client, describeEngines, ORIGIN, sessionFor, type TestBook } from './support.js';

/** The names in the people table of a page, in order. */
const namesIn = (html: string) =>
  [...html.matchAll(/<a href="\/people\/[0-9a-f-]{36}(?:\/versions\/\d+)?">([^<]*)<\/a>/g)].map((m) => m[1]!);
/** The href of the "Next page" link, or null. */
const nextLink = (html: string) =>
  /<a href="([^"]*)" rel="next">/.exec(html)?.[1]?.replaceAll('&amp;', '&') ?? null;

describeEngines('Address Book paging, search and the integrity badge', (engine) => {
  let t: TestBook;
  let browser: Client;
  const names = Array.from({ length: 7 }, (_, i) => `Person ${String.fromCharCode(65 + i)}`);

  beforeAll(async () => {
    t = await engine.open();
    const book = t.db.table(addresses);
    await book.insertMany(
      names.map((name, i) => ({ name, city: i % 2 === 0 ? 'Leeds' : 'York' })),
      {
        actor: 'loader',
      },
    );
    browser = new Client(t.db);
    await browser.actAs('alice');
  });
  afterAll(() => t.close());

  /** Follows "Next page" from `start` and returns every page's names. */
  async function walk(start: string): Promise<string[][]> {
    const pages: string[][] = [];
    let path: string | null = start;
    while (path !== null) {
      const html = await (await browser.get(path)).text();
      pages.push(namesIn(html));
      path = nextLink(html);
      expect(pages.length).toBeLessThan(10);
    }
    return pages;
  }

  it('pages the people list by name with a next link until every person was shown once', async () => {
    const pages = await walk('/?limit=3');
    expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
    expect(pages.flat()).toEqual(names);
    const last = await (await browser.get('/?limit=3')).text();
    expect(last).toContain('there are more');
  });

  it('searches in the database, paged, and finds deleted people in the bin search', async () => {
    expect((await walk('/?q=leeds&limit=2')).flat()).toEqual([
      'Person A',
      'Person C',
      'Person E',
      'Person G',
    ]);
    expect((await walk('/?q=100%25')).flat()).toEqual([]); // a literal %, not a wildcard
    const [c] = await t.db.table(addresses).list({ where: { name: 'Person C' } });
    await t.db.table(addresses).delete(c!.entryId, { reason: 'moved away', actor: 'alice' });
    expect((await walk('/?q=leeds&limit=2')).flat()).toEqual(['Person A', 'Person E', 'Person G']);
    const bin = await (await browser.get('/bin?q=person%20c')).text();
    expect(bin).toContain('Person C');
    expect(bin).toContain('moved away');
    const apiBin = await api(browser.app, 'GET', '/bin?q=leeds');
    expect(apiBin.body.items.map((p) => p.data.name)).toEqual(['Person C']);
    await t.db.table(addresses).restore(c!.entryId, { actor: 'alice' });
  });

  it('pages the JSON API with { items, next } and refuses a cursor of another list', async () => {
    const seen: string[] = [];
    let next: string | null = null;
    do {
      const path: string = `/people?limit=2${next === null ? '' : `&after=${encodeURIComponent(next)}`}`;
      const page = await api(browser.app, 'GET', path);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((p) => p.data.name!));
      next = page.body.next;
    } while (next !== null);
    expect(seen).toEqual(names);
    const capped = await api(browser.app, 'GET', '/people?limit=100000');
    expect(capped.body.items).toHaveLength(7);
    const searchCursor = (await api(browser.app, 'GET', '/people?q=person&limit=1')).body.next!;
    expect(searchCursor).toEqual(expect.any(String));
    const wrong = await api(browser.app, 'GET', `/people?after=${encodeURIComponent(searchCursor)}`);
    expect(wrong).toMatchObject({ status: 422, body: { error: { field: 'after' } } });
    const page = await browser.get(`/?after=${encodeURIComponent(searchCursor)}`);
    expect(page.status).toBe(400);
    expect(await page.text()).toContain('Start from the first page');
  });

  it('pages time travel and the bin', async () => {
    const now = encodeURIComponent(new Date().toISOString());
    expect((await walk(`/as-of?at=${now}&limit=4`)).map((p) => p.length)).toEqual([4, 3]);
    const book = t.db.table(addresses);
    for (const p of await book.list({ where: { city: 'York' } }))
      await book.delete(p.entryId, { reason: 'test', actor: 'alice' });
    const binPages: number[] = [];
    let path: string | null = '/bin?limit=2';
    while (path !== null) {
      const html = await (await browser.get(path)).text();
      binPages.push([...html.matchAll(/aria-label="Restore /g)].length);
      path = nextLink(html);
    }
    expect(binPages).toEqual([2, 1]);
  });

  it('compresses responses the client accepts compressed', async () => {
    const res = await browser.app.request(`${ORIGIN}/?limit=50`, {
      headers: { 'accept-encoding': 'gzip', cookie: `session=${browser.cookies.get('session')}` },
    });
    expect(res.headers.get('content-encoding')).toBe('gzip');
    const html = gunzipSync(Buffer.from(await res.arrayBuffer())).toString('utf8');
    expect(html).toContain('Person A');
  });

  it('shows the last verify in the badge without verifying again after each write', async () => {
    const reader = new Client(t.db);
    await reader.actAs('alice');
    const badge = async () => /(\d+) versions? verified at/.exec(await (await reader.get('/')).text())?.[1];
    const before = Number(await badge());
    expect(before).toBeGreaterThan(0);
    await t.db.table(addresses).insert({ name: 'Person H' }, { actor: 'alice' });
    expect(Number(await badge())).toBe(before);
    expect(await (await reader.get('/integrity')).text()).toContain(`${before + 1} versions checked`);
    expect(Number(await badge())).toBe(before + 1);
  });

  it('gives keyboard and screen reader users a skip link, labelled navs and the chart as a table', async () => {
    const home = await (await browser.get('/')).text();
    expect(home).toMatch(/<body><a class="skip-link" href="#content">Skip to content<\/a>/);
    expect(home).toContain('<main id="content" tabindex="-1">');
    expect(home).toContain('<nav aria-label="Main">');
    expect(home).toMatch(/<a href="\/" class="current" aria-current="page">People<\/a>/);
    const activity = await (await browser.get('/activity?range=days')).text();
    expect(activity).toContain('<nav class="tabs" aria-label="Chart period">');
    // Today's row: the 7 people loaded (and whatever the tests before wrote), counted in the table.
    const today = new Date().toISOString().slice(0, 10);
    const row = new RegExp(`<tr><th scope="row">${today}</th><td>(\\d+)</td>`).exec(activity);
    expect(Number(row?.[1])).toBeGreaterThanOrEqual(7);
  });

  it("pages a person's history, the page and the JSON, every version once", async () => {
    const book = t.db.table(addresses);
    const v1 = await book.insert({ name: 'Many Versions', tel: 'tel 1' }, { actor: 'loader' });
    for (let n = 2; n <= 61; n++) await book.update(v1.entryId, { tel: `tel ${n}` }, { actor: 'loader' });
    const versionsIn = (html: string) =>
      [...html.matchAll(/<li class="entry[^"]*" id="v(\d+)">/g)].map((m) => Number(m[1]));
    const first = await (await browser.get(`/people/${v1.entryId}/history`)).text();
    expect(versionsIn(first)).toEqual(Array.from({ length: 50 }, (_, i) => 61 - i));
    expect(first).toContain('61 versions, versions 61 to 12 shown');
    // The oldest version shown is still compared with the one before it, which is not shown.
    expect(/id="v12">[\s\S]*?tel 11[\s\S]*?tel 12[\s\S]*?<\/li>/.test(first)).toBe(true);
    const older = nextLink(first);
    expect(older).toBe(`/people/${v1.entryId}/history?before=12`);
    const second = await (await browser.get(older!)).text();
    expect(versionsIn(second)).toEqual(Array.from({ length: 11 }, (_, i) => 11 - i));
    expect(nextLink(second)).toBeNull();
    expect(second).toContain(`<a href="/people/${v1.entryId}/history">Newer versions</a>`);

    const seen: number[] = [];
    let after: string | null = null;
    do {
      const res = await api(
        browser.app,
        'GET',
        `/people/${v1.entryId}/history?limit=25${after === null ? '' : `&after=${after}`}`,
      );
      expect(res.body.total).toBe(61);
      expect(res.body.items.length).toBeLessThanOrEqual(25);
      seen.push(...res.body.items.map((v: { version: number }) => v.version));
      after = res.body.next;
    } while (after !== null);
    expect(seen).toEqual(Array.from({ length: 61 }, (_, i) => 61 - i));
  });

  it('pages the accounts by name, every one once, and answers a refused role change beside its form', async () => {
    for (const name of ['Zed', 'Yara', 'Xavier', 'Wendy', 'Victor']) await sessionFor(t.db, name, 'viewer');
    const every = (await AccountStore.for(t.db).list()).map((a) => a.displayName);
    expect(every.length).toBeGreaterThanOrEqual(6);
    const shown: string[] = [];
    let path: string | null = '/accounts?limit=2';
    while (path !== null) {
      const html = await (await browser.get(path)).text();
      const names = [...html.matchAll(/<a href="\/accounts\/[0-9a-f-]{36}">([^<]*)<\/a>/g)].map((m) => m[1]!);
      expect(names.length).toBeLessThanOrEqual(2);
      shown.push(...names);
      path = nextLink(html);
    }
    expect(shown).toEqual(every);
    expect(shown).toEqual([...shown].sort());
    const zed = (await AccountStore.for(t.db).list()).find((a) => a.displayName === 'Zed')!;
    const refused = await browser.post(`/accounts/${zed.id}/role`, { role: 'editor', reason: '' });
    expect(refused.status).toBe(422);
    const html = await refused.text();
    expect(html).toContain('Role of Zed');
    expect(html).not.toContain('Role of Yara');
    expect(html).toContain('<a href="/accounts">All accounts</a>');
  });
});
