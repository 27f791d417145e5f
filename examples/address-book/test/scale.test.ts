import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { createApp } from '../src/app.js';
import { MAX_PAGE, PAGE_SIZE } from '../src/routes/helpers.js';
import { addresses } from '../src/schema.js';
import { api, appFor, ORIGIN, postgresEngine, sessionFor, type TestBook } from './support.js';

const PEOPLE = 10_000;
const DELETED = 300;
const FORGOTTEN = 60;
/** A page of 50 people is about 20 KB of HTML; anything near 2 MB means a list is not paged. */
const MAX_PAGE_BYTES = 64 * 1024;

/**
 * The Address Book at 10,000 people × 2 versions (PostgreSQL): every list answers one bounded page
 * and a cursor to the rest. Rows and bytes are asserted, not times (those are for `npm run bench`).
 */
describe.skipIf(postgresEngine === null)('Address Book at 10,000 people [postgres]', () => {
  let t: TestBook;
  let a: ReturnType<typeof createApp>;
  let session: string;

  beforeAll(async () => {
    t = await postgresEngine!.open();
    const book = t.db.table(addresses);
    // Set-based: one insertMany (version 1 of everyone), then one UPDATE of the view (version 2).
    await book.insertMany(
      Array.from({ length: PEOPLE }, (_, i) => ({
        name: `Person ${String(i).padStart(5, '0')}`,
        city: i % 10 === 0 ? 'Leeds' : 'York',
        tel: `+44 ${String(i).padStart(7, '0')}`,
      })),
      { actor: 'loader' },
    );
    await t.db.query(`UPDATE addresses SET address_line_1 = 'Street ' || right(name, 5)`);
    await t.db.transaction(async (tx) => {
      await tx.query(`SET LOCAL appendlog.reason = 'scale test'`);
      await tx.query(`DELETE FROM addresses WHERE name < $1`, [`Person ${String(DELETED).padStart(5, '0')}`]);
    });
    const toForget = await book.list({ orderBy: 'name', limit: FORGOTTEN });
    for (const p of toForget) await book.forget(p.entryId, { reason: 'request', actor: 'dpo' });
    a = appFor(t.db);
    session = (await sessionFor(t.db, 'reader', 'admin')).token;
  }, 300_000);
  afterAll(() => t?.close());

  const page = async (path: string) => {
    const res = await a.request(`${ORIGIN}${path}`, { headers: { cookie: `session=${session}` } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(Buffer.byteLength(text)).toBeLessThan(MAX_PAGE_BYTES);
    return text;
  };
  const rowsOf = (html: string) => [...html.matchAll(/<tr>\s*<td>/g)].length;
  const nextOf = (html: string) =>
    /<a href="([^"]*)" rel="next">/.exec(html)?.[1]?.replaceAll('&amp;', '&') ?? null;

  it('seeded 10,000 people with two versions each', async () => {
    const [row] = await t.db.query<{ n: string; v: string }>(
      'SELECT (SELECT count(*) FROM addresses_head)::text AS n, (SELECT count(*) FROM addresses_log)::text AS v',
    );
    expect(Number(row!.n)).toBe(PEOPLE);
    // Two versions each, plus a tombstone per deleted and a forget per forgotten person.
    expect(Number(row!.v)).toBe(2 * PEOPLE + DELETED + FORGOTTEN);
  });

  it('answers one bounded page of every HTML list, with a link to the next', async () => {
    const now = encodeURIComponent(new Date().toISOString());
    for (const path of ['/', '/?q=person', '/?q=leeds', `/as-of?at=${now}`, '/bin', '/bin?q=person']) {
      const html = await page(path);
      expect(rowsOf(html), path).toBe(PAGE_SIZE);
      expect(nextOf(html), path).not.toBeNull();
    }
    const erasures = await page('/erasures');
    expect([...erasures.matchAll(/A forgotten person<\/a>/g)]).toHaveLength(PAGE_SIZE);
    expect(nextOf(erasures)).not.toBeNull();
    await page('/activity');
    await page('/integrity');
    const capped = await a.request(`${ORIGIN}/?limit=100000`, { headers: { cookie: `session=${session}` } });
    expect(rowsOf(await capped.text())).toBe(MAX_PAGE);
  });

  it('reaches every deleted person and every erasure request through the pages', async () => {
    let path: string | null = '/bin';
    let seen = 0;
    while (path !== null) {
      const html = await page(path);
      seen += [...html.matchAll(/aria-label="Restore /g)].length;
      path = nextOf(html);
    }
    expect(seen).toBe(DELETED);
    path = '/erasures?limit=25';
    seen = 0;
    while (path !== null) {
      const html = await page(path);
      seen += [...html.matchAll(/A forgotten person<\/a>/g)].length;
      path = nextOf(html);
    }
    expect(seen).toBe(FORGOTTEN);
  });

  it('answers one bounded page of every JSON list', async () => {
    const now = encodeURIComponent(new Date().toISOString());
    for (const path of ['/people', '/people?q=york', `/as-of?at=${now}`, '/bin', '/bin?q=person']) {
      const res = await a.request(`${ORIGIN}/api${path}`, { headers: { cookie: `session=${session}` } });
      const text = await res.text();
      expect(Buffer.byteLength(text), path).toBeLessThan(MAX_PAGE_BYTES);
      const body = JSON.parse(text) as { items: unknown[]; next: string | null };
      expect(body.items, path).toHaveLength(PAGE_SIZE);
      expect(body.next, path).toEqual(expect.any(String));
    }
    const last = await api(a, 'GET', '/people?q=Person%2009999');
    expect(last.body.items.map((p) => p.data.name)).toEqual(['Person 09999']);
    expect(last.body.items[0]!.version).toBe(2);
  });
});
