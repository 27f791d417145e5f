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

/** One node of a JSON plan, with the fields the tests read. */
interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Alias?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

/**
 * The Address Book at 10,000 people × 2 versions (PostgreSQL): every list answers one bounded page
 * and a cursor to the rest. Rows and bytes are asserted, not times (those are for `npm run bench`).
 */
describe.skipIf(postgresEngine === null)('Address Book at 10,000 people [postgres]', () => {
  let t: TestBook;
  let a: ReturnType<typeof createApp>;
  let session: string;
  /** A time after everyone's version 1 and before their version 2. */
  let middle: string;

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
    // A moment between the two versions of everyone: time travel to the middle of the log.
    const [when] = await t.db.query<{ at: string }>(
      `SELECT to_char(max(recorded_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at FROM addresses_log`,
    );
    middle = when!.at;
    await t.db.query(`UPDATE addresses SET address_line_1 = 'Street ' || right(name, 5)`);
    await t.db.transaction(async (tx) => {
      await tx.query(`SELECT appendlog_context(reason => 'scale test')`);
      await tx.query(`DELETE FROM addresses WHERE name < $1`, [`Person ${String(DELETED).padStart(5, '0')}`]);
    });
    const toForget = await book.list({ orderBy: 'name', limit: FORGOTTEN });
    for (const p of toForget) await book.forget(p.entryId, { reason: 'request', actor: 'dpo' });
    // What autovacuum does after this many rows: the planner's statistics of the grown tables.
    await t.db.query('ANALYZE addresses_head, addresses_log');
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

  it("answers one bounded page of an account's changes, time travel at a middle time and a history", async () => {
    // The loader wrote 10,000 versions: one page of them, and a next one.
    const loader = await page('/activity/actor?name=loader');
    expect(rowsOf(loader)).toBe(PAGE_SIZE);
    const second = await page(nextOf(loader)!);
    expect(rowsOf(second)).toBe(PAGE_SIZE);
    expect(nextOf(second)).not.toBeNull();
    // dpo forgot 60 people: 50, then the last 10 with no next page.
    const dpo = await page('/activity/actor?name=dpo');
    expect(rowsOf(dpo)).toBe(PAGE_SIZE);
    const dpoRest = await page(nextOf(dpo)!);
    expect(rowsOf(dpoRest)).toBe(FORGOTTEN - PAGE_SIZE);
    expect(nextOf(dpoRest)).toBeNull();

    // Between the versions everyone was live with version 1, the since-deleted Person 00000 first.
    const then = await page(`/as-of?at=${encodeURIComponent(middle)}`);
    expect(rowsOf(then)).toBe(PAGE_SIZE);
    expect(nextOf(then)).not.toBeNull();
    expect(then).toContain('Person 00000');
    expect(then).not.toContain('Street 00000');
    const thenApi = await api(a, 'GET', `/as-of?at=${encodeURIComponent(middle)}`);
    expect(thenApi.body.items).toHaveLength(PAGE_SIZE);
    expect(thenApi.body.items.every((p) => p.version === 1)).toBe(true);

    // A deleted person's history: insert, update, delete, on one page and in the JSON.
    const [first] = await t.db.query<{ id: string }>(
      `SELECT entry_id::text AS id FROM addresses_head WHERE name = 'Person 00000'`,
    );
    const history = await page(`/people/${first!.id}/history`);
    expect([...history.matchAll(/<li class="entry[^"]*" id="v\d+">/g)]).toHaveLength(3);
    expect(nextOf(history)).toBeNull();
    const historyApi = await api(a, 'GET', `/people/${first!.id}/history`);
    expect(historyApi.body.items.map((v) => v.op)).toEqual(['delete', 'update', 'insert']);
    expect(historyApi.body).toMatchObject({ next: null, total: 3 });
    const accountsPage = await page('/accounts');
    expect(rowsOf(accountsPage)).toBeLessThanOrEqual(PAGE_SIZE);
  });

  /** The plan of `query` (EXPLAIN ANALYZE, JSON), flattened to its nodes. */
  const planNodes = async (query: string, params: unknown[] = []) => {
    const [row] = await t.db.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(
      `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${query}`,
      params,
    );
    const nodes: PlanNode[] = [];
    const walk = (n: PlanNode) => {
      nodes.push(n);
      for (const c of n.Plans ?? []) walk(c);
    };
    walk(row!['QUERY PLAN'][0]!.Plan);
    return nodes;
  };

  it("reads a page of the name-ordered list and of an account's changes as an index range", async () => {
    // The statements' shapes: book.list({ orderBy: 'name', after }) on the head, actorChanges on the log.
    const [cursor] = await t.db.query<{ name: string; id: string }>(
      `SELECT name, entry_id::text AS id FROM addresses WHERE name = 'Person 05000'`,
    );
    const list = await planNodes(
      `SELECT l.entry_id, l.name FROM addresses_head l WHERE NOT l.deleted
          AND (l.name, l.created_at, l.entry_id) >
              ($1::text, (SELECT c.created_at FROM addresses_head c WHERE c.entry_id = $2::uuid), $2::uuid)
        ORDER BY l.name, l.created_at, l.entry_id LIMIT ${PAGE_SIZE + 1}`,
      [cursor!.name, cursor!.id],
    );
    const listScan = list.find((n) => n['Relation Name'] === 'addresses_head' && n.Alias === 'l');
    expect(listScan?.['Index Name']).toBe('address_book_head_name_idx');
    expect(list.some((n) => n['Node Type'] === 'Sort')).toBe(false);
    expect(listScan?.['Actual Rows']).toBe(PAGE_SIZE + 1);

    // The loader wrote 10,000 of the 20,360 versions, dpo 60: either way only their own are read.
    for (const [actor, rows] of [
      ['loader', PAGE_SIZE + 1],
      ['dpo', FORGOTTEN],
    ] as const) {
      const changes = await planNodes(
        `SELECT l.entry_id, l.version FROM addresses_log l LEFT JOIN addresses_head h ON h.entry_id = l.entry_id
          WHERE l.actor = $1 ORDER BY l.tx_id DESC, l.seq DESC LIMIT ${PAGE_SIZE + 1}`,
        [actor],
      );
      expect(
        changes.some((n) => n['Index Name'] === 'address_book_log_actor_idx'),
        actor,
      ).toBe(true);
      const logRead = changes.find((n) => n['Relation Name'] === 'addresses_log');
      expect(logRead?.['Actual Rows'], actor).toBeLessThanOrEqual(rows);
      expect(logRead?.['Rows Removed by Filter'] ?? 0, actor).toBe(0);
    }
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
