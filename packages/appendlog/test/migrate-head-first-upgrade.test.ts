import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { column as c, type Database, table } from '../src/index.js';
import { TABLE_CODE_REVISION } from '../src/sql/table-ddl.js';
import { describeEngines, type TestDb } from './support/engines.js';

// Head-first storage (code revision 4) from a database the previous release made: its tables had
// a head of bookkeeping columns and the chain trigger on the log.
const legacy3 = table('legacy3', {
  name: c.text().notNull(),
  city: c.text(),
  kind: c.text().notNull().default('person'),
});
const columns = [
  { sqlName: 'name', type: 'text', notNull: true },
  { sqlName: 'city', type: 'text', notNull: false },
  { sqlName: 'kind', type: 'text', notNull: true, default: 'person' },
];
const fixture = readFileSync(new URL('./fixtures/table-code-v3.sql', import.meta.url), 'utf8');

describeEngines('upgrade to head-first storage: a table made by code revision 3', (engine) => {
  let t: TestDb;
  let db: Database;
  const ids: Record<'live' | 'deleted' | 'forgotten', string> = { live: '', deleted: '', forgotten: '' };
  let oldHeads: Map<string, { version: number; hash: string }>;

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    await db.migrate([]); // the catalog: the same at revision 3
    await db.transaction(async (tx) => {
      await tx.exec(fixture.replaceAll('"fixture_schema"', `"${t.schema}"`));
      await tx.query(
        `INSERT INTO appendlog_schema_history (table_name, change, definition, library_version, statements)
         VALUES ('legacy3', 'create_table', $1::jsonb, '0.1.0', '-- revision 3')`,
        [JSON.stringify({ columns })],
      );
    });
    // Written the way revision 3 wrote: through the log, whose trigger chained and moved the head.
    const insert = async (name: string) => {
      const [row] = await db.query<{ entry_id: string }>(
        `INSERT INTO legacy3_log (entry_id, op, name, city) VALUES (NULL, 'insert', $1, 'Old town') RETURNING entry_id::text`,
        [name],
      );
      return row!.entry_id;
    };
    ids.live = await insert('Live');
    await db.query(
      `INSERT INTO legacy3_log (entry_id, op, name, city) VALUES ($1, 'update', 'Live', 'New town')`,
      [ids.live],
    );
    ids.deleted = await insert('Deleted');
    await db.transaction(async (tx) => {
      await tx.exec(`SET LOCAL appendlog.reason = 'duplicate'`);
      await tx.query(
        `INSERT INTO legacy3_log (entry_id, op, name, city) VALUES ($1, 'delete', 'Deleted', 'Old town')`,
        [ids.deleted],
      );
    });
    ids.forgotten = await insert('Forgotten');
    await db.query(
      `INSERT INTO legacy3_log (entry_id, op, reason, meta, name, city)
       VALUES ($1, 'forget', 'GDPR #1', '{"erasure":{"after":"0 seconds"}}', 'Forgotten', 'Old town')`,
      [ids.forgotten],
    );
    const heads = await db.query<{ entry_id: string; version: number; hash: string }>(
      `SELECT entry_id::text, version, encode(hash, 'hex') AS hash FROM legacy3_head`,
    );
    oldHeads = new Map(heads.map((h) => [h.entry_id, { version: h.version, hash: h.hash }]));
  });
  afterAll(() => t.close());

  it('migrate moves the storage and the code to head-first in one step', async () => {
    const result = await db.migrate([legacy3]);
    expect(result.changes).toEqual([
      {
        table: 'legacy3',
        change: 'upgrade_code',
        columns: [],
        summary: `regenerate the table's code (revision 3 to ${TABLE_CODE_REVISION})`,
      },
    ]);
    expect(await db.migrate([legacy3])).toEqual({ statements: [], changes: [], behind: [] });
  });

  it('the head now holds each entry’s latest version whole, and everything verifies', async () => {
    const heads = await db.query<Record<string, unknown>>(
      `SELECT h.entry_id::text, h.version, h.op, h.name, h.city, h.kind, h.actor, h.reason, h.tx_id::text,
              (h.hash = l.hash AND h.parent_hash IS NOT DISTINCT FROM l.parent_hash
               AND h.recorded_at = l.recorded_at AND h.meta IS NOT DISTINCT FROM l.meta) AS same
         FROM legacy3_head h JOIN legacy3_log l ON l.seq = h.seq ORDER BY h.created_at`,
    );
    expect(heads.map((h) => [h.name, h.city, h.op, h.same])).toEqual([
      ['Live', 'New town', 'update', true],
      ['Deleted', 'Old town', 'delete', true],
      ['Forgotten', 'Old town', 'forget', true],
    ]);
    expect(heads.every((h) => h.kind === 'person')).toBe(true);
    expect(await db.verify()).toMatchObject({ ok: true, checked: 6, failures: [] });
  });

  it('new versions chain onto the old ones, through the library and through the view', async () => {
    const book = db.table(legacy3);
    const v3 = await book.update(ids.live, { city: 'Upgraded' }, { expectedVersion: 2, actor: 'alice' });
    expect(v3).toMatchObject({ version: 3, parentHash: oldHeads.get(ids.live)!.hash, actor: 'alice' });
    expect(v3.data).toEqual({ name: 'Live', city: 'Upgraded', kind: 'person' });
    await db.query(`UPDATE legacy3 SET city = 'Through the view' WHERE entry_id = $1`, [ids.live]);
    expect((await book.get(ids.live))?.data.city).toBe('Through the view');
    const restored = await book.restore(ids.deleted, { reason: 'not a duplicate' });
    expect(restored).toMatchObject({
      version: 3,
      op: 'restore',
      parentHash: oldHeads.get(ids.deleted)!.hash,
    });
    const fresh = await book.insert({ name: 'New' });
    expect(fresh.data).toEqual({ name: 'New', city: null, kind: 'person' });
    expect(await db.verify()).toMatchObject({ ok: true, checked: 10, failures: [] });
  });

  it('the old write path, an INSERT into the log, is refused: only the head appends now', async () => {
    await expect(
      db.query(`INSERT INTO legacy3_log (entry_id, op, name) VALUES ($1, 'update', 'x')`, [ids.live]),
    ).rejects.toMatchObject({ code: 'append_only', sqlState: 'AL001' });
    expect((await db.table(legacy3).history(ids.live)).length).toBe(4);
  });

  it('a forgotten entry of the old storage is purged, head included', async () => {
    const report = await db.purge();
    expect(report.erased.map((e) => e.entryId)).toEqual([ids.forgotten]);
    const [head] = await db.query<{ name: string | null; redacted: boolean }>(
      `SELECT name, redacted_at IS NOT NULL AS redacted FROM legacy3_head WHERE entry_id = $1`,
      [ids.forgotten],
    );
    expect(head).toEqual({ name: null, redacted: true });
    expect(await db.verify()).toMatchObject({ ok: true, erased: 2 });
  });
});
