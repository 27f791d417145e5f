import type { Database } from 'appendlog';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AccountStore } from '../src/accounts.js';
import { addresses } from '../src/schema.js';
import { seedIfEmpty } from '../src/seed.js';
import { Client, describeEngines, location, type TestBook } from './support.js';

const HOSTILE = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>'];

/** True when `html` contains none of the hostile strings as live markup. */
function inert(html: string): boolean {
  return (
    !html.includes('<script>alert(1)') && !html.includes('<img src=x') && !/<img[^>]*onerror/i.test(html)
  );
}

describeEngines('Address Book pages and forms', (engine) => {
  let t: TestBook;
  let db: Database;
  let browser: Client;
  const count = async () => (await db.table(addresses).list()).length;

  /** Creates a person through the form and returns its id. */
  const create = async (client: Client, form: Record<string, string>) => {
    const res = await client.post('/people', form);
    expect(res.status).toBe(303);
    return location(res).split('/')[2]!.split('?')[0]!;
  };

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    browser = new Client(db);
    await browser.actAs('alice');
  });
  afterAll(() => t.close());

  it('sends a visitor to sign in, on a page with security headers and a CSRF cookie', async () => {
    const fresh = new Client(db);
    const home = await fresh.get('/');
    expect([home.status, location(home)]).toEqual([303, '/signin?next=%2F']);
    const res = await fresh.get('/signin?next=%2F');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(fresh.cookies.get('csrf')).toMatch(/^[0-9a-f]{64}$/);
    const html = await res.text();
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain('<h1>Sign in</h1>');
    expect(html).not.toContain('Log verified');
    expect((await fresh.get('/style.css')).headers.get('content-type')).toMatch(/text\/css/);
  });

  it('signs up as a viewer, is promoted by an admin, records the account as the actor, signs out', async () => {
    const fresh = new Client(db);
    const refused = await fresh.post('/people', { name: 'Someone' });
    expect([refused.status, location(refused)]).toEqual([303, '/signin?next=%2F']);
    const weak = await fresh.post('/signup', {
      login: 'Bob@Example.org',
      displayName: 'Bob',
      password: 'short',
    });
    expect(weak.status).toBe(422);
    const weakPage = await weak.text();
    expect(weakPage).toContain('A password needs at least 10 characters');
    expect(weakPage).toContain('value="Bob@Example.org"');
    const taken = await fresh.post('/signup', {
      login: `t-${Buffer.from('alice').toString('hex')}`,
      displayName: 'Alice again',
      password: 'a long enough password',
    });
    expect(taken.status).toBe(422);
    expect(await taken.text()).toContain('That login is taken');
    const ok = await fresh.post('/signup', {
      login: 'Bob@Example.org',
      displayName: 'Bob',
      password: 'a long enough password',
    });
    expect([ok.status, location(ok)]).toEqual([303, '/']);
    // Not the first account, so a viewer: it reads, and may not write.
    expect((await fresh.get('/')).status).toBe(200);
    const viewerNew = await fresh.get('/new');
    expect(viewerNew.status).toBe(403);
    expect(await viewerNew.text()).toContain('This needs the editor role; your account is a viewer.');
    const bob = (await AccountStore.for(db).list()).find((a) => a.login === 'bob@example.org')!;
    expect(bob.role).toBe('viewer');
    // Only an admin changes roles, with a reason, and the change is a version of the account.
    expect((await fresh.post(`/accounts/${bob.id}/role`, { role: 'admin', reason: 'me' })).status).toBe(403);
    const noReason = await browser.post(`/accounts/${bob.id}/role`, { role: 'editor', reason: '' });
    expect(noReason.status).toBe(422);
    const promoted = await browser.post(`/accounts/${bob.id}/role`, {
      role: 'editor',
      reason: 'joined the team',
    });
    expect([promoted.status, location(promoted)]).toEqual([303, '/accounts?changed']);
    const id = await create(fresh, { name: 'Made by Bob' });
    expect((await db.table(addresses).get(id))?.actor).toBe(bob.id);
    const history = await (await fresh.get(`/people/${id}/history`)).text();
    expect(history).toContain(`by <strong><a href="/accounts/${bob.id}">Bob</a></strong>`);
    const page = await (await browser.get(`/accounts/${bob.id}`)).text();
    expect(page).toContain('role viewer → editor, by <a href="/accounts/');
    expect(page).toContain('<q class="reason">joined the team</q>');
    expect(page).toContain('Made by Bob');
    // Signing out ends the session on the server, not only in this browser.
    const token = fresh.cookies.get('session')!;
    const out = await fresh.post('/signout', {});
    expect([out.status, location(out)]).toEqual([303, '/signin']);
    expect(await AccountStore.for(db).sessionAccount(token)).toBeNull();
    fresh.cookies.set('session', token);
    expect((await fresh.get('/')).status).toBe(303);
    // Signing in again; a next that points off the site is ignored.
    const back = await fresh.post('/signin', {
      login: 'bob@example.org',
      password: 'a long enough password',
      next: '//evil.example/',
    });
    expect([back.status, location(back)]).toEqual([303, '/']);
  });

  it('refuses a wrong password, and slows down guessing after five failures', async () => {
    const fresh = new Client(db);
    await AccountStore.for(db).create({
      login: 'dora',
      displayName: 'Dora',
      password: 'dora has a long password',
    });
    const wrong = await fresh.post('/signin', { login: 'dora', password: 'guess', next: '/' });
    expect(wrong.status).toBe(422);
    expect(await wrong.text()).toContain('That login and password do not match an account');
    const unknown = await fresh.post('/signin', { login: 'nobody-here', password: 'guess', next: '/' });
    expect(unknown.status).toBe(422);
    for (let i = 0; i < 4; i++)
      await fresh.post('/signin', { login: 'dora', password: `guess ${i}`, next: '/' });
    const limited = await fresh.post('/signin', {
      login: 'dora',
      password: 'dora has a long password',
      next: '/',
    });
    expect(limited.status).toBe(429);
    expect(await limited.text()).toMatch(/Too many failed sign-ins; try again in 1[45] minutes/);
    expect(fresh.cookies.has('session')).toBe(false);
  });

  it('refuses forms without the right origin or token, writing nothing', async () => {
    const before = await count();
    const crossSite = await browser.post('/people', { name: 'Forged' }, { origin: 'https://evil.example' });
    expect(crossSite.status).toBe(403);
    const noOrigin = await browser.post('/people', { name: 'Forged' }, { origin: null });
    expect(noOrigin.status).toBe(403);
    const noToken = await browser.post('/people', { name: 'Forged' }, { token: null });
    expect(noToken.status).toBe(403);
    expect(await noToken.text()).toContain('That form was refused');
    const wrongToken = await browser.post('/people', { name: 'Forged' }, { token: 'f'.repeat(64) });
    expect(wrongToken.status).toBe(403);
    expect(await count()).toBe(before);
  });

  it('shows validation errors next to their fields, keeps the values and writes nothing', async () => {
    const before = await count();
    const res = await browser.post('/people', { name: '', city: 'Oslo', tel: 'call me' });
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).toMatch(
      /id="f-name"[^>]*aria-invalid="true"[^>]*>\s*<p class="error" id="f-name-error">Name is required/,
    );
    expect(html).toMatch(/<p class="error" id="f-tel-error">Telephone may hold only digits/);
    // One summary on top, announced and focused on load, linking to each field.
    expect(html).toMatch(/<div class="error-summary" role="alert" tabindex="-1" autofocus=""/);
    expect(html).toContain('There are 2 problems');
    expect(html).toMatch(/<a href="#f-name">Name is required/);
    expect(html).toContain('value="Oslo"');
    expect(await count()).toBe(before);
  });

  it('creates, edits, and shows the history with field-level diffs', async () => {
    const id = await create(browser, { name: 'Grace Hopper', city: 'Arlington', tel: '' });
    const detail = await (await browser.get(`/people/${id}?notice=created`)).text();
    expect(detail).toContain('Created. This is version 1');
    const form = await (await browser.get(`/people/${id}/edit`)).text();
    expect(form).toContain('name="expectedVersion" value="1"');
    const edit = await browser.post(`/people/${id}`, {
      expectedVersion: '1',
      name: 'Grace Hopper',
      city: 'Washington',
      tel: '+1 703 555 0142',
      reason: 'moved',
    });
    expect([edit.status, location(edit)]).toEqual([303, `/people/${id}?notice=updated`]);
    const history = await (await browser.get(`/people/${id}/history`)).text();
    expect(history).toContain('2 versions');
    expect(history).toContain('<del>Arlington</del> <ins>Washington</ins>');
    expect(history).toContain('<q class="reason">moved</q>');
    expect(history).toMatch(
      /edited<\/span> v2 by <strong><a href="\/accounts\/[0-9a-f-]{36}">alice<\/a><\/strong>/,
    );
    const v1 = await (await browser.get(`/people/${id}/versions/1`)).text();
    expect(v1).toContain('version 1 of 2');
    expect(v1).toContain('<dd>Arlington</dd>');
    const same = await browser.post(`/people/${id}`, {
      expectedVersion: '2',
      name: 'Grace Hopper',
      city: 'Washington',
      tel: '+1 703 555 0142',
    });
    expect(location(same)).toBe(`/people/${id}?notice=unchanged`);
    expect((await db.table(addresses).history(id)).length).toBe(2);
  });

  it('on a stale edit shows what changed meanwhile and keeps both sides, overwriting nothing', async () => {
    const id = await create(browser, { name: 'Alan Turing', city: 'Manchester', tel: '0161 000' });
    const other = new Client(db);
    await other.actAs('bob');
    const bobs = {
      expectedVersion: '1',
      name: 'Alan Turing',
      city: 'Wilmslow',
      tel: '01625 000',
      reason: 'moved house',
    };
    expect((await other.post(`/people/${id}`, bobs)).status).toBe(303);
    // Alice's form was opened at version 1: she changed the city only, the rest is what she saw.
    const stale = await browser.post(`/people/${id}`, {
      expectedVersion: '1',
      name: 'Alan Turing',
      city: 'Bletchley',
      tel: '0161 000',
    });
    expect(stale.status).toBe(409);
    const html = await stale.text();
    expect(html).toContain('Someone changed this person while you were editing');
    expect(html).toContain('<del>Manchester</del> <ins>Wilmslow</ins>');
    expect(html).toContain('<q class="reason">moved house</q>');
    expect(html).toMatch(
      /value="Bletchley"[^>]*>\s*<p class="error" id="f-city-error">Also changed meanwhile, to “Wilmslow”/,
    );
    expect(html).toContain('value="01625 000"'); // Bob's telephone, which Alice did not touch
    expect(html).toContain('name="expectedVersion" value="2"');
    expect((await db.table(addresses).get(id))?.data).toMatchObject({ city: 'Wilmslow', tel: '01625 000' });
    const resolved = await browser.post(`/people/${id}`, {
      expectedVersion: '2',
      name: 'Alan Turing',
      city: 'Bletchley',
      tel: '01625 000',
    });
    expect(resolved.status).toBe(303);
    expect((await db.table(addresses).get(id))?.data).toMatchObject({ city: 'Bletchley', tel: '01625 000' });
  });

  it('deletes only with a reason, lists the recycle bin and restores from it', async () => {
    const id = await create(browser, { name: 'Katherine Johnson' });
    const ask = await (await browser.get(`/people/${id}/delete`)).text();
    expect(ask).toContain('name="reason"');
    const noReason = await browser.post(`/people/${id}/delete`, { expectedVersion: '1', reason: '  ' });
    expect(noReason.status).toBe(422);
    expect(await noReason.text()).toContain('a reason is required');
    expect(await db.table(addresses).get(id)).not.toBeNull();
    const done = await browser.post(`/people/${id}/delete`, {
      expectedVersion: '1',
      reason: 'left the team',
    });
    expect([done.status, location(done)]).toEqual([303, '/bin?notice=deleted']);
    expect(await db.table(addresses).get(id)).toBeNull();
    const bin = await (await browser.get('/bin?notice=deleted')).text();
    expect(bin).toContain('Moved to the recycle bin');
    expect(bin).toMatch(
      new RegExp(`href="/people/${id}/history">Katherine Johnson</a>[\\s\\S]*left the team`),
    );
    expect(bin).toContain(`action="/people/${id}/restore"`);
    const page = await (await browser.get(`/people/${id}`)).text();
    expect(page).toContain('In the recycle bin since');
    expect(page).toContain('<q>left the team</q>');
    const restored = await browser.post(`/people/${id}/restore`, { expectedVersion: '2' });
    expect(location(restored)).toBe(`/people/${id}?notice=restored`);
    expect((await db.table(addresses).get(id))?.version).toBe(3);
    expect(await (await browser.get('/bin')).text()).not.toContain(`/people/${id}/restore`);
  });

  it('reverts to an earlier version from the timeline, refusing a stale one', async () => {
    const id = await create(browser, { name: 'Edsger Dijkstra', city: 'Rotterdam' });
    await browser.post(`/people/${id}`, { expectedVersion: '1', name: 'Edsger Dijkstra', city: 'Austin' });
    const history = await (await browser.get(`/people/${id}/history`)).text();
    expect(history).toContain('Revert to v1');
    expect(history).not.toContain('Revert to v2');
    const stale = await browser.post(`/people/${id}/revert`, { version: '1', expectedVersion: '1' });
    expect(stale.status).toBe(409);
    expect((await db.table(addresses).history(id)).length).toBe(2);
    const done = await browser.post(`/people/${id}/revert`, {
      version: '1',
      expectedVersion: '2',
      reason: 'wrong city',
    });
    expect(location(done)).toBe(`/people/${id}?notice=reverted`);
    const v3 = await db.table(addresses).get(id);
    expect(v3).toMatchObject({
      version: 3,
      reason: 'wrong city',
      actor: browser.accountId,
      meta: { revertedTo: 1 },
    });
    expect(v3?.data.city).toBe('Rotterdam');
    const after = await (await browser.get(`/people/${id}/history`)).text();
    expect(after).toContain('(reverted to v1)');
    expect(after).toContain('<del>Austin</del> <ins>Rotterdam</ins>');
    const version = await (await browser.get(`/people/${id}/versions/2`)).text();
    expect(version).toContain('<del>Austin</del> <ins>Rotterdam</ins>');
  });

  it('shows the whole book as of a moment', async () => {
    const id = await create(browser, { name: 'Barbara Liskov', city: 'Los Angeles' });
    const v1 = (await db.table(addresses).get(id))!;
    await browser.post(`/people/${id}`, { expectedVersion: '1', name: 'Barbara Liskov', city: 'Cambridge' });
    const then = await (await browser.get(`/as-of?at=${encodeURIComponent(v1.recordedAtIso)}`)).text();
    expect(then).toMatch(
      new RegExp(`href="/people/${id}/versions/1">Barbara Liskov</a></td><td>Los Angeles</td>`),
    );
    const early = await (await browser.get('/as-of?at=2000-01-01T00:00')).text();
    expect(early).toContain('Nobody was in the address book then.');
    const bad = await browser.get('/as-of?at=yesterday');
    expect(await bad.text()).toContain('“yesterday” is not a real date and time; give one like');
    const form = await (await browser.get('/as-of')).text();
    expect(form).toContain('type="datetime-local"');
  });

  it('renders hostile names, reasons and actors inert everywhere', async () => {
    const evil = new Client(db);
    await evil.actAs(HOSTILE[1]!);
    const id = await create(evil, { name: HOSTILE[0]!, city: HOSTILE[1]! });
    await evil.post(`/people/${id}`, {
      expectedVersion: '1',
      name: HOSTILE[1]!,
      city: HOSTILE[0]!,
      reason: HOSTILE[0]!,
    });
    const pages = [
      '/',
      `/people/${id}`,
      `/people/${id}/edit`,
      `/people/${id}/history`,
      `/people/${id}/versions/1`,
      `/people/${id}/delete`,
      '/activity',
      `/accounts/${evil.accountId}`,
      '/accounts',
      `/as-of?at=${encodeURIComponent(new Date().toISOString())}`,
    ];
    for (const path of pages) {
      const res = await evil.get(path);
      expect(res.status, path).toBe(200);
      const html = await res.text();
      expect(inert(html), path).toBe(true);
    }
    const history = await (await evil.get(`/people/${id}/history`)).text();
    expect(history).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(history).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
    const q = await (await evil.get(`/?q=${encodeURIComponent(HOSTILE[1]!)}`)).text();
    expect(inert(q)).toBe(true);
    const deleted = await evil.post(`/people/${id}/delete`, { expectedVersion: '2', reason: HOSTILE[1]! });
    expect(deleted.status).toBe(303);
    expect(inert(await (await evil.get(`/people/${id}`)).text())).toBe(true);
    const bin = await (await evil.get('/bin')).text();
    expect(bin).toContain('<td>&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</td>');
    expect(inert(bin)).toBe(true);
    expect(inert(await (await evil.get(`/as-of?at=${encodeURIComponent(HOSTILE[1]!)}`)).text())).toBe(true);
  });

  it('answers 404 for unknown people and versions', async () => {
    for (const path of [
      '/people/00000000-0000-4000-8000-000000000000',
      '/people/nope',
      '/people/nope/history',
    ]) {
      expect((await browser.get(path)).status, path).toBe(404);
    }
    const id = await create(browser, { name: 'One version' });
    expect((await browser.get(`/people/${id}/versions/2`)).status).toBe(404);
    expect((await browser.get(`/people/${id}/versions/0`)).status).toBe(404);
  });

  it('draws the activity chart from the log', async () => {
    expect((await browser.get('/activity?range=toString')).status).toBe(200);
    // The chart counts a change once no older transaction is open (the feed is gap-free): on a
    // shared server another test file's open transaction can hold this file's changes back a while.
    const alice = `<span class="actor-name"><a href="/accounts/${browser.accountId}">alice</a></span>`;
    let html = '';
    await expect
      .poll(
        async () => {
          html = await (await browser.get('/activity?range=hours')).text();
          return html.includes(alice);
        },
        { timeout: 30_000, interval: 200 },
      )
      .toBe(true);
    expect(html).toContain('<svg');
    expect(html).toMatch(/<title>[^<]*\d+ created/);
    expect(html).toMatch(/class="seg op-insert"/);
  });

  it('seeds an empty book once', async () => {
    const fresh = await engine.open();
    try {
      const demo = await seedIfEmpty(fresh.db);
      expect(demo?.map((a) => [a.login, a.role])).toEqual([
        ['alice', 'admin'],
        ['bob', 'editor'],
        ['carol', 'viewer'],
      ]);
      expect(await seedIfEmpty(fresh.db)).toBeNull();
      // Each demo account signs in with the password printed once; the seed's changes are theirs.
      const store = AccountStore.for(fresh.db);
      const accounts = await Promise.all(demo!.map((a) => store.authenticate(a.login, a.password)));
      expect(accounts.map((a) => a?.role)).toEqual(['admin', 'editor', 'viewer']);
      const actors = new Set((await fresh.db.table(addresses).list()).map((p) => p.actor));
      expect([...actors].every((a) => accounts.some((acc) => acc?.id === a))).toBe(true);
      const people = await fresh.db.table(addresses).list();
      expect(people.length).toBeGreaterThanOrEqual(4);
      expect(people.some((p) => p.version > 1)).toBe(true);
      const bin = await fresh.db.table(addresses).deleted();
      expect(bin.length).toBe(1);
      expect((await fresh.db.verify()).erased).toBeGreaterThan(0); // someone asked to be forgotten
    } finally {
      await fresh.close();
    }
  });
});
