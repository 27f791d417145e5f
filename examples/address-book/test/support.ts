import { randomBytes } from 'node:crypto';
import { connect, type Database } from 'appendlog';
import type { Hono } from 'hono';
import { describe } from 'vitest';
import { freshPGlite } from '../../../packages/appendlog/test/support/pglite-snapshot.js';
import { createApp } from '../src/app.js';
import type { Env } from '../src/context.js';
import { addresses } from '../src/schema.js';

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
  open(): Promise<TestBook>;
}

const pglite: Engine = {
  name: 'pglite',
  async open() {
    const client = await freshPGlite();
    const db = await connect({ client });
    await db.migrate([addresses]);
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
  async open() {
    const schema = `ab_${randomBytes(6).toString('hex')}`;
    const db = await connect({ url: url!, schema });
    await db.migrate([addresses]);
    return {
      db,
      async close() {
        await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await db.close();
      },
    };
  },
};

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

  constructor(db: Database) {
    this.app = createApp(db);
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

  /** Chooses the name to act as. */
  async actAs(name: string): Promise<void> {
    const res = await this.post('/whoami', { actor: name, next: '/' });
    if (res.status !== 303) throw new Error(`could not act as ${name}: ${res.status}`);
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
} & Array<{ entryId: string; version: number; op: string; data: Record<string, string | null> }>;

/** Calls the JSON API. */
export async function api(
  app: Hono<Env>,
  method: string,
  path: string,
  body?: unknown,
  actor: string | null = 'tester',
): Promise<{ status: number; body: ApiBody }> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (actor !== null) headers['x-actor'] = actor;
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
