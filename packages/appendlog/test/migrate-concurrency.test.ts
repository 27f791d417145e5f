import { afterAll, beforeAll, expect, it } from 'vitest';
import { column as c, type Database, type MigrateResult, table } from '../src/index.js';
import { describeEngines, rawPool, type TestDb } from './support/engines.js';

const notesV1 = table('notes', { body: c.text().notNull() });
const notesV2 = table('notes', { body: c.text().notNull(), pinned: c.boolean().default(false) });
const notesV3 = table('notes', { ...notesV2.definition, color: c.text() });

describeEngines('concurrent migrate from several app instances', (engine) => {
  let t: TestDb;
  let a: Database;
  let b: Database;

  beforeAll(async () => {
    t = await engine.open();
    a = t.db;
    b = await t.reopen();
  });
  afterAll(() => t.close());

  /**
   * Runs both migrations at once. On PostgreSQL a third session holds the migration lock until
   * both instances are waiting on it, so they really do race for it (no sleeps, no timing).
   */
  async function race(def: typeof notesV1 | typeof notesV2): Promise<MigrateResult[]> {
    if (engine.name === 'pglite') return Promise.all([a.migrate([def]), b.migrate([def])]);
    const pool = rawPool(1);
    const holder = await pool.connect();
    try {
      await holder.query(`SELECT pg_advisory_lock(hashtext('appendlog.migrate'), hashtext($1))`, [t.schema]);
      const both = Promise.all([a.migrate([def]), b.migrate([def])]);
      for (let polls = 0; ; polls++) {
        if (polls === 1000) throw new Error('the two instances never both waited on the migration lock');
        const { rows } = await holder.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
              AND classid = hashtext('appendlog.migrate')::oid AND objid = hashtext($1)::oid`,
          [t.schema],
        );
        if (rows[0]!.n === 2) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await holder.query(`SELECT pg_advisory_unlock(hashtext('appendlog.migrate'), hashtext($1))`, [
        t.schema,
      ]);
      return await both;
    } finally {
      holder.release();
      await pool.end();
    }
  }

  it('two instances creating the same table (and the catalog) at once: one creates, the other sees no work', async () => {
    const results = await race(notesV1);
    const worked = results.filter((r) => r.changes.length > 0);
    expect(worked).toHaveLength(1);
    expect(worked[0]!.changes).toEqual([expect.objectContaining({ table: 'notes', change: 'create_table' })]);
    expect(results.find((r) => r.changes.length === 0)).toEqual({ statements: [], changes: [], behind: [] });
    expect((await a.schemaHistory()).map((r) => r.change)).toEqual(['create_table']);
  });

  it('two instances adding the same column at once: one schema, one history record', async () => {
    const v = await a.table(notesV1).insert({ body: 'before' });
    const results = await race(notesV2);
    expect(results.filter((r) => r.changes.length > 0)).toHaveLength(1);
    expect(results.filter((r) => r.statements.length === 0)).toHaveLength(1);
    const history = await b.schemaHistory({ table: 'notes' });
    expect(history.map((r) => [r.change, r.columns])).toEqual([
      ['create_table', ['body']],
      ['add_columns', ['pinned']],
    ]);
    const cols = await a.query<{ attname: string }>(
      `SELECT attname FROM pg_attribute WHERE attrelid = 'notes_log'::regclass AND attname = 'pinned'`,
    );
    expect(cols).toHaveLength(1);
    expect((await b.table(notesV2).get(v.entryId))?.data).toEqual({ body: 'before', pinned: null });
    expect((await a.table(notesV2).insert({ body: 'after' })).data.pinned).toBe(false);
  });

  // PGlite has one connection: nothing else can hold a lock there.
  it.skipIf(engine.name === 'pglite')(
    'with lockTimeoutMs, a migration blocked by a long transaction on the log gives up and applies nothing',
    async () => {
      const pool = rawPool(1);
      const reader = await pool.connect();
      try {
        await reader.query('BEGIN');
        await reader.query(`SELECT count(*) FROM "${t.schema}".notes_log`); // holds ACCESS SHARE until COMMIT
        const err = await a.migrate([notesV3], { lockTimeoutMs: 100 }).catch((e: unknown) => e);
        expect(err).toMatchObject({ code: 'timeout', sqlState: '55P03' });
        await reader.query('COMMIT');
        expect((await b.schemaHistory({ table: 'notes' })).map((r) => r.change)).toEqual([
          'create_table',
          'add_columns',
        ]);
        expect((await a.migrate([notesV3], { lockTimeoutMs: 5000 })).changes).toHaveLength(1);
      } finally {
        reader.release();
        await pool.end();
      }
    },
  );
});
