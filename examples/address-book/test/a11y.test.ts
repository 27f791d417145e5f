import axe from 'axe-core';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AccountStore } from '../src/accounts.js';
import { addresses } from '../src/schema.js';
import { seedIfEmpty } from '../src/seed.js';
import { describeBrowser, openBrowserApp, signInAs } from './browser-suite.js';

/** What axe-core reports of one rule on one page. */
interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown[] }>;
}

/**
 * Runs axe-core (from the npm package, put into every page the context loads: nothing is
 * downloaded) on the page as it stands, and answers the serious and critical violations as
 * readable lines.
 */
async function seriousViolations(page: Page): Promise<string[]> {
  // A string, run in the page: the tests are compiled without the DOM's types.
  // Only violations are kept whole: passes and the rest are reduced to one node each, which is most of axe's time.
  const violations = await page.evaluate<Violation[]>(
    "axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations)",
  );
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id} (${v.help}) at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

describeBrowser('Address Book pages under axe-core [pglite]', () => {
  let app: Awaited<ReturnType<typeof openBrowserApp>>;
  /** A browser profile acting as alice; the app's CSP forbids scripts, so axe is let in with bypassCSP. */
  let context: BrowserContext;
  let page: Page;
  let ada: string;
  let forgotten: string;
  let deleted: string;
  let aliceId: string;
  let seededAlice: string;

  beforeAll(async () => {
    app = await openBrowserApp();
    await seedIfEmpty(app.db);
    const book = app.db.table(addresses);
    const people = await book.list({ limit: 10 });
    ada = people.find((p) => p.data.name === 'Ada Lovelace')!.entryId;
    const bin = await book.deleted({ limit: 10 });
    deleted = bin[0]!.entryId;
    const [erased] = await app.db.query<{ entry_id: string }>(
      `SELECT entry_id::text FROM "${app.db.schema}".addresses_log WHERE op = 'forget' LIMIT 1`,
    );
    forgotten = erased!.entry_id;
    seededAlice = (await AccountStore.for(app.db).list()).find((a) => a.login === 'alice')!.id;
    context = await app.browser.newContext({ bypassCSP: true });
    aliceId = await signInAs(context, app, 'alice');
    // Sent to the browser once, run in every document it loads (a fresh tag per page cost a second).
    await context.addInitScript({ content: axe.source });
    // One tab for every test: each visit loads a new document into it.
    page = await context.newPage();
  }, 120_000);

  afterAll(async () => {
    await app?.close();
  });

  const visit = async (path: string, expectedStatus = 200): Promise<Page> => {
    const response = await page.goto(`${app.url}${path}`);
    expect(response?.status(), path).toBe(expectedStatus);
    return page;
  };

  const pages: Array<[string, () => string, number?]> = [
    ['the people list', () => '/'],
    ['a search', () => '/?q=ada'],
    ['a person', () => `/people/${ada}`],
    ['a history with its diffs', () => `/people/${ada}/history`],
    ['one version', () => `/people/${ada}/versions/1`],
    ['a forgotten person', () => `/people/${forgotten}/history`],
    ['a deleted person', () => `/people/${deleted}`],
    ['time travel', () => `/as-of?at=${encodeURIComponent(new Date().toISOString())}`],
    ['time travel before anything', () => '/as-of?at=2000-01-01T00:00:00Z'],
    ['the recycle bin', () => '/bin'],
    ['erasures', () => '/erasures'],
    ['activity', () => '/activity'],
    ["an account's changes", () => '/activity/actor?name=alice'],
    ['integrity', () => '/integrity'],
    ['the add form', () => '/new'],
    ['the edit form', () => `/people/${ada}/edit`],
    ['the delete form', () => `/people/${ada}/delete`],
    ['the forget form', () => `/people/${ada}/forget`],
    ['signing in', () => '/signin'],
    ['signing up', () => '/signup'],
    ['the accounts', () => '/accounts'],
    ["an account's page", () => `/accounts/${aliceId}`],
    ['an unknown page', () => '/no/such/page', 404],
    ['an unknown person', () => '/people/00000000-0000-4000-8000-000000000000', 404],
    ['a page link out of date', () => '/?after=not-a-cursor', 400],
    ['time travel to a time that is not one', () => '/as-of?at=yesterday', 400],
  ];

  it.each(pages)('%s has no serious or critical violation', async (_name, path, status) => {
    const page = await visit(path(), status);
    expect(await seriousViolations(page)).toEqual([]);
  });

  const lists: Array<[string, () => string]> = [
    ['the people list', () => '/?limit=2'],
    ['time travel', () => `/as-of?at=${encodeURIComponent(new Date().toISOString())}&limit=2`],
    // The seeded Alice (login alice), who made some of the demo's changes.
    ["an account's changes", () => `/activity/actor?name=${seededAlice}&limit=1`],
  ];

  it.each(lists)("%s's second page (through its cursor) has none either", async (_name, path) => {
    const page = await visit(path());
    const next = page.getByRole('link', { name: 'Next page →' });
    const href = (await next.getAttribute('href'))!;
    expect(href).toMatch(/[?&]after=/);
    await Promise.all([page.waitForURL(/[?&]after=/), next.click()]);
    expect(await page.locator('.pager').count()).toBe(1);
    expect(await seriousViolations(page)).toEqual([]);
  });

  /** Submits a form made in the page (the test's only way to post from a loaded document), and waits for the answer. */
  const submit = async (page: Page, action: string, fields: Record<string, string>): Promise<number> => {
    const [response] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === action && r.request().method() === 'POST'),
      page.waitForURL((u) => u.pathname === action),
      page.evaluate(
        `(() => {
          const form = document.createElement('form');
          form.method = 'post';
          form.action = ${JSON.stringify(action)};
          for (const [name, value] of Object.entries(${JSON.stringify(fields)})) {
            const input = document.createElement('input');
            input.type = 'hidden';
            input.name = name;
            input.value = value;
            form.append(input);
          }
          document.body.append(form);
          form.submit();
        })()`,
      ),
    ]);
    await page.waitForLoadState();
    return response.status();
  };

  it('the 403 page after a form from an old page (a wrong token) has none either', async () => {
    const page = await visit('/new');
    expect(await submit(page, '/people', { _csrf: 'not-the-token', name: 'Nobody' })).toBe(403);
    expect(await page.locator('h1').textContent()).toBe('That form was refused');
    expect(await seriousViolations(page)).toEqual([]);
  });

  it('the 403 page of a page above the role has none either', async () => {
    const viewer = await app.browser.newContext({ bypassCSP: true });
    try {
      await signInAs(viewer, app, 'vera', 'viewer');
      await viewer.addInitScript({ content: axe.source });
      const page = await viewer.newPage();
      const response = await page.goto(`${app.url}/erasures`);
      expect(response?.status()).toBe(403);
      expect(await page.locator('h1').textContent()).toBe('Not allowed');
      expect(await seriousViolations(page)).toEqual([]);
    } finally {
      await viewer.close();
    }
  });

  it('the 413 answer to a post too large to read (the form again, the reason on top) has none either', async () => {
    const page = await visit('/new');
    const token = (await page.locator('input[name="_csrf"]').first().getAttribute('value'))!;
    expect(await submit(page, '/people', { _csrf: token, name: 'x'.repeat(70 * 1024) })).toBe(413);
    expect(await page.locator('.banner.problem[role="alert"]').textContent()).toContain('too large');
    expect(await seriousViolations(page)).toEqual([]);
  });

  it('the 500 page has none either', async () => {
    const away = `"${app.db.schema}".address_book_activity`;
    await app.db.query(`ALTER TABLE ${away} RENAME TO address_book_activity_away`);
    try {
      const page = await visit('/activity', 500);
      expect(await page.title()).toBe('Error: Something went wrong · Address Book');
      expect(await page.locator('main [role="alert"]').count()).toBe(1);
      expect(await seriousViolations(page)).toEqual([]);
    } finally {
      await app.db.query(
        `ALTER TABLE "${app.db.schema}".address_book_activity_away RENAME TO address_book_activity`,
      );
    }
  });

  it('the 400 page of a time that is not one says so in its title and announces it', async () => {
    const page = await visit('/as-of?at=yesterday', 400);
    expect(await page.title()).toBe('Error: Not a real date and time (time travel) · Address Book');
    expect(await page.locator('.error-summary').getAttribute('role')).toBe('alert');
    await expect
      .poll(() => page.evaluate(`document.activeElement?.classList.contains('error-summary')`))
      .toBe(true);
  });

  it('the activity chart with its table open has none either', async () => {
    const page = await visit('/activity');
    await page.locator('.chart-data summary').click();
    expect(await seriousViolations(page)).toEqual([]);
  });

  it('the check itself catches what it should: an unlabelled field and low contrast', async () => {
    const page = await visit('/');
    await page.evaluate(`document.querySelector('main').insertAdjacentHTML('beforeend',
      '<input id="nameless"><p style="color:#bbb;background:#fff">faint text</p>')`);
    const found = await seriousViolations(page);
    expect(found.some((v) => v.includes('label') && v.includes('#nameless'))).toBe(true);
    expect(found.some((v) => v.includes('color-contrast'))).toBe(true);
  });

  const forms: Array<[string, () => string, string]> = [
    ['adding without a name', () => '/new', 'Add'],
    ['editing with the name cleared', () => `/people/${ada}/edit`, 'Save'],
    ['deleting without a reason', () => `/people/${ada}/delete`, 'Delete'],
    ['forgetting without a reason', () => `/people/${ada}/forget`, 'Forget this person'],
    ['signing up with nothing typed', () => '/signup', 'Create account'],
    ['signing in with nothing typed', () => '/signin', 'Sign in'],
  ];

  it.each(forms)('the form after %s has none either', async (_name, path, button) => {
    const page = await visit(path());
    const name = page.getByLabel('Name', { exact: true });
    if ((await name.count()) === 1) await name.fill('');
    const yours = page.getByLabel('Your name');
    if ((await yours.count()) === 1) await yours.fill('');
    await page.getByRole('button', { name: button, exact: true }).click();
    await page.locator('.error-summary').waitFor();
    expect(await page.title()).toMatch(/^Error: /);
    // Announced and focused: the summary is an alert and holds the focus after the load.
    expect(await page.locator('.error-summary').getAttribute('role')).toBe('alert');
    await expect
      .poll(() => page.evaluate(`document.activeElement?.classList.contains('error-summary')`))
      .toBe(true);
    expect(await seriousViolations(page)).toEqual([]);
  });
});
