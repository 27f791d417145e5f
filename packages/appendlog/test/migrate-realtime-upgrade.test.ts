import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ChangeSet, Database } from '../src/index.js';
import { TABLE_CODE_REVISION } from '../src/sql/table-ddl.js';
import { describeEngines, type TestDb } from './support/engines.js';
import { fixture, inSchema, installRevision } from './support/fixture-revision.js';
import { addresses } from './support/tables.js';

// The realtime wake-up for a database an earlier release made: revision-6 tables without any
// wake-up, and a catalog without the projections table. Revision 7 added a statement trigger on
// the head (`appendlog_notify`); revision 8 sends the wake-up from the chain trigger instead.
const catalogV6 = fixture('catalog-v6.sql');

/** The catalog and `addresses` as the release of code `revision` left them, with one live entry written by that code: its id. */
async function installLive(db: Database, schema: string, revision: 6 | 7): Promise<string> {
  await installRevision(db, schema, revision);
  const [a] = await db.query<{ entry_id: string }>(
    `INSERT INTO addresses (name, city) VALUES ('Live', 'Old town') RETURNING entry_id::text`,
  );
  return a!.entry_id;
}

/** Resolves once `check()` holds, polling; fails after `ms`. */
async function until(check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describeEngines('upgrade to the realtime wake-up: a table made by code revision 6', (engine) => {
  let t: TestDb;
  let db: Database;
  let live = '';

  const notifyTriggers = async () =>
    (
      await db.query<{ name: string }>(
        `SELECT tgname AS name FROM pg_trigger WHERE tgrelid = 'addresses_head'::regclass AND tgname = 'appendlog_notify'`,
      )
    ).map((r) => r.name);
  const projectionsTable = async () =>
    (await db.query<{ t: string | null }>(`SELECT to_regclass('appendlog_projections')::text AS t`))[0]!.t;

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    live = await installLive(db, t.schema, 6);
  });
  afterAll(() => t.close());

  it('the fixture is revision 6: no wake-up trigger, no projections table', async () => {
    expect(await notifyTriggers()).toEqual([]);
    expect(await projectionsTable()).toBeNull();
  });

  it('migrate regenerates the code to the current revision and adds the projections table, once', async () => {
    const result = await db.migrate([addresses]);
    expect(result.changes).toEqual([
      {
        table: 'addresses',
        change: 'upgrade_code',
        columns: [],
        summary: `regenerate the table's code (revision 6 to ${TABLE_CODE_REVISION})`,
      },
    ]);
    expect(TABLE_CODE_REVISION).toBe(10);
    expect(await db.migrate([addresses])).toEqual({ statements: [], changes: [], behind: [] });
    expect(await notifyTriggers()).toEqual([]);
    expect(await projectionsTable()).not.toBeNull();
    expect(await db.verify()).toMatchObject({ ok: true, checked: 1, failures: [] });
  });

  it('a subscriber is woken by writes to the upgraded table, and sees the versions from before', async () => {
    const sets: ChangeSet[] = [];
    const sub = db.subscribe({ interval: 60_000 }, (set) => {
      sets.push(set);
    });
    try {
      // The first delivery waits, like every feed read, until no older transaction is open: on a
      // shared server another test's open transaction can hold it back (up to 45 s, as below).
      await until(() => sets.length === 1, 45_000);
      expect(sets[0]!.versions.map((v) => v.entryId)).toEqual([live]);
      await until(() => sub.listening);
      const v = await db.table(addresses).update(live, { city: 'New town' });
      // The interval is a minute: only the new trigger's notification can deliver this in time.
      // (Up to 45 s: on a shared server another test's open transaction can hold the horizon, and
      // the feed then retries with backoff.)
      await until(() => sets.some((s) => s.txId === v.txId), 45_000);
    } finally {
      await sub.stop();
    }
  });

  it('the previous release re-running its catalog script during a rolling deploy changes nothing realtime needs', async () => {
    await db.exec(inSchema(catalogV6, t.schema));
    expect(await notifyTriggers()).toEqual([]);
    const projection = db.projection('after_old_catalog', { apply: async () => {} });
    await projection.catchUp();
    expect((await projection.status()).cursor).not.toBeNull();
    const notes: string[] = [];
    const listener = await db.listen(
      'appendlog_changes',
      (p) => notes.push(p),
      () => {},
    );
    try {
      await db.table(addresses).insert({ name: 'After the old catalog' });
      await until(() => notes.includes(t.schema));
    } finally {
      await listener.close();
    }
  });
});

describeEngines('upgrade from the statement wake-up: a table made by code revision 7', (engine) => {
  let t: TestDb;
  let db: Database;
  let live = '';
  const triggers = async () =>
    (
      await db.query<{ name: string }>(
        `SELECT tgname AS name FROM pg_trigger WHERE tgrelid = 'addresses_head'::regclass AND NOT tgisinternal ORDER BY 1`,
      )
    ).map((r) => r.name);

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    live = await installLive(db, t.schema, 7);
  });
  afterAll(() => t.close());

  it('migrate drops the statement trigger, and the chain trigger wakes subscribers instead', async () => {
    expect(await triggers()).toContain('appendlog_notify');
    const result = await db.migrate([addresses]);
    expect(result.changes.map((c) => c.summary)).toEqual([
      `regenerate the table's code (revision 7 to ${TABLE_CODE_REVISION})`,
    ]);
    expect(await triggers()).toEqual([
      'appendlog_chain',
      'appendlog_head_refuse_delete',
      'appendlog_head_refuse_truncate',
    ]);
    const sets: ChangeSet[] = [];
    const sub = db.subscribe({ interval: 60_000 }, (set) => {
      sets.push(set);
    });
    try {
      await until(() => sets.length === 1 && sub.listening, 45_000);
      const v = await db.table(addresses).update(live, { city: 'New town' });
      // The interval is a minute: only the chain trigger's notification can deliver this in time
      // (up to 45 s, as above).
      await until(() => sets.some((s) => s.txId === v.txId), 45_000);
    } finally {
      await sub.stop();
    }
    expect(await db.verify()).toMatchObject({ ok: true, checked: 2, failures: [] });
  });
});
