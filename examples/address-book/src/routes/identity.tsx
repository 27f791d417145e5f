import { Hono } from 'hono';
import { setCookie } from 'hono/cookie';
import { type Env, pageOf } from '../context.js';
import { type FieldErrors, readActor } from '../input.js';
import { CsrfField } from '../views/layout.js';
import { ErrorSummary, TextField } from '../views/parts.js';
import { type C, render } from './helpers.js';

/** "Acting as": a name kept in a cookie and recorded with every change. Not an account. */
export function identityRoutes(): Hono<Env> {
  const app = new Hono<Env>();

  app.get('/whoami', (c) =>
    render(
      c,
      'Who are you?',
      <WhoAmI c={c} next={safeNext(c.req.query('next'))} value={c.var.actor ?? ''} errors={{}} />,
    ),
  );

  app.post('/whoami', async (c) => {
    const body = await c.req.parseBody();
    const next = safeNext(body.next);
    const checked = readActor(body.actor);
    if ('error' in checked) {
      const form = (
        <WhoAmI c={c} next={next} value={String(body.actor ?? '')} errors={{ actor: checked.error }} />
      );
      return render(c, 'Who are you?', form, 422);
    }
    setCookie(c, 'actor', checked.actor, {
      path: '/',
      httpOnly: true,
      sameSite: 'Lax',
      maxAge: 60 * 60 * 24 * 365,
    });
    return c.redirect(next, 303);
  });

  return app;
}

/** Where to go after choosing a name: a local path only, never another site. */
function safeNext(value: unknown): string {
  return typeof value === 'string' &&
    value.startsWith('/') &&
    !value.startsWith('//') &&
    !value.startsWith('/\\')
    ? value
    : '/';
}

function WhoAmI(props: { c: C; next: string; value: string; errors: FieldErrors }) {
  return (
    <>
      <h1>Who are you?</h1>
      <p>
        Every change is recorded with the name of whoever made it. Give the name you want to act as; it is
        kept in a cookie. <strong>This is not a login:</strong> real accounts come later.
      </p>
      <form method="post" action="/whoami" class="person-form" novalidate>
        <ErrorSummary errors={props.errors} />
        <CsrfField page={pageOf(props.c)} />
        <input type="hidden" name="next" value={props.next} />
        <TextField name="actor" label="Your name" value={props.value} error={props.errors.actor} required />
        <button type="submit">Act as this name</button>
      </form>
    </>
  );
}
