// The rough edges a newcomer meets first (issue 19), each in a real browser: a post too large to
// read, lengths as a person counts them, a phone-sized screen, the 404s, a bad time-travel date,
// counts in words, a revert's badge, round chart ticks and the integrity badge on every page.
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeBrowser, openBrowserApp, signInAs } from './browser-suite.js';

describeBrowser('Address Book edges in headless Chromium [pglite]', () => {
  let app: Awaited<ReturnType<typeof openBrowserApp>>;
  let context: BrowserContext;
  let page: Page;
  const problems: string[] = [];

  const add = async (fields: Record<string, string>): Promise<string> => {
    await page.goto(`${app.url}/new`);
    for (const [label, value] of Object.entries(fields))
      await page.getByLabel(label, { exact: true }).fill(value);
    await page.getByRole('button', { name: 'Add' }).click();
    await page.getByText('Created. This is version 1').waitFor();
    return new URL(page.url()).pathname;
  };

  const hasLayoutAndBadge = async () => {
    expect(await page.locator('header.top .brand').textContent()).toBe('Address Book');
    expect(await page.locator('header.top .badge').textContent()).toContain('Log verified');
  };

  beforeAll(async () => {
    app = await openBrowserApp();
    context = await app.browser.newContext();
    await signInAs(context, app, 'alice');
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  }, 120_000);

  afterAll(async () => {
    await app?.close();
  });

  it('a 100 KB name: the page and the form come back with the reason, nothing saved', async () => {
    await page.goto(`${app.url}/new`);
    await page.getByLabel('Name').fill('x'.repeat(100_000));
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Add' }).click(),
    ]);
    expect(response.status()).toBe(413);
    await page.getByRole('alert').filter({ hasText: 'too large' }).waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('nothing was saved');
    expect(await page.locator('h1').textContent()).toBe('Add a person');
    expect(await page.getByLabel('Name').count()).toBe(1);
    await hasLayoutAndBadge();
    expect(await app.db.query('SELECT 1 FROM addresses')).toEqual([]);
  });

  it('a too-long field keeps what was typed; 150 emoji are 150 characters', async () => {
    await page.goto(`${app.url}/new`);
    const long = `${'Hubert Blaine Wolfeschlegelsteinhausenbergerdorff '.repeat(4)}Sr.`;
    await page.getByLabel('Name').fill(long);
    await page.getByLabel('City').fill('Hamburg');
    await page.getByRole('button', { name: 'Add' }).click();
    await page.locator('.error-summary').getByText('Name is too long (at most 200 characters)').waitFor();
    expect(await page.getByLabel('Name').inputValue()).toBe(long);
    expect(await page.getByLabel('City').inputValue()).toBe('Hamburg');

    const emoji = '😀'.repeat(150);
    const family = '👨‍👩‍👧‍👦'.repeat(20); // 20 characters as seen, 220 UTF-16 units
    await add({ Name: emoji, City: family });
    expect(await page.locator('h1').textContent()).toBe(emoji);
    expect(await page.locator('.card').textContent()).toContain(family);
  });

  it('the people table fits a 390 px wide screen', async () => {
    await add({
      Name: 'Maximiliane Theodora von Sachsen-Coburg und Gotha',
      City: 'Llanfairpwllgwyngyll',
      Telephone: '+44 20 7946 0018 123',
    });
    const phone = await context.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`${app.url}/`);
    const overflow = await phone.evaluate('document.documentElement.scrollWidth');
    expect(overflow).toBeLessThanOrEqual(390);
    const box = await phone.locator('table.people').boundingBox();
    expect(box!.x).toBeGreaterThanOrEqual(0);
    expect(box!.x + box!.width).toBeLessThanOrEqual(390);
    expect(await phone.getByRole('link', { name: /Maximiliane/ }).isVisible()).toBe(true);
    await phone.close();
  });

  it('one version is "1 version"; a missing version says so; an unknown page gets the styled 404', async () => {
    const path = await add({ Name: 'Una Sola' });
    expect(await page.getByRole('link', { name: /^History/ }).textContent()).toBe('History (1 version)');
    await page.getByRole('link', { name: /^History/ }).click();
    expect(await page.locator('main').textContent()).toContain('1 version, newest first');

    const missing = await page.goto(`${app.url}${path}/versions/99`);
    expect(missing!.status()).toBe(404);
    expect(await page.locator('main').textContent()).toContain(
      'There is no such version: this person has only version 1.',
    );
    await hasLayoutAndBadge();

    const unknown = await page.goto(`${app.url}/no/such/page`);
    expect(unknown!.status()).toBe(404);
    expect(await page.locator('h1').textContent()).toBe('Not found');
    expect(await page.locator('main').textContent()).toContain('There is no such page.');
    await hasLayoutAndBadge();
  });

  it('a date that does not exist is refused in the words typed', async () => {
    await page.goto(`${app.url}/as-of?at=2026-02-30T10:00`);
    const error = await page.locator('#f-at-error').textContent();
    expect(error).toBe('“2026-02-30T10:00” is not a real date and time; give one like 2026-11-26T09:30:00');
    expect(error).not.toMatch(/\bat is\b|Z/);
    await hasLayoutAndBadge();
  });

  it('a revert shows as a revert, not as an edit', async () => {
    await add({ Name: 'Rita Revert', City: 'Rome' });
    await page.getByRole('link', { name: 'Edit' }).click();
    await page.getByLabel('City', { exact: true }).fill('Milan');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved as a new version').waitFor();
    await page.getByRole('link', { name: /^History/ }).click();
    await page.locator('#v1').getByRole('button', { name: 'Revert to v1' }).click();
    await page.getByText('Reverted: a new version with the old data').waitFor();
    expect(await page.locator('.meta-line .op').textContent()).toBe('reverted');
    await page.getByRole('link', { name: /^History/ }).click();
    expect(await page.locator('#v3 .op').textContent()).toBe('reverted');
    expect(await page.locator('#v2 .op').textContent()).toBe('edited');
  });

  it('the chart ticks are round numbers from 0 past the tallest bar', async () => {
    await page.goto(`${app.url}/activity?range=days`);
    const ticks = (await page.locator('.chart .tick text').allTextContents()).map(Number);
    const bars = await page.locator('.chart .bar title').allTextContents();
    const tallest = Math.max(
      ...bars.map((t) =>
        [...t.matchAll(/(\d+) (created|edited|deleted|restored|forgotten)/g)].reduce(
          (n, m) => n + Number(m[1]),
          0,
        ),
      ),
    );
    expect(tallest).toBeGreaterThan(4); // enough changes today for steps larger than 1
    const step = ticks[1]!;
    expect(String(step)).toMatch(/^[125]0*$/);
    expect(ticks).toEqual(ticks.map((_, i) => i * step));
    expect(ticks.at(-1)!).toBeGreaterThanOrEqual(tallest);
    expect(ticks.at(-2)!).toBeLessThan(tallest);
  });

  it('the integrity badge is on every page, forms sent back with errors too', async () => {
    for (const path of ['/', '/new', '/bin', '/as-of', '/activity', '/erasures', '/integrity', '/accounts']) {
      await page.goto(`${app.url}${path}`);
      await hasLayoutAndBadge();
    }
    await page.goto(`${app.url}/new`);
    await page.getByRole('button', { name: 'Add' }).click();
    await page.locator('.error-summary').getByText('Name is required').waitFor();
    await hasLayoutAndBadge();
    expect(problems).toEqual([]);
  });

  it('the API says a reason is required in its own words', async () => {
    await page.goto(`${app.url}/`);
    const id = (await page.getByRole('link', { name: 'Una Sola' }).getAttribute('href'))!.split('/')[2];
    const res = await context.request.delete(`${app.url}/api/people/${id}`, {
      headers: { 'content-type': 'application/json' },
      data: {},
    });
    expect(res.status()).toBe(422);
    expect(await res.json()).toEqual({
      error: { code: 'reason_required', message: 'a reason is required: send it as "reason"' },
    });
  });
});
