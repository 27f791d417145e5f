// Regenerates the screenshots in docs/images/: `npm run screenshots -w address-book`.
// Runs the app on a fresh in-memory PGlite with the seed data, drives the Chromium on PATH.
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connect } from 'appendlog';
import { AccountStore } from '../src/accounts.js';
import { addresses } from '../src/schema.js';
import { seedIfEmpty } from '../src/seed.js';
import { prepareDatabase } from '../src/setup.js';
import { browserMissing, launchChromium, startServer } from '../test/harness.js';

const missing = browserMissing();
if (missing !== null) throw new Error(missing);

const out = fileURLToPath(new URL('../../../docs/images/', import.meta.url));
mkdirSync(out, { recursive: true });

const db = await connect();
await prepareDatabase(db);
await seedIfEmpty(db);
const alice = (await AccountStore.for(db).list()).find((a) => a.login === 'alice')!;
const bobId = (await AccountStore.for(db).list()).find((a) => a.login === 'bob')!.id;
const book = db.table(addresses);
const server = await startServer(db);
const browser = await launchChromium();
try {
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 }, deviceScaleFactor: 1 });
  const token = await AccountStore.for(db).startSession(alice.id);
  await context.addCookies([{ name: 'session', value: token, url: server.url }]);
  const page = await context.newPage();
  const shot = async (path: string, name: string) => {
    await page.goto(`${server.url}${path}`);
    await page.screenshot({ path: `${out}${name}.png`, fullPage: true });
    console.log(`docs/images/${name}.png`);
  };

  const grace = (await book.list({ where: { name: 'Grace Hopper' } }))[0]!;
  await shot('/', 'people');
  await shot(`/people/${grace.entryId}/history`, 'history');

  // A stale edit: the form was opened at version 3, then Bob saved version 4.
  await page.goto(`${server.url}/people/${grace.entryId}/edit`);
  await book.update(grace.entryId, { tel: '+1 202 555 0199' }, { actor: bobId, reason: 'new desk phone' });
  await page.getByLabel('City').fill('Arlington');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.locator('.banner.conflict').waitFor();
  await page.screenshot({ path: `${out}conflict.png`, fullPage: true });
  console.log('docs/images/conflict.png');

  await shot('/bin', 'bin');
  await shot(`/as-of?at=${encodeURIComponent(grace.recordedAtIso)}`, 'time-travel');
  await shot('/activity', 'activity');
} finally {
  await browser.close();
  await server.close();
  await db.close();
}
