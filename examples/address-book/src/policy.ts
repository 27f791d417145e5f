import type { Role } from './accounts.js';

/** Who may use a route: anyone (`public`), or a signed-in account of at least this role. */
export type Access = 'public' | Role;

/**
 * Every route of the app and who may use it, in one place. A request that matches no line is
 * refused to everyone but admins (a route added without a line here fails closed, and the test that
 * calls every route as every role fails until the line is written).
 */
export const ACCESS: ReadonlyArray<readonly [method: string, path: string, access: Access]> = [
  // Signing in and out, and the stylesheet the sign-in page needs.
  ['GET', '/style.css', 'public'],
  ['GET', '/live.js', 'public'],
  ['GET', '/signin', 'public'],
  ['POST', '/signin', 'public'],
  ['GET', '/signup', 'public'],
  ['POST', '/signup', 'public'],
  ['POST', '/signout', 'public'],
  // Reading: people, their history, time travel, the recycle bin, activity, live updates.
  ['GET', '/', 'viewer'],
  ['GET', '/people/:id', 'viewer'],
  ['GET', '/people/:id/history', 'viewer'],
  ['GET', '/people/:id/versions/:version', 'viewer'],
  ['GET', '/as-of', 'viewer'],
  ['GET', '/bin', 'viewer'],
  ['GET', '/activity', 'viewer'],
  ['GET', '/activity/actor', 'viewer'],
  ['GET', '/events', 'viewer'],
  ['GET', '/accounts/:id', 'viewer'],
  ['GET', '/account', 'viewer'],
  ['GET', '/api/people', 'viewer'],
  ['GET', '/api/people/:id', 'viewer'],
  ['GET', '/api/people/:id/history', 'viewer'],
  ['GET', '/api/people/:id/versions/:version', 'viewer'],
  ['GET', '/api/people/:id/diff', 'viewer'],
  ['GET', '/api/bin', 'viewer'],
  ['GET', '/api/as-of', 'viewer'],
  // Changing people.
  ['GET', '/new', 'editor'],
  ['POST', '/people', 'editor'],
  ['GET', '/people/:id/edit', 'editor'],
  ['POST', '/people/:id', 'editor'],
  ['GET', '/people/:id/delete', 'editor'],
  ['POST', '/people/:id/delete', 'editor'],
  ['POST', '/people/:id/restore', 'editor'],
  ['POST', '/people/:id/revert', 'editor'],
  ['POST', '/api/people', 'editor'],
  ['PATCH', '/api/people/:id', 'editor'],
  ['DELETE', '/api/people/:id', 'editor'],
  ['POST', '/api/people/:id/restore', 'editor'],
  ['POST', '/api/people/:id/revert', 'editor'],
  // Erasure, integrity and accounts.
  ['GET', '/people/:id/forget', 'admin'],
  ['POST', '/people/:id/forget', 'admin'],
  ['POST', '/people/:id/cancel-forget', 'admin'],
  ['GET', '/erasures', 'admin'],
  ['POST', '/erasures/purge', 'admin'],
  ['GET', '/integrity', 'admin'],
  ['GET', '/accounts', 'admin'],
  ['POST', '/accounts/:id/role', 'admin'],
  ['POST', '/api/people/:id/forget', 'admin'],
  ['POST', '/api/people/:id/cancel-forget', 'admin'],
  ['GET', '/api/people/:id/erasure', 'admin'],
  ['GET', '/api/people/:id/verify', 'admin'],
  ['GET', '/api/verify', 'admin'],
];

const compiled = ACCESS.map(([method, path, access]) => ({
  method,
  pattern: new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[a-z]+/g, '[^/]+')}/?$`),
  access,
}));

/** Who may use `method path` (HEAD as GET); `admin` for what no line names. */
export function accessOf(method: string, path: string): Access {
  const m = method === 'HEAD' ? 'GET' : method;
  return compiled.find((r) => r.method === m && r.pattern.test(path))?.access ?? 'admin';
}
