import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliInProcess as cli } from './support/cli.js';
import { describePostgres, postgres, rawPool, type TestDb } from './support/engines.js';
import { waitForHorizon } from './support/horizon.js';
import { kitchen } from './support/tables.js';

describePostgres('appendlog projection status|rebuild (CLI)', () => {
  let t: TestDb;
  let target: string[];

  beforeAll(async () => {
    t = await postgres.open();
    target = ['--url', process.env.DATABASE_URL!, '--schema', t.schema];
    await t.db.migrate([kitchen]);
    await t.db.query('CREATE TABLE pots (n integer NOT NULL)');
  });
  afterAll(() => t.close());

  it('shows the lag, asks for a rebuild that the running process then carries out', async () => {
    const pots = t.db.projection('pots', {
      tables: [kitchen],
      apply: async (set, tx) => {
        await tx.query('INSERT INTO pots (n) VALUES ($1)', [set.versions.length]);
      },
      reset: async (tx) => {
        await tx.query('DELETE FROM pots');
      },
    });
    await t.db.table(kitchen).insert({ label: 'a', count: 1 });
    await waitForHorizon(t.db, ['kitchen']);
    await pots.catchUp();
    await t.db.table(kitchen).insert({ label: 'b', count: 2 });
    await waitForHorizon(t.db, ['kitchen']);

    const status = await cli(['projection', 'status', 'pots', '--json', ...target]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      name: 'pots',
      lagVersions: 1,
      appliedSets: 1,
      heldBack: 0,
    });
    const text = await cli(['projection', 'status', ...target]);
    expect(text.stdout).toMatch(
      /^pots: 1 version behind, the oldest [\d.]+ s old; cursor \d+, 1 change set applied/,
    );

    const rebuild = await cli(['projection', 'rebuild', 'pots', ...target]);
    expect(rebuild.code).toBe(0);
    expect(
      JSON.parse((await cli(['projection', 'status', 'pots', '--json', ...target])).stdout),
    ).toMatchObject({
      cursor: null,
      rebuildPending: true,
      lagVersions: 2,
    });
    expect(await pots.catchUp()).toBe(2);
    const [row] = await t.db.query<{ n: number; rows: number }>(
      'SELECT sum(n)::int AS n, count(*)::int AS rows FROM pots',
    );
    expect(row).toEqual({ n: 2, rows: 2 });

    const missing = await cli(['projection', 'rebuild', 'nope', ...target]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/projection nope has never run/);
    expect((await cli(['projection', 'status', 'nope', ...target])).code).not.toBe(0);
  });

  it('says why it stalls: versions held back by an open transaction, and whose', async () => {
    await t.db.projection('pots', { tables: [kitchen], apply: async () => {} }).catchUp();
    const pool = rawPool(1);
    const holder = await pool.connect();
    try {
      await holder.query('BEGIN');
      const [{ pid }] = (
        await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid, pg_current_xact_id()')
      ).rows as [{ pid: number }];
      await t.db.table(kitchen).insert({ label: 'held', count: 3 });
      const status = JSON.parse((await cli(['projection', 'status', 'pots', '--json', ...target])).stdout);
      expect(status).toMatchObject({ lagVersions: 1, heldBack: 1 });
      // The oldest open transaction on the server: this one, unless another began before it.
      expect(status.heldBy).not.toBeNull();
      const text = (await cli(['projection', 'status', 'pots', ...target])).stdout;
      expect(text).toMatch(
        /\n {2}stalled: 1 committed version waits behind an open transaction \(pid \d+, open since \d{4}-\d\d-\d\dT[\d:.]+Z\); they are applied when it ends/,
      );
      if (status.heldBy.pid === pid) expect(text).toContain(`pid ${pid},`);
    } finally {
      await holder.query('COMMIT');
      holder.release();
      await pool.end();
    }
    await waitForHorizon(t.db, ['kitchen']);
    const after = JSON.parse((await cli(['projection', 'status', 'pots', '--json', ...target])).stdout);
    expect(after).toMatchObject({ lagVersions: 1, heldBack: 0, heldBy: null });
  });
});
