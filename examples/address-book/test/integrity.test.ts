import { afterAll, beforeAll, expect, it } from 'vitest';
import { addresses } from '../src/schema.js';
import { api, Client, describeEngines, type TestBook } from './support.js';

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
    expect(report).toContain('2 versions checked');
    expect(await (await browser.get(`/people/${id}`)).text()).toContain('✓ all 2 versions verify');
    expect((await api(browser.app, 'GET', '/verify')).body).toMatchObject({
      ok: true,
      checked: 2,
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
