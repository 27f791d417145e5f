import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { column as c, checkCar, type Database, exportCar, table } from '../src/index.js';
import { cliInProcess } from './support/cli.js';
import { describeEngines, describePostgres, openAppRole, rawPool, type TestDb } from './support/engines.js';
import { waitForHorizon } from './support/horizon.js';

/**
 * docs/scale-out.md, "Range-partitioned logs and archives": logs partitioned by range of
 * transaction id (an existing log converted in place), archives that take every version below a
 * checkpoint's horizon out of them, and verification across the boundary: the chains (each
 * entry's last archived version kept), the tree (the checkpoint's leaf index), the change feed,
 * the CAR export of an archive.
 */
const people = table('people', { name: c.text().notNull(), city: c.text() });
const pets = table('pets', { name: c.text().notNull() });

/** Every version in the log of `t`, by entry and version, with the partition holding it. */
const logRows = async (db: Database, t: string) =>
  db.query<{ part: string; entry_id: string; version: number; parent: boolean }>(
    `SELECT tableoid::regclass::text AS part, entry_id::text, version, parent_hash IS NOT NULL AS parent
       FROM "${db.schema}"."${t}_log" ORDER BY entry_id, version`,
  );

describeEngines('range-partitioned logs and archives', (engine) => {
  let t: TestDb;
  let db: Database;
  let dir: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    dir = mkdtempSync(join(tmpdir(), 'appendlog-archive-'));
    await db.migrate([people, pets]);
    const a = await db.table(people).insert({ name: 'Ada', city: 'London' });
    await db.table(people).update(a.entryId, { city: 'Paris' });
    ids.a = a.entryId;
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('partitions an existing log in place: the same rows, seq going on, every write path still guarded', async () => {
    const before = await logRows(db, 'people');
    const [{ seq }] = (await db.query<{ seq: string }>(`SELECT max(seq)::text AS seq FROM people_log`)) as [
      { seq: string },
    ];
    await db.migrate([people, pets], { partitioned: true });
    const kinds = await db.query<{ rel: string; kind: string }>(
      `SELECT relname AS rel, relkind::text AS kind FROM pg_class
        WHERE relnamespace = to_regnamespace($1) AND relname IN ('people_log', 'people_log_p0') ORDER BY 1`,
      [`"${db.schema}"`],
    );
    expect(kinds).toEqual([
      { rel: 'people_log', kind: 'p' },
      { rel: 'people_log_p0', kind: 'r' },
    ]);
    expect((await logRows(db, 'people')).map(({ part, ...r }) => r)).toEqual(
      before.map(({ part, ...r }) => r),
    );
    const b = await db.table(people).insert({ name: 'Bea', city: 'Oslo' });
    ids.b = b.entryId;
    const [next] = await db.query<{ seq: string }>(`SELECT seq::text FROM people_log WHERE entry_id = $1`, [
      b.entryId,
    ]);
    expect(BigInt(next!.seq)).toBeGreaterThan(BigInt(seq));
    expect(await db.verify()).toMatchObject({ ok: true, failures: [] });
    // A statement naming the partition fires the partition's own triggers: they refuse as the log's do.
    for (const sql of [
      `INSERT INTO people_log_p0 (entry_id, version, op, recorded_at, tx_id, salt, content_hash, hash, name)
       SELECT entry_id, version + 10, op, recorded_at, tx_id, salt, content_hash, hash, name FROM people_log_p0 LIMIT 1`,
      `UPDATE people_log_p0 SET city = 'x'`,
      `DELETE FROM people_log_p0`,
      `TRUNCATE people_log_p0`,
    ]) {
      await expect(db.query(sql), sql).rejects.toMatchObject({ code: 'append_only' });
    }
    // A partition's trigger switched off by the owner is reported, as the log's would be.
    await db
      .transaction(async (tx) => {
        await tx.query(`SET LOCAL appendlog.allow_ddl = 'on'`);
        await tx.query(`ALTER TABLE people_log_p0 DISABLE TRIGGER appendlog_refuse_truncate`);
        expect((await tx.verify()).failures).toContainEqual(
          expect.objectContaining({
            table: 'people',
            problem: 'trigger_disabled',
            detail: expect.stringMatching(/people_log_p0/),
          }),
        );
        throw new Error('roll back');
      })
      .catch((e: Error) => expect(e.message).toBe('roll back'));
    // A later migration of these tables keeps them partitioned without saying so again.
    await db.migrate([people, pets]);
    expect(await db.verify()).toMatchObject({ ok: true });
  });

  it("archives what a checkpoint covers: each entry's last archived version stays, and everything verifies across the boundary", async () => {
    const book = db.table(people);
    const x = await db.table(pets).insert({ name: 'Rex' });
    ids.x = x.entryId;
    await waitForHorizon(db, ['people', 'pets']);
    const cp = await db.checkpoint();
    // Written after the checkpoint's horizon: these move to the new live partition.
    await book.update(ids.a!, { city: 'Rome' });
    const cc = await book.insert({ name: 'Cy', city: 'Lima' });
    ids.c = cc.entryId;
    const r = await db.archive();
    expect(r).toMatchObject({
      id: 1,
      checkpointId: cp.id,
      horizon: cp.horizon,
      treeSize: cp.treeSize,
      root: cp.root,
    });
    expect(r.tables).toEqual([
      { table: 'people', archiveTable: 'people_log_archive_1', archived: 3, kept: 2, moved: 2 },
      { table: 'pets', archiveTable: 'pets_log_archive_1', archived: 1, kept: 1, moved: 0 },
    ]);
    // Ada's version 2 is kept at the boundary (with its parent link stored), version 1 left.
    const rows = await logRows(db, 'people');
    expect(rows.filter((row) => row.entry_id === ids.a)).toEqual([
      { part: 'people_log_k1', entry_id: ids.a, version: 2, parent: true },
      { part: 'people_log_p1', entry_id: ids.a, version: 3, parent: false },
    ]);
    expect(rows.find((row) => row.entry_id === ids.c)).toMatchObject({ part: 'people_log_p1', version: 1 });
    const report = await db.verify();
    expect(report).toMatchObject({ ok: true, failures: [] });
    const against = await db.verify({ against: cp });
    expect(against).toMatchObject({ ok: true, consistency: { ok: true, oldSize: cp.treeSize } });
    // The next checkpoint extends the tree whose first leaves only the leaf index holds now.
    await book.update(ids.a!, { city: 'Bern' });
    await waitForHorizon(db, ['people', 'pets']);
    const next = await db.checkpoint();
    expect(next.treeSize).toBe(cp.treeSize + 3);
    expect(await db.verify({ against: next })).toMatchObject({ ok: true, consistency: { ok: true } });
    expect(await db.verify({ against: cp })).toMatchObject({ ok: true, consistency: { ok: true } });
    // Reads start at the kept version; the chain goes on from it.
    expect((await book.history(ids.a!)).map((v) => [v.version, v.data.city])).toEqual([
      [2, 'Paris'],
      [3, 'Rome'],
      [4, 'Bern'],
    ]);
    expect(await book.get(ids.a!)).toMatchObject({ version: 4, data: { city: 'Bern' } });
    expect(await book.verify(ids.a!)).toMatchObject({ ok: true, failures: [] });
    // The archived versions verify on their own, from the archive's CAR export.
    const car = join(dir, `${engine.name}-archive-1.car`);
    const exported = await exportCar(db, car, { archive: 1 });
    expect(exported.versions).toBe(4);
    expect(await checkCar(car)).toMatchObject({ ok: true, versions: 4, failures: [] });
  });

  it('loads many entries at once and erases a forgotten entry in the partitioned log, boundary version included', async () => {
    const book = db.table(people);
    const loaded = await book.insertMany([
      { name: 'Gil', city: 'Quito' },
      { name: 'Hal', city: 'Cork' },
    ]);
    expect(loaded.map((v) => v.version)).toEqual([1, 1]);
    // Ada's version 2 sits in the boundary partition, versions 3 and 4 in the live one.
    await book.forget(ids.a!, { reason: 'GDPR request', after: '0 seconds' });
    const purged = await db.purge();
    expect(purged.erased.map((e) => e.entryId)).toContain(ids.a);
    const left = await db.query<{ part: string; version: number; city: string | null; red: boolean }>(
      `SELECT tableoid::regclass::text AS part, version, city, redacted_at IS NOT NULL AS red
         FROM people_log WHERE entry_id = $1 ORDER BY version`,
      [ids.a],
    );
    expect(left.filter((r) => r.version < 5).every((r) => r.red && r.city === null)).toBe(true);
    expect(left[0]).toMatchObject({ part: 'people_log_k1', version: 2 });
    expect(await db.verify()).toMatchObject({ ok: true, failures: [] });
  });

  it('starts the change feed at the archive, and refuses a cursor that would miss archived versions', async () => {
    const archive = (
      await db.query<{ horizon: string; last: string }>(
        `SELECT horizon::text, body ->> 'lastTxId' AS last FROM appendlog_archives WHERE id = 1`,
      )
    )[0]!;
    const all = await db.changes({ since: null, limit: 1000 });
    expect(all.changes.length).toBeGreaterThan(0);
    for (const set of all.changes) expect(BigInt(set.txId)).toBeGreaterThanOrEqual(BigInt(archive.horizon));
    await expect(db.changes({ since: String(BigInt(archive.last) - 1n) })).rejects.toMatchObject({
      code: 'invalid_state',
      message: expect.stringMatching(/archive 1/),
    });
    // A reader that had seen the last archived version goes on where it was.
    expect((await db.changes({ since: archive.last, limit: 1000 })).changes).toEqual(all.changes);
  });

  it('archives again, drops an exported archive, and refuses what cannot be archived', async () => {
    await expect(db.archive({ checkpointId: 1 })).rejects.toMatchObject({
      code: 'invalid_state',
      message: /already took/,
    });
    await expect(db.archive({ checkpointId: 99 })).rejects.toMatchObject({ code: 'invalid_state' });
    const book = db.table(people);
    await book.update(ids.b!, { city: 'Bergen' });
    await waitForHorizon(db, ['people', 'pets']);
    await db.checkpoint();
    const second = await db.archive();
    expect(second.id).toBe(2);
    expect(await db.verify()).toMatchObject({ ok: true, failures: [] });
    expect(await db.dropArchive(1)).toEqual(['people_log_archive_1', 'pets_log_archive_1']);
    expect(await db.dropArchive(1)).toEqual([]);
    await expect(exportCar(db, join(dir, 'gone.car'), { archive: 1 })).rejects.toMatchObject({
      code: 'invalid_state',
    });
    expect(await db.verify()).toMatchObject({ ok: true, failures: [] });
    // A new table of this schema must be partitioned too, and then takes part in the next archive.
    const notes = table('notes', { body: c.text() });
    await expect(db.migrate([notes])).rejects.toMatchObject({
      code: 'invalid_usage',
      message: /partitioned/,
    });
    await db.migrate([notes], { partitioned: true });
    await db.table(notes).insert({ body: 'hello' });
    await waitForHorizon(db, ['people', 'pets', 'notes']);
    await db.checkpoint();
    expect((await db.archive()).tables.map((x) => x.table)).toEqual(['notes', 'people', 'pets']);
    expect(await db.verify()).toMatchObject({ ok: true, failures: [] });
  });

  it('refuses to archive logs that are not partitioned, and partitioned logs half a schema', async () => {
    const other = await engine.open();
    try {
      await other.db.migrate([people, pets]);
      await other.db.table(people).insert({ name: 'Dee' });
      await other.db.checkpoint();
      await expect(other.db.archive()).rejects.toMatchObject({
        code: 'invalid_usage',
        message: /not partitioned/,
      });
      await expect(other.db.migrate([people], { partitioned: true })).rejects.toMatchObject({
        code: 'invalid_usage',
        message: /all or none/,
      });
    } finally {
      await other.close();
    }
  });
});

describePostgres('archives: concurrent writers, the application role, tampering', () => {
  it('writers on real connections wait for the split and go on in the new partition, chains whole', async () => {
    const r = await openAppRole('archive_app', [people], 4);
    try {
      const owner = r.t.db;
      await owner.migrate([people], { partitioned: true, appRole: r.role });
      const book = r.app.table(people);
      const entries = await Promise.all([0, 1, 2, 3].map((i) => book.insert({ name: `w${i}`, city: '0' })));
      await waitForHorizon(owner, ['people']);
      await owner.checkpoint();
      let stop = false;
      const writers = entries.map(async (e) => {
        let n = 0;
        while (!stop) await book.update(e.entryId, { city: String(++n) });
        return n;
      });
      await new Promise((done) => setTimeout(done, 150));
      const archived = await owner.archive();
      await new Promise((done) => setTimeout(done, 150));
      stop = true;
      const counts = await Promise.all(writers);
      expect(archived.tables[0]!.kept).toBe(4);
      // Writes went on after the split, into the new live partition.
      const [after] = await owner.query<{ n: number }>(`SELECT count(*)::int AS n FROM people_log_p1`);
      expect(after!.n).toBeGreaterThan(4);
      for (const [i, e] of entries.entries()) {
        const history = await book.history(e.entryId);
        const versions = history.map((v) => v.version);
        // Contiguous from the kept version to the last write, which every writer saw succeed.
        expect(versions).toEqual(Array.from({ length: versions.length }, (_, k) => versions[0]! + k));
        expect(history.at(-1)).toMatchObject({ version: counts[i]! + 1, data: { city: String(counts[i]) } });
      }
      expect(await owner.verify()).toMatchObject({ ok: true, failures: [] });
      // The application's role reads and writes across the boundary, but cannot archive or drop.
      for (const attempt of [
        () => r.app.archive(),
        () => r.app.dropArchive(1),
        () => r.app.query(`DROP TABLE people_log_archive_1`),
        () => r.app.query(`ALTER TABLE people_log DETACH PARTITION people_log_p1`),
      ]) {
        await expect(attempt()).rejects.toMatchObject({ code: '42501' });
      }
      await expect(
        r.app.query(
          `INSERT INTO people_log_k1 (entry_id, version, op, recorded_at, tx_id, salt, content_hash, hash, name)
           SELECT entry_id, version + 10, op, recorded_at, tx_id, salt, content_hash, hash, name FROM people_log_k1 LIMIT 1`,
        ),
      ).rejects.toMatchObject({ code: '42501' });
    } finally {
      await r.close();
    }
  });

  it('catches a kept version changed on the server, content or hash, and a leaf index that no longer matches', async () => {
    const r = await openAppRole('archive_tamper', [people], 2);
    const admin = rawPool(1);
    try {
      const owner = r.t.db;
      const s = `"${r.t.schema}"`;
      await owner.migrate([people], { partitioned: true });
      const book = owner.table(people);
      const e = await book.insert({ name: 'Eve', city: 'One' });
      await book.update(e.entryId, { city: 'Two' });
      await waitForHorizon(owner, ['people']);
      await owner.checkpoint();
      await owner.archive();
      await book.update(e.entryId, { city: 'Three' });
      const asSuperuser = async (sql: string) => {
        const client = await admin.connect();
        try {
          await client.query(`SET session_replication_role = replica`);
          await client.query(sql);
        } finally {
          await client.query(`RESET session_replication_role`);
          client.release();
        }
      };
      await asSuperuser(`UPDATE ${s}.people_log_k1 SET city = 'Forged' WHERE entry_id = '${e.entryId}'`);
      expect((await owner.verify()).failures).toContainEqual(
        expect.objectContaining({ entryId: e.entryId, version: 2, problem: 'content_hash_mismatch' }),
      );
      await asSuperuser(`UPDATE ${s}.people_log_k1 SET city = 'Two' WHERE entry_id = '${e.entryId}'`);
      expect(await owner.verify()).toMatchObject({ ok: true });
      // A kept version rewritten whole (its hash too) no longer is the one the checkpoint holds.
      await asSuperuser(`UPDATE ${s}.people_log_k1 SET hash = sha256(hash) WHERE entry_id = '${e.entryId}'`);
      const forged = await owner.verify();
      expect(forged.failures).toContainEqual(
        expect.objectContaining({ entryId: e.entryId, version: 2, problem: 'archive_boundary' }),
      );
      // The leaf index that stands for the archived versions, altered: it no longer has the root.
      await asSuperuser(
        `UPDATE ${s}.people_log_k1 SET hash = (SELECT l.hash FROM ${s}.people_log_archive_1 l WHERE l.entry_id = '${e.entryId}' AND l.version = 2)`,
      );
      await asSuperuser(
        `UPDATE ${s}.appendlog_checkpoint_leaves SET leaves = set_byte(leaves, length(leaves) - 1, (get_byte(leaves, length(leaves) - 1) + 1) % 256) WHERE first_leaf = 0`,
      );
      expect((await owner.verify()).failures).toContainEqual(
        expect.objectContaining({ table: null, problem: 'archive_boundary' }),
      );
    } finally {
      await admin.end();
      await r.close();
    }
  });
});

describePostgres('appendlog archive (the command line)', () => {
  it('archives, exports to a CAR file it checks, then drops the archive tables', async () => {
    const r = await openAppRole('archive_cli', [people], 1);
    const dir = mkdtempSync(join(tmpdir(), 'appendlog-archive-cli-'));
    try {
      const owner = r.t.db;
      const conn = ['--url', process.env.DATABASE_URL!, '--schema', r.t.schema];
      await owner.migrate([people], { partitioned: true });
      const book = owner.table(people);
      const e = await book.insert({ name: 'Fay', city: 'A' });
      await book.update(e.entryId, { city: 'B' });
      await waitForHorizon(owner, ['people']);
      await owner.checkpoint();
      const car = join(dir, 'archive.car');
      const run = await cliInProcess(['archive', ...conn, '--car', car]);
      expect(run).toMatchObject({ code: 0 });
      expect(run.stdout).toContain('archive 1:');
      expect(run.stdout).toContain(`exported to ${car}`);
      expect(await checkCar(car)).toMatchObject({ ok: true, versions: 2 });
      const [gone] = await owner.query<{ ok: boolean }>(
        `SELECT to_regclass('people_log_archive_1') IS NULL AS ok`,
      );
      expect(gone?.ok).toBe(true);
      const check = await cliInProcess(['verify', ...conn]);
      expect(check).toMatchObject({ code: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await r.close();
    }
  });
});
