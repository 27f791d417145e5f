import { randomBytes } from 'node:crypto';
import { connect, type Database } from 'appendlog';
import type { Hono } from 'hono';
import pg from 'pg';
import { describe } from 'vitest';
import { freshPGlite } from '../../../packages/appendlog/test/support/pglite-snapshot.js';
import { AccountStore, type Role } from '../src/accounts.js';
import { createApp } from '../src/app.js';
import type { Env } from '../src/context.js';
import { prepareDatabase } from '../src/setup.js';
import { countPGlite, countPool, type RowCounter } from './row-counter.js';

const url = process.env.DATABASE_URL;
if (!url && process.env.APPENDLOG_REQUIRE_POSTGRES === '1') {
  throw new Error('APPENDLOG_REQUIRE_POSTGRES=1 but DATABASE_URL is not set');
}

/** A migrated, empty Address Book database on one engine, and how to drop it. */
export interface TestBook {
  db: Database;
  close(): Promise<void>;
}

export interface Engine {
  name: 'pglite' | 'postgres';
  /** With `counter`, every row the database returns is counted in it. */
  open(counter?: RowCounter): Promise<TestBook>;
}

const pglite: Engine = {
  name: 'pglite',
  async open(counter) {
    const client = await freshPGlite();
    if (counter !== undefined) countPGlite(client, counter);
    const db = await connect({ client });
    await prepareDatabase(db);
    return {
      db,
      async close() {
        await db.close();
        await client.close();
      },
    };
  },
};

const postgres: Engine = {
  name: 'postgres',
  async open(counter) {
    const schema = `ab_${randomBytes(6).toString('hex')}`;
    // In strict mode, as the app's server runs (src/server.ts): labels only from the library's
    // statements and marked transactions, never from a session-level setting.
    const strict = '-c appendlog.strict_context=on';
    // To count, a pool of our own whose connections count what they return (connected as
    // connect({ url, schema }) would: the schema first on the search path).
    const pool =
      counter === undefined
        ? undefined
        : new pg.Pool({ connectionString: url!, options: `-c search_path="${schema}",public ${strict}` });
    if (pool !== undefined) countPool(pool, counter!);
    const db = await connect(
      pool === undefined ? { url: url!, schema, pool: { options: strict } } : { client: pool, schema },
    );
    await prepareDatabase(db);
    return {
      db,
      async close() {
        await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await db.close();
        await pool?.end();
      },
    };
  },
};

const databases = new WeakMap<Hono<Env>, Database>();

/** The app over `db`, remembered so that `api()` can sign in to it. */
export function appFor(db: Database): Hono<Env> {
  const app = createApp(db);
  databases.set(app, db);
  return app;
}

/** The password of every account the tests make. */
export const TEST_PASSWORD = 'correct horse battery staple';

const sessions = new WeakMap<Database, Map<string, Promise<{ id: string; token: string }>>>();

/**
 * A session of the account shown as `name` with `role` (made on first use; its role changed if a
 * later call asks another): its account id and the session token for the cookie.
 */
export function sessionFor(
  db: Database,
  name: string,
  role: Role = 'admin',
): Promise<{ id: string; token: string }> {
  let byName = sessions.get(db);
  if (byName === undefined) {
    byName = new Map();
    sessions.set(db, byName);
  }
  const key = `${name}\u0000${role}`;
  let session = byName.get(key);
  if (session === undefined) {
    session = (async () => {
      const store = AccountStore.for(db);
      const login = `t-${Buffer.from(name).toString('hex').slice(0, 56)}`;
      let id = (await store.list()).find((a) => a.login === login)?.id;
      if (id === undefined) {
        const made = await store.create({ login, displayName: name, password: TEST_PASSWORD, role });
        if (!('account' in made))
          throw new Error(`could not make the account ${name}: ${JSON.stringify(made.errors)}`);
        id = made.account.id;
      }
      const account = (await store.get(id))!;
      if (account.role !== role) await store.setRole(id, role, { actor: id, reason: 'test set-up' });
      return { id, token: await store.startSession(id) };
    })();
    byName.set(key, session);
  }
  return session;
}

/** PostgreSQL when DATABASE_URL is set (tests that only make sense there), else null. */
export const postgresEngine: Engine | null = url ? postgres : null;

/** `describe` once per engine (PGlite always, PostgreSQL with DATABASE_URL), tagged for CI. */
export function describeEngines(name: string, fn: (engine: Engine) => void): void {
  for (const engine of url ? [pglite, postgres] : [pglite])
    describe(`${name} [${engine.name}]`, () => fn(engine));
}

export const ORIGIN = 'http://localhost';

/**
 * A tiny browser for `app.request`: keeps cookies, sends the Origin header a browser would,
 * and fills in the form's CSRF token.
 */
export class Client {
  readonly cookies = new Map<string, string>();
  readonly app: Hono<Env>;
  readonly db: Database;
  /** The account this client is signed in as (after `actAs`). */
  accountId: string | null = null;

  constructor(db: Database) {
    this.db = db;
    this.app = appFor(db);
  }

  async get(path: string): Promise<Response> {
    return this.#send(path, { method: 'GET' });
  }

  /** Posts a form as a browser on this site would; `headers` and `token: null` let tests misbehave. */
  async post(
    path: string,
    form: Record<string, string>,
    options: { origin?: string | null; token?: string | null } = {},
  ): Promise<Response> {
    if (!this.cookies.has('csrf')) await this.get('/');
    const token = options.token === undefined ? this.cookies.get('csrf')! : options.token;
    const body = new URLSearchParams(token === null ? form : { _csrf: token, ...form });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    const origin = options.origin === undefined ? ORIGIN : options.origin;
    if (origin !== null) headers.origin = origin;
    return this.#send(path, { method: 'POST', body, headers });
  }

  /** Signs in as the account shown as `name` (an admin unless `role` says otherwise). */
  async actAs(name: string, role: Role = 'admin'): Promise<void> {
    const { id, token } = await sessionFor(this.db, name, role);
    this.cookies.set('session', token);
    this.accountId = id;
  }

  async #send(path: string, init: RequestInit): Promise<Response> {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const headers = new Headers(init.headers);
    if (cookie) headers.set('cookie', cookie);
    const res = await this.app.request(`${ORIGIN}${path}`, { ...init, headers });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, eq), pair!.slice(eq + 1));
    }
    return res;
  }
}

/** What the API answers: a version, a list of versions, a page of them, or an error. */
export type ApiBody = {
  entryId: string;
  version: number;
  op: string;
  recordedAtIso: string;
  actor: string | null;
  reason: string | null;
  meta: Record<string, unknown> | null;
  data: Record<string, string | null>;
  error?: { code: string; message: string; field?: string; expected?: number; actual?: number };
  /** A page of a list: its entries and the cursor of the next page. */
  items: Array<{ entryId: string; version: number; op: string; data: Record<string, string | null> }>;
  next: string | null;
  /** How many versions a history has in all (its pages say). */
  total?: number;
} & Array<{ entryId: string; version: number; op: string; data: Record<string, string | null> }>;

/** Calls the JSON API. */
export async function api(
  app: Hono<Env>,
  method: string,
  path: string,
  body?: unknown,
  actor: string | null = 'tester',
  role: Role = 'admin',
): Promise<{ status: number; body: ApiBody }> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (actor !== null) {
    const db = databases.get(app);
    if (db === undefined) throw new Error('api(): make the app with appFor(db) so it can sign in');
    headers.cookie = `session=${(await sessionFor(db, actor, role)).token}`;
  }
  const res = await app.request(`${ORIGIN}/api${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as ApiBody };
}

/** The path a redirect points to. */
export function location(res: Response): string {
  return (
    new URL(res.headers.get('location') ?? '', ORIGIN).pathname +
    new URL(res.headers.get('location') ?? '', ORIGIN).search
  );
}
