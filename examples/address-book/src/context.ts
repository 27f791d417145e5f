import { type AppendLogError, type Database, isAppendLogError, type Table } from 'appendlog';
import type { Context } from 'hono';
import type { Account, AccountStore, NameBook } from './accounts.js';
import type { ActivityCounts } from './activity.js';
import type { IntegrityMonitor, IntegrityStatus } from './integrity.js';
import type { LiveFeed } from './live/feed.js';
import type { addresses } from './schema.js';
import type { PageContext } from './views/layout.js';

/** What the middleware puts on every request. */
export interface Env {
  Variables: {
    /** The signed-in account, or null. */
    account: Account | null;
    /** What the log records as the author of this request's changes: the account's id, or null. */
    actor: string | null;
    /** Who is who, to show display names (pages only; an empty book elsewhere). */
    names: NameBook;
    /** The session cookie's token, to end it on sign-out. */
    session: string | undefined;
    /** The per-session CSRF token. */
    csrf: string;
    /** The last verification, for the header badge: asked for only when a page is rendered. */
    integrity: (() => Promise<IntegrityStatus>) | undefined;
    /** A problem with the request itself to show above the page (a post too large to read). */
    problem: string | undefined;
  };
}

/** The handles the routes work with. */
export interface Deps {
  db: Database;
  book: Table<typeof addresses.definition>;
  integrity: IntegrityMonitor;
  accounts: AccountStore;
  /** The tables' owner, for the one job the app's own role may not do: the purge (erasure). */
  owner: Database;
  /** The activity chart's projection. */
  activity: ActivityCounts;
  /** The change feed behind /events. */
  live: LiveFeed;
}

/** The layout's view of the request. */
export function pageOf(c: Context<Env>): PageContext {
  const url = new URL(c.req.url);
  return {
    account: c.var.account,
    names: c.var.names,
    csrf: c.var.csrf,
    path: url.pathname + url.search,
    integrity: c.var.integrity,
    problem: c.var.problem,
  };
}

/**
 * The HTTP status of an appendlog error: 404, 409, 422, 503 when the database timed out or is
 * out of reach, or 400 for the other refusals.
 */
export function statusOf(err: AppendLogError): 400 | 404 | 409 | 422 | 503 {
  switch (err.code) {
    case 'not_found':
      return 404;
    case 'version_conflict':
    case 'conflict':
    case 'duplicate':
      return 409;
    case 'invalid_input':
    case 'reason_required':
      return 422;
    case 'timeout':
    case 'connection':
      return 503;
    default:
      return 400;
  }
}

/** The typed error, when `err` is one the routes answer (anything else is a 500). */
export function asAppError(err: unknown): AppendLogError | null {
  return isAppendLogError(err) ? err : null;
}
