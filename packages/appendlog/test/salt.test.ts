import { afterAll, beforeAll, expect, it } from 'vitest';
import { column as c, type Database, table } from '../src/index.js';
import { describeEngines, describePostgres, postgres, type TestDb } from './support/engines.js';

const notes = table('notes', { body: c.text().notNull() });

interface SaltRow {
  entry_id: string;
  version: number;
  salt: string;
  derived: string;
}

/** Each version's stored salt, and the salt derived from session key `key` as docs/spec.md §4.1 says. */
const saltsSql = `SELECT entry_id::text, version, pg_catalog.encode(salt, 'hex') AS salt,
    pg_catalog.encode(pg_catalog.substr(pg_catalog.sha256(pg_catalog.convert_to($1, 'UTF8')
      || pg_catalog.uuid_send(entry_id) || pg_catalog.int4send(version)), 1, 16), 'hex') AS derived
  FROM notes_log ORDER BY seq`;

/** The salt key of the session `tx` runs on (an error when it has none). */
async function sessionKey(tx: Database): Promise<string> {
  return (
    await tx.query<{ key: string }>(`SELECT pg_catalog.current_setting('appendlog.salt_key') AS key`)
  )[0]!.key;
}

describeEngines('version salts', (engine) => {
  let t: TestDb;
  let db: Database;

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    await db.migrate([notes]);
  });
  afterAll(() => t.close());

  it('are 16 bytes derived from the session key, different for every version, from every write path', async () => {
    await db.transaction(async (tx) => {
      const book = tx.table(notes);
      const a = await book.insert({ body: 'one' });
      await book.update(a.entryId, { body: 'two' });
      await book.insertMany([{ body: 'three' }, { body: 'four' }]);
      await tx.exec(`UPDATE notes SET body = body || '!'`);
      const key = await sessionKey(tx);
      expect(key).toMatch(/^[0-9a-f]{64}$/);
      const rows = await tx.query<SaltRow>(saltsSql, [key]);
      expect(rows).toHaveLength(7);
      for (const r of rows) {
        expect(r.salt).toMatch(/^[0-9a-f]{32}$/);
        expect(r.salt).toBe(r.derived);
      }
      expect(new Set(rows.map((r) => r.salt)).size).toBe(rows.length);
    });
    expect(await db.verify()).toMatchObject({ ok: true, failures: [] });
  });

  it('keeps a key the session set itself, and draws a new one when it is cleared', async () => {
    const saltOf = async (tx: Database, key: string, entryId: string) =>
      tx.query<SaltRow>(`${saltsSql.replace('ORDER BY seq', 'WHERE entry_id = $2 ORDER BY seq')}`, [
        key,
        entryId,
      ]);
    await db.transaction(async (tx) => {
      const own = 'ab'.repeat(32);
      await tx.exec(`SELECT pg_catalog.set_config('appendlog.salt_key', '${own}', true)`);
      const kept = await tx.table(notes).insert({ body: 'own key' });
      expect(await sessionKey(tx)).toBe(own);
      expect((await saltOf(tx, own, kept.entryId)).map((r) => r.salt === r.derived)).toEqual([true]);

      await tx.exec(`SELECT pg_catalog.set_config('appendlog.salt_key', '', true)`);
      const v = await tx.table(notes).insert({ body: 'fresh key' });
      const key = await sessionKey(tx);
      expect(key).toMatch(/^[0-9a-f]{64}$/);
      expect(key).not.toBe(own);
      expect((await saltOf(tx, key, v.entryId)).map((r) => r.salt === r.derived)).toEqual([true]);
    });
  });
});

describePostgres('version salts across sessions', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await postgres.open();
    await t.db.migrate([notes]);
  });
  afterAll(() => t.close());

  it('each session draws its own key, and none is stored in the database', async () => {
    const keys: string[] = [];
    for (const db of [t.db, await t.reopen()]) {
      await db.transaction(async (tx) => {
        await tx.table(notes).insert({ body: 'a write draws the key' });
        keys.push(await sessionKey(tx));
      });
    }
    expect(keys[1]).not.toBe(keys[0]);
    expect(keys[0]).toMatch(/^[0-9a-f]{64}$/);
    // No version row holds a key.
    for (const key of keys) {
      const [{ n }] = (await t.db.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM notes_log l WHERE pg_catalog.strpos(pg_catalog.row_to_json(l)::text, $1) > 0`,
        [key],
      )) as [{ n: string }];
      expect(n).toBe('0');
    }
  });
});
