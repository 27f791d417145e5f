import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Checkpoint, column as c, connect, type Database, table } from '../src/index.js';
import { Cluster, clusterToolsMissing } from './support/clusters.js';
import { describePostgres } from './support/engines.js';
import { addresses, kitchen } from './support/tables.js';

/**
 * docs/scale-out.md, "Replicas" and "Logical replication", on real clusters: a publisher whose
 * transaction ids are three epochs ahead (as any long-lived cluster's are of a new one), a hot
 * standby streaming from it, and a second cluster subscribing to its logs and heads.
 */
const SCHEMA = 'ledger';
const APP = 'appendlog_app';
const PUBLICATION = 'appendlog';
const TABLES = ['addresses', 'kitchen'];
const replicated = [
  ...TABLES.flatMap((t) => [`${SCHEMA}.${t}_log`, `${SCHEMA}.${t}_head`]),
  `${SCHEMA}.appendlog_erasures`,
];

/** Every version of both logs as stored, the redacted columns' content included. */
async function logRows(db: Database): Promise<string[]> {
  const rows = await db.query<{ r: string }>(
    `SELECT concat_ws(' ', t, seq, entry_id, version, op, encode(hash, 'hex'), tx_id, redacted_at IS NOT NULL, body) AS r
       FROM (SELECT 'addresses' AS t, seq, entry_id, version, op, hash, tx_id, redacted_at, concat_ws('|', name, city) AS body FROM ${SCHEMA}.addresses_log
             UNION ALL
             SELECT 'kitchen', seq, entry_id, version, op, hash, tx_id, redacted_at, concat_ws('|', label, count) FROM ${SCHEMA}.kitchen_log) x
      ORDER BY t, seq`,
  );
  return rows.map((r) => r.r);
}

/** Polls until `db` holds what `source` holds (a replica catching up), for at most 20 s. */
async function caughtUp(db: Database, source: Database): Promise<string[]> {
  const want = await logRows(source);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const got = await logRows(db);
    if (JSON.stringify(got) === JSON.stringify(want)) return got;
    if (Date.now() > deadline) {
      expect(got).toEqual(want);
      throw new Error('replica never caught up');
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function suite(): void {
  let publisher: Cluster;
  let standby: Cluster;
  let subscriber: Cluster;
  const open: Database[] = [];
  const connectTo = async (cluster: Cluster, user = 'postgres') => {
    const db = await connect({ url: cluster.url('app', user), schema: SCHEMA, pool: { max: 2 } });
    open.push(db);
    return db;
  };
  let owner: Database;
  let app: Database;
  let checkpoint: Checkpoint;
  let adaId: string;
  let forgottenId: string;

  beforeAll(async () => {
    publisher = await Cluster.create(`al_pub_${process.pid}`, {
      epoch: 3n,
      settings: { wal_level: 'logical', max_wal_senders: '10', max_replication_slots: '10' },
    });
    subscriber = await Cluster.create(`al_sub_${process.pid}`);
    for (const cluster of [publisher, subscriber]) {
      cluster.psql('postgres', `CREATE DATABASE app`);
      cluster.psql('postgres', `CREATE ROLE ${APP} LOGIN`);
    }
    owner = await connectTo(publisher);
    await owner.migrate([addresses, kitchen], { appRole: APP });
    app = await connectTo(publisher, APP);

    // The subscriber gets the same tables from the same definitions, marked as a subscriber's copy.
    const sub = await connectTo(subscriber);
    const migrated = await sub.migrate([addresses, kitchen], { appRole: APP, subscriber: true });
    expect(migrated.statements.join('\n')).toContain('appendlog_subscriber_copy');
    // A second run finds them marked and marks nothing again.
    const again = await sub.migrate([addresses, kitchen], { subscriber: true });
    expect(again.statements).toEqual([]);
    publisher.psql('app', `CREATE PUBLICATION ${PUBLICATION} FOR TABLE ${replicated.join(', ')}`);
    subscriber.psql(
      'app',
      `CREATE SUBSCRIPTION ${PUBLICATION} CONNECTION 'host=127.0.0.1 port=${publisher.port} user=postgres dbname=app' PUBLICATION ${PUBLICATION}`,
    );

    // A history of every kind of write, through the least-privilege role.
    const book = app.table(addresses);
    const ada = await book.insert({ name: 'Ada', city: 'London' }, { actor: 'alice' });
    adaId = ada.entryId;
    await book.update(adaId, { city: 'Paris' }, { reason: 'moved' });
    const bob = await book.insert({ name: 'Bob', city: 'Oslo' });
    await book.delete(bob.entryId, { reason: 'duplicate' });
    await book.restore(bob.entryId);
    await app.table(kitchen).insertMany(Array.from({ length: 40 }, (_, i) => ({ label: `k${i}`, count: i })));
    const eve = await book.insert({ name: 'Eve', city: 'Bergen' });
    forgottenId = eve.entryId;
    await book.forget(forgottenId, { reason: 'GDPR request #1', after: '0 seconds' });
    expect((await owner.purge()).erased.map((e) => e.entryId)).toEqual([forgottenId]);
    checkpoint = await owner.checkpoint();

    standby = await Cluster.standbyOf(publisher, `al_standby_${process.pid}`);
  }, 120_000);

  afterAll(async () => {
    for (const db of open) await db.close().catch(() => {});
    // The subscription first: it holds a slot on the publisher.
    subscriber?.psql('app', `DROP SUBSCRIPTION IF EXISTS ${PUBLICATION}`);
    for (const cluster of [standby, subscriber, publisher]) cluster?.drop();
  }, 60_000);

  describe('a hot standby', () => {
    it('serves history, time travel, changes and verify as the primary does', async () => {
      const replica = await connectTo(standby, APP);
      const rows = await caughtUp(replica, owner);
      expect(rows.length).toBeGreaterThan(45);
      const book = replica.table(addresses);
      expect(await book.history(adaId)).toEqual(await app.table(addresses).history(adaId));
      const [v1] = await book.history(adaId);
      expect(await book.at(adaId, v1!.recordedAtIso)).toEqual(
        await app.table(addresses).at(adaId, v1!.recordedAtIso),
      );
      expect(await book.listAt(v1!.recordedAtIso)).toEqual(
        await app.table(addresses).listAt(v1!.recordedAtIso),
      );
      const feed = await replica.changes().catch((e: unknown) => e);
      expect(feed).toEqual(await app.changes());
      const verifier = await connectTo(standby);
      expect(await verifier.verify()).toMatchObject({ ok: true, failures: [], erased: 2 });
      expect(await verifier.verify({ against: checkpoint })).toMatchObject({ ok: true, failures: [] });
    });

    it('refuses writes and checkpoints with a typed error that names the cause', async () => {
      const replica = await connectTo(standby, APP);
      const insert = await replica
        .table(addresses)
        .insert({ name: 'Zed' })
        .catch((e: unknown) => e);
      expect(insert).toMatchObject({ code: 'invalid_usage', name: 'InvalidUsageError' });
      expect((insert as Error).message).toContain('streaming replica in recovery (write to the primary)');
      const owned = await connectTo(standby);
      await expect(owned.checkpoint()).rejects.toMatchObject({ code: 'invalid_usage' });
    });
  });

  describe('a logical replication subscriber', () => {
    it('holds the same versions, hashes and transaction ids, not chained anew, and verifies', async () => {
      const sub = await connectTo(subscriber);
      const rows = await caughtUp(sub, owner);
      // The erasure reached it too: the forgotten entry's content is gone from every version.
      const erased = rows.filter((r) => r.includes(forgottenId));
      expect(erased.length).toBe(2);
      expect(erased.map((r) => r.split(' ').slice(7).join(' '))).toEqual(['t ', 't ']);
      // The publisher's ids are three epochs above the subscriber's own: no false alarm.
      const report = await sub.verify();
      expect(report).toEqual({ ok: true, checked: rows.length, erased: 2, failures: [] });
      expect(await sub.verify({ against: checkpoint })).toMatchObject({ ok: true, failures: [] });
      expect(await sub.table(addresses).history(adaId)).toEqual(await app.table(addresses).history(adaId));
    });

    it('refuses a change feed and checkpoints, saying why, and every local write', async () => {
      const sub = await connectTo(subscriber);
      const feed = await sub.changes().catch((e: unknown) => e);
      expect(feed).toMatchObject({ code: 'invalid_usage' });
      expect((feed as Error).message).toContain(`subscription "${PUBLICATION}"`);
      await expect(sub.checkpoint()).rejects.toMatchObject({ code: 'invalid_usage' });

      const local = await connectTo(subscriber, APP);
      await expect(local.table(addresses).insert({ name: 'Local' })).rejects.toMatchObject({
        code: 'invalid_state',
      });
      await expect(local.table(addresses).update(adaId, { city: 'Rome' })).rejects.toMatchObject({
        code: 'invalid_state',
      });
      // Raw SQL, even the owner's, is refused the same way.
      const raw = await sub.query(`UPDATE ${SCHEMA}.addresses SET city = 'Rome'`).catch((e: unknown) => e);
      expect(raw).toMatchObject({ code: 'invalid_state' });
      expect((raw as Error).message).toContain("logical replication subscriber's copy");

      // Nothing local got in, and the subscription still applies the publisher's next version.
      const next = await app.table(addresses).update(adaId, { city: 'Lyon' });
      await caughtUp(sub, owner);
      expect(await sub.table(addresses).get(adaId)).toEqual(next);
      expect(await sub.verify()).toMatchObject({ ok: true });
    });

    it('takes an additive migration: the subscriber first, then the publisher', async () => {
      const wider = table('addresses', {
        ...addresses.definition,
        country: c.text(),
      });
      const sub = await connectTo(subscriber);
      await sub.migrate([wider, kitchen], { subscriber: true, appRole: APP });
      await owner.migrate([wider, kitchen], { appRole: APP });
      const v = await app.table(wider).update(adaId, { country: 'France' });
      await caughtUp(sub, owner);
      expect(await sub.table(wider).get(adaId)).toEqual(v);
      expect((await sub.verify({ against: checkpoint })).failures).toEqual([]);
    });
  });
}

const missing = clusterToolsMissing();
if (missing === null) describePostgres('replicas and logical replication', suite);
else {
  console.warn(
    `\n*** replication tests SKIPPED: ${missing}; they make throwaway clusters on ports 5433-5439. ***\n`,
  );
  describe.skip(`replicas and logical replication [postgres] (skipped: ${missing})`, suite);
}
