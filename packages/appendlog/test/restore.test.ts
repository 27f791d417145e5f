import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Checkpoint, connect, type Database } from '../src/index.js';
import { Cluster, clusterToolsMissing, PG_BIN, run, runOk } from './support/clusters.js';

/** The DDL guard's escape hatch for a whole session, as pg_restore and psql take it. */
const ALLOW_DDL = { PGOPTIONS: '-c appendlog.allow_ddl=on' };

import { describePostgres } from './support/engines.js';
import { addresses, kitchen } from './support/tables.js';

/**
 * docs/operations.md, "Restore into another cluster", step by step with the commands it gives:
 * a source cluster whose transaction ids (xid8) are five epochs up, a pg_dump of it, and a second
 * cluster restored without, then with, the epoch step; then data-only loads.
 */
const SCHEMA = 'ledger';
const APP = 'appendlog_app';
const SOURCE_EPOCH = 5n;
const pkg = fileURLToPath(new URL('..', import.meta.url));
const bin = join(pkg, 'dist/cli/main.js');

/** Every version of both logs as stored: position, identity, hash, transaction and time. */
async function logRows(db: Database): Promise<string[]> {
  const rows = await db.query<{ r: string }>(
    `SELECT concat_ws(' ', t, seq, entry_id, version, encode(hash, 'hex'), tx_id, (extract(epoch FROM recorded_at) * 1000000)::bigint) AS r
       FROM (SELECT 'addresses' AS t, seq, entry_id, version, hash, tx_id, recorded_at FROM ${SCHEMA}.addresses_log
             UNION ALL
             SELECT 'kitchen', seq, entry_id, version, hash, tx_id, recorded_at FROM ${SCHEMA}.kitchen_log) x
      ORDER BY t, seq`,
  );
  return rows.map((r) => r.r);
}

async function count(cluster: Cluster, database: string, table: string): Promise<number> {
  return Number(cluster.psql(database, `SELECT count(*) FROM ${SCHEMA}.${table}`).trim());
}

/** Reads change sets after `since` until transaction `until` has been returned; the new cursor and sets. */
async function readUntil(db: Database, since: string | null, until: string) {
  const txIds: string[] = [];
  let cursor = since;
  const deadline = Date.now() + 20_000;
  while (cursor === null || BigInt(cursor) < BigInt(until)) {
    const page = await db.changes({ since: cursor });
    if (page.changes.length === 0) {
      if (Date.now() > deadline) throw new Error(`transaction ${until} never reached the change reader`);
      await new Promise((r) => setTimeout(r, 25));
      continue;
    }
    txIds.push(...page.changes.map((s) => s.txId));
    cursor = page.cursor;
  }
  return { cursor: cursor!, txIds };
}

/** docs/operations.md, where the epoch cannot be set: use up transaction ids until past `xid8`. */
function burn(xid8: string): string {
  return `DO $$ BEGIN WHILE pg_current_xact_id() < '${xid8}'::xid8 LOOP COMMIT; END LOOP; END $$`;
}

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, DATABASE_URL: undefined },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function suite(): void {
  const tag = `${process.pid}`;
  let dir: string;
  let source: Cluster;
  let target: Cluster;
  const handles: Database[] = [];
  let dump: string;
  let dataSql: string;
  let rolesSql: string;
  let cpFile: string;
  let cp1: Checkpoint;
  let cursor: string;
  let sourceRows: string[];
  let targetEpoch: bigint;
  let sourceNext: string;
  let hosted: Cluster | undefined;
  let adaId: string;

  const open = async (cluster: Cluster, database: string, user?: string): Promise<Database> => {
    const db = await connect({ url: cluster.url(database, user), schema: SCHEMA });
    handles.push(db);
    return db;
  };

  beforeAll(async () => {
    if (!existsSync(bin))
      execFileSync('npx', ['tsc', '-p', join(pkg, 'tsconfig.json')], { stdio: 'inherit' });
    dir = mkdtempSync(join(tmpdir(), 'appendlog-restore-'));
    dump = join(dir, 'app.dump');
    dataSql = join(dir, 'data.sql');
    rolesSql = join(dir, 'roles.sql');
    cpFile = join(dir, 'checkpoint.json');

    source = await Cluster.create(`appendlog_src_${tag}`, { epoch: SOURCE_EPOCH });
    source.psql('postgres', `CREATE ROLE ${APP} LOGIN`);
    source.psql('postgres', 'CREATE DATABASE app');
    // Some ten thousand transactions ahead of a new cluster of the same epoch, for the last test.
    source.psql('app', burn(((SOURCE_EPOCH << 32n) + 10_000n).toString()));
    const owner = await open(source, 'app');
    await owner.migrate([addresses, kitchen], { appRole: APP });
    // The application writes as its least-privilege role.
    const app = await open(source, 'app', APP);
    const book = app.table(addresses);
    const a = await book.insert({ name: 'Ada' }, { actor: 'alice' });
    adaId = a.entryId;
    await book.update(a.entryId, { city: 'Oslo' });
    const b = await book.insert({ name: 'Bob' });
    await book.delete(b.entryId, { reason: 'moved away' });
    const last = await app.transaction(async (tx) => {
      const c = await tx.table(addresses).insert({ name: 'Cy' });
      await tx.table(kitchen).insert({
        label: 'Café ☕',
        count: -3,
        big: '-9223372036854775808',
        price: '12.50',
        active: false,
        born: '0001-01-01',
        seenAt: '2026-05-06T07:08:09.123456+05:30',
        doc: { tags: ['a', 'é'], n: 1.5 },
        ref: '6F9619FF-8B86-D011-B42D-00C04FC964FF',
      });
      return tx.table(addresses).update(c.entryId, { tel: '+47 1' });
    });
    expect(BigInt(a.txId) >> 32n).toBe(SOURCE_EPOCH);
    cursor = (await readUntil(owner, null, last.txId)).cursor;
    cp1 = await owner.checkpoint();
    expect(cp1).toMatchObject({ id: 1, treeSize: 7 });
    writeFileSync(cpFile, JSON.stringify(cp1));
    sourceRows = await logRows(owner);

    // docs/operations.md step 1: the dump, the roles, and the epoch the new cluster must start at.
    runOk(`${PG_BIN}/pg_dump`, [...source.connectionArgs, '-Fc', '-f', dump, 'app']);
    runOk(`${PG_BIN}/pg_dump`, [
      ...source.connectionArgs,
      '--data-only',
      `--schema=${SCHEMA}`,
      '-f',
      dataSql,
      'app',
    ]);
    runOk(`${PG_BIN}/pg_dumpall`, [...source.connectionArgs, '--roles-only', '-f', rolesSql]);
    const [next, epoch] = source
      .psql('app', 'SELECT pg_current_xact_id(), div(pg_current_xact_id()::text::numeric, 4294967296) + 1')
      .trim()
      .split('|');
    sourceNext = next!;
    targetEpoch = BigInt(epoch!);
    expect(targetEpoch).toBe(SOURCE_EPOCH + 1n);

    target = await Cluster.create(`appendlog_tgt_${tag}`);
    // The dump's GRANTs name the roles, which live in the cluster, not in the dump.
    runOk(`${PG_BIN}/psql`, [...target.connectionArgs, '-d', 'postgres', '-f', rolesSql]);
  }, 240_000);

  afterAll(async () => {
    await Promise.all(handles.map((h) => h.close().catch(() => {})));
    hosted?.drop();
    target?.drop();
    source?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('without the epoch step, changes and checkpoint refuse with tx_ids_ahead and verify warns', async () => {
    target.psql('postgres', 'CREATE DATABASE plain');
    runOk(`${PG_BIN}/pg_restore`, [...target.connectionArgs, '-d', 'plain', '--exit-on-error', dump]);
    const db = await open(target, 'plain');
    const ahead = { code: 'tx_ids_ahead', table: expect.any(String) };
    // Before: changes({ since }) returned nothing, forever, and changes() hid every restored version.
    await expect(db.changes({ since: cursor })).rejects.toMatchObject(ahead);
    await expect(db.changes()).rejects.toMatchObject(ahead);
    await expect(db.checkpoint()).rejects.toMatchObject(ahead);
    const report = await db.verify();
    expect(report).toMatchObject({ ok: true, checked: 7, failures: [] });
    expect(report.warnings).toEqual([
      {
        table: expect.any(String),
        problem: 'tx_ids_ahead',
        detail: expect.stringContaining('docs/operations.md'),
      },
    ]);
    const url = target.url('plain');
    const v = cli(['verify', '--url', url, '--schema', SCHEMA]);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^intact: 7 versions checked/);
    expect(v.stdout).toMatch(/WARNING (addresses|kitchen): tx_ids_ahead — .*pg_resetwal --epoch/);
    const c = cli(['checkpoint', '--url', url, '--schema', SCHEMA]);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/checkpoint refused: .* \(tx_ids_ahead\)/);
    expect(await logRows(db)).toEqual(sourceRows);
  });

  it('with the epoch step, every guarantee holds: hashes, the source checkpoint, change cursors, new checkpoints', async () => {
    // docs/operations.md step 2, on the stopped cluster; then step 3, the restore.
    target.stop();
    target.resetEpoch(targetEpoch);
    target.start();
    target.psql('postgres', 'CREATE DATABASE app');
    runOk(`${PG_BIN}/pg_restore`, [...target.connectionArgs, '-d', 'app', '--exit-on-error', dump]);
    expect(BigInt(target.psql('app', 'SELECT pg_current_xact_id()').trim()) >> 32n).toBe(targetEpoch);

    const owner = await open(target, 'app');
    await owner.migrate([addresses, kitchen], { appRole: APP });
    expect(await logRows(owner)).toEqual(sourceRows);
    expect(await owner.verify()).toEqual({ ok: true, checked: 7, erased: 0, failures: [] });
    const v = cli(['verify', '--url', target.url('app'), '--schema', SCHEMA, '--against', cpFile]);
    expect(v.stdout).toBe(
      'intact: 7 versions checked (0 erased), no failure\ncheckpoint: the log (7 versions) is a consistent extension of the checkpoint (7 versions)\n',
    );
    expect(v.code).toBe(0);

    // New writes, as the application's role, follow the source's cursor.
    const app = await open(target, 'app', APP);
    const moved = await app.table(addresses).update(adaId, { city: 'Bergen' }, { actor: 'alice' });
    const pan = await app.table(kitchen).insert({ label: 'pan' });
    expect(BigInt(moved.txId)).toBeGreaterThan(BigInt(cursor));
    const after = await readUntil(owner, cursor, pan.txId);
    expect(after.txIds).toEqual([moved.txId, pan.txId]);

    const cp2 = await owner.checkpoint();
    expect(cp2).toMatchObject({ id: 2, treeSize: 9 });
    expect(BigInt(cp2.horizon)).toBeGreaterThan(BigInt(cp1.horizon));
    const against1 = await owner.verify({ against: cp1 });
    expect(against1).toMatchObject({
      ok: true,
      checked: 9,
      consistency: { oldSize: 7, newSize: 9, ok: true },
    });
    expect((await owner.verify({ against: cp2 })).ok).toBe(true);

    // The database restored before the step, never written since, is fine now too.
    const plain = await open(target, 'plain');
    expect((await plain.changes({ since: cursor })).changes).toEqual([]);
    expect(await plain.verify({ against: cp1 })).toMatchObject({ ok: true, consistency: { ok: true } });
    expect((await plain.verify()).warnings).toBeUndefined();
  });

  it('a data-only load through the chain trigger fails loudly and re-hashes nothing', async () => {
    target.psql('postgres', 'CREATE DATABASE data_refused');
    const db = await open(target, 'data_refused');
    await db.migrate([addresses, kitchen], { appRole: APP });
    const refused =
      /appendlog: a new addresses entry gets its version, times, transaction and hashes from appendlog; this row brings its own/;

    const restore = run(`${PG_BIN}/pg_restore`, [
      ...target.connectionArgs,
      '-d',
      'data_refused',
      '--data-only',
      '--single-transaction',
      dump,
    ]);
    expect(restore.code).not.toBe(0);
    expect(restore.stderr).toMatch(refused);
    expect(restore.stderr).toContain('docs/operations.md');
    const psql = run(`${PG_BIN}/psql`, [
      ...target.connectionArgs,
      '-d',
      'data_refused',
      '-v',
      'ON_ERROR_STOP=1',
      '--single-transaction',
      '-f',
      dataSql,
    ]);
    expect(psql.code).toBe(3);
    expect(psql.stderr).toMatch(refused);
    for (const t of ['addresses_log', 'addresses_head', 'kitchen_log', 'kitchen_head'])
      expect(await count(target, 'data_refused', t)).toBe(0);

    // Table by table (no --single-transaction), every table is refused: the heads by the chain
    // trigger, the logs by their INSERT refusal. Nothing goes in, nothing is re-hashed.
    const piecemeal = run(`${PG_BIN}/pg_restore`, [
      ...target.connectionArgs,
      '-d',
      'data_refused',
      '--data-only',
      dump,
    ]);
    expect(piecemeal.code).not.toBe(0);
    expect(piecemeal.stderr).toMatch(refused);
    expect(piecemeal.stderr).toMatch(/versions are appended by writing the head/);
    for (const t of ['addresses_log', 'addresses_head', 'kitchen_log', 'kitchen_head'])
      expect(await count(target, 'data_refused', t)).toBe(0);
    expect(await logRows(db)).toEqual([]);
  });

  it('a data-only load with --disable-triggers into the dump’s own schema keeps every hash and verifies', async () => {
    // DISABLE TRIGGER is DDL on appendlog's tables: the DDL guard (which the dump brought along)
    // lets it through only for a session that opens the escape hatch, as docs/operations.md says.
    const refusedByGuard = run(`${PG_BIN}/pg_restore`, [
      ...target.connectionArgs,
      '-d',
      'data_refused',
      '--data-only',
      '--disable-triggers',
      '--single-transaction',
      dump,
    ]);
    expect(refusedByGuard.code).not.toBe(0);
    expect(refusedByGuard.stderr).toMatch(/ALTER TABLE refused: .* is part of appendlog's log/);
    // Into a schema made by migrate(), the catalog's rows collide with the dump's.
    target.psql('postgres', 'CREATE DATABASE data_migrated');
    await (await open(target, 'data_migrated')).migrate([addresses, kitchen], { appRole: APP });
    const collide = run(
      `${PG_BIN}/pg_restore`,
      [
        ...target.connectionArgs,
        '-d',
        'data_migrated',
        '--data-only',
        '--disable-triggers',
        '--single-transaction',
        dump,
      ],
      ALLOW_DDL,
    );
    expect(collide.code).not.toBe(0);
    expect(collide.stderr).toContain('appendlog_schema_history_pkey');

    target.psql('postgres', 'CREATE DATABASE data_loaded');
    runOk(`${PG_BIN}/pg_restore`, [
      ...target.connectionArgs,
      '-d',
      'data_loaded',
      '--schema-only',
      '--exit-on-error',
      dump,
    ]);
    runOk(
      `${PG_BIN}/pg_restore`,
      [
        ...target.connectionArgs,
        '-d',
        'data_loaded',
        '--data-only',
        '--disable-triggers',
        '--single-transaction',
        dump,
      ],
      ALLOW_DDL,
    );
    const db = await open(target, 'data_loaded');
    expect(await logRows(db)).toEqual(sourceRows);
    expect(await db.verify()).toEqual({ ok: true, checked: 7, erased: 0, failures: [] });
    expect((await db.verify({ against: cp1 })).ok).toBe(true);
    // The identity sequences came with the data: new versions take the next positions.
    const app = await open(target, 'data_loaded', APP);
    const v = await app.table(addresses).insert({ name: 'Dee' });
    await readUntil(db, cursor, v.txId);
    expect(await db.checkpoint()).toMatchObject({ id: 2, treeSize: 8 });
    expect((await db.verify({ against: cp1 })).ok).toBe(true);

    // The same with a plain-format data dump and psql: pg_dump --disable-triggers writes the
    // DISABLE TRIGGER / ENABLE TRIGGER statements around each table's data.
    const dataSqlOff = join(dir, 'data-disable-triggers.sql');
    runOk(`${PG_BIN}/pg_dump`, [
      ...source.connectionArgs,
      '--data-only',
      '--disable-triggers',
      `--schema=${SCHEMA}`,
      '-f',
      dataSqlOff,
      'app',
    ]);
    target.psql('postgres', 'CREATE DATABASE data_psql');
    runOk(`${PG_BIN}/pg_restore`, [
      ...target.connectionArgs,
      '-d',
      'data_psql',
      '--schema-only',
      '--exit-on-error',
      dump,
    ]);
    runOk(
      `${PG_BIN}/psql`,
      [
        ...target.connectionArgs,
        '-d',
        'data_psql',
        '-v',
        'ON_ERROR_STOP=1',
        '--single-transaction',
        '-f',
        dataSqlOff,
      ],
      ALLOW_DDL,
    );
    const viaPsql = await open(target, 'data_psql');
    expect(await logRows(viaPsql)).toEqual(sourceRows);
    expect(await viaPsql.verify({ against: cp1 })).toMatchObject({ ok: true, checked: 7 });
  });

  it('where the epoch cannot be set (hosted), using up transaction ids past the source’s closes a gap within one epoch', async () => {
    // Stands for a hosted cluster in the source's epoch, some thousands of transactions behind it.
    hosted = await Cluster.create(`appendlog_hosted_${tag}`, { epoch: SOURCE_EPOCH });
    runOk(`${PG_BIN}/psql`, [...hosted.connectionArgs, '-d', 'postgres', '-f', rolesSql]);
    hosted.psql('postgres', 'CREATE DATABASE app');
    runOk(`${PG_BIN}/pg_restore`, [...hosted.connectionArgs, '-d', 'app', '--exit-on-error', dump]);
    const owner = await open(hosted, 'app');
    await expect(owner.changes({ since: cursor })).rejects.toMatchObject({ code: 'tx_ids_ahead' });

    hosted.psql('app', burn(sourceNext));
    expect(BigInt(hosted.psql('app', 'SELECT pg_current_xact_id()').trim())).toBeGreaterThan(
      BigInt(sourceNext),
    );
    await owner.migrate([addresses, kitchen], { appRole: APP });
    expect(await owner.verify({ against: cp1 })).toMatchObject({
      ok: true,
      checked: 7,
      consistency: { ok: true },
    });
    const app = await open(hosted, 'app', APP);
    const v = await app.table(addresses).update(adaId, { city: 'Tromsø' });
    expect((await readUntil(owner, cursor, v.txId)).txIds).toEqual([v.txId]);
    expect(await owner.checkpoint()).toMatchObject({ id: 2, treeSize: 8 });
  });
}

const missing = clusterToolsMissing();
if (missing === null) describePostgres('restore into another cluster', suite);
else {
  console.warn(
    `\n*** restore tests SKIPPED: ${missing}; they make throwaway clusters on ports 5433-5439. ***\n`,
  );
  describe.skip(`restore into another cluster [postgres] (skipped: ${missing})`, suite);
}
