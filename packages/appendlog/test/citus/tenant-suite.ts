import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { column as c, connect, type Database, table } from '../../src/index.js';
import { CITUS_WORKER_PORTS, citusUrl } from '../support/citus.js';
import { addresses } from '../support/tables.js';
import { counters, dropSchemasAndRole, readmeExample, writersOnOneEntry } from './scenarios.js';

/**
 * docs/scale-out.md, "Schema-per-tenant on Citus": two tenants' schemas, each distributed
 * (`citus_schema_distribute`) and moved to its own worker, run the scenario suite through the
 * Citus coordinator as the least-privilege application role: the README example, concurrent
 * writers on one entry, erasure, verify, and two checkpoints the second of which extends the first,
 * one of them taken while a write on the tenant's worker is in flight.
 *
 * Run by citus.test.ts, which provides the cluster.
 */
const run = randomBytes(4).toString('hex');
const APP = `appendlog_app_${run}`;
const tenants = CITUS_WORKER_PORTS.map((port, i) => ({ schema: `tenant_${'ab'[i]}_${run}`, port }));

/** The worker ports holding the shards of `schema`'s tables (one, when the schema is distributed). */
async function placements(admin: pg.Pool, schema: string): Promise<{ tables: number; ports: number[] }> {
  const r = await admin.query<{ tables: string; ports: number[] }>(
    `SELECT count(DISTINCT s.table_name)::text AS tables, array_agg(DISTINCT s.nodeport ORDER BY s.nodeport) AS ports
       FROM citus_shards s JOIN pg_class c ON c.oid = s.table_name JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1`,
    [schema],
  );
  return { tables: Number(r.rows[0]!.tables), ports: r.rows[0]!.ports ?? [] };
}

export function tenantSuite(): void {
  let admin: pg.Pool;
  const open: Database[] = [];
  const handle = async (schema: string, user = 'postgres', max = 2, options = '') => {
    const db = await connect({ url: citusUrl('postgres', user) + options, schema, pool: { max } });
    open.push(db);
    return db;
  };

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: citusUrl(), max: 2 });
    // LOGIN: the coordinator opens its connections to the workers as the session's role.
    await admin.query(`CREATE ROLE ${APP} LOGIN`);
    for (const t of tenants) {
      await admin.query(`CREATE SCHEMA ${t.schema}`);
      await admin.query(`SELECT citus_schema_distribute($1)`, [t.schema]);
      // No citus.enable_unsafe_triggers here: migrate sets what it needs for its own transaction.
      const owner = await handle(t.schema);
      await owner.migrate([addresses, counters], { appRole: APP });
      const where = await placements(admin, t.schema);
      if (where.ports.length !== 1 || where.ports[0] !== t.port) {
        await admin.query(`SELECT citus_schema_move($1, '127.0.0.1', $2, 'block_writes')`, [
          t.schema,
          t.port,
        ]);
      }
    }
  }, 180_000);

  afterAll(async () => {
    for (const db of open) await db.close().catch(() => {});
    if (admin) {
      await dropSchemasAndRole(
        admin,
        tenants.map((t) => t.schema),
        APP,
      );
    }
  }, 120_000);

  it('keeps each tenant schema, catalog and logs included, whole on its own worker', async () => {
    for (const t of tenants) {
      const where = await placements(admin, t.schema);
      // addresses and counters: log and head each, the schema history, erasures, checkpoints…
      expect(where.tables).toBeGreaterThanOrEqual(5);
      expect(where.ports).toEqual([t.port]);
    }
  });

  describe.each(tenants)('tenant on worker $port', (t) => {
    let app: Database;
    let owner: Database;
    beforeAll(async () => {
      app = await handle(t.schema, APP);
      owner = await handle(t.schema);
    });

    it('runs the README example through the library and the view', async () => {
      const book = app.table(addresses);
      const { v1, v2 } = await readmeExample(book);
      expect((await book.listAt(v1.recordedAtIso)).map((v) => v.entryId)).toContain(v1.entryId);

      // Raw SQL: Citus refuses writes through a view, so they go to the head, which appends as
      // the view would; the context reaches the worker as SET LOCAL with SET propagation on.
      await expect(
        app.query(`UPDATE ${t.schema}.addresses SET city = 'Bergen' WHERE entry_id = $1`, [v1.entryId]),
      ).rejects.toThrow(/cannot modify views/);
      await app.query(`UPDATE ${t.schema}.addresses_head SET city = 'Bergen' WHERE entry_id = $1`, [
        v1.entryId,
      ]);
      expect(await book.get(v1.entryId)).toMatchObject({ version: 5, data: { city: 'Bergen' } });
      const sql = new pg.Client({ connectionString: citusUrl('postgres', APP) });
      await sql.connect();
      try {
        await sql.query(`SET citus.propagate_set_commands = 'local'`);
        await sql.query('BEGIN');
        await sql.query(`SET LOCAL appendlog.reason = 'spam'`);
        await sql.query(`UPDATE ${t.schema}.addresses_head SET op = 'delete' WHERE entry_id = $1`, [
          v1.entryId,
        ]);
        await sql.query('COMMIT');
        const viewed = await sql.query(
          `SELECT count(*)::int AS n FROM ${t.schema}.addresses WHERE entry_id = $1`,
          [v1.entryId],
        );
        expect(viewed.rows).toEqual([{ n: 0 }]);
      } finally {
        await sql.end();
      }
      expect((await book.history(v1.entryId)).at(-1)).toMatchObject({
        version: 6,
        op: 'delete',
        reason: 'spam',
      });
      // The SQL as-of function is a parameterised SQL function, which Citus does not plan; at/listAt work.
      await expect(
        app.query(`SELECT count(*) FROM ${t.schema}.addresses_as_of($1)`, [v2.recordedAtIso]),
      ).rejects.toThrow(/parameterized queries for SQL functions referencing distributed tables/);
      // The log: the application's role may not write it, and not even its owner may change it.
      await expect(app.query(`UPDATE ${t.schema}.addresses_log SET city = 'x'`)).rejects.toMatchObject({
        code: '42501',
      });
      await expect(owner.query(`UPDATE ${t.schema}.addresses_log SET city = 'x'`)).rejects.toMatchObject({
        code: 'append_only',
      });
    });

    it('serialises real concurrent writers on one entry: contiguous versions, one chain', async () => {
      await writersOnOneEntry(app, () => handle(t.schema, APP, 1));
    });

    it('takes an additive migration, diff and revert', async () => {
      const wider = table('addresses', { ...addresses.definition, country: c.text() });
      const migrating = await handle(t.schema, 'postgres', 1);
      await migrating.migrate([wider, counters], { appRole: APP });
      const book = app.table(wider);
      const v1 = await book.insert({ name: 'Ada', city: 'London' });
      await book.update(v1.entryId, { country: 'UK' });
      expect(await book.diff(v1.entryId, 1, 2)).toEqual([{ field: 'country', before: null, after: 'UK' }]);
      expect(await book.revert(v1.entryId, 1, { reason: 'undo' })).toMatchObject({
        version: 3,
        data: { country: null },
      });
    });

    it('loads many entries at once through the head, in the order given', async () => {
      // Citus would plan the set-based load's INSERT … SELECT into the log through the coordinator,
      // where the log's guard cannot know it: on Citus insertMany writes multi-row INSERTs of the
      // head instead, which the chain trigger turns into versions on the tenant's worker.
      const rows = Array.from({ length: 40 }, (_, i) => ({ name: `Load ${i}` }));
      const loaded = await app.table(addresses).insertMany(rows, { actor: 'import' });
      expect(loaded.map((v) => [v.data.name, v.version, v.actor])).toEqual(
        rows.map((r) => [r.name, 1, 'import']),
      );
      expect(await app.table(addresses).get(loaded[7]!.entryId)).toMatchObject({ data: { name: 'Load 7' } });
    });

    it('erases a forgotten entry from every version, and verify counts it', async () => {
      const book = app.table(addresses);
      const eve = await book.insert({ name: 'Eve', city: 'Bergen', tel: '555' });
      await book.update(eve.entryId, { city: 'Tromsø' });
      await book.forget(eve.entryId, { reason: 'GDPR request #1', after: '0 seconds' });
      const purged = await owner.purge();
      expect(purged.erased.map((e) => [e.entryId, e.versions])).toEqual([[eve.entryId, 3]]);
      const rows = await owner.query<{ name: string | null; city: string | null; redacted: boolean }>(
        `SELECT name, city, redacted_at IS NOT NULL AS redacted FROM ${t.schema}.addresses_log WHERE entry_id = $1`,
        [eve.entryId],
      );
      expect(rows).toEqual(Array.from({ length: 3 }, () => ({ name: null, city: null, redacted: true })));
      expect(await owner.verify()).toMatchObject({ ok: true, erased: 3, failures: [] });
    });

    it('takes two checkpoints and reads changes, the second extending the first, with a write in flight', async () => {
      const book = app.table(addresses);
      const before = await book.insert({ name: 'Before' });
      // A transaction that has written on the tenant's worker and not committed while the first
      // checkpoint is taken: its version must fall above the checkpoint's horizon, not below it.
      const inflight = await handle(t.schema, APP, 1);
      let release!: () => void;
      const held = new Promise<void>((r) => {
        release = r;
      });
      let wrote!: () => void;
      const written = new Promise<void>((r) => {
        wrote = r;
      });
      const late = inflight.transaction(async (tx) => {
        const v = await tx.table(addresses).insert({ name: 'In flight' });
        wrote();
        await held;
        return v;
      });
      await written;
      const first = await owner.checkpoint();
      // The change feed hands out what committed before, and nothing at or past the open transaction.
      const feed = await app.changes({ limit: 1000 });
      const fed = (r: typeof feed) => r.changes.flatMap((set) => set.versions.map((v) => v.entryId));
      expect(fed(feed)).toContain(before.entryId);
      release();
      const lateVersion = await late;
      expect(BigInt(first.horizon)).toBeLessThanOrEqual(BigInt(lateVersion.txId));
      expect(BigInt(feed.cursor!)).toBeLessThan(BigInt(lateVersion.txId));
      expect(fed(await app.changes({ since: feed.cursor, limit: 1000 }))).toContain(lateVersion.entryId);
      const second = await owner.checkpoint();
      expect(second.treeSize).toBeGreaterThan(first.treeSize);
      expect(BigInt(second.horizon)).toBeGreaterThan(BigInt(lateVersion.txId));

      const report = await owner.verify({ against: first });
      expect(report).toMatchObject({ ok: true, failures: [] });
      expect(report.consistency).toMatchObject({ ok: true, oldSize: first.treeSize });
      expect(await owner.verify({ against: second })).toMatchObject({ ok: true, failures: [] });
      const total = await owner.query<{ n: string }>(
        `SELECT (SELECT count(*) FROM ${t.schema}.addresses_log) + (SELECT count(*) FROM ${t.schema}.counters_log) AS n`,
      );
      expect(second.treeSize).toBe(Number(total[0]!.n));
    });
  });
}
