import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { connect } from 'appendlog';
import { ActivityCounts } from './activity.js';
import { createApp } from './app.js';
import { ident } from './ident.js';
import { LiveFeed } from './live/feed.js';
import { seedIfEmpty } from './seed.js';
import { prepareDatabase } from './setup.js';
import { count } from './words.js';

// The port first: when it is taken, say so in one line before opening or seeding anything.
const port = Number(process.env.PORT ?? 3000);
const busy = await portInUse(port);
if (busy) {
  console.error(
    `Port ${port} is in use: stop what runs there, or start on another port, e.g. PORT=${port + 1} npm start`,
  );
  process.exit(1);
}

// PostgreSQL when DATABASE_URL is set, with a pool of POOL_SIZE connections (10) so requests run side
// by side; otherwise embedded PGlite, kept on disk in DATA_DIR (one connection: its queries take turns).
const url = process.env.DATABASE_URL;
const dataDir = process.env.DATA_DIR ?? fileURLToPath(new URL('../.data', import.meta.url));
const poolSize = Number(process.env.POOL_SIZE ?? 10);
if (!Number.isInteger(poolSize) || poolSize < 1) {
  console.error(
    `POOL_SIZE must be a whole number of connections, at least 1 (got "${process.env.POOL_SIZE}")`,
  );
  process.exit(1);
}
// The owner migrates; the app itself runs as a least-privilege role on PostgreSQL (APP_ROLE, made
// here if missing): its writes go through the paths that chain, and it cannot alter or drop the
// log. APP_DATABASE_URL, when set, is how the app connects instead (a LOGIN role of its own: the
// right set-up in production, since a role taken on by SET ROLE can be reset by whoever runs SQL).
const appRole = process.env.APP_ROLE ?? 'address_book_app';
const owner = url ? await connect({ url, pool: { max: 1 } }) : await connect({ dataDir });
if (url) {
  await owner.query(
    `DO $$ BEGIN CREATE ROLE ${ident(appRole)} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
  );
  await owner.query(`GRANT ${ident(appRole)} TO CURRENT_USER`).catch(() => undefined);
}
await prepareDatabase(owner, url ? { appRole } : {});
const demo = await seedIfEmpty(owner);
if (demo !== null) {
  console.log('Seeded a few people with some history, and three demo accounts (passwords shown only now):');
  for (const a of demo) console.log(`  ${a.login.padEnd(6)} ${a.password}  (${a.role})`);
}
// Taken on with SET ROLE, the app role's own defaults (the strict context that migrate sets for
// it, docs/sql-and-orms.md) do not apply, so the connection asks for strict mode itself.
const db = url
  ? await connect({
      url: process.env.APP_DATABASE_URL ?? url,
      pool: {
        max: poolSize,
        ...(!process.env.APP_DATABASE_URL && {
          options: `-c role=${appRole} -c appendlog.strict_context=on`,
        }),
      },
      // Its own writes wake the live pages and the activity projection at once (see connect's notify).
      notify: true,
    })
  : owner;

// Erase forgotten people whose request is due: at start, then every hour (usually a cron job). The
// purge runs as the tables' owner: the app's role cannot redact the log.
const purge = async () => {
  const { erased } = await owner.purge();
  if (erased.length > 0)
    console.log(`Purge: erased ${count(erased.length, 'forgotten person', 'forgotten people')}.`);
};
await purge();
setInterval(() => purge().catch((err) => console.error('purge failed:', err)), 3_600_000).unref();

// The header badge shows the last check: a full verify at start, then, at most every
// VERIFY_EVERY_MINUTES (1) while pages are served, one in the background of only what was written
// since. /integrity runs a full verify on demand.
const verifyEveryMinutes = Number(process.env.VERIFY_EVERY_MINUTES ?? 1);
// Live updates: one subscription to the log, fanned out to every open page (/events).
const live = new LiveFeed(db);
// The activity chart's counts: a projection of the log, followed in the background.
const activity = new ActivityCounts(db);
const activityRun = await activity.start();
const app = createApp(db, {
  owner,
  verifyEveryMs: (verifyEveryMinutes > 0 ? verifyEveryMinutes : 1) * 60_000,
  live,
  activity,
});
const server = serve({ fetch: app.fetch, port }, (info) => {
  console.log(url ? 'Database: PostgreSQL (DATABASE_URL)' : `Database: embedded PGlite in ${dataDir}`);
  console.log(`Address Book at http://localhost:${info.port}`);
});

const stop = () => {
  // Open event streams would keep the server from closing: end the feed, then the connections.
  void Promise.all([live.close(), activityRun.stop()]).then(() => {
    server.close(() =>
      Promise.all([db.close(), url ? owner.close() : undefined]).then(() => process.exit(0)),
    );
    (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
  });
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

/** True when something already listens on `port` (on any address, as the server will bind). */
function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
      .once('error', (err: NodeJS.ErrnoException) =>
        err.code === 'EADDRINUSE' ? resolve(true) : reject(err),
      )
      .once('listening', () => probe.close(() => resolve(false)))
      .listen(port);
  });
}
