import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeBrowser, openBrowserApp, signInAs } from './browser-suite.js';

describeBrowser('Live updates between two people in headless Chromium [pglite]', () => {
  let app: Awaited<ReturnType<typeof openBrowserApp>>;
  let browser: Browser;
  let omar: BrowserContext;
  let lin: BrowserContext;
  const problems: string[] = [];

  const tab = async (context: BrowserContext): Promise<Page> => {
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    // Any failed request but the favicon the app does not have (the script, the event stream).
    page.on('response', (r) => {
      if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) problems.push(`${r.status()} ${r.url()}`);
    });
    return page;
  };

  /** Marks the document, so that a reload (a new document) would show as the mark's absence. */
  const mark = (page: Page) => page.evaluate(() => Object.assign(globalThis, { __sameDocument: true }));
  const sameDocument = (page: Page) =>
    page.evaluate(() => (globalThis as unknown as { __sameDocument?: boolean }).__sameDocument === true);
  const listening = (page: Page) => page.locator('#live-status[data-ready]').waitFor({ state: 'attached' });

  beforeAll(async () => {
    app = await openBrowserApp();
    browser = app.browser;
    omar = await browser.newContext();
    lin = await browser.newContext();
    await signInAs(omar, app, 'omar', 'editor');
    await signInAs(lin, app, 'lin', 'viewer');
  }, 120_000);
  afterAll(async () => {
    await app?.close();
  });

  it("a person's page shows another user's edit without a reload, announced politely", async () => {
    const v = await app.db
      .table((await import('../src/schema.js')).addresses)
      .insert({ name: 'Ada Lovelace', city: 'London' }, { actor: 'seed' });
    const watcher = await tab(lin);
    await watcher.goto(`${app.url}/people/${v.entryId}`);
    await listening(watcher);
    await mark(watcher);

    const editor = await tab(omar);
    await editor.goto(`${app.url}/people/${v.entryId}/edit`);
    await editor.getByLabel('City', { exact: true }).fill('Marylebone');
    await editor.getByRole('button', { name: 'Save' }).click();
    await editor.getByText('Saved as a new version').waitFor();

    const status = watcher.locator('#live-status');
    await expect.poll(() => status.textContent()).toBe('Changed by omar just now (edited, version 2).');
    expect(await status.getAttribute('aria-live')).toBe('polite');
    expect(await status.getAttribute('role')).toBe('status');
    await expect.poll(() => watcher.locator('.card').textContent()).toContain('Marylebone');
    expect(await watcher.locator('.meta-line').textContent()).toContain('v2 by omar');
    expect(await sameDocument(watcher)).toBe(true);
    expect(problems).toEqual([]);
  });

  it('the list shows a person added in another tab, without a reload', async () => {
    const watcher = await tab(lin);
    await watcher.goto(`${app.url}/`);
    await listening(watcher);
    await mark(watcher);

    const editor = await tab(omar);
    await editor.goto(`${app.url}/new`);
    await editor.getByLabel('Name').fill('Grace Hopper');
    await editor.getByRole('button', { name: 'Add' }).click();
    await editor.getByText('Created. This is version 1').waitFor();

    await watcher.getByRole('link', { name: 'Grace Hopper' }).waitFor();
    expect(await watcher.locator('#live-status').textContent()).toBe('omar added a person just now.');
    expect(await sameDocument(watcher)).toBe(true);
    expect(problems).toEqual([]);
  });

  it('without JavaScript the pages are whole, and a reload shows the change', async () => {
    const noScript = await browser.newContext({ javaScriptEnabled: false });
    await signInAs(noScript, app, 'lin', 'viewer');
    const page = await noScript.newPage();
    await page.goto(`${app.url}/`);
    expect(await page.getByRole('link', { name: 'Grace Hopper' }).count()).toBe(1);
    expect(await page.locator('#live-status').textContent()).toBe('');
    const editor = await tab(omar);
    await editor.goto(`${app.url}/new`);
    await editor.getByLabel('Name').fill('Alan Turing');
    await editor.getByRole('button', { name: 'Add' }).click();
    await editor.getByText('Created. This is version 1').waitFor();
    await page.reload();
    expect(await page.getByRole('link', { name: 'Alan Turing' }).count()).toBe(1);
    await noScript.close();
  });
});
