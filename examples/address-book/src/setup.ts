import type { Database } from 'appendlog';
import { accounts, setUpAccountTables } from './accounts.js';
import { ActivityCounts } from './activity.js';
import { ident } from './ident.js';
import { createIndexes } from './indexes.js';
import { addresses } from './schema.js';

/** The app's appendlog tables. */
export const TABLES = [addresses, accounts];

/**
 * Makes a database ready for the app, as its owner: migrates the appendlog tables (additive, so
 * safe at every start), adds the indexes the app's orders need (`indexes.ts`) and sets up the
 * plain tables beside them (accounts' secrets, the activity chart's projection). With `appRole`,
 * grants that least-privilege role what the app needs, and nothing more (docs/security.md).
 */
export async function prepareDatabase(db: Database, options: { appRole?: string } = {}): Promise<void> {
  await db.migrate(TABLES, options.appRole === undefined ? {} : { appRole: options.appRole });
  await createIndexes(db);
  await setUpAccountTables(db, options);
  // The activity chart's projection table: made here, by the owner, and written by the app.
  const activity = new ActivityCounts(db);
  await activity.ready();
  if (options.appRole !== undefined) {
    await db.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${activity.table} TO ${ident(options.appRole)}`);
  }
}
