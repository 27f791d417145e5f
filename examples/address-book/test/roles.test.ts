// Every route of the app, called as nobody, a viewer, an editor and an admin: each is refused
// exactly when the role is not enough (issue 20). The expected access is written out here, by
// hand, as the spec; a route the app has and this table lacks fails the test.
import { randomBytes } from 'node:crypto';
import { connect, type Database } from 'appendlog';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountStore, atLeast, type Role } from '../src/accounts.js';
import { addresses } from '../src/schema.js';
import { prepareDatabase } from '../src/setup.js';
import { Client, describeEngines, ORIGIN, sessionFor, type TestBook } from './support.js';

type Access = 'public' | Role;

const SPEC: Record<string, Access> = {
  'GET /style.css': 'public',
  'GET /live.js': 'public',
  'GET /signin': 'public',
  'POST /signin': 'public',
  'GET /signup': 'public',
  'POST /signup': 'public',
  'POST /signout': 'public',
  'GET /': 'viewer',
  'GET /people/:id': 'viewer',
  'GET /people/:id/history': 'viewer',
  'GET /people/:id/versions/:version': 'viewer',
  'GET /as-of': 'viewer',
  'GET /bin': 'viewer',
  'GET /activity': 'viewer',
  'GET /activity/actor': 'viewer',
  'GET /events': 'viewer',
  'GET /account': 'viewer',
  'GET /accounts/:id': 'viewer',
  'GET /api/people': 'viewer',
  'GET /api/people/:id': 'viewer',
  'GET /api/people/:id/history': 'viewer',
  'GET /api/people/:id/versions/:version': 'viewer',
  'GET /api/people/:id/diff': 'viewer',
  'GET /api/bin': 'viewer',
  'GET /api/as-of': 'viewer',
  'GET /new': 'editor',
  'POST /people': 'editor',
  'GET /people/:id/edit': 'editor',
  'POST /people/:id': 'editor',
  'GET /people/:id/delete': 'editor',
  'POST /people/:id/delete': 'editor',
  'POST /people/:id/restore': 'editor',
  'POST /people/:id/revert': 'editor',
  'POST /api/people': 'editor',
  'PATCH /api/people/:id': 'editor',
  'DELETE /api/people/:id': 'editor',
  'POST /api/people/:id/restore': 'editor',
  'POST /api/people/:id/revert': 'editor',
  'GET /people/:id/forget': 'admin',
  'POST /people/:id/forget': 'admin',
  'POST /people/:id/cancel-forget': 'admin',
  'GET /erasures': 'admin',
  'POST /erasures/purge': 'admin',
  'GET /integrity': 'admin',
  'GET /accounts': 'admin',
  'POST /accounts/:id/role': 'admin',
  'POST /api/people/:id/forget': 'admin',
  'POST /api/people/:id/cancel-forget': 'admin',
  'GET /api/people/:id/erasure': 'admin',
  'GET /api/people/:id/verify': 'admin',
  'GET /api/verify': 'admin',
};

const CALLERS: Array<Role | null> = [null, 'viewer', 'editor', 'admin'];

describeEngines('Address Book: every route as every role', (engine) => {
  let t: TestBook;
  let person: string;
  let accountId: string;

  beforeAll(async () => {
    t = await engine.open();
    accountId = (await sessionFor(t.db, 'the admin', 'admin')).id;
    await sessionFor(t.db, 'the editor', 'editor');
    await sessionFor(t.db, 'the viewer', 'viewer');
    person = (await t.db.table(addresses).insert({ name: 'Ada Lovelace' }, { actor: accountId })).entryId;
  });
  afterAll(() => t.close());

  it('has a line of the spec for every route, and none for a route it lacks', () => {
    const routes = new Client(t.db).app.routes
      .filter((r) => r.method !== 'ALL')
      .map((r) => `${r.method} ${r.path}`);
    expect([...new Set(routes)].sort()).toEqual(Object.keys(SPEC).sort());
  });

  it.each(Object.entries(SPEC))('%s is %s', async (route, access) => {
    const [method, pattern] = route.split(' ') as [string, string];
    const path = pattern
      .replace(':version', '1')
      .replace(':id', pattern.startsWith('/accounts') ? accountId : person);
    const api = path.startsWith('/api/');
    for (const role of CALLERS) {
      const client = new Client(t.db);
      if (role !== null) {
        // A session of its own for every call: one route ends it (sign-out).
        const { id } = await sessionFor(t.db, `the ${role}`, role);
        client.cookies.set('session', await AccountStore.for(t.db).startSession(id));
      }
      await client.get('/signin'); // the CSRF cookie, as a browser that loaded a page has
      const res =
        method === 'GET'
          ? await client.get(path)
          : api
            ? await client.app.request(`${ORIGIN}${path}`, {
                method,
                headers: {
                  'content-type': 'application/json',
                  cookie: [...client.cookies].map(([k, v]) => `${k}=${v}`).join('; '),
                },
                body: '{}',
              })
            : await client.post(path, {});
      const allowed = access === 'public' || (role !== null && atLeast(role, access));
      const who = role ?? 'nobody';
      const toSignIn = res.status === 303 && (res.headers.get('location') ?? '').startsWith('/signin?');
      if (allowed) {
        expect(res.status, `${who}: ${route}`).not.toBe(401);
        expect(res.status, `${who}: ${route}`).not.toBe(403);
        expect(toSignIn, `${who}: ${route} sent to sign in`).toBe(false);
      } else if (role === null) {
        if (api) expect(res.status, `${who}: ${route}`).toBe(401);
        else expect(toSignIn, `${who}: ${route} -> ${res.status} ${res.headers.get('location')}`).toBe(true);
      } else {
        expect(res.status, `${who}: ${route}`).toBe(403);
      }
    }
  });
});

describe.skipIf(!process.env.DATABASE_URL)('Address Book as its least-privilege role [postgres]', () => {
  const url = process.env.DATABASE_URL!;
  const schema = `ab_role_${randomBytes(4).toString('hex')}`;
  const role = `ab_app_${randomBytes(4).toString('hex')}`;
  let owner: Database;
  let app: Database;

  beforeAll(async () => {
    owner = await connect({ url, schema });
    await owner.query(`CREATE ROLE ${role} NOLOGIN`);
    await prepareDatabase(owner, { appRole: role });
    // As the server connects when it is given no APP_DATABASE_URL.
    app = await connect({ url, schema, pool: { options: `-c role=${role}` } });
  });
  afterAll(async () => {
    await app?.close();
    await owner?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await owner?.query(`DROP ROLE IF EXISTS ${role}`);
    await owner?.close();
  });

  it('signs up, signs in and writes through the paths that chain, and nothing else', async () => {
    expect(await app.query('SELECT current_user AS u')).toEqual([{ u: role }]);
    const store = AccountStore.for(app);
    const made = await store.create({
      login: 'ann',
      displayName: 'Ann',
      password: 'ann has a long password',
    });
    expect('account' in made && made.account.role).toBe('admin');
    const ann = await store.authenticate('ann', 'ann has a long password');
    const token = await store.startSession(ann!.id);
    expect((await store.sessionAccount(token))?.displayName).toBe('Ann');
    const v = await app.table(addresses).insert({ name: 'Ada' }, { actor: ann!.id });
    await store.setRole(ann!.id, 'admin', { actor: ann!.id, reason: 'no change, still a version' });
    await store.endSession(token);
    expect(await store.sessionAccount(token)).toBeNull();
    // The log and the account history are beyond the app's reach, and so is the schema.
    await expect(
      app.query(`UPDATE addresses_log SET name = 'x' WHERE entry_id = $1`, [v.entryId]),
    ).rejects.toThrow();
    await expect(app.query(`DELETE FROM accounts_log`)).rejects.toThrow();
    await expect(app.query(`DROP TABLE account_logins`)).rejects.toThrow();
    await expect(app.query(`DELETE FROM account_logins`)).rejects.toThrow(/permission denied/);
    expect((await owner.verify()).ok).toBe(true);
  });
});
