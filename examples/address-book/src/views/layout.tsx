import { raw } from 'hono/html';
import type { Child } from 'hono/jsx';
import type { IntegrityStatus } from '../integrity.js';
import { count } from '../words.js';

export interface PageContext {
  /** The name the visitor acts as (from the cookie), or null before they chose one. */
  actor: string | null;
  /** The per-session CSRF token every form carries. */
  csrf: string;
  /** The current path, to come back to after choosing a name. */
  path: string;
  /** The last verification of the log, shown as a badge on every page. */
  integrity?: (() => Promise<IntegrityStatus>) | undefined;
  /** A problem with the request to show above the content. */
  problem?: string | undefined;
}

const NAV = [
  { href: '/', label: 'People' },
  { href: '/bin', label: 'Recycle bin' },
  { href: '/as-of', label: 'Time travel' },
  { href: '/activity', label: 'Activity' },
  { href: '/erasures', label: 'Erasures' },
];

/** The page frame: header with navigation and the "acting as" name, then the content. */
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
              {NAV.map((n) => (
                <a
                  href={n.href}
                  class={isCurrent(props.page.path, n.href) ? 'current' : undefined}
                  aria-current={isCurrent(props.page.path, n.href) ? 'page' : undefined}
                >
                  {n.label}
                </a>
              ))}
            </nav>
            {props.page.integrity && <IntegrityBadge status={props.page.integrity()} />}
            <ActingAs page={props.page} />
          </header>
          <main id="content" tabindex={-1}>
            {/* Filled by /live.js when someone else changes what the page shows. */}
            <p id="live-status" class="live-status" role="status" aria-live="polite" />
            {props.page.problem && (
              <p class="banner problem" role="alert">
                {props.page.problem}
              </p>
            )}
            {props.children}
          </main>
          <footer>
            Every change appends a version to a hash-chained log; nothing is ever overwritten. Built with
            appendlog. “Acting as” is a name you choose, not an account: real accounts come later.
          </footer>
        </body>
      </html>
    </>
  );
}

function isCurrent(path: string, href: string): boolean {
  return href === '/' ? path === '/' : path.startsWith(href);
}

function ActingAs(props: { page: PageContext }) {
  const next = encodeURIComponent(props.page.path);
  return (
    <div class="acting-as">
      {props.page.actor === null ? (
        <a href={`/whoami?next=${next}`}>Choose a name to act as</a>
      ) : (
        <>
          Acting as <strong>{props.page.actor}</strong> · <a href={`/whoami?next=${next}`}>change</a>
        </>
      )}
    </div>
  );
}

/** Green when every hash and chain link verified, red with the count of problems otherwise. */
async function IntegrityBadge(props: { status: Promise<IntegrityStatus> }) {
  const { ok, checked, failures, at, scope } = await props.status;
  const time = `${at.toISOString().slice(11, 16)} UTC`;
  const what =
    scope === 'full'
      ? count(checked, 'version')
      : `${count(checked, 'version')} of the people written since the last check,`;
  const title = `${what} verified at ${at.toISOString().slice(11, 19)} UTC; verify the whole log on the integrity page`;
  return ok ? (
    <a class="badge ok" href="/integrity" title={title}>
      ✓ Log verified <span class="badge-time">{time}</span>
    </a>
  ) : (
    <a class="badge bad" href="/integrity" title={title}>
      ⚠ {count(failures.length, 'integrity problem')}
    </a>
  );
}

/** The hidden field that carries the CSRF token in every form. */
export function CsrfField(props: { page: PageContext }) {
  return <input type="hidden" name="_csrf" value={props.page.csrf} />;
}
