// The activity page says when its chart is behind because a transaction is still open: the
// projection cannot count changes committed after it until it ends (PostgreSQL only; PGlite has
// one connection, so nothing else can hold a transaction open).
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addresses } from '../src/schema.js';
import { Client, postgresEngine, type TestBook } from './support.js';

const HELD = /Not yet counted: (\d+) changes? held back by a transaction open since <time datetime="([^"]+)"/;

describe.skipIf(postgresEngine === null)('the activity page and an open transaction [postgres]', () => {
  let book: TestBook;
  let browser: Client;
  let holder: pg.Client;

  beforeAll(async () => {
    book = await postgresEngine!.open();
    browser = new Client(book.db);
    await browser.actAs('watcher', 'viewer');
    holder = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await holder.connect();
  });
  afterAll(async () => {
    await holder.end();
    await book.close();
  });

  const page = async () => {
    const res = await browser.get('/activity?range=minutes');
    expect(res.status).toBe(200);
    const html = await res.text();
    const total = /(\d+) changes? in the last hour/.exec(html);
    return { html, total: Number(total![1]), held: HELD.exec(html) };
  };

  it('says how many changes a transaction open elsewhere holds back, then counts them once it ends', async () => {
    const t = book.db.table(addresses);
    await t.insert({ name: 'Before' }, { actor: 'omar' });
    // Another session's transaction (on this server, tests of other files included) may hold the
    // horizon for a moment: wait until the chart has everything.
    await expect.poll(async () => (await page()).held, { timeout: 20_000 }).toBeNull();
    const before = await page();
    expect(before.html).not.toContain('Not yet counted');

    await holder.query('BEGIN');
    await holder.query('SELECT pg_current_xact_id()');
    const openedAt = Date.now();
    try {
      await t.insert({ name: 'During' }, { actor: 'omar' });
      await t.insert({ name: 'During too' }, { actor: 'lin' });
      const during = await page();
      expect(during.held).not.toBeNull();
      expect(Number(during.held![1])).toBe(2);
      // The oldest open transaction on the server: ours, or one that began before it.
      expect(new Date(during.held![2]!).getTime()).toBeLessThanOrEqual(openedAt);
      expect(during.total).toBe(before.total);
    } finally {
      await holder.query('COMMIT');
    }

    await expect.poll(async () => (await page()).held, { timeout: 20_000 }).toBeNull();
    const after = await page();
    expect(after.total).toBe(before.total + 2);
    expect(after.html).not.toContain('Not yet counted');
  }, 60_000);
});
