import { randomBytes } from 'node:crypto';
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { column as c, connect, type Database, table } from '../src/index.js';
import { describePostgres } from './support/engines.js';
import { freshPGlite } from './support/pglite-snapshot.js';
import { addresses } from './support/tables.js';
import { verifyChain } from './support/verify-chain.js';

// Issue 16 item 6: the DDL guard. Event triggers are per database: every PostgreSQL test here
// runs in a fresh database of its own, never in the shared one.
const url = process.env.DATABASE_URL;

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function freshDatabase(user?: string): Promise<{ name: string; url: string }> {
  const name = `guard_${randomBytes(5).toString('hex')}`;
  await admin((a) => a.query(`CREATE DATABASE ${name}${user ? ` OWNER ${user}` : ''}`));
  const target = new URL(url!);
  target.pathname = `/${name}`;
  if (user) target.username = user;
  return { name, url: target.toString() };
}

const withCountry = table('addresses', {
  ...addresses.definition,
  country: c.text().notNull().default('NO'),
});

/** The refusals every engine must give, as the owner (a superuser here). */
function refusals(getDb: () => Database) {
  it.each([
    ['DROP TABLE addresses_head CASCADE'],
    ['DROP VIEW addresses'],
    ['DROP TABLE addresses_log CASCADE'],
    ['ALTER TABLE addresses_log DROP COLUMN city'],
    ['ALTER TABLE addresses_head DISABLE TRIGGER appendlog_chain'],
    ['ALTER TABLE addresses_log DISABLE TRIGGER USER'],
    ['ALTER TABLE addresses_head RENAME COLUMN city TO town'],
    ['DROP FUNCTION addresses_as_of(timestamptz)'],
    ['DROP TRIGGER appendlog_chain ON addresses_head'],
    ['CREATE OR REPLACE FUNCTION addresses_append() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$'],
    ['DROP TABLE appendlog_schema_history CASCADE'],
    ['DROP SCHEMA public CASCADE'],
  ])('refuses %s, and nothing of it remains', async (sql) => {
    const db = getDb();
    const before = await db.table(addresses).list();
    await expect(db.exec(sql)).rejects.toMatchObject({
      code: 'append_only',
      sqlState: 'AL001',
      message: expect.stringMatching(/refused: .* is part of appendlog's log/),
    });
    expect(await db.table(addresses).list()).toEqual(before);
    expect(await db.query(`SELECT tgenabled FROM pg_trigger WHERE tgname = 'appendlog_chain'`)).toEqual([
      { tgenabled: 'O' },
    ]);
  });

  it('lets insertMany switch the chain trigger for its own load, and leaves the hatch shut', async () => {
    const db = getDb();
    await db.transaction(async (tx) => {
      const loaded = await tx.table(addresses).insertMany([{ name: 'Bulk 1' }, { name: 'Bulk 2' }]);
      expect(loaded).toHaveLength(2);
      const [hatch] = await tx.query<{ v: string | null }>(
        `SELECT nullif(current_setting('appendlog.allow_ddl', true), '') AS v`,
      );
      expect(hatch).toEqual({ v: null });
    });
    await expect(db.exec('ALTER TABLE addresses_head DISABLE TRIGGER appendlog_chain')).rejects.toMatchObject(
      {
        code: 'append_only',
      },
    );
    expect(await db.query(`SELECT tgenabled FROM pg_trigger WHERE tgname = 'appendlog_chain'`)).toEqual([
      { tgenabled: 'O' },
    ]);
  });

  it('lets through what is not appendlog’s, indexes of one’s own, grants and comments', async () => {
    const db = getDb();
    await db.exec(`CREATE TABLE notes (n text); ALTER TABLE notes ADD COLUMN m text; DROP TABLE notes`);
    await db.exec(`CREATE INDEX addresses_city_idx ON addresses_head (city)`);
    await db.exec(`GRANT SELECT ON addresses TO PUBLIC; REVOKE SELECT ON addresses FROM PUBLIC`);
    await db.exec(`COMMENT ON VIEW addresses IS 'the address book'`);
  });

  it('opens for one transaction with SET LOCAL appendlog.allow_ddl = on', async () => {
    const db = getDb();
    await db.transaction(async (tx) => {
      await tx.exec(`SET LOCAL appendlog.allow_ddl = 'on'`);
      await tx.exec('ALTER TABLE addresses_head DISABLE TRIGGER appendlog_chain');
      await tx.exec('ALTER TABLE addresses_head ENABLE TRIGGER appendlog_chain');
    });
    await expect(db.exec('ALTER TABLE addresses_head DISABLE TRIGGER appendlog_chain')).rejects.toMatchObject(
      {
        code: 'append_only',
      },
    );
  });

  it('migrate still extends the table, and the log verifies', async () => {
    const db = getDb();
    const result = await db.migrate([withCountry]);
    expect(result.changes.map((ch) => ch.change)).toEqual(['add_columns']);
    const v = await db.table(withCountry).insert({ name: 'Sif' });
    expect(v.data.country).toBe('NO');
    expect(await verifyChain(db, 'addresses')).toMatchObject({ failures: [] });
    expect(await db.verify()).toMatchObject({ ok: true });
    // Installed and current: an idle migrate runs nothing.
    expect(await db.migrate([withCountry])).toEqual({ statements: [], changes: [], behind: [] });
    expect(await db.query(`SELECT current_setting('appendlog.allow_ddl', true) AS v`)).not.toEqual([
      { v: 'on' },
    ]);
  });
}

describePostgres('the DDL guard on PostgreSQL, in a database of its own', () => {
  let db: Database;
  let name: string;
  let freshUrl: string;

  beforeAll(async () => {
    const fresh = await freshDatabase();
    name = fresh.name;
    freshUrl = fresh.url;
    db = await connect({ url: fresh.url });
    const result = await db.migrate([addresses]);
    expect(result.statements.at(-1)).toContain('CREATE EVENT TRIGGER appendlog_ddl_guard_drop');
    expect(result.notices).toBeUndefined();
    await db.table(addresses).insert({ name: 'Ask', city: 'Oslo' });
  });
  afterAll(async () => {
    await db?.close();
    // DROP DATABASE fires no event trigger: teardown needs no escape hatch.
    await admin((a) => a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  });

  refusals(() => db);

  it('guards every appendlog schema of the database, own-schema layouts too', async () => {
    const book = await connect({ url: freshUrl, schema: 'book' });
    try {
      await book.migrate([addresses]);
      for (const sql of ['DROP SCHEMA book CASCADE', 'DROP TABLE book.addresses_log CASCADE']) {
        await expect(book.exec(sql), sql).rejects.toMatchObject({ code: 'append_only' });
      }
    } finally {
      await book.close();
    }
  });
});

describePostgres('the DDL guard for a role that may not create event triggers', () => {
  const role = `guardless_${randomBytes(4).toString('hex')}`;
  let name: string;
  let fresh: { name: string; url: string };
  let db: Database;

  beforeAll(async () => {
    await admin((a) => a.query(`CREATE ROLE ${role} LOGIN`));
    fresh = await freshDatabase(role);
    name = fresh.name;
    db = await connect({ url: fresh.url, schema: 'book' });
  });
  afterAll(async () => {
    await db?.close();
    await admin(async (a) => {
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.query(`DROP ROLE IF EXISTS ${role}`);
    });
  });

  it('migrates without it and says so', async () => {
    const result = await db.migrate([addresses]);
    expect(result.changes.map((ch) => ch.change)).toEqual(['create_table']);
    expect(result.notices).toEqual([expect.stringContaining('the DDL guard is not installed')]);
    expect(await db.query(`SELECT evtname FROM pg_event_trigger`)).toEqual([]);
  });

  it('is silent when the setting appendlog.ddl_guard is off', async () => {
    const quiet = new URL(fresh.url);
    quiet.searchParams.set('options', '-c appendlog.ddl_guard=off');
    const off = await connect({ url: quiet.toString(), schema: 'book' });
    try {
      expect(await off.migrate([addresses])).toEqual({ statements: [], changes: [], behind: [] });
    } finally {
      await off.close();
    }
  });
});

describe('the DDL guard on PGlite [pglite]', () => {
  let client: PGlite;
  let db: Database;

  beforeAll(async () => {
    // A fresh database, as connect() makes, from the run's snapshot rather than its own initdb.
    client = await freshPGlite();
    db = await connect({ client });
    await db.migrate([addresses]);
    await db.table(addresses).insert({ name: 'Ask', city: 'Oslo' });
  });
  afterAll(async () => {
    await db.close();
    await client.close();
  });

  refusals(() => db);
});
