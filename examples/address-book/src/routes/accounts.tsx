import { Hono } from 'hono';
import { type Account, accounts, isRole, ROLE_DESCRIPTIONS, ROLES } from '../accounts.js';
import { actorChanges } from '../actor-changes.js';
import { asAppError, type Deps, type Env, pageOf } from '../context.js';
import { isEntryId, readReason, readVersion } from '../input.js';
import { ActorName } from '../views/actor.js';
import { CsrfField } from '../views/layout.js';
import { Notice, Time } from '../views/parts.js';
import { ChangesTable } from './activity.js';
import { afterOf, type C, limitOf, notFound, Pager, paged, render } from './helpers.js';

// GET  /account              your own account's page
// GET  /accounts             every account and its role (admin)
// GET  /accounts/:id         an account: its name and role through time, and every change it made
// POST /accounts/:id/role    gives an account another role, with a reason (admin)

export function accountRoutes(deps: Deps): Hono<Env> {
  const app = new Hono<Env>();
  app.get('/account', (c) => c.redirect(`/accounts/${c.var.account!.id}`));
  app.get('/accounts', (c) => paged(c, () => accountList(c, deps)));
  app.get('/accounts/:id', (c) => paged(c, () => accountPage(c, deps)));
  app.post('/accounts/:id/role', (c) => changeRole(c, deps));
  return app;
}

/**
 * `GET /accounts`: who can do what, and the form to change it, a page at a time by name. A refused
 * role change answers the form of that account alone, with why, and a link to the list.
 */
async function accountList(
  c: C,
  deps: Deps,
  problem?: { account: Account; message: string },
  status: 200 | 409 | 422 = 200,
) {
  const page =
    problem === undefined
      ? await deps.accounts.page({ limit: limitOf(c), after: afterOf(c) })
      : { items: [problem.account], next: null };
  return render(
    c,
    'Accounts',
    <>
      <h1>Accounts</h1>
      {c.req.query('changed') !== undefined && (
        <Notice>The role was changed; the change is in that account's history.</Notice>
      )}
      <ul class="muted">
        {ROLES.map((r) => (
          <li>
            <strong>{r}</strong>: {ROLE_DESCRIPTIONS[r]}
          </li>
        ))}
      </ul>
      <table class="people accounts">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Login</th>
            <th scope="col">Role</th>
          </tr>
        </thead>
        <tbody>
          {page.items.map((a) => (
            <tr>
              <td>
                <a href={`/accounts/${a.id}`}>{a.displayName}</a>
              </td>
              <td>{a.login}</td>
              <td>
                <RoleForm
                  c={c}
                  account={a}
                  problem={problem?.account.id === a.id ? problem.message : undefined}
                />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {problem === undefined ? (
        <Pager c={c} next={page.next} shown={page.items.length} noun="accounts" />
      ) : (
        <p>
          <a href="/accounts">All accounts</a>
        </p>
      )}
    </>,
    status,
  );
}

function RoleForm(props: { c: C; account: Account; problem: string | undefined }) {
  const id = `role-${props.account.id}`;
  return (
    <form method="post" action={`/accounts/${props.account.id}/role`} class="inline-form">
      <CsrfField page={pageOf(props.c)} />
      <label for={id} class="visually-hidden">
        Role of {props.account.displayName}
      </label>
      <select id={id} name="role">
        {ROLES.map((r) => (
          <option value={r} selected={r === props.account.role}>
            {r}
          </option>
        ))}
      </select>{' '}
      <label for={`${id}-reason`} class="visually-hidden">
        Why
      </label>
      <input id={`${id}-reason`} name="reason" placeholder="why" autocomplete="off" />{' '}
      <button type="submit">Change role</button>
      {props.problem && (
        <p class="error" role="alert">
          {props.problem}
        </p>
      )}
    </form>
  );
}

/** `POST /accounts/:id/role`: a new role, recorded as a version of the account with who and why. */
async function changeRole(c: C, deps: Deps) {
  const id = c.req.param('id') ?? '';
  if (!isEntryId(id)) return notFound(c, 'There is no such account.');
  const body = await c.req.parseBody();
  const account = await deps.accounts.get(id);
  if (account === null) return notFound(c, 'There is no such account.');
  if (!isRole(body.role))
    return accountList(c, deps, { account, message: `Choose one of ${ROLES.join(', ')}` }, 422);
  const { reason, error } = readReason(body.reason, true);
  if (error !== undefined) return accountList(c, deps, { account, message: error }, 422);
  if (account.role === 'admin' && body.role !== 'admin') {
    if (!(await deps.accounts.severalAdmins()))
      return accountList(
        c,
        deps,
        { account, message: 'This is the only admin: make another account admin first' },
        409,
      );
  }
  const expected = readVersion(body.expectedVersion) ?? undefined;
  try {
    await deps.accounts.setRole(id, body.role, {
      actor: c.var.actor!,
      reason: reason!,
      expectedVersion: expected,
    });
  } catch (err) {
    const e = asAppError(err);
    if (e === null) throw err;
    // The account as it is now, after whatever changed it meanwhile.
    return accountList(
      c,
      deps,
      { account: (await deps.accounts.get(id)) ?? account, message: e.message },
      409,
    );
  }
  return c.redirect('/accounts?changed', 303);
}

/** `GET /accounts/:id`: the account through time, and every change it made (paged). */
async function accountPage(c: C, deps: Deps) {
  const id = c.req.param('id') ?? '';
  if (!isEntryId(id)) return notFound(c, 'There is no such account.');
  const history = await deps.db
    .table(accounts)
    .history(id)
    .catch((err) => {
      if (asAppError(err)?.code === 'not_found') return null;
      throw err;
    });
  if (history === null || history.length === 0) return notFound(c, 'There is no such account.');
  const latest = history.at(-1)!;
  const changes = await actorChanges(deps.db, id, { limit: limitOf(c), after: afterOf(c) });
  const name = latest.data.displayName;
  return render(
    c,
    name,
    <>
      <h1>{name}</h1>
      <p>
        Role: <strong>{latest.data.role}</strong> (
        {ROLE_DESCRIPTIONS[isRole(latest.data.role) ? latest.data.role : 'viewer']}).
      </p>
      <section class="panel">
        <h2>The account through time</h2>
        <ol class="account-history">
          {history.map((v, i) => {
            const before = history[i - 1]?.data;
            const what =
              before === undefined
                ? `created as ${v.data.displayName} (${v.data.role})`
                : [
                    before.role !== v.data.role && `role ${before.role} → ${v.data.role}`,
                    before.displayName !== v.data.displayName &&
                      `name ${before.displayName} → ${v.data.displayName}`,
                  ]
                    .filter(Boolean)
                    .join(', ') || 'saved unchanged';
            return (
              <li>
                <Time at={v.recordedAt} />: {what}, by <ActorName actor={v.actor} at={v.recordedAt} />
                {v.reason !== null && (
                  <>
                    {' '}
                    — <q class="reason">{v.reason}</q>
                  </>
                )}
              </li>
            );
          })}
        </ol>
      </section>
      <section class="panel">
        <h2>Changes by {name}</h2>
        {changes.items.length === 0 ? (
          <p class="empty">This account has not changed anyone yet.</p>
        ) : (
          <ChangesTable changes={changes.items} />
        )}
        <Pager c={c} next={changes.next} shown={changes.items.length} noun="changes" />
      </section>
    </>,
  );
}
