import pg from 'pg';

/**
 * The test files share DATABASE_URL's database, each in schemas of its own, and drop them when
 * done; an event trigger there would guard every file's objects at once. So migrate installs no
 * DDL guard in it (`appendlog.ddl_guard = 'off'` for the database); the guard's tests, and the
 * ORM examples, run in fresh databases of their own.
 */
export async function setup(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) return;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(
      `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET appendlog.ddl_guard = off', current_database()); END $$`,
    );
  } finally {
    await client.end();
  }
}
