import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Database } from 'appendlog';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { compress } from 'hono/compress';
import { getCookie, setCookie } from 'hono/cookie';
import { csrf } from 'hono/csrf';
import { secureHeaders } from 'hono/secure-headers';
import { AccountStore, atLeast, NameBook } from './accounts.js';
import { ActivityCounts } from './activity.js';
import { apiRoutes } from './api.js';
import { type Deps, type Env, pageOf } from './context.js';
import { IntegrityMonitor } from './integrity.js';
import { LiveFeed } from './live/feed.js';
import { liveRoutes } from './live/routes.js';
import { accessOf } from './policy.js';
import { accountRoutes } from './routes/accounts.js';
import { activityRoutes } from './routes/activity.js';
import { authRoutes, SESSION_COOKIE } from './routes/auth.js';
import { binRoutes } from './routes/bin.js';
import { editRoutes } from './routes/edit.js';
import { erasureRoutes } from './routes/erasure.js';
import { notFound, serverError } from './routes/helpers.js';
import { historyRoutes } from './routes/history.js';
import { integrityRoutes } from './routes/integrity.js';
import { peopleRoutes } from './routes/people.js';
import { timeTravelRoutes } from './routes/time-travel.js';
import { addresses } from './schema.js';
import { Layout } from './views/layout.js';

const css = readFileSync(new URL('./style.css', import.meta.url), 'utf8');

/**
 * The whole Address Book as a Hono app over an appendlog database that has been prepared
 * (`prepareDatabase`: its tables migrated, the account tables set up).
 * `app.fetch` serves it; tests call `app.request(...)` in-process.
 */
export function createApp(
  db: Database,
  options: {
    verifyEveryMs?: number;
    /** The handle that runs the purge: the tables' owner (default `db`, when the app runs as the owner). */
    owner?: Database;
    live?: LiveFeed;
    activity?: ActivityCounts;
  } = {},
): Hono<Env> {
  const deps: Deps = {
    db,
    book: db.table(addresses),
    integrity: new IntegrityMonitor(db, options.verifyEveryMs),
    accounts: AccountStore.for(db),
    owner: options.owner ?? db,
    live: options.live ?? new LiveFeed(db),
    activity: options.activity ?? new ActivityCounts(db),
  };
  const app = new Hono<Env>();

  // gzip (or deflate) what the client accepts, above 1 KB: a page of 50 people shrinks about 8×.
  app.use(compress());
  app.use(
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'none'"],
        styleSrc: ["'self'"],
        // The live-update script (/live.js) and its event stream (/events); pages work without them.
        scriptSrc: ["'self'"],
        connectSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        formAction: ["'self'"],
        baseUri: ["'none'"],
        frameAncestors: ["'none'"],
      },
    }),
  );

  // An address book entry is small: refuse large bodies before reading them. A form gets its
  // page back with the reason on top (nothing of the post was read); the API gets a JSON error.
  app.use(
    bodyLimit({
      maxSize: MAX_BODY,
      onError: async (c) => {
        if (c.req.path.startsWith('/api/'))
          return c.json({ error: { code: 'too_large', message: TOO_LARGE } }, 413);
        const headers = new Headers({ [TOO_LARGE_HEADER]: '1' });
        const cookie = c.req.header('cookie');
        if (cookie !== undefined) headers.set('cookie', cookie);
        const page = await app.fetch(new Request(new URL(formPageOf(c.req.path), c.req.url), { headers }));
        return page.status === 200 ? new Response(page.body, { status: 413, headers: page.headers }) : page;
      },
    }),
  );

  // Who is signed in, and the session's CSRF token, from cookies.
  app.use(async (c, next) => {
    const session = getCookie(c, SESSION_COOKIE);
    const account = await deps.accounts.sessionAccount(session);
    c.set('session', session);
    c.set('account', account);
    c.set('actor', account?.id ?? null);
    let token = getCookie(c, 'csrf');
    if (token === undefined || !/^[0-9a-f]{64}$/.test(token)) {
      token = randomBytes(32).toString('hex');
      setCookie(c, 'csrf', token, { path: '/', httpOnly: true, sameSite: 'Lax' });
    }
    c.set('csrf', token);
    const page = !c.req.path.startsWith('/api/') && !NOT_PAGES.has(c.req.path);
    c.set('integrity', page ? () => deps.integrity.current() : undefined);
    c.set('names', page ? await deps.accounts.names() : NO_NAMES);
    c.set('problem', c.req.header(TOO_LARGE_HEADER) === '1' ? TOO_LARGE : undefined);
    await next();
  });

  // Every route checks the caller's role against one table (policy.ts) before it runs.
  app.use(async (c, next) => {
    const access = accessOf(c.req.method, c.req.path);
    if (access === 'public') return next();
    const api = c.req.path.startsWith('/api/');
    const account = c.var.account;
    if (account === null) {
      if (api)
        return c.json({ error: { code: 'unauthenticated', message: 'sign in first (POST /signin)' } }, 401);
      return c.redirect(
        `/signin?next=${encodeURIComponent(c.req.method === 'GET' ? c.req.path + new URL(c.req.url).search : '/')}`,
        303,
      );
    }
    if (atLeast(account.role, access)) return next();
    const message = `This needs the ${access} role; your account is ${/^[aeiou]/.test(account.role) ? 'an' : 'a'} ${account.role}.`;
    if (api) return c.json({ error: { code: 'forbidden', message } }, 403);
    return c.html(
      <Layout page={pageOf(c)} title="Not allowed">
        <h1>Not allowed</h1>
        <p>
          {message} Nothing was changed. <a href="/">Back to the list</a>
        </p>
      </Layout>,
      403,
    );
  });

  app.get('/style.css', (c) =>
    c.body(css, 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'max-age=300' }),
  );

  app.route('/api', apiRoutes(deps));
  app.route('/', liveRoutes(deps));

  // Forms: the browser must say the post comes from this site, and carry this session's token.
  const refuse = (c: Context<Env>) =>
    c.html(
      <Layout page={{ ...pageOf(c), path: '/' }} title="Refused">
        <h1>That form was refused</h1>
        <p>
          It came from another site or from an old page. Nothing was changed. <a href="/">Start again</a>
        </p>
      </Layout>,
      403,
    );
  app.use(csrf());
  app.use(async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD' || c.req.path.startsWith('/api/')) return next();
    const body = await c.req.parseBody();
    const sent = typeof body._csrf === 'string' ? Buffer.from(body._csrf) : Buffer.alloc(0);
    const expected = Buffer.from(c.var.csrf);
    if (sent.length !== expected.length || !timingSafeEqual(sent, expected)) return refuse(c);
    await next();
  });
  app.onError((err, c) => {
    if ('status' in err && err.status === 403) return refuse(c);
    console.error(err);
    if (c.req.path.startsWith('/api/'))
      return c.json({ error: { code: 'internal', message: 'internal error; the server logged it' } }, 500);
    return serverError(c);
  });

  for (const routes of [
    peopleRoutes,
    editRoutes,
    historyRoutes,
    binRoutes,
    timeTravelRoutes,
    activityRoutes,
    integrityRoutes,
    erasureRoutes,
  ])
    app.route('/', routes(deps));
  app.route('/', authRoutes(deps));
  app.route('/', accountRoutes(deps));
  app.notFound((c) => notFound(c, 'There is no such page.'));
  return app;
}

const NO_NAMES = new NameBook([]);
/** Paths that answer something other than a page: no integrity badge to compute for them. */
const NOT_PAGES = new Set(['/style.css', '/live.js', '/events']);
const MAX_BODY = 64 * 1024;
const TOO_LARGE =
  'What you sent is too large (more than 64 KB), so none of it was read and nothing was saved.';
/** Marks the internal request that shows a form again after a post too large to read. */
const TOO_LARGE_HEADER = 'x-address-book-too-large';

/** The page holding the form a post came from. */
function formPageOf(path: string): string {
  if (path === '/people') return '/new';
  if (path === '/signin' || path === '/signup') return path;
  const m = /^\/people\/([^/]+)(\/delete|\/forget)?$/.exec(path);
  if (m) return m[2] === undefined ? `/people/${m[1]}/edit` : path;
  return '/';
}
