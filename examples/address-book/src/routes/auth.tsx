import { Hono } from 'hono';
import { deleteCookie, setCookie } from 'hono/cookie';
import type { Account, AccountErrors } from '../accounts.js';
import { SESSION_DAYS } from '../accounts.js';
import { type Deps, type Env, pageOf } from '../context.js';
import { FailureLimiter } from '../rate-limit.js';
import { CsrfField } from '../views/layout.js';
import { ErrorSummary, TextField } from '../views/parts.js';
import { type C, render, safeNext } from './helpers.js';

// GET  /signin   the sign-in form
// POST /signin   checks the password, starts a session
// GET  /signup   the sign-up form
// POST /signup   creates an account (the first one is admin, later ones viewers) and signs it in
// POST /signout  ends the session

/** The cookie that carries the session token. */
export const SESSION_COOKIE = 'session';

/** Five failed sign-ins per login, or twenty per address, in 15 minutes; then a wait. */
const WINDOW_MS = 15 * 60_000;

export function authRoutes(deps: Deps): Hono<Env> {
  const app = new Hono<Env>();
  const byLogin = new FailureLimiter(5, WINDOW_MS);
  const byAddress = new FailureLimiter(20, WINDOW_MS);

  app.get('/signin', (c) => signInPage(c, { next: safeNext(c.req.query('next')), login: '', errors: {} }));
  app.post('/signin', async (c) => {
    const body = await c.req.parseBody();
    const next = safeNext(body.next);
    const login = typeof body.login === 'string' ? body.login.trim().toLowerCase() : '';
    const address = addressOf(c);
    const wait = Math.max(byLogin.waitFor(login), byAddress.waitFor(address));
    if (wait > 0) {
      const minutes = Math.ceil(wait / 60_000);
      const message = `Too many failed sign-ins; try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`;
      return signInPage(c, { next, login, errors: { password: message } }, 429);
    }
    const account = await deps.accounts.authenticate(body.login, body.password);
    if (account === null) {
      byLogin.fail(login);
      byAddress.fail(address);
      return signInPage(
        c,
        { next, login, errors: { password: 'That login and password do not match an account' } },
        422,
      );
    }
    byLogin.succeed(login);
    await startSession(c, deps, account);
    return c.redirect(next, 303);
  });

  app.get('/signup', (c) => signUpPage(c, { values: {}, errors: {} }));
  app.post('/signup', async (c) => {
    const body = await c.req.parseBody();
    const created = await deps.accounts.create({
      login: body.login,
      displayName: body.displayName,
      password: body.password,
    });
    if ('errors' in created) {
      const values = { login: String(body.login ?? ''), displayName: String(body.displayName ?? '') };
      return signUpPage(c, { values, errors: created.errors }, 422);
    }
    await startSession(c, deps, created.account);
    return c.redirect('/', 303);
  });

  app.post('/signout', async (c) => {
    await deps.accounts.endSession(c.var.session);
    deleteCookie(c, SESSION_COOKIE, { path: '/' });
    return c.redirect('/signin', 303);
  });
  return app;
}

async function startSession(c: C, deps: Deps, account: Account) {
  // A new token at every sign-in: a token planted before it (session fixation) is never promoted.
  await deps.accounts.endSession(c.var.session);
  const token = await deps.accounts.startSession(account.id);
  setCookie(c, SESSION_COOKIE, token, {
    path: '/',
    httpOnly: true,
    sameSite: 'Lax',
    secure: new URL(c.req.url).protocol === 'https:',
    maxAge: SESSION_DAYS * 24 * 60 * 60,
  });
}

/** The client's address as the server saw it (a proxy in front would pass it on in a header). */
function addressOf(c: C): string {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? 'local';
}

function signInPage(
  c: C,
  form: { next: string; login: string; errors: AccountErrors },
  status: 200 | 422 | 429 = 200,
) {
  return render(
    c,
    'Sign in',
    <>
      <h1>Sign in</h1>
      <form method="post" action="/signin" class="person-form" novalidate>
        <ErrorSummary errors={form.errors} />
        <CsrfField page={pageOf(c)} />
        <input type="hidden" name="next" value={form.next} />
        <TextField name="login" label="Login" value={form.login} autocomplete="username" required />
        <TextField
          name="password"
          label="Password"
          type="password"
          value=""
          error={form.errors.password}
          autocomplete="current-password"
          required
        />
        <button type="submit">Sign in</button>
      </form>
      <p>
        No account yet? <a href="/signup">Sign up</a>.
      </p>
    </>,
    status,
  );
}

function signUpPage(
  c: C,
  form: { values: { login?: string; displayName?: string }; errors: AccountErrors },
  status: 200 | 422 = 200,
) {
  return render(
    c,
    'Sign up',
    <>
      <h1>Sign up</h1>
      <p>
        Every change you make is recorded with your account, and shown with your name. A new account can read
        the address book; an admin can let it edit.
      </p>
      <form method="post" action="/signup" class="person-form" novalidate>
        <ErrorSummary errors={form.errors} />
        <CsrfField page={pageOf(c)} />
        <TextField
          name="login"
          label="Login (e.g. your e-mail address)"
          value={form.values.login ?? ''}
          error={form.errors.login}
          autocomplete="username"
          required
        />
        <TextField
          name="displayName"
          label="Your name, as others will see it"
          value={form.values.displayName ?? ''}
          error={form.errors.displayName}
          autocomplete="name"
          required
        />
        <TextField
          name="password"
          label="Password (at least 10 characters)"
          type="password"
          value=""
          error={form.errors.password}
          autocomplete="new-password"
          required
        />
        <button type="submit">Create account</button>
      </form>
    </>,
    status,
  );
}
