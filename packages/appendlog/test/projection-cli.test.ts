import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliInProcess as cli } from './support/cli.js';
import { describePostgres, postgres, type TestDb } from './support/engines.js';
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
      /^pots: 1 versions behind, the oldest [\d.]+ s old; cursor \d+, 1 change sets applied/,
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
});
