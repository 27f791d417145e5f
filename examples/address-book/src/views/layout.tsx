import { raw } from 'hono/html';
import type { Child } from 'hono/jsx';
import { type Account, atLeast, type NameBook, type Role } from '../accounts.js';
import type { IntegrityStatus } from '../integrity.js';
import { count } from '../words.js';
import { NamesContext } from './actor.js';

export interface PageContext {
  /** The signed-in account, or null. */
  account: Account | null;
  /** Who is who: display names for the actors a page shows. */
  names: NameBook;
  /** The per-session CSRF token every form carries. */
  csrf: string;
  /** The current path, to come back to after signing in. */
  path: string;
  /** The last verification of the log, shown as a badge on every page. */
  integrity?: (() => Promise<IntegrityStatus>) | undefined;
  /** A problem with the request to show above the content. */
  problem?: string | undefined;
}

const NAV: Array<{ href: string; label: string; role: Role }> = [
  { href: '/', label: 'People', role: 'viewer' },
  { href: '/bin', label: 'Recycle bin', role: 'viewer' },
  { href: '/as-of', label: 'Time travel', role: 'viewer' },
  { href: '/activity', label: 'Activity', role: 'viewer' },
  { href: '/erasures', label: 'Erasures', role: 'admin' },
  { href: '/accounts', label: 'Accounts', role: 'admin' },
];

/** The page frame: header with navigation and who is signed in, then the content. */
export function Layout(props: { page: PageContext; title: string; children: Child }) {
  return (
    <>
      {raw('<!DOCTYPE html>')}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>{`${props.title} · Address Book`}</title>
          <link rel="stylesheet" href="/style.css" />
          <script src="/live.js" defer />
        </head>
        <body>
          <a class="skip-link" href="#content">
            Skip to content
          </a>
          <header class="top">
            <a class="brand" href="/">
              Address Book
            </a>
            <nav aria-label="Main">
              {NAV.filter((n) => props.page.account !== null && atLeast(props.page.account.role, n.role)).map(
                (n) => (
                  <a
                    href={n.href}
                    class={isCurrent(props.page.path, n.href) ? 'current' : undefined}
                    aria-current={isCurrent(props.page.path, n.href) ? 'page' : undefined}
                  >
                    {n.label}
                  </a>
                ),
              )}
            </nav>
            {props.page.integrity && props.page.account !== null && (
              <IntegrityBadge status={props.page.integrity()} link={props.page.account.role === 'admin'} />
            )}
            <SignedIn page={props.page} />
          </header>
          <main id="content" tabindex={-1}>
            {/* Filled by /live.js when someone else changes what the page shows. */}
            <p id="live-status" class="live-status" role="status" aria-live="polite" />
            {props.page.problem && (
              <p class="banner problem" role="alert">
                {props.page.problem}
              </p>
            )}
            <NamesContext.Provider value={props.page.names}>{props.children}</NamesContext.Provider>
          </main>
          <footer>
            Every change appends a version to a hash-chained log; nothing is ever overwritten. Built with
            appendlog. Each change records the account that made it.
          </footer>
        </body>
      </html>
    </>
  );
}

function isCurrent(path: string, href: string): boolean {
  return href === '/' ? path === '/' : path.startsWith(href);
}

function SignedIn(props: { page: PageContext }) {
  const { account } = props.page;
  if (account === null) {
    const next = encodeURIComponent(props.page.path);
    return (
      <div class="acting-as">
        <a href={`/signin?next=${next}`}>Sign in</a> · <a href="/signup">Sign up</a>
      </div>
    );
  }
  return (
    <form class="acting-as" method="post" action="/signout">
      <CsrfField page={props.page} />
      Signed in as <a href="/account">{account.displayName}</a> <span class="role">({account.role})</span> ·{' '}
      <button type="submit" class="link">
        Sign out
      </button>
    </form>
  );
}

/** Green when every hash and chain link verified, red with the count of problems otherwise. */
async function IntegrityBadge(props: { status: Promise<IntegrityStatus>; link: boolean }) {
  const { ok, checked, failures, at, scope } = await props.status;
  const time = `${at.toISOString().slice(11, 16)} UTC`;
  const what =
    scope === 'full'
      ? count(checked, 'version')
      : `${count(checked, 'version')} of the entries written since the last check,`;
  const title = `${what} verified at ${at.toISOString().slice(11, 19)} UTC; verify the whole log on the integrity page`;
  // Admins can verify the whole log on the integrity page; everyone else sees the last result.
  const href = props.link ? '/integrity' : undefined;
  return ok ? (
    <a class="badge ok" href={href} title={title}>
      ✓ Log verified <span class="badge-time">{time}</span>
    </a>
  ) : (
    <a class="badge bad" href={href} title={title}>
      ⚠ {count(failures.length, 'integrity problem')}
    </a>
  );
}

/** The hidden field that carries the CSRF token in every form. */
export function CsrfField(props: { page: PageContext }) {
  return <input type="hidden" name="_csrf" value={props.page.csrf} />;
}
