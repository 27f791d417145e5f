import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeBrowser, openBrowserApp } from './browser-suite.js';

/**
 * What has the keyboard focus, in words: "tag: accessible-ish name" (a field's label, a
 * control's aria-label, else its text). A string run in the page: no DOM types in the tests.
 */
const FOCUSED = `(() => {
  const e = document.activeElement;
  if (!e || e === document.body) return 'body';
  const label = e.getAttribute('aria-label') ?? (e.labels && e.labels[0] ? e.labels[0].textContent : null);
  return e.tagName.toLowerCase() + (e.className ? '.' + e.className.split(' ')[0] : '') + ': ' + (label ?? e.textContent ?? '').replace(/\\s+/g, ' ').trim();
})()`;

const focused = (page: Page) => page.evaluate<string>(FOCUSED);

/**
 * Presses Tab until the focus is on what `wanted` matches, as a keyboard user would, and fails
 * when it is not reached within `max` presses (it cannot be reached by keyboard).
 */
async function tabTo(page: Page, wanted: RegExp, max = 40): Promise<void> {
  const seen: string[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const now = await focused(page);
    if (wanted.test(now)) return;
    seen.push(now);
  }
  throw new Error(`${wanted} not reached in ${max} Tab presses; focus went: ${seen.join(' | ')}`);
}

/**
 * Presses Enter on what has the focus and waits for the page it leads to, and for its `autofocus`:
 * Chromium moves the focus at a rendering update of the page, which can come after its load event
 * on a busy machine (the focus was then still on the body). A rendering update runs the page's
 * autofocus before its animation frame callbacks; two frames leave a margin.
 */
async function enter(page: Page): Promise<void> {
  await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
  await page.evaluate(
    'new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(null))))',
  );
}

/** Replaces a focused field's text by typing. */
async function retype(page: Page, text: string): Promise<void> {
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Backspace');
  if (text !== '') await page.keyboard.type(text);
}

describeBrowser('Address Book with the keyboard only [pglite]', () => {
  let app: Awaited<ReturnType<typeof openBrowserApp>>;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    app = await openBrowserApp();
    const context = await app.browser.newContext();
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (e) => problems.push(e.message));
  }, 120_000);

  afterAll(async () => {
    await app?.close();
  });

  it('the first Tab offers a skip link to the content', async () => {
    // Signed out, the app sends the visitor to sign in: the first control of the content is the login.
    await page.goto(`${app.url}/`);
    await page.keyboard.press('Tab');
    expect(await focused(page)).toBe('a.skip-link: Skip to content');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    expect(await focused(page)).toMatch(/^input: Login/);
  });

  it('sign up, add (after a refused empty form), edit, delete with a reason, restore, time travel', async () => {
    await page.goto(`${app.url}/`);
    await tabTo(page, /^a: Sign up/);
    await enter(page);
    await tabTo(page, /^input: Login/);
    await page.keyboard.type('kim');
    await tabTo(page, /^input: Your name/);
    await page.keyboard.type('kim');
    await tabTo(page, /^input: Password/);
    await page.keyboard.type('kim has a long password');
    await enter(page);
    // The first account of an empty book: an admin, who may do everything below.
    expect(await page.locator('.acting-as a').first().textContent()).toBe('kim');
    expect(await page.locator('.acting-as .role').textContent()).toBe('(admin)');

    // Add, first with nothing typed: the errors are announced, focused, and in the title.
    await tabTo(page, /Add a person/);
    await enter(page);
    await tabTo(page, /^button: Add$/);
    await enter(page);
    expect(await page.title()).toBe('Error: Add a person · Address Book');
    expect(await focused(page)).toMatch(/^div\.error-summary: There is a problem/);
    expect(await page.locator('.error-summary').getAttribute('role')).toBe('alert');
    await tabTo(page, /^input: Name/);
    await page.keyboard.type('Mary Somerville');
    await tabTo(page, /^input: City/);
    await page.keyboard.type('Jedburgh');
    await enter(page);
    // The notice is focused, so it is read out; the keyboard goes on from there.
    expect(await focused(page)).toMatch(/^p\.notice: Created\. This is version 1/);
    expect(await page.locator('h1').textContent()).toBe('Mary Somerville');

    // Edit the city, with a reason, submitting with Enter from the reason field.
    await tabTo(page, /^a\.button: Edit$/);
    await enter(page);
    await tabTo(page, /^input: City/);
    await retype(page, 'Burntisland');
    await tabTo(page, /^input: Why\?/);
    await page.keyboard.type('moved north');
    await enter(page);
    expect(await focused(page)).toMatch(/Saved as a new version/);
    expect(await page.locator('.card').textContent()).toContain('Burntisland');

    // Delete: refused without a reason (announced), then with one.
    await tabTo(page, /^a\.button: Delete$/);
    await enter(page);
    await tabTo(page, /^button\.danger: Delete$/);
    await enter(page);
    expect(await focused(page)).toMatch(/^div\.error-summary: .*a reason is required/);
    expect(await page.title()).toMatch(/^Error: /);
    await tabTo(page, /^input: Reason/);
    await page.keyboard.type('left the society');
    await enter(page);
    expect(await focused(page)).toMatch(/Moved to the recycle bin/);

    // Restore from the bin.
    await tabTo(page, /^button\.secondary: Restore Mary Somerville$/);
    await enter(page);
    expect(await focused(page)).toMatch(/Restored from the recycle bin/);

    // Time travel: from the history to the whole book as it stood at version 1.
    await tabTo(page, /^a: History \(4 versions\)/);
    await enter(page);
    await tabTo(page, /^a: whole book then$/, 80);
    // The first "whole book then" is the newest version's; walk to version 1's.
    for (let v = 4; v > 1; v--) await tabTo(page, /^a: whole book then$/);
    await enter(page);
    const row = page.locator('table.people tr', { hasText: 'Mary Somerville' });
    expect(await row.textContent()).toContain('Jedburgh');
    // The form: Enter in the field shows the book at the moment it holds. (Typing into a
    // datetime-local field is not tested: headless Chromium ignores key presses in it.)
    const later = new Date(Date.now() + 2000).toISOString();
    await page.goto(`${app.url}/as-of?at=${encodeURIComponent(later)}`);
    await tabTo(page, /^input: Date and time \(UTC\)/);
    await enter(page);
    // The browser submits the field's value, which leaves out seconds that are zero.
    const at = new URL(page.url()).searchParams.get('at') ?? '';
    expect(at.length === 16 ? `${at}:00` : at).toBe(later.slice(0, 19));
    expect(await page.locator('table.people tr', { hasText: 'Mary Somerville' }).textContent()).toContain(
      'Burntisland',
    );
    expect(problems).toEqual([]);
  });

  it("the activity chart's numbers are a table the keyboard can open", async () => {
    await page.goto(`${app.url}/activity`);
    await tabTo(page, /^summary: The numbers as a table/);
    await page.keyboard.press('Enter');
    const table = page.locator('.chart-data table');
    expect(await table.isVisible()).toBe(true);
    // created 1, edited 1, deleted 1, restored 1: the rows' totals add up to 4 (the changes may
    // fall in two periods when a minute turns between them).
    const totals = await table.locator('tbody tr td:last-child').allTextContents();
    expect(totals.reduce((sum, t) => sum + Number(t), 0)).toBe(4);
  });
});
