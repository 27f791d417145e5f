import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Database } from '../src/index.js';
import { describePostgres, pglite, postgres, rawPool, type TestDb } from './support/engines.js';
import { rejection } from './support/rejection.js';
import { addresses } from './support/tables.js';

// Issue 16 item 1: the triggers refuse, by default for the application, a reason or actor that
// leaked from an earlier transaction. migrate({ appRole }) turns appendlog.strict_context on for
// the role in this database; these tests log in as that role, through a pool of one connection,
// so that every request reuses the previous one's session as a pooled application's would.
const url = process.env.DATABASE_URL;
const suffix = () => randomBytes(4).toString('hex');

/** What pg_db_role_setting holds for `role` in the current database and in all of them. */
async function roleSettings(db: Database, role: string): Promise<string[]> {
  const rows = await db.query<{ item: string }>(
    `SELECT c.item FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole, unnest(s.setconfig) AS c(item)
      WHERE r.rolname = $1 AND s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
      ORDER BY 1`,
    [role],
  );
  return rows.map((r) => r.item);
}

/** A pool of one connection that logs in as `role` (trust auth), on `schema`. */
function loginPool(role: string, schema: string): pg.Pool {
  const target = new URL(url!);
  target.username = role;
  return new pg.Pool({ connectionString: target.toString(), max: 1, options: `-c search_path=${schema}` });
}

/** The session's appendlog.strict_context, as the pool's connection has it. */
const strictSetting = async (pool: pg.Pool) =>
  (await pool.query<{ v: string | null }>(`SELECT current_setting('appendlog.strict_context', true) AS v`))
    .rows[0]!.v;

describePostgres('migrate({ appRole }) turns strict mode on for the application role', () => {
  let t: TestDb;
  const roles: string[] = [];
  const pools: pg.Pool[] = [];
  const newRole = async (options = 'LOGIN') => {
    const role = `strict_${suffix()}`;
    roles.push(role);
    await t.db.query(`CREATE ROLE ${role} ${options}`);
    return role;
  };
  const poolFor = (role: string) => {
    const pool = loginPool(role, t.schema);
    pools.push(pool);
    return pool;
  };
  const insert = async (pool: pg.Pool, name: string) =>
    (
      await pool.query<{ entry_id: string }>('INSERT INTO addresses (name) VALUES ($1) RETURNING entry_id', [
        name,
      ])
    ).rows[0]!.entry_id;

  beforeAll(async () => {
    t = await postgres.open();
  });
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.end()));
    await t.close();
    const admin = rawPool(1);
    for (const role of roles) await admin.query(`DROP OWNED BY ${role}; DROP ROLE ${role}`).catch(() => {});
    await admin.end();
  });

  it('by default: a session-level SET of the reason is refused at a later delete, appendlog_context works', async () => {
    const role = await newRole();
    const result = await t.db.migrate([addresses], { appRole: role });
    const database = (await t.db.query<{ name: string }>('SELECT current_database() AS name'))[0]!.name;
    expect(result.statements.at(-1)).toMatch(
      new RegExp(`^ALTER ROLE "?${role}"? IN DATABASE "?${database}"? SET appendlog.strict_context = on;`),
    );
    expect(result.notices).toBeUndefined();
    expect(await roleSettings(t.db, role)).toEqual(['appendlog.strict_context=on']);

    const pool = poolFor(role);
    const id = await insert(pool, 'Frigg');
    expect(await strictSetting(pool)).toBe('on');
    expect((await pool.query('SELECT current_user AS u')).rows).toEqual([{ u: role }]);
    // One request sets its reason for the whole session by mistake, and writes nothing with it.
    await pool.query(`SET appendlog.reason = 'x'`);
    // A later request on the same (only) connection deletes without a reason of its own: refused.
    const err = await rejection(pool.query('DELETE FROM addresses WHERE entry_id = $1', [id]));
    expect(err).toMatchObject({ code: 'AL004' });
    expect(err.message).toMatch(/strict_context is on/);
    const book = t.db.table(addresses);
    expect(await book.get(id)).not.toBeNull();
    expect((await book.history(id)).length).toBe(1);
    // Inside the transaction, appendlog_context is how: the leaked reason does not come along.
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT appendlog_context(reason => $1, actor => $2)', ['moved away', 'clerk']);
      await client.query('DELETE FROM addresses WHERE entry_id = $1', [id]);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    expect((await book.history(id)).at(-1)).toMatchObject({
      op: 'delete',
      reason: 'moved away',
      actor: 'clerk',
    });

    // The library on the same pool: its context reaches raw SQL (it marks the transaction as
    // appendlog_context does), and the session's leaked reason never does.
    const app = await connect({ client: pool, schema: t.schema });
    const other = await insert(pool, 'Freyr');
    await app.withContext({ reason: 'tidy', actor: 'library' }, (scoped) =>
      scoped.query('DELETE FROM addresses WHERE entry_id = $1', [other]),
    );
    expect((await book.history(other)).at(-1)).toMatchObject({
      op: 'delete',
      reason: 'tidy',
      actor: 'library',
    });
    const third = await insert(pool, 'Njord');
    await expect(
      app.transaction(async (tx) => {
        await tx.withContext({ actor: 'library' }, (scoped) =>
          scoped.query(`UPDATE addresses SET city = 'Oslo' WHERE entry_id = $1`, [third]),
        );
        // After the block, the transaction's labels are cleared, not the session's 'x' put back.
        await tx.query('DELETE FROM addresses WHERE entry_id = $1', [third]);
      }),
    ).rejects.toMatchObject({ code: 'reason_required' });
    expect((await book.history(third)).length).toBe(1);
    await pool.query('RESET appendlog.reason');

    // Migrating again sets nothing and says nothing: the setting is there.
    const again = await t.db.migrate([addresses], { appRole: role });
    expect(again.statements.join('\n')).not.toContain('ALTER ROLE');
    expect(again.notices).toBeUndefined();
  });

  it('strictContext: false leaves it off, and a leaked reason is recorded as before', async () => {
    const role = await newRole();
    const result = await t.db.migrate([addresses], { appRole: role, strictContext: false });
    expect(result.statements.join('\n')).not.toContain('ALTER ROLE');
    expect(await roleSettings(t.db, role)).toEqual([]);
    const pool = poolFor(role);
    const id = await insert(pool, 'Loki');
    await pool.query(`SET appendlog.reason = 'an earlier request'`);
    await pool.query('DELETE FROM addresses WHERE entry_id = $1', [id]);
    expect((await t.db.table(addresses).history(id)).at(-1)).toMatchObject({
      op: 'delete',
      reason: 'an earlier request',
    });
  });

  it('keeps a value the operator set for the role, or for the database', async () => {
    const off = await newRole();
    await t.db.query(`ALTER ROLE ${off} SET appendlog.strict_context = off`);
    const result = await t.db.migrate([addresses], { appRole: off });
    expect(result.statements.join('\n')).not.toContain('ALTER ROLE');
    expect(result.notices).toBeUndefined();
    expect(await roleSettings(t.db, off)).toEqual(['appendlog.strict_context=off']);
    const pool = poolFor(off);
    expect(await strictSetting(pool)).toBe('off');

    const inDb = await newRole();
    await t.db.query(
      `DO $$ BEGIN EXECUTE format('ALTER ROLE ${inDb} IN DATABASE %I SET appendlog.strict_context = off', current_database()); END $$`,
    );
    expect((await t.db.migrate([addresses], { appRole: inDb })).statements.join('\n')).not.toContain(
      'ALTER ROLE',
    );
    expect(await roleSettings(t.db, inDb)).toEqual(['appendlog.strict_context=off']);
  });

  it('for a role that cannot log in, sets it and says where it does not reach', async () => {
    const role = await newRole('NOLOGIN');
    const result = await t.db.migrate([addresses], { appRole: role });
    expect(await roleSettings(t.db, role)).toEqual(['appendlog.strict_context=on']);
    expect(result.notices).toEqual([
      expect.stringContaining(`strict mode is on for ${role}, which cannot log in`),
    ]);
  });

  it('a migrating role that may not set it goes on without it and says so; with GRANT SET ON PARAMETER and CREATEROLE it sets it', async () => {
    const owner = await newRole('LOGIN CREATEROLE');
    const app = await newRole();
    const schema = `t_${suffix()}`;
    await t.db.query(`CREATE SCHEMA ${schema} AUTHORIZATION ${owner}`);
    // An owner as operators set one up: it may create schemas in the database (migrate's catalog does).
    await t.db.query(
      `DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO ${owner}', current_database()); END $$`,
    );
    const target = new URL(url!);
    target.username = owner;
    const db = await connect({ url: target.toString(), schema });
    try {
      const result = await db.migrate([addresses], { appRole: app });
      expect(result.changes.map((c) => c.change)).toEqual(['create_table']);
      expect(result.statements.join('\n')).not.toContain('ALTER ROLE');
      expect(result.notices).toEqual([
        expect.stringMatching(/^strict mode is not on for the application role .*GRANT SET ON PARAMETER/),
      ]);
      expect(await roleSettings(t.db, app)).toEqual([]);
      // PostgreSQL itself refuses it (CREATEROLE alone does not let a role set a custom parameter).
      expect(await rejection(db.query(`ALTER ROLE ${app} SET appendlog.strict_context = on`))).toMatchObject({
        code: '42501',
      });

      await t.db.query(`GRANT SET ON PARAMETER appendlog.strict_context TO ${owner}`);
      try {
        const granted = await db.migrate([addresses], { appRole: app });
        expect(granted.notices).toBeUndefined();
        expect(await roleSettings(t.db, app)).toEqual(['appendlog.strict_context=on']);
      } finally {
        await t.db.query(`REVOKE SET ON PARAMETER appendlog.strict_context FROM ${owner}`);
      }
    } finally {
      await db.close();
      await t.db.transaction(async (tx) => {
        await tx.query(`SET LOCAL appendlog.allow_ddl = 'on'`);
        await tx.query(`DROP SCHEMA ${schema} CASCADE`);
      });
    }
  });

  it('refuses a strictContext that is not a boolean', async () => {
    await expect(
      t.db.migrate([addresses], { appRole: 'x', strictContext: 'no' as unknown as boolean }),
    ).rejects.toMatchObject({ code: 'invalid_input', field: 'strictContext' });
  });
});

describe('migrate({ appRole }) on PGlite [pglite]', () => {
  it('sets nothing: its one session logs in as its own user, so a role default would never apply', async () => {
    const t = await pglite.open();
    try {
      await t.db.query('CREATE ROLE app NOLOGIN');
      const result = await t.db.migrate([addresses], { appRole: 'app' });
      expect(result.statements.join('\n')).not.toContain('ALTER ROLE');
      expect(result.notices).toBeUndefined();
      expect(
        await t.db.query(`SELECT setconfig FROM pg_db_role_setting WHERE setrole = 'app'::regrole`),
      ).toEqual([]);
    } finally {
      await t.close();
    }
  });
});
