import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type ChangeSet,
  type Database,
  isAppendLogError,
  type ProjectionDefinition,
  type ProjectionTx,
} from '../src/index.js';
import {
  type AppRoleDb,
  describeEngines,
  describePostgres,
  openAppRole,
  type TestDb,
} from './support/engines.js';
import { waitForHorizon } from './support/horizon.js';
import { addresses, kitchen } from './support/tables.js';

/** A projection counting versions per table and op into `proj_counts`, keeping each version in `proj_seen`. */
function counting(extra: Partial<ProjectionDefinition> = {}): ProjectionDefinition {
  return {
    tables: [addresses, kitchen],
    async apply(set: ChangeSet, tx: ProjectionTx) {
      for (const v of set.versions) {
        // A primary key: a version applied twice fails the transaction (and the test).
        await tx.query('INSERT INTO proj_seen (table_name, entry_id, version) VALUES ($1, $2, $3)', [
          v.table,
          v.entryId,
          v.version,
        ]);
        await tx.query(
          `INSERT INTO proj_counts (table_name, op, n) VALUES ($1, $2, 1)
           ON CONFLICT (table_name, op) DO UPDATE SET n = proj_counts.n + 1`,
          [v.table, v.op],
        );
      }
    },
    async reset(tx: ProjectionTx) {
      await tx.query('DELETE FROM proj_seen');
      await tx.query('DELETE FROM proj_counts');
    },
    interval: 50,
    ...extra,
  };
}

const PROJECTION_TABLES = `
  CREATE TABLE proj_counts (table_name text, op text, n integer NOT NULL, PRIMARY KEY (table_name, op));
  CREATE TABLE proj_seen (table_name text, entry_id uuid, version integer, PRIMARY KEY (table_name, entry_id, version))`;

async function counts(db: Database): Promise<Record<string, number>> {
  const rows = await db.query<{ k: string; n: number }>(
    `SELECT table_name || ':' || op AS k, n FROM proj_counts ORDER BY 1`,
  );
  return Object.fromEntries(rows.map((r) => [r.k, r.n]));
}

/** What the counts must be: versions per table and op in the logs themselves. */
async function expected(db: Database): Promise<Record<string, number>> {
  const rows = await db.query<{ k: string; n: number }>(
    `SELECT k, count(*)::int AS n FROM (
       SELECT 'addresses:' || op AS k FROM addresses_log UNION ALL SELECT 'kitchen:' || op FROM kitchen_log
     ) x GROUP BY k ORDER BY k`,
  );
  return Object.fromEntries(rows.map((r) => [r.k, r.n]));
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'none';
  } catch (err) {
    return isAppendLogError(err) ? err.code : String(err);
  }
}

describeEngines('db.projection', (engine) => {
  let t: TestDb;
  let db: Database;

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    await db.migrate([addresses, kitchen]);
    for (const stmt of PROJECTION_TABLES.split(';')) await db.query(stmt);
  });
  afterAll(() => t.close());

  it('applies every change set once, its cursor moving in the same transaction', async () => {
    const a = await db.table(addresses).insert({ name: 'A' });
    await db.transaction(async (tx) => {
      await tx.table(addresses).update(a.entryId, { city: 'Oslo' });
      await tx.table(kitchen).insert({ label: 'pot', count: 1 });
    });
    await db.table(addresses).delete(a.entryId, { reason: 'test' });
    await waitForHorizon(db, ['addresses', 'kitchen']);
    const p = db.projection('counts', counting());
    expect(await p.catchUp()).toBe(3);
    expect(await counts(db)).toEqual(await expected(db));
    expect(await p.catchUp()).toBe(0); // nothing twice
    const status = await p.status();
    expect(status).toMatchObject({
      name: 'counts',
      appliedSets: 3,
      lagVersions: 0,
      heldBack: 0,
      rebuildPending: false,
    });
    expect(status.cursor).toBe((await db.changes({ limit: 1000 })).cursor);
  });

  it('rolls back what apply wrote when it throws, and the cursor stays', async () => {
    const before = await db.projection('counts', counting()).status();
    await db.table(kitchen).insert({ label: 'boom', count: 0 });
    await waitForHorizon(db, ['kitchen']);
    const failing = db.projection(
      'counts',
      counting({
        async apply(set, tx) {
          await counting().apply(set, tx);
          throw new Error('apply failed');
        },
      }),
    );
    await expect(failing.catchUp()).rejects.toThrow('apply failed');
    const after = await failing.status();
    expect(after.cursor).toBe(before.cursor);
    expect(after.lagVersions).toBe(1);
    expect(after.lagSeconds).toBeGreaterThanOrEqual(0);
    expect(await counts(db)).not.toEqual(await expected(db));
    await db.projection('counts', counting()).catchUp();
    expect(await counts(db)).toEqual(await expected(db));
  });

  it('follows the log with start(), and stops cleanly', async () => {
    const p = db.projection('counts', counting());
    const run = p.start();
    const k = await db.table(kitchen).insert({ label: 'live', count: 5 });
    const deadline = Date.now() + 20_000;
    while ((await p.status()).cursor !== k.txId) {
      if (Date.now() > deadline) throw new Error('the running projection never applied the write');
      await new Promise((r) => setTimeout(r, 20));
    }
    await run.stop();
    await expect(run.done).resolves.toBeUndefined();
    expect(await counts(db)).toEqual(await expected(db));
  });

  it('rebuilds from zero: reset and every change set again, in one transaction', async () => {
    const p = db.projection('counts', counting());
    const sets = (await p.status()).appliedSets;
    await p.rebuild();
    expect(await p.status()).toMatchObject({ cursor: null, rebuildPending: true, appliedSets: 0 });
    expect(await p.catchUp()).toBe(sets);
    expect(await counts(db)).toEqual(await expected(db));
    expect((await p.status()).rebuildPending).toBe(false);
  });

  it('runs several projections side by side, each with its own tables and cursor, each exact', async () => {
    await db.query(
      'CREATE TABLE side_counts (projection text, table_name text, n integer NOT NULL, PRIMARY KEY (projection, table_name))',
    );
    const perTable = (name: string, def: typeof addresses | typeof kitchen): ProjectionDefinition => ({
      tables: [def],
      interval: 50,
      async apply(set, tx) {
        for (const v of set.versions)
          await tx.query(
            `INSERT INTO side_counts (projection, table_name, n) VALUES ($1, $2, 1)
             ON CONFLICT (projection, table_name) DO UPDATE SET n = side_counts.n + 1`,
            [name, v.table],
          );
      },
    });
    const people = db.projection('side-addresses', perTable('side-addresses', addresses));
    const pots = db.projection('side-kitchen', perTable('side-kitchen', kitchen));
    const runs = [people.start(), pots.start(), db.projection('counts', counting()).start()];
    try {
      for (let i = 0; i < 6; i++)
        await db.transaction(async (tx) => {
          await tx.table(kitchen).insert({ label: `side ${i}`, count: i });
          if (i % 2 === 0) await tx.table(addresses).insert({ name: `Side ${i}` });
        });
      await waitForHorizon(db, ['addresses', 'kitchen']);
      for (const p of [people, pots, db.projection('counts', counting())])
        await expect.poll(async () => (await p.status()).lagVersions, { timeout: 20_000 }).toBe(0);
    } finally {
      for (const run of runs) await run.stop();
    }
    const side = await db.query<{ projection: string; table_name: string; n: number }>(
      'SELECT projection, table_name, n FROM side_counts ORDER BY 1, 2',
    );
    const [logged] = await db.query<{ a: number; k: number }>(
      'SELECT (SELECT count(*) FROM addresses_log)::int AS a, (SELECT count(*) FROM kitchen_log)::int AS k',
    );
    expect(side).toEqual([
      { projection: 'side-addresses', table_name: 'addresses', n: logged!.a },
      { projection: 'side-kitchen', table_name: 'kitchen', n: logged!.k },
    ]);
    expect(await counts(db)).toEqual(await expected(db));
    expect((await people.status()).tables).toEqual(['addresses']);
    expect((await pots.status()).tables).toEqual(['kitchen']);
  });

  it('refuses to rebuild over its old state without reset, and bad definitions', async () => {
    const noReset: ProjectionDefinition = { apply() {} };
    await db.projection('counts-noreset', noReset).catchUp();
    await db.projection('counts-noreset', noReset).rebuild();
    expect(await code(db.projection('counts-noreset', noReset).catchUp())).toBe('invalid_state');
    expect(await code(db.projection('never-ran', counting()).status())).toBe('not_found');
    expect(await code(db.rebuildProjection('never-ran'))).toBe('not_found');
    expect(await code(Promise.resolve().then(() => db.projection('', counting())))).toBe('invalid_input');
    expect(await code(Promise.resolve().then(() => db.projection('x', {} as never)))).toBe('invalid_input');
    expect(await code(Promise.resolve().then(() => db.projection('x', counting({ interval: -1 }))))).toBe(
      'invalid_input',
    );
    await db.transaction(async (tx) => {
      expect(await code(Promise.resolve().then(() => tx.projection('x', counting())))).toBe('invalid_usage');
    });
  });
});

describePostgres('db.projection as the least-privilege role, two processes at once', () => {
  let r: AppRoleDb;
  let other: Database;

  beforeAll(async () => {
    r = await openAppRole('proj', [addresses, kitchen], 4);
    for (const stmt of PROJECTION_TABLES.split(';')) await r.t.db.query(stmt);
    await r.t.db.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON proj_counts, proj_seen TO ${r.role}`);
    const { connect } = await import('../src/index.js');
    other = await connect({ client: r.pool, schema: r.t.schema });
  });
  afterAll(() => r.close());

  it('two runners of one projection never both apply a change set; the counts end exact', async () => {
    const a = r.app.projection('counts', counting({ batchSize: 3 }));
    const b = other.projection('counts', counting({ batchSize: 3 }));
    const runs = [a.start(), b.start()];
    for (const run of runs) run.done.catch((err) => console.error('runner failed', err.message, err.query));
    const writes: Promise<unknown>[] = [];
    for (let w = 0; w < 3; w++) {
      writes.push(
        (async () => {
          for (let i = 0; i < 15; i++) {
            await r.app.transaction(async (tx) => {
              const v = await tx.table(kitchen).insert({ label: `w${w}-${i}`, count: i });
              if (i % 3 === 0) await tx.table(addresses).insert({ name: `w${w}-${i}` });
              if (i % 5 === 0) await tx.table(kitchen).update(v.entryId, { count: -i });
            });
          }
        })(),
      );
    }
    await Promise.all(writes);
    const last = (await r.app.changes({ limit: 10_000 })).cursor;
    const deadline = Date.now() + 30_000;
    // `last` may lag (another database's open transaction holds the horizon): no lag is the test.
    for (;;) {
      const s = await a.status();
      if (s.lagVersions === 0 && s.cursor !== null && BigInt(s.cursor) >= BigInt(last ?? 0)) break;
      if (Date.now() > deadline) throw new Error(`stuck: ${JSON.stringify(s)}`);
      await new Promise((res) => setTimeout(res, 50));
    }
    await Promise.all(runs.map((run) => run.stop()));
    await Promise.all(runs.map((run) => expect(run.done).resolves.toBeUndefined()));
    expect(await counts(r.t.db)).toEqual(await expected(r.t.db));
    const [seen] = await r.t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM proj_seen');
    const [logged] = await r.t.db.query<{ n: number }>(
      'SELECT ((SELECT count(*) FROM addresses_log) + (SELECT count(*) FROM kitchen_log))::int AS n',
    );
    expect(seen!.n).toBe(logged!.n);
    expect((await r.app.projectionStatus()).map((s) => s.name)).toEqual(['counts']);
  });
});

describePostgres('db.projection behind a long-open transaction', () => {
  let r: AppRoleDb;

  beforeAll(async () => {
    r = await openAppRole('projheld', [addresses, kitchen], 4);
    for (const stmt of PROJECTION_TABLES.split(';')) await r.t.db.query(stmt);
    await r.t.db.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON proj_counts, proj_seen TO ${r.role}`);
  });
  afterAll(() => r.close());

  it('stalls, loses nothing, and its status says what holds it and how much waits', async () => {
    const p = r.app.projection('held', counting());
    await p.catchUp();
    // One transaction writes and stays open; a later one commits past it.
    const holder = await r.pool.connect();
    let released = false;
    try {
      await holder.query('BEGIN');
      await holder.query(`INSERT INTO addresses (name) VALUES ('held open')`);
      const [{ pid }] = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows as [
        { pid: number },
      ];
      const later = await r.app.table(kitchen).insert({ label: 'committed after', count: 1 });
      expect(await p.catchUp()).toBe(0); // the later one waits behind the open one
      const s = await p.status();
      expect(s.heldBack).toBeGreaterThanOrEqual(1);
      expect(s.lagVersions).toBeGreaterThanOrEqual(s.heldBack);
      // Who holds it: the oldest open transaction on the server (ours, unless another began
      // earlier), as a role that may see every session's transaction ids (the app role sees its own).
      const asOwner = await r.t.db.projection('held', counting()).status();
      expect(asOwner.heldBack).toBeGreaterThanOrEqual(1);
      expect(asOwner.heldBy).toMatchObject({ pid: expect.any(Number) });
      const ours = await r.t.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1 AND state = 'idle in transaction'`,
        [pid],
      );
      expect(ours[0]!.n).toBe(1);
      await holder.query('COMMIT');
      released = true;
      const deadline = Date.now() + 20_000;
      while ((await p.status()).lagVersions > 0 && Date.now() < deadline) {
        await p.catchUp();
        await new Promise((res) => setTimeout(res, 50));
      }
      const seen = await r.t.db.query<{ table_name: string }>(
        `SELECT table_name FROM proj_seen WHERE (table_name, entry_id) IN
           (('kitchen', $1::uuid)) OR entry_id IN (SELECT entry_id FROM addresses_log WHERE name = 'held open')
         ORDER BY 1`,
        [later.entryId],
      );
      expect(seen.map((x) => x.table_name)).toEqual(['addresses', 'kitchen']);
      expect(await counts(r.t.db)).toEqual(await expected(r.t.db));
      expect((await p.status()).heldBack).toBe(0);
    } finally {
      if (!released) await holder.query('ROLLBACK').catch(() => {});
      holder.release();
    }
  });
});
