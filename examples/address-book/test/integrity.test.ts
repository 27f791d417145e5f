import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { waitForHorizon } from '../../../packages/appendlog/test/support/horizon.js';
import { AccountStore } from '../src/accounts.js';
import { createApp } from '../src/app.js';
import { IntegrityMonitor } from '../src/integrity.js';
import { addresses } from '../src/schema.js';
import { api, Client, describeEngines, ORIGIN, sessionFor, TEST_PASSWORD, type TestBook } from './support.js';

describeEngines('Address Book integrity badge and report', (engine) => {
  let t: TestBook;
  let browser: Client;

  beforeAll(async () => {
    t = await engine.open();
    browser = new Client(t.db);
    await browser.actAs('alice');
  });
  afterAll(() => t.close());

  it('shows a green badge while every hash verifies, and a report with the count', async () => {
    const res = await browser.post('/people', { name: 'Ada Lovelace', city: 'London' });
    const id = res.headers.get('location')!.split('/')[2]!.split('?')[0]!;
    await browser.post(`/people/${id}`, { expectedVersion: '1', name: 'Ada Lovelace', city: 'Marylebone' });
    expect(await (await browser.get('/')).text()).toContain('✓ Log verified');
    const report = await (await browser.get('/integrity')).text();
    expect(report).toContain('✓ Everything verifies');
    // Ada's two versions, and the one of alice's account.
    expect(report).toContain('3 versions checked');
    expect(await (await browser.get(`/people/${id}`)).text()).toContain('✓ all 2 versions verify');
    expect((await api(browser.app, 'GET', '/verify', undefined, 'alice')).body).toMatchObject({
      ok: true,
      checked: 3,
      failures: [],
    });
  });

  it('turns red and names the version when someone edits the log behind the app', async () => {
    const [ada] = await t.db.table(addresses).list({ where: { name: 'Ada Lovelace' } });
    // A superuser can switch the append-only triggers off for a session and rewrite a version.
    await t.db.transaction(async (tx) => {
      await tx.query('SET LOCAL session_replication_role = replica');
      await tx.query(`UPDATE addresses_log SET city = 'Forged' WHERE entry_id = $1 AND version = 1`, [
        ada!.entryId,
      ]);
    });
    const report = await (await browser.get('/integrity')).text();
    expect(report).toContain('⚠ 1 problem found');
    expect(report).toContain('<code>content_hash_mismatch</code>');
    expect(report).toContain(`href="/people/${ada!.entryId}/history">version 1</a>`);
    expect(await (await browser.get('/')).text()).toMatch(/class="badge bad"[^>]*>⚠ \d+ integrity problems?/);
    expect(await (await browser.get(`/people/${ada!.entryId}`)).text()).toContain('⚠ 1 integrity problem ·');
    const verify = await api(browser.app, 'GET', `/people/${ada!.entryId}/verify`);
    expect(verify.body).toMatchObject({
      ok: false,
      failures: [{ version: 1, problem: 'content_hash_mismatch' }],
    });
  });
});

describeEngines('Address Book integrity, incremental', (engine) => {
  let t: TestBook;

  beforeAll(async () => {
    t = await engine.open();
  });
  afterAll(() => t.close());

  it('after a write re-verifies only the chains written since, and still finds a forgery in them', async () => {
    const book = t.db.table(addresses);
    await book.insertMany(
      Array.from({ length: 30 }, (_, i) => ({ name: `Person ${i}` })),
      { actor: 'loader' },
    );
    // Another test's open transaction on a shared server holds the horizon back for a while.
    await waitForHorizon(t.db, ['addresses'], 30_000);
    const monitor = new IntegrityMonitor(t.db, 0);
    const full = await monitor.fresh();
    expect(full).toMatchObject({ scope: 'full', ok: true, checked: 30 });

    // Nothing written since: nothing to check.
    expect(await monitor.since()).toMatchObject({ scope: 'incremental', ok: true, checked: 0 });

    // One new person, one edited twice: their chains only, 1 + 3 versions of the 33 in the log.
    const [someone] = await book.list({ where: { name: 'Person 7' } });
    await book.insert({ name: 'New Person' }, { actor: 'alice' });
    await book.update(someone!.entryId, { city: 'Leeds' }, { actor: 'alice' });
    await book.update(someone!.entryId, { city: 'York' }, { actor: 'alice' });
    await waitForHorizon(t.db, ['addresses'], 30_000);
    expect(await monitor.since()).toMatchObject({ scope: 'incremental', ok: true, checked: 4 });
    expect(await monitor.since()).toMatchObject({ checked: 0 });

    // A forged old version of someone written again is caught, and the failure is kept.
    await t.db.transaction(async (tx) => {
      await tx.query('SET LOCAL session_replication_role = replica');
      await tx.query(`UPDATE addresses_log SET name = 'Forged' WHERE entry_id = $1 AND version = 1`, [
        someone!.entryId,
      ]);
    });
    await book.update(someone!.entryId, { city: 'Hull' }, { actor: 'alice' });
    await waitForHorizon(t.db, ['addresses'], 30_000);
    const caught = await monitor.since();
    expect(caught).toMatchObject({ scope: 'incremental', ok: false, checked: 4 });
    expect(caught.failures.map((f) => [f.entryId, f.version, f.problem])).toEqual([
      [someone!.entryId, 1, 'content_hash_mismatch'],
    ]);
    expect(await monitor.since()).toMatchObject({ ok: false, checked: 0 });
    // The full verification stays available and agrees.
    expect(await monitor.fresh()).toMatchObject({ scope: 'full', ok: false, checked: 34 });
  });

  it('the badge starts checks in the background that cover only what was written', async () => {
    const monitor = new IntegrityMonitor(t.db, 0);
    const first = await monitor.current();
    expect(first.scope).toBe('full');
    await t.db.table(addresses).insert({ name: 'Later Person' }, { actor: 'bob' });
    // Stale at once (interval 0): this answer is the last result, and a check starts behind it.
    expect(await monitor.current()).toBe(first);
    await expect.poll(async () => (await monitor.current()).scope).toBe('incremental');
    const later = await monitor.current();
    expect(later.at.getTime()).toBeGreaterThanOrEqual(first.at.getTime());
  });
});

describeEngines('Address Book integrity, incremental over every table', (engine) => {
  let t: TestBook;

  beforeAll(async () => {
    t = await engine.open();
  });
  afterAll(() => t.close());

  it('covers the accounts log too: a change to an account is checked, a forged one turns the badge red', async () => {
    const store = AccountStore.for(t.db);
    const made = await store.create({
      login: 'carol',
      displayName: 'Carol',
      password: TEST_PASSWORD,
      role: 'viewer',
    });
    if (!('account' in made)) throw new Error(JSON.stringify(made.errors));
    const carol = made.account.id;
    // The badge's reader (an account too), made before the monitor's first check.
    const { token } = await sessionFor(t.db, 'badge reader', 'viewer');
    const monitor = new IntegrityMonitor(t.db, 0);
    await waitForHorizon(t.db, ['addresses', 'accounts'], 30_000);
    expect(await monitor.fresh()).toMatchObject({ scope: 'full', ok: true });

    // A change to an account alone: its chain is what the next check verifies, 2 versions.
    await store.setRole(carol, 'editor', { actor: carol, reason: 'promoted' });
    await waitForHorizon(t.db, ['addresses', 'accounts'], 30_000);
    expect(await monitor.since()).toMatchObject({ scope: 'incremental', ok: true, checked: 2 });

    // The badge, as the app shows it: checks every time (interval 0), in the background.
    const app = createApp(t.db, { verifyEveryMs: 0 });
    const badge = async () => {
      const html = await (
        await app.request(`${ORIGIN}/`, { headers: { cookie: `session=${token}` } })
      ).text();
      return /<a class="badge (ok|bad)"[^>]*title="([^"]*)"[^>]*>([^<]*)/.exec(html)!.slice(1);
    };
    expect((await badge())[0]).toBe('ok');
    await expect
      .poll(async () => (await badge())[1], { timeout: 10_000 })
      .toMatch(/written since the last check/);

    // Someone rewrites Carol's first version behind the app, then her account changes again.
    await t.db.transaction(async (tx) => {
      await tx.query('SET LOCAL session_replication_role = replica');
      await tx.query(`UPDATE accounts_log SET display_name = 'Mallory' WHERE entry_id = $1 AND version = 1`, [
        carol,
      ]);
    });
    await store.setRole(carol, 'admin', { actor: carol, reason: 'promoted again' });
    await waitForHorizon(t.db, ['addresses', 'accounts'], 30_000);
    const [state, title, text] = await vi.waitUntil(
      async () => {
        const b = await badge();
        return b[0] === 'bad' ? b : false;
      },
      { timeout: 10_000, interval: 50 },
    );
    expect([state, text]).toEqual(['bad', '⚠ 1 integrity problem']);
    // Found by the incremental check (of Carol's chain), not a full verify.
    expect(title).toMatch(/^3 versions of the entries written since the last check,/);

    // The monitor alone agrees, and names the account's version.
    const caught = await monitor.since();
    expect(caught).toMatchObject({ scope: 'incremental', ok: false, checked: 3 });
    expect(caught.failures.map((f) => [f.table, f.entryId, f.version, f.problem])).toEqual([
      ['accounts', carol, 1, 'content_hash_mismatch'],
    ]);
  });
});
