import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AccountStore } from '../src/accounts.js';
import { describeBrowser, openBrowserApp, signInAs } from './browser-suite.js';

describeBrowser('Address Book in headless Chromium [pglite]', () => {
  let app: Awaited<ReturnType<typeof openBrowserApp>>;
  let server: { url: string };
  let browser: Browser;
  /** Alice's browser profile: its own cookies. */
  let alice: BrowserContext;
  const problems: string[] = [];

  /** Opens a tab that fails the test on any script error or dialog (an alert would mean injection). */
  const tab = async (context: BrowserContext): Promise<Page> => {
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('dialog', async (d) => {
      problems.push(`dialog: ${d.message()}`);
      await d.dismiss();
    });
    return page;
  };

  /** Signs up through the form, as a person would: the app sends a visitor to sign in first. */
  const actAs = async (page: Page, name: string) => {
    await page.goto(`${server.url}/`);
    await page.getByRole('link', { name: 'Sign up' }).first().click();
    await page.getByLabel(/^Login/).fill(name);
    await page.getByLabel('Your name, as others will see it').fill(name);
    await page.getByLabel(/^Password/).fill(`${name}'s long password`);
    await page.getByRole('button', { name: 'Create account' }).click();
    await expect.poll(() => page.locator('.acting-as a').first().textContent()).toBe(name);
  };

  /** An admin gives an account another role on the accounts page, with a reason. */
  const giveRole = async (admin: Page, name: string, role: string) => {
    await admin.goto(`${server.url}/`);
    await admin.getByRole('link', { name: 'Accounts' }).click();
    await admin.getByLabel(`Role of ${name}`).selectOption(role);
    await admin
      .getByRole('row', { name: new RegExp(name) })
      .getByPlaceholder('why')
      .fill(`${name} edits too`);
    await admin
      .getByRole('row', { name: new RegExp(name) })
      .getByRole('button', { name: 'Change role' })
      .click();
    await admin.getByText('The role was changed').waitFor();
  };

  const editField = async (page: Page, field: string, value: string, reason?: string) => {
    await page.getByRole('link', { name: 'Edit' }).click();
    await page.getByLabel(field, { exact: true }).fill(value);
    if (reason !== undefined) await page.getByLabel(/^Why\?/).fill(reason);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved as a new version').waitFor();
  };

  beforeAll(async () => {
    app = await openBrowserApp();
    server = app;
    browser = app.browser;
    alice = await browser.newContext();
  }, 120_000);

  afterAll(async () => {
    await app?.close();
  });

  it('create, edit twice, history and diffs, revert, delete with a reason, restore from the bin, time travel', async () => {
    const page = await tab(alice);
    await actAs(page, 'alice');

    await page.getByRole('link', { name: 'Add a person' }).click();
    await page.getByLabel('Name').fill('Ada Lovelace');
    await page.getByLabel('City').fill('London');
    await page.getByRole('button', { name: 'Add' }).click();
    await page.getByText('Created. This is version 1').waitFor();
    expect(await page.locator('h1').textContent()).toBe('Ada Lovelace');

    await editField(page, 'City', 'Marylebone', 'moved');
    await editField(page, 'Telephone', '+44 20 7946 0018');

    // The history: three versions, newest first, each with its field-level changes.
    await page.getByRole('link', { name: /History \(3 versions\)/ }).click();
    const entries = page.locator('.timeline .entry');
    await expect.poll(() => entries.count()).toBe(3);
    const moved = entries.filter({ hasText: 'moved' });
    expect(await moved.locator('del').textContent()).toBe('London');
    expect(await moved.locator('ins').textContent()).toBe('Marylebone');
    expect(await entries.first().locator('ins').textContent()).toBe('+44 20 7946 0018');
    await entries.last().getByRole('link', { name: 'view' }).click();
    expect(await page.locator('h1').textContent()).toContain('version 1 of 3');
    expect(await page.locator('.card').textContent()).toContain('London');
    await page.goBack();

    // Revert to version 1: a new version 4 with version 1's data.
    const v1 = page.locator('#v1');
    await v1.getByLabel('Why revert to version 1?').fill('wrong person');
    await v1.getByRole('button', { name: 'Revert to v1' }).click();
    await page.getByText('Reverted: a new version with the old data').waitFor();
    expect(await page.locator('.card').textContent()).toContain('London');
    expect(await page.locator('.card').textContent()).not.toContain('+44 20 7946 0018');

    // Delete with a reason; it lands in the recycle bin, and comes back from there.
    await page.getByRole('link', { name: 'Delete' }).click();
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.locator('.error-summary').getByText('a reason is required').waitFor();
    await page.getByLabel('Reason').fill('duplicate entry');
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByText('Moved to the recycle bin').waitFor();
    expect(await page.locator('table.bin').textContent()).toContain('duplicate entry');
    await page.getByRole('link', { name: 'People', exact: true }).click();
    await page.waitForURL(`${server.url}/`);
    expect(await page.getByRole('link', { name: 'Ada Lovelace' }).count()).toBe(0);
    await page.getByRole('link', { name: 'Recycle bin' }).click();
    await page.getByRole('button', { name: 'Restore Ada Lovelace' }).click();
    await page.getByText('Restored from the recycle bin').waitFor();
    await page.getByRole('link', { name: 'People', exact: true }).click();
    await page.waitForURL(`${server.url}/`);
    expect(await page.getByRole('link', { name: 'Ada Lovelace' }).count()).toBe(1);

    // Time travel: the whole book as it stood before the first edit, then before anything at all.
    await page.getByRole('link', { name: 'Ada Lovelace' }).click();
    await page.getByRole('link', { name: /History/ }).click();
    await page.locator('#v1').getByRole('link', { name: 'whole book then' }).click();
    const row = page.locator('table.people tr', { hasText: 'Ada Lovelace' });
    expect(await row.textContent()).toContain('London');
    expect(await row.textContent()).toContain('v1 by alice');
    await page.getByLabel('Date and time (UTC)').fill('2000-01-01T00:00:00');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.getByText('Nobody was in the address book then.').waitFor();
    expect(problems).toEqual([]);
  });

  it('a stale edit shows what changed meanwhile instead of overwriting', async () => {
    const bobContext = await browser.newContext();
    const bob = await tab(bobContext);
    await actAs(bob, 'bob');
    // Not the first account: bob reads until alice, the admin, lets him edit.
    await bob.goto(`${server.url}/new`);
    await bob.getByText('This needs the editor role; your account is a viewer.').waitFor();
    const first = await tab(alice);
    await giveRole(first, 'bob', 'editor');
    await first.goto(`${server.url}/`);
    await first.getByRole('link', { name: 'Add a person' }).click();
    await first.getByLabel('Name').fill('Alan Turing');
    await first.getByLabel('City').fill('Manchester');
    await first.getByRole('button', { name: 'Add' }).click();
    await first.getByText('Created.').waitFor();
    const personUrl = first.url().split('?')[0]!;

    // Alice opens the edit form; Bob saves a change before she submits hers.
    await first.getByRole('link', { name: 'Edit' }).click();
    await bob.goto(`${personUrl}/edit`);
    await bob.getByLabel('City').fill('Wilmslow');
    await bob.getByLabel(/^Why\?/).fill('moved house');
    await bob.getByRole('button', { name: 'Save' }).click();
    await bob.getByText('Saved as a new version').waitFor();

    await first.getByLabel('City').fill('Bletchley');
    await first.getByRole('button', { name: 'Save' }).click();
    const banner = first.locator('.banner.conflict');
    await banner.waitFor();
    expect(await banner.textContent()).toContain('Someone changed this person while you were editing');
    expect(await banner.textContent()).toContain('moved house');
    expect(await banner.locator('del').textContent()).toBe('Manchester');
    expect(await banner.locator('ins').textContent()).toBe('Wilmslow');
    expect(await first.getByLabel('City').inputValue()).toBe('Bletchley');
    await first.goto(personUrl);
    expect(await first.locator('.card').textContent()).toContain('Wilmslow');
    await bobContext.close();
    expect(problems).toEqual([]);
  });

  it('hostile names and reasons are shown as text, never run', async () => {
    const page = await tab(alice);
    await page.goto(`${server.url}/new`);
    const evil = '<script>alert(1)</script>';
    const evil2 = '"><img src=x onerror=alert(1)>';
    await page.getByLabel('Name').fill(evil);
    await page.getByLabel('City').fill(evil2);
    await page.getByRole('button', { name: 'Add' }).click();
    await page.getByText('Created.').waitFor();
    expect(await page.locator('h1').textContent()).toBe(evil);
    await editField(page, 'Name', evil2, evil);
    await page.getByRole('link', { name: /History/ }).click();
    expect(await page.locator('.timeline .reason').first().textContent()).toBe(evil);
    await page.goto(`${server.url}/`);
    expect(await page.getByRole('link', { name: evil2 }).count()).toBe(1);
    expect(await page.locator('main img, main script').count()).toBe(0);
    expect(problems).toEqual([]);
  });
  it('forgetting a person: gone from the list at once, erased by the purge', async () => {
    const page = await tab(alice);
    await page.goto(`${server.url}/new`);
    await page.getByLabel('Name').fill('Charles Babbage');
    await page.getByRole('button', { name: 'Add' }).click();
    await page.getByText('Created.').waitFor();
    await page.getByRole('link', { name: 'Forget this person' }).click();
    await page.getByLabel(/^Reason/).fill('erasure request #3');
    await page.getByLabel('at the next purge (no way back)').check();
    await page.getByRole('button', { name: 'Forget this person' }).click();
    await page.getByText('Forgotten: this person has left every list').waitFor();
    await page.getByRole('link', { name: 'People' }).click();
    expect(await page.getByRole('link', { name: 'Charles Babbage' }).count()).toBe(0);
    await page.getByRole('link', { name: 'Erasures' }).click();
    await page.getByRole('button', { name: 'Run the purge now' }).click();
    await page.getByText('The purge erased 1 forgotten person.').waitFor();
    await page.getByRole('link', { name: 'A forgotten person' }).first().click();
    const versions = page.locator('.timeline .entry');
    await expect.poll(() => versions.count()).toBe(2);
    for (const text of await versions.allTextContents())
      expect(text).toMatch(/erased on .*: erasure request #3/);
    expect(await page.locator('main').textContent()).not.toContain('Charles Babbage');
    expect(problems).toEqual([]);
  });

  it('a viewer reads but is offered no change and refused one; an editor is refused erasure', async () => {
    await AccountStore.for(app.db).create({
      login: 'carol',
      displayName: 'Carol',
      password: 'carol has a long password',
    });
    const page = await tab(await browser.newContext());
    await page.goto(`${server.url}/people`);
    // Sent to sign in; the form brings her back to where she was going.
    await page.getByLabel(/^Login/).fill('carol');
    await page.getByLabel(/^Password/).fill('carol has a long password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('.acting-as').textContent()).toContain('Carol (viewer)');
    await page.goto(`${server.url}/`);
    expect(await page.getByRole('link', { name: 'Add a person' }).count()).toBe(0);
    expect(await page.getByRole('navigation', { name: 'Main' }).textContent()).not.toMatch(
      /Erasures|Accounts/,
    );
    await page.getByRole('link', { name: 'Ada Lovelace' }).click();
    // A click starts the navigation; wait for the page it leads to before counting on it.
    await page.waitForURL(/\/people\/[0-9a-f-]+$/);
    expect(await page.getByRole('link', { name: 'Edit' }).count()).toBe(0);
    expect(await page.getByRole('link', { name: 'Forget this person' }).count()).toBe(0);
    const person = page.url();
    await page.getByRole('link', { name: /^History/ }).click();
    await page.waitForURL(/\/history$/);
    expect(await page.locator('.timeline .entry').count()).toBeGreaterThan(1);
    expect(await page.getByRole('button', { name: /^Revert to/ }).count()).toBe(0);
    await page.goto(`${person}/edit`);
    await page.getByText('This needs the editor role; your account is a viewer.').waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();

    const editor = await browser.newContext();
    await signInAs(editor, app, 'eve', 'editor');
    const eve = await tab(editor);
    await eve.goto(person);
    expect(await eve.getByRole('link', { name: 'Edit' }).count()).toBe(1);
    expect(await eve.getByRole('link', { name: 'Forget this person' }).count()).toBe(0);
    await eve.goto(`${person}/forget`);
    await eve.getByText('This needs the admin role; your account is an editor.').waitFor();
    expect(problems).toEqual([]);
  });
});
