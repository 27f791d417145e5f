// What every browser test file shares: the skip-or-fail rule when there is no Chromium, and a
// fresh app served to a headless Chromium.
import { connect, type Database } from 'appendlog';
import type { Browser, BrowserContext } from 'playwright-core';
import { describe, it } from 'vitest';
import { freshPGlite } from '../../../packages/appendlog/test/support/pglite-snapshot.js';
import type { Role } from '../src/accounts.js';
import { prepareDatabase } from '../src/setup.js';
import { browserMissing, launchChromium, startServer } from './harness.js';
import { sessionFor } from './support.js';

/**
 * `describe` for the browser tests, tagged `[browser]`. Without Chromium the suite is skipped
 * (the run's summary says so once), unless APPENDLOG_REQUIRE_BROWSER=1 (CI): then it fails.
 */
export function describeBrowser(name: string, fn: () => void): void {
  const missing = browserMissing();
  if (missing === null) describe(`${name} [browser]`, fn);
  else if (process.env.APPENDLOG_REQUIRE_BROWSER === '1')
    describe(`${name} [browser]`, () => {
      it('needs Chromium', () => {
        throw new Error(`APPENDLOG_REQUIRE_BROWSER=1 but ${missing}`);
      });
    });
  else describe.skip(`${name} [browser] (skipped: ${missing})`, fn);
}

/** An empty, migrated Address Book on a fresh PGlite, served on a free port, and headless Chromium. */
export async function openBrowserApp(): Promise<{
  db: Database;
  url: string;
  browser: Browser;
  close(): Promise<void>;
}> {
  const client = await freshPGlite();
  const db = await connect({ client });
  await prepareDatabase(db);
  const server = await startServer(db);
  const browser = await launchChromium();
  return {
    db,
    url: server.url,
    browser,
    async close() {
      await browser.close();
      await server.close();
      await db.close();
      await client.close();
    },
  };
}

/**
 * Signs a browser context in as the account shown as `name` (made on first use; an admin unless
 * `role` says otherwise) by giving it that account's session cookie. Returns the account id.
 */
export async function signInAs(
  context: BrowserContext,
  app: { db: Database; url: string },
  name: string,
  role: Role = 'admin',
): Promise<string> {
  const { id, token } = await sessionFor(app.db, name, role);
  await context.addCookies([
    { name: 'session', value: token, url: app.url, httpOnly: true, sameSite: 'Lax' },
  ]);
  return id;
}
