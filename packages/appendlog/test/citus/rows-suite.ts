import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type Checkpoint,
  column as c,
  checkpointNote,
  connect,
  type Database,
  parseCheckpoint,
  table,
  verifyInclusionProof,
  witnessCheckpoint,
} from '../../src/index.js';
import { rawPublicKeyHex } from '../../src/integrity/checkpoint-format.js';
import { CITUS_WORKER_PORTS, citusUrl } from '../support/citus.js';
import { cliInProcess } from '../support/cli.js';
import { addresses } from '../support/tables.js';
import { TiledLog } from '../support/tlog-tiles-reader.js';
import { counters, dropSchemasAndRole, readmeExample, writersOnOneEntry } from './scenarios.js';

/**
 * docs/scale-out.md, "Row-sharded tables on Citus": a schema migrated with `{ distributed: true }`,
 * whose logs, heads and erasure records Citus distributes by `entry_id`, co-located, over two
 * workers. The scenario suite runs through the coordinator as the least-privilege application
 * role: the README example, real concurrent writers on one entry, the set-based load, raw SQL on
 * the head, erasure, verify (which catches a version changed on a worker), the change feed per
 * writing node (each worker numbers its own transactions), an entry whose shards move to the
 * other worker, an additive migration; checkpoints refuse.
 *
 * Run by citus.test.ts, after the tenant suite, on the same cluster.
 */
const run = randomBytes(4).toString('hex');
const APP = `appendlog_app_${run}`;
const SCHEMA = `sharded_${run}`;
const MIXED = `mixed_${run}`;

export function rowsSuite(): void {
  let admin: pg.Pool;
  let app: Database;
  let owner: Database;
  const open: Database[] = [];
  const handle = async (schema: string, user = 'postgres', max = 2) => {
    const db = await connect({ url: citusUrl('postgres', user), schema, pool: { max } });
    open.push(db);
    return db;
  };
  /** The worker port holding the shard of `entryId` in `rel` (a distributed table). */
  const portOf = async (rel: string, entryId: string) =>
    (
      await admin.query<{ port: number }>(
        `SELECT s.nodeport AS port FROM citus_shards s
          WHERE s.shardid = get_shard_id_for_distribution_column($1, $2::uuid)`,
        [rel, entryId],
      )
    ).rows[0]!.port;

  /** A fresh entry id whose shard is on the worker at `port`. */
  const idOn = async (port: number) => {
    for (;;) {
      const id = crypto.randomUUID();
      if ((await portOf(`${SCHEMA}.addresses_head`, id)) === port) return id;
    }
  };
  /** The Citus node group of each port. */
  const groupsByPort = async () =>
    new Map(
      (
        await admin.query<{ port: number; g: number }>(
          `SELECT nodeport AS port, groupid AS g FROM pg_dist_node`,
        )
      ).rows.map((r) => [r.port, r.g]),
    );

  /** Sets version 1's city in a log shard on a worker, as its superuser with the triggers off. */
  const setCity = async (port: number, shard: string, entryId: string, city: string) => {
    const worker = new pg.Client({ connectionString: citusUrl('postgres', 'postgres', port) });
    await worker.connect();
    try {
      await worker.query(`SET session_replication_role = replica`);
      await worker.query(`UPDATE ${shard} SET city = $2 WHERE entry_id = $1 AND version = 1`, [
        entryId,
        city,
      ]);
    } finally {
      await worker.end();
    }
  };
  const logKey = generateKeyPairSync('ed25519');
  /** The cluster checkpoint the tests took last. */
  let clusterCheckpoints: Checkpoint[] = [];

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: citusUrl(), max: 2 });
    // LOGIN: the coordinator opens its connections to the workers as the session's role.
    await admin.query(`CREATE ROLE ${APP} LOGIN`);
    await admin.query(`CREATE SCHEMA ${SCHEMA}`);
    // No citus.enable_unsafe_triggers here: migrate sets what it needs for its own transaction.
    owner = await handle(SCHEMA);
    await owner.migrate([addresses, counters], { appRole: APP, distributed: true });
    app = await handle(SCHEMA, APP);
  }, 180_000);

  afterAll(async () => {
    for (const db of open) await db.close().catch(() => {});
    if (admin) {
      await dropSchemasAndRole(admin, [SCHEMA, MIXED], APP);
    }
  }, 120_000);

  it('distributes the logs, heads and erasure records by entry_id, co-located, over both workers', async () => {
    const r = await admin.query<{ rel: string; method: string; colocation: number; ports: number[] }>(
      `SELECT p.logicalrelid::text AS rel, p.partmethod::text AS method, p.colocationid AS colocation,
              array_agg(DISTINCT s.nodeport ORDER BY s.nodeport) AS ports
         FROM pg_dist_partition p JOIN citus_shards s ON s.table_name = p.logicalrelid
        WHERE p.logicalrelid::text LIKE $1 AND p.partmethod = 'h'
        GROUP BY 1, 2, 3 ORDER BY 1`,
      [`${SCHEMA}.%`],
    );
    expect(r.rows.map((x) => x.rel)).toEqual(
      ['addresses_head', 'addresses_log', 'appendlog_erasures', 'counters_head', 'counters_log'].map(
        (t) => `${SCHEMA}.${t}`,
      ),
    );
    expect(new Set(r.rows.map((x) => x.colocation)).size).toBe(1);
    for (const x of r.rows) expect(x.ports).toEqual([...CITUS_WORKER_PORTS]);
  });

  it('runs the README example through the library, each entry written on its own worker', async () => {
    const book = app.table(addresses);
    const { v1 } = await readmeExample(book);
    expect(await book.diff(v1.entryId, 1, 2)).toEqual([{ field: 'city', before: 'Asgard', after: 'Oslo' }]);
    expect(await book.revert(v1.entryId, 1, { reason: 'undo' })).toMatchObject({
      version: 5,
      data: { city: 'Asgard' },
    });

    // Entries spread over both workers, and each entry's versions sit with its head.
    const many = await Promise.all(Array.from({ length: 12 }, (_, i) => book.insert({ name: `P${i}` })));
    const ports = new Set<number>();
    for (const v of many) {
      const port = await portOf(`${SCHEMA}.addresses_head`, v.entryId);
      expect(await portOf(`${SCHEMA}.addresses_log`, v.entryId)).toBe(port);
      ports.add(port);
    }
    expect([...ports].sort()).toEqual([...CITUS_WORKER_PORTS]);
    const listed = (await book.list({ limit: 100 })).map((v) => v.entryId);
    for (const v of many) expect(listed).toContain(v.entryId);
    const last = many
      .map((v) => v.recordedAtIso)
      .sort()
      .at(-1)!;
    const then = (await book.listAt(last)).map((v) => v.entryId);
    expect(then).toEqual(expect.arrayContaining([v1.entryId, ...many.map((v) => v.entryId)]));
  });

  it('serialises real concurrent writers on one entry: contiguous versions, one chain', async () => {
    await writersOnOneEntry(app, () => handle(SCHEMA, APP, 1));
  });

  it('loads many entries at once, in the order given, all or nothing', async () => {
    const book = app.table(addresses);
    const rows = Array.from({ length: 300 }, (_, i) => ({
      name: `Load ${i}`,
      ...(i % 3 === 0 ? { city: 'Bergen' } : {}),
    }));
    const loaded = await book.insertMany(rows, { actor: 'import' });
    expect(loaded.map((v) => v.data.name)).toEqual(rows.map((r) => r.name));
    expect(loaded.every((v) => v.version === 1 && v.actor === 'import')).toBe(true);
    expect(loaded[0]!.data.city).toBe('Bergen');
    expect(loaded[1]!.data.city).toBeNull();
    expect(await book.get(loaded[150]!.entryId)).toMatchObject({ data: { name: 'Load 150' } });
    // A duplicate id fails the whole load: nothing of it is written.
    const count = async () =>
      (await owner.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${SCHEMA}.addresses_log`))[0]!.n;
    const before = await count();
    await expect(
      book.insertMany([{ name: 'New' }, { name: 'Again', entryId: loaded[0]!.entryId }]),
    ).rejects.toMatchObject({ code: 'duplicate' });
    expect(await count()).toBe(before);
  });

  it('appends through raw SQL on the head, and the SQL as-of function answers', async () => {
    const book = app.table(addresses);
    const v1 = await book.insert({ name: 'Odin', city: 'Valhalla' });
    // Citus refuses writes through a view: they go to the head, which appends as the view would.
    await expect(
      app.query(`UPDATE ${SCHEMA}.addresses SET city = 'Bergen' WHERE entry_id = $1`, [v1.entryId]),
    ).rejects.toThrow(/cannot modify views/);
    await app.query(`UPDATE ${SCHEMA}.addresses_head SET city = 'Bergen' WHERE entry_id = $1`, [v1.entryId]);
    expect(await book.get(v1.entryId)).toMatchObject({ version: 2, data: { city: 'Bergen' } });
    await app.query(`INSERT INTO ${SCHEMA}.addresses_head (name, city) VALUES ('Frigg', 'Fensalir')`);
    const frigg = await app.query<{ entry_id: string; version: number }>(
      `SELECT entry_id, version FROM ${SCHEMA}.addresses WHERE name = 'Frigg'`,
    );
    expect(frigg).toMatchObject([{ version: 1 }]);
    const asOf = await app.query<{ entry_id: string; city: string }>(
      `SELECT entry_id, city FROM ${SCHEMA}.addresses_as_of($1) WHERE entry_id = $2`,
      [v1.recordedAtIso, v1.entryId],
    );
    expect(asOf).toEqual([{ entry_id: v1.entryId, city: 'Valhalla' }]);
    // The log: the application's role may not write it, and not even its owner may change it.
    await expect(app.query(`UPDATE ${SCHEMA}.addresses_log SET city = 'x'`)).rejects.toMatchObject({
      code: '42501',
    });
    await expect(
      owner.query(`UPDATE ${SCHEMA}.addresses_log SET city = 'x' WHERE entry_id = $1`, [v1.entryId]),
    ).rejects.toMatchObject({ code: 'append_only' });
    await expect(
      owner.query(
        `INSERT INTO ${SCHEMA}.addresses_log (entry_id, version, op, recorded_at, tx_id, content_hash, hash, name)
         SELECT entry_id, 3, 'update', now(), '1'::xid8, hash, hash, 'Forged' FROM ${SCHEMA}.addresses_log WHERE entry_id = $1 AND version = 2`,
        [v1.entryId],
      ),
      // Citus pushes the INSERT … SELECT down to the worker and re-raises the guard's refusal there
      // as an internal error (XX000), with the guard's message.
    ).rejects.toThrow(/INSERT on .*addresses_log_\d+ refused: versions are appended by writing the head/);
  });

  it('erases a forgotten entry from every version on its worker, and verify counts it', async () => {
    const book = app.table(addresses);
    const eve = await book.insert({ name: 'Eve', city: 'Bergen', tel: '555' });
    await book.update(eve.entryId, { city: 'Tromsø' });
    await book.forget(eve.entryId, { reason: 'GDPR request #1', after: '0 seconds' });
    expect(await book.get(eve.entryId)).toBeNull();
    const purged = await owner.purge();
    expect(purged.erased.map((e) => [e.entryId, e.versions])).toEqual([[eve.entryId, 3]]);
    const rows = await owner.query<{ name: string | null; city: string | null; redacted: boolean }>(
      `SELECT name, city, redacted_at IS NOT NULL AS redacted FROM ${SCHEMA}.addresses_log WHERE entry_id = $1`,
      [eve.entryId],
    );
    expect(rows).toEqual(Array.from({ length: 3 }, () => ({ name: null, city: null, redacted: true })));
    const head = await owner.query<{ name: string | null }>(
      `SELECT name FROM ${SCHEMA}.addresses_head WHERE entry_id = $1`,
      [eve.entryId],
    );
    expect(head).toEqual([{ name: null }]);
    expect(await book.erasure(eve.entryId)).toMatchObject({ state: 'erased', versions: 3 });
    expect(await owner.purge()).toMatchObject({ erased: [] });
    expect(await owner.verify()).toMatchObject({ ok: true, erased: 3, failures: [] });
  });

  it('takes a checkpoint per writing node, each extending the last, and verifies the log against them', async () => {
    const book = app.table(addresses);
    const [p1, p2] = CITUS_WORKER_PORTS;
    const groupOf = await groupsByPort();
    const versionsPerNode = async () =>
      (
        await admin.query<{ g: number; n: number }>(
          `SELECT (seq >> 48)::int AS g, count(*)::int AS n
             FROM (SELECT seq FROM ${SCHEMA}.addresses_log UNION ALL SELECT seq FROM ${SCHEMA}.counters_log) x
            GROUP BY 1 ORDER BY 1`,
        )
      ).rows.map((r) => [r.g, r.n]);
    const first = await owner.clusterCheckpoint({
      signKey: logKey.privateKey,
      origin: `example.com/${SCHEMA}`,
    });
    // One tree per worker, each holding exactly the versions that worker wrote; the coordinator wrote none.
    expect(first.map((cp) => [cp.node, cp.treeSize])).toEqual(await versionsPerNode());
    expect(first.map((cp) => cp.node)).toEqual([groupOf.get(p1), groupOf.get(p2)].sort());
    for (const cp of first) {
      expect(cp).toMatchObject({ id: 1, schema: SCHEMA, origin: `example.com/${SCHEMA}/node-${cp.node}` });
    }
    const a = await book.insert({ name: 'Sif', city: 'Asgard' }, { entryId: await idOn(p1) });
    const b = await book.insert({ name: 'Heimdall', city: 'Bifrost' }, { entryId: await idOn(p2) });
    await book.update(a.entryId, { city: 'Vanaheim' });
    const second = await owner.clusterCheckpoint({ signKey: logKey.privateKey });
    expect(second.map((cp) => [cp.node, cp.treeSize])).toEqual(await versionsPerNode());
    expect(
      second.map((cp) => [cp.node, cp.id, cp.treeSize - first.find((f) => f.node === cp.node)!.treeSize]),
    ).toEqual(
      [
        [groupOf.get(p1), 2, 2],
        [groupOf.get(p2), 2, 1],
      ].sort((x, y) => x[0]! - y[0]!),
    );
    // Each is a C2SP note of its own, with a node line; the log verifies against the first set,
    // signatures checked, with a consistency proof per node to its tree now.
    const notes = first.map((cp) => checkpointNote(cp));
    for (const [i, note] of notes.entries()) {
      expect(note).toContain(`\nschema ${SCHEMA}\nnode ${first[i]!.node}\n`);
      expect(parseCheckpoint(note)).toMatchObject({ node: first[i]!.node, root: first[i]!.root });
    }
    const report = await owner.verify({ against: notes, publicKey: logKey.publicKey });
    expect(report).toMatchObject({ ok: true, failures: [] });
    expect(report.consistencies!.map((c) => [c.node, c.ok, c.oldSize, c.newSize])).toEqual(
      first.map((cp, i) => [cp.node, true, cp.treeSize, second[i]!.treeSize]),
    );
    // A version's inclusion proof is in the tree of the node that wrote it.
    const proof = await owner.inclusionProof({ table: 'addresses', entryId: b.entryId, version: 1 });
    expect(proof.checkpoint).toMatchObject({ node: groupOf.get(p2), id: 2 });
    const ofB = second.find((cp) => cp.node === groupOf.get(p2))!;
    expect(verifyInclusionProof(proof, ofB)).toEqual({ ok: true, problem: null });
    // A witness of one node's log cosigns its next checkpoint on a consistency proof.
    const ofA = [first, second].map((set) => set.find((cp) => cp.node === groupOf.get(p1))!);
    const consistency = await owner.consistencyProof(ofA[0]!.treeSize, { node: ofA[0]!.node! });
    expect(consistency.checkpoint).toMatchObject({ node: ofA[1]!.node, id: 2, root: ofA[1]!.root });
    const witnessKey = generateKeyPairSync('ed25519').privateKey;
    const witnessed = witnessCheckpoint(ofA[0]!, consistency.checkpoint, consistency.proof, {
      name: 'witness.example.com/w1',
      signKey: witnessKey,
      logKey: logKey.publicKey,
    });
    expect(witnessed.checkpoint.cosignatures).toHaveLength(1);
    // The schema's one tree does not exist here; a node's checkpoint does not fit another schema.
    await expect(owner.checkpoint()).rejects.toMatchObject({
      code: 'invalid_usage',
      message: expect.stringMatching(/clusterCheckpoint/),
    });
    clusterCheckpoints = second;
  });

  it('verifies every chain, and catches a version changed on a worker', async () => {
    const report = await owner.verify();
    expect(report).toMatchObject({ ok: true, failures: [] });
    // No tx_ids_ahead: the workers' transaction ids are not the coordinator's to compare.
    expect(report.warnings ?? []).toEqual([]);
    const book = app.table(addresses);
    const v = await book.insert({ name: 'Loki', city: 'Jotunheim' });
    await book.update(v.entryId, { city: 'Midgard' });
    // An attacker with the worker's superuser: the shard, with its triggers off.
    const port = await portOf(`${SCHEMA}.addresses_log`, v.entryId);
    const shard = (
      await admin.query<{ shard: string }>(
        `SELECT shard_name($1::regclass, get_shard_id_for_distribution_column($1, $2::uuid)) AS shard`,
        [`${SCHEMA}.addresses_log`, v.entryId],
      )
    ).rows[0]!.shard;
    await setCity(port, shard, v.entryId, 'Asgard');
    const tampered = await owner.verify({ against: clusterCheckpoints });
    expect(tampered.ok).toBe(false);
    expect(tampered.failures).toContainEqual(
      expect.objectContaining({
        table: 'addresses',
        entryId: v.entryId,
        version: 1,
        problem: 'content_hash_mismatch',
      }),
    );
    // Written after the last checkpoints, the version is in none of them: their trees still hold.
    expect(tampered.consistencies!.every((c) => c.ok)).toBe(true);
    await setCity(port, shard, v.entryId, 'Jotunheim');
    expect(await owner.verify()).toMatchObject({ ok: true, failures: [] });
  });

  it("catches a checkpointed version changed on a worker: its node's tree no longer extends the checkpoint", async () => {
    const book = app.table(addresses);
    const [, p2] = CITUS_WORKER_PORTS;
    const groupOf = await groupsByPort();
    const v = await book.insert({ name: 'Baldr', city: 'Breidablik' }, { entryId: await idOn(p2) });
    const before = await owner.clusterCheckpoint();
    const shard = (
      await admin.query<{ shard: string }>(
        `SELECT shard_name($1::regclass, get_shard_id_for_distribution_column($1, $2::uuid)) AS shard`,
        [`${SCHEMA}.addresses_log`, v.entryId],
      )
    ).rows[0]!.shard;
    // Content and hashes rewritten together, so that the chain alone would not tell.
    const worker = new pg.Client({ connectionString: citusUrl('postgres', 'postgres', p2) });
    await worker.connect();
    const [original] = (
      await worker.query<{ hash: Buffer }>(`SELECT hash FROM ${shard} WHERE entry_id = $1 AND version = 1`, [
        v.entryId,
      ])
    ).rows;
    try {
      await worker.query(`SET session_replication_role = replica`);
      await worker.query(`UPDATE ${shard} SET hash = sha256(hash) WHERE entry_id = $1 AND version = 1`, [
        v.entryId,
      ]);
      const report = await owner.verify({ against: before });
      const node = groupOf.get(p2);
      expect(report.consistencies!.map((c) => [c.node, c.ok])).toEqual(
        before.map((cp) => [cp.node, cp.node !== node]),
      );
      expect(report.failures).toContainEqual(
        expect.objectContaining({ table: null, problem: 'checkpoint_inconsistent' }),
      );
      expect(report.failures).toContainEqual(
        expect.objectContaining({
          table: 'addresses',
          entryId: v.entryId,
          version: 1,
          problem: 'checkpoint_changed_version',
          detail: expect.stringContaining(`node group ${node}'s checkpoint`),
        }),
      );
      await expect(owner.clusterCheckpoint()).rejects.toMatchObject({
        code: 'integrity',
        message: expect.stringContaining(`of node group ${node}`),
      });
    } finally {
      await worker.query(`UPDATE ${shard} SET hash = $2 WHERE entry_id = $1 AND version = 1`, [
        v.entryId,
        original!.hash,
      ]);
      await worker.end();
    }
    expect(await owner.verify({ against: before })).toMatchObject({ ok: true, failures: [] });
    clusterCheckpoints = before;
  });

  it('hands out changes per node, gap-free: a transaction open on one worker holds back only that worker', async () => {
    const book = app.table(addresses);
    const groupOf = await groupsByPort();
    // To the end of the feed.
    let cursor: string | null = null;
    for (;;) {
      const r = await app.changes({ since: cursor, limit: 1000 });
      cursor = r.cursor;
      if (r.changes.length === 0) break;
    }
    const [p1, p2] = CITUS_WORKER_PORTS;
    // One library transaction writing on both workers: a change set per worker, each with its node.
    const a = await idOn(p1);
    const b = await idOn(p2);
    await app.transaction(async (tx) => {
      await tx.table(addresses).insert({ name: 'A' }, { entryId: a, actor: 'both' });
      await tx.table(addresses).insert({ name: 'B' }, { entryId: b, actor: 'both' });
    });
    const both = await app.changes({ since: cursor, limit: 1000 });
    expect(both.changes.map((set) => [set.node, set.versions.map((v) => v.entryId), set.actor])).toEqual(
      expect.arrayContaining([
        [groupOf.get(p1), [a], 'both'],
        [groupOf.get(p2), [b], 'both'],
      ]),
    );
    expect(both.changes).toHaveLength(2);
    expect(both.cursor).toMatch(/^\d+:\d+(,\d+:\d+)*$/);
    cursor = both.cursor;

    // A transaction holds a write open on worker 1; a later write on worker 1 commits, and so does one on worker 2.
    const inflight = await handle(SCHEMA, APP, 1);
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let wrote!: () => void;
    const written = new Promise<void>((r) => {
      wrote = r;
    });
    const x = await idOn(p1);
    const late = inflight.transaction(async (tx) => {
      const v = await tx.table(addresses).insert({ name: 'X' }, { entryId: x });
      wrote();
      await held;
      return v;
    });
    await written;
    const y = await book.insert({ name: 'Y' }, { entryId: await idOn(p1) });
    const z = await book.insert({ name: 'Z' }, { entryId: await idOn(p2) });
    const during = await app.changes({ since: cursor, limit: 1000 });
    const ids = (r: typeof during) => r.changes.flatMap((set) => set.versions.map((v) => v.entryId));
    expect(ids(during)).toEqual([z.entryId]);
    release();
    const xv = await late;
    const after = await app.changes({ since: during.cursor, limit: 1000 });
    expect(ids(after).sort()).toEqual([xv.entryId, y.entryId].sort());
    expect(after.changes.every((set) => set.node === groupOf.get(p1))).toBe(true);
    // In the node's own order: the transaction that wrote first comes first.
    expect(ids(after)).toEqual([xv.entryId, y.entryId]);
    expect((await app.changes({ since: after.cursor })).changes).toEqual([]);
    // A cursor of a single-node feed is not one of this feed's.
    await expect(app.changes({ since: '12345' })).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'since',
    });
    await expect(
      app.changes({ since: Array.from({ length: 1025 }, (_, i) => `${i}:1`).join(',') }),
    ).rejects.toMatchObject({ code: 'invalid_input', field: 'since' });
    // A position at or past its node's next transaction id comes from a node ahead of this one.
    await expect(app.changes({ since: `${groupOf.get(p1)}:999999999999` })).rejects.toMatchObject({
      code: 'tx_ids_ahead',
      txId: '999999999999',
    });
    // A node the cluster never had costs one more index range, and finds nothing.
    expect((await app.changes({ since: `${after.cursor},999999999:1` })).changes).toEqual([]);
  });

  it('follows an entry whose shards moved to the other worker: its chain, the feed and verify go on', async () => {
    const book = app.table(addresses);
    const [p1, p2] = CITUS_WORKER_PORTS;
    const groupOf = await groupsByPort();
    const e = await book.insert({ name: 'Mover', city: 'Here' }, { entryId: await idOn(p2) });
    await book.update(e.entryId, { city: 'Still here' });
    let cursor: string | null = null;
    for (;;) {
      const r = await app.changes({ since: cursor, limit: 1000 });
      cursor = r.cursor;
      if (r.changes.length === 0) break;
    }
    const shard = (
      await admin.query<{ shard: string }>(
        `SELECT get_shard_id_for_distribution_column($1, $2::uuid)::text AS shard`,
        [`${SCHEMA}.addresses_head`, e.entryId],
      )
    ).rows[0]!.shard;
    // The head's, the log's and the erasure records' shards of this range move together (co-located).
    await admin.query(
      `SELECT citus_move_shard_placement($1, '127.0.0.1', $2, '127.0.0.1', $3, 'block_writes')`,
      [shard, p2, p1],
    );
    expect(await portOf(`${SCHEMA}.addresses_head`, e.entryId)).toBe(p1);
    expect(await portOf(`${SCHEMA}.addresses_log`, e.entryId)).toBe(p1);
    const v3 = await book.update(e.entryId, { city: 'Moved' });
    const history = await book.history(e.entryId);
    expect(history.map((v) => [v.version, v.data.city])).toEqual([
      [1, 'Here'],
      [2, 'Still here'],
      [3, 'Moved'],
    ]);
    expect(history[2]!.parentHash).toBe(history[1]!.hash);
    // Each version keeps the seq range, and so the transaction ids, of the node that wrote it.
    const nodes = await owner.query<{ g: number }>(
      `SELECT (seq >> 48)::int AS g FROM ${SCHEMA}.addresses_log WHERE entry_id = $1 ORDER BY version`,
      [e.entryId],
    );
    expect(nodes.map((r) => r.g)).toEqual([groupOf.get(p2), groupOf.get(p2), groupOf.get(p1)]);
    const after = await app.changes({ since: cursor, limit: 1000 });
    expect(after.changes.map((set) => [set.node, set.versions.map((v) => [v.entryId, v.version])])).toEqual([
      [groupOf.get(p1), [[e.entryId, 3]]],
    ]);
    expect(v3.txId).toBe(after.changes[0]!.txId);
    // The new version's seq is in the other node's range, below its parent's: not a storage-order fault.
    expect(await owner.table(addresses).verify(e.entryId)).toMatchObject({ ok: true, failures: [] });
    // Its versions stay in the tree of the node that wrote them, wherever their shard is now.
    const moved = await owner.clusterCheckpoint();
    expect(await owner.verify({ against: clusterCheckpoints })).toMatchObject({ ok: true, failures: [] });
    for (const [version, port] of [
      [1, p2],
      [3, p1],
    ] as const) {
      const proof = await owner.inclusionProof({ table: 'addresses', entryId: e.entryId, version });
      expect(proof.checkpoint.node).toBe(groupOf.get(port));
      expect(
        verifyInclusionProof(
          proof,
          moved.find((cp) => cp.node === groupOf.get(port)),
        ),
      ).toMatchObject({
        ok: true,
      });
    }
    clusterCheckpoints = moved;
  });

  it("takes, publishes and checks the nodes' checkpoints from the command line", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'appendlog-cluster-'));
    try {
      const pem = join(dir, 'key.pem');
      writeFileSync(pem, logKey.privateKey.export({ format: 'pem', type: 'pkcs8' }));
      const conn = ['--url', citusUrl(), '--schema', SCHEMA];
      const taken = await cliInProcess(['checkpoint', ...conn, '--out', join(dir, 'cp'), '--sign-key', pem]);
      expect(taken).toMatchObject({ code: 0 });
      const files = readdirSync(dir)
        .filter((f) => f.startsWith('cp.node-'))
        .sort();
      const groups = [...(await groupsByPort()).entries()]
        .filter(([port]) => (CITUS_WORKER_PORTS as readonly number[]).includes(port))
        .map(([, g]) => g)
        .sort();
      expect(files).toEqual(groups.map((g) => `cp.node-${g}`));
      const notes = files.map((f) => readFileSync(join(dir, f), 'utf8'));
      expect(taken.stdout).toContain(`verifier key: example.com/${SCHEMA}/node-${groups[0]}+`);
      const checked = await cliInProcess([
        'verify',
        ...conn,
        ...files.flatMap((f) => ['--against', join(dir, f)]),
        '--public-key',
        rawPublicKeyHex(logKey.privateKey),
      ]);
      expect(checked).toMatchObject({ code: 0 });
      for (const g of groups)
        expect(checked.stdout).toMatch(
          new RegExp(`node group ${g}'s log \\(\\d+ versions\\) is a consistent extension`),
        );
      // A node's tree as static tlog-tiles, which the tiles reader of the suite rebuilds to its root.
      const node = groups[1]!;
      const cp = parseCheckpoint(notes[1]!);
      const tiles = join(dir, 'tiles');
      expect(await cliInProcess(['export', ...conn, '--tiles', tiles, '--node', String(node)])).toMatchObject(
        {
          code: 0,
        },
      );
      const served = new TiledLog(
        (p) => (existsSync(join(tiles, p)) ? readFileSync(join(tiles, p)) : null),
        cp.treeSize,
      );
      expect(served.root().toString('hex')).toBe(cp.root);
      expect(parseCheckpoint(readFileSync(join(tiles, 'checkpoint'), 'utf8'))).toMatchObject({
        node,
        root: cp.root,
      });
      const refused = await cliInProcess(['export', ...conn, '--tiles', join(dir, 'other')]);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/row-sharded/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes an additive migration, and writes after it', async () => {
    const wider = table('addresses', { ...addresses.definition, country: c.text() });
    await owner.migrate([wider, counters], { appRole: APP });
    const book = app.table(wider);
    const v1 = await book.insert({ name: 'Ada', city: 'London' });
    await book.update(v1.entryId, { country: 'UK' });
    expect(await book.diff(v1.entryId, 1, 2)).toEqual([{ field: 'country', before: null, after: 'UK' }]);
    const asOf = await app.query<{ country: string | null }>(
      `SELECT country FROM ${SCHEMA}.addresses_as_of(now()) WHERE entry_id = $1`,
      [v1.entryId],
    );
    expect(asOf).toEqual([{ country: 'UK' }]);
    // A new table of a row-sharded schema must be distributed too.
    const notes = table('notes', { body: c.text() });
    await expect(owner.migrate([notes])).rejects.toMatchObject({
      code: 'invalid_usage',
      message: expect.stringMatching(/row-sharded/),
    });
    await owner.migrate([notes], { distributed: true, appRole: APP });
    const n = await app.table(notes).insert({ body: 'hello' });
    expect(await app.table(notes).get(n.entryId)).toMatchObject({ data: { body: 'hello' } });
    expect(await owner.verify({ against: clusterCheckpoints })).toMatchObject({ ok: true, failures: [] });
  });

  it('refuses to row-shard a schema that holds tables that are not distributed', async () => {
    await admin.query(`CREATE SCHEMA ${MIXED}`);
    const mixed = await handle(MIXED);
    await mixed.migrate([counters]);
    await expect(mixed.migrate([addresses], { distributed: true })).rejects.toMatchObject({
      code: 'invalid_usage',
      message: expect.stringMatching(/not distributed \(counters\)/),
    });
    expect(
      (await admin.query(`SELECT 1 FROM pg_dist_partition WHERE logicalrelid::text LIKE $1`, [`${MIXED}.%`]))
        .rowCount,
    ).toBe(0);
  });
}
