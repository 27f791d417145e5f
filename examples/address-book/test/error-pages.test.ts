import { afterAll, beforeAll, expect, it } from 'vitest';
import { ident } from '../src/ident.js';
import { Client, describeEngines, type TestBook } from './support.js';

/** What every error page must have: the frame, a title starting "Error", and its message announced. */
function expectErrorPage(html: string, title: RegExp): void {
  expect(html).toMatch(/^<!DOCTYPE html><html lang="en">/);
  expect(html).toMatch(title);
  expect(html).toContain('<main id="content"');
  expect(html).toContain('class="skip-link"');
  expect(html).toMatch(/role="alert"/);
}

/** Nothing of a database error or a stack reaches the visitor. */
function expectNothingLeaked(text: string, table: string): void {
  expect(text).not.toContain(table);
  expect(text).not.toMatch(/does not exist|\bat \S+ \(|\.ts:\d+|\.js:\d+|Error:\s*(relation|Cannot)/);
}

describeEngines('Address Book error pages', (engine) => {
  let t: TestBook;
  let browser: Client;

  beforeAll(async () => {
    t = await engine.open();
    browser = new Client(t.db);
    await browser.actAs('alice');
  });
  afterAll(() => t.close());

  /** Runs `fn` while the plain table `name` is renamed away, as if the database had lost it. */
  async function without(name: string, fn: () => Promise<void>): Promise<void> {
    const table = `${ident(t.db.schema)}.${ident(name)}`;
    await t.db.query(`ALTER TABLE ${table} RENAME TO ${ident(`${name}_away`)}`);
    try {
      await fn();
    } finally {
      await t.db.query(`ALTER TABLE ${ident(t.db.schema)}.${ident(`${name}_away`)} RENAME TO ${ident(name)}`);
    }
  }

  it('a page that fails answers a 500 page in the layout, with no stack and no SQL', async () => {
    await browser.get('/activity');
    await without('address_book_activity', async () => {
      const res = await browser.get('/activity');
      expect(res.status).toBe(500);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      const html = await res.text();
      expectErrorPage(html, /<title>Error: Something went wrong · Address Book<\/title>/);
      expect(html).toContain('<h1>Something went wrong</h1>');
      // The same frame as every page: the navigation of the signed-in account.
      expect(html).toContain('<nav aria-label="Main">');
      expect(html).toContain('Signed in as');
      expectNothingLeaked(html, 'address_book_activity');
    });
    expect((await browser.get('/activity')).status).toBe(200);
  });

  it('a failure before the account is known still answers the page, and the API answers JSON', async () => {
    await without('account_sessions', async () => {
      const page = await browser.get('/');
      expect(page.status).toBe(500);
      const html = await page.text();
      expectErrorPage(html, /<title>Error: Something went wrong · Address Book<\/title>/);
      expectNothingLeaked(html, 'account_sessions');

      const api = await browser.get('/api/people');
      expect(api.status).toBe(500);
      expect(api.headers.get('content-type')).toMatch(/^application\/json/);
      const text = await api.text();
      expect(JSON.parse(text)).toEqual({
        error: { code: 'internal', message: 'internal error; the server logged it' },
      });
      expectNothingLeaked(text, 'account_sessions');
    });
  });

  it('a time travel to a time that is not one answers 400, says so in the title and announces it', async () => {
    const res = await browser.get('/as-of?at=yesterday');
    expect(res.status).toBe(400);
    const html = await res.text();
    expectErrorPage(html, /<title>Error: Not a real date and time \(time travel\) · Address Book<\/title>/);
    expect(html).toMatch(
      /<div class="error-summary" role="alert"[^>]*>.*“yesterday” is not a real date and time; give one like/s,
    );
    // The form is still there, with what was typed, to correct it.
    expect(html).toContain('value="yesterday"');
    // A real time is a page, not an error.
    const ok = await browser.get('/as-of?at=2000-01-01T00:00');
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('<title>Time travel · Address Book</title>');
  });
});
