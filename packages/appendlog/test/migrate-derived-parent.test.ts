import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database, Version } from '../src/index.js';
import { canonicalContentSql, versionHashSql } from '../src/sql/canonical.js';
import { TABLE_CODE_REVISION } from '../src/sql/table-ddl.js';
import { parentHashSql } from '../src/sql/version-fields.js';
import { describeEngines, type TestDb } from './support/engines.js';
import { installRevision } from './support/fixture-revision.js';
import { headFromLog } from './support/head-from-log.js';
import { waitForHorizon } from './support/horizon.js';
import { addresses } from './support/tables.js';
import { verifyChain } from './support/verify-chain.js';

// Revision 9 leaves the log's parent_hash null: it is always the previous version's hash
// (docs/spec.md §10.2). A database made by revision 8 holds it in every version after the first;
// after the upgrade one entry's chain holds both kinds, and every reader must give the same
// parent hashes and the same verdicts as before.
const columns = addresses.columns.map((c) => ({ sqlName: c.sqlName, type: c.type, notNull: c.notNull }));

/** The catalog and `addresses` as revision 8 left them, with one entry at version 2: its id. */
async function installRevision8(db: Database, schema: string): Promise<string> {
  await installRevision(db, schema, 8);
  const [a] = await db.query<{ entry_id: string }>(
    `INSERT INTO addresses (name, city) VALUES ('Thor', 'Asgard') RETURNING entry_id::text`,
  );
  await db.query(`UPDATE addresses SET city = 'Midgard' WHERE entry_id = $1`, [a!.entry_id]);
  return a!.entry_id;
}

describeEngines('the derived parent hash: upgrade from code revision 8', (engine) => {
  let t: TestDb;
  let db: Database;
  let id = '';
  const stored = async () =>
    (
      await db.query<{ version: number; stored: boolean }>(
        `SELECT version, parent_hash IS NOT NULL AS stored FROM addresses_log WHERE entry_id = $1 ORDER BY version`,
        [id],
      )
    ).map((r) => [r.version, r.stored]);

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    id = await installRevision8(db, t.schema);
  });
  afterAll(() => t.close());

  it('revision 8 stored the parent hash of every version after the first', async () => {
    expect(await stored()).toEqual([
      [1, false],
      [2, true],
    ]);
  });

  it('after the upgrade new versions leave it null, and every read still gives the parent', async () => {
    const result = await db.migrate([addresses]);
    expect(result.changes.map((c) => c.summary)).toEqual([
      `regenerate the table's code (revision 8 to ${TABLE_CODE_REVISION})`,
    ]);
    expect(TABLE_CODE_REVISION).toBe(10);
    const book = db.table(addresses);
    const v3 = await book.update(id, { city: 'Oslo' }, { reason: 'moved' });
    await db.query(`UPDATE addresses SET city = 'Bergen' WHERE entry_id = $1`, [id]); // version 4
    const v5 = await book.delete(id, { reason: 'duplicate' });
    expect(await stored()).toEqual([
      [1, false],
      [2, true],
      [3, false],
      [4, false],
      [5, false],
    ]);

    const history = await book.history(id);
    expect(history.map((v) => v.version)).toEqual([1, 2, 3, 4, 5]);
    history.forEach((v: Version<unknown>, i) => {
      expect(v.parentHash).toBe(i === 0 ? null : history[i - 1]!.hash);
    });
    expect(v3.parentHash).toBe(history[1]!.hash);
    expect(v5.parentHash).toBe(history[3]!.hash);
    expect((await book.at(id, { version: 4 }))!.parentHash).toBe(history[2]!.hash);
    const asOf = await book.listAt(history[3]!.recordedAtIso);
    expect(asOf.map((v) => [v.version, v.parentHash])).toEqual([[4, history[2]!.hash]]);
    expect((await book.deleted()).map((v) => v.parentHash)).toEqual([history[3]!.hash]);
    await waitForHorizon(db, ['addresses'], 30_000);
    const { changes } = await db.changes();
    const fed = changes.flatMap((c) => c.versions).filter((v) => v.entryId === id);
    expect(fed.map((v) => v.parentHash)).toEqual(history.map((v) => v.parentHash));

    expect(await db.verify()).toMatchObject({ ok: true, checked: 5, failures: [] });
    // The test suite's own small verifier, which trusts nothing the database computed, agrees.
    expect(await verifyChain(db, 'addresses')).toEqual({ checked: 5, erased: 0, failures: [] });
  });

  it('a version rewritten with its own hashes recomputed is caught at its child, which hashed the old one', async () => {
    await db.transaction(async (tx) => {
      await tx.query('SET LOCAL session_replication_role = replica');
      await tx.query(`UPDATE addresses_log SET city = 'Rewritten' WHERE entry_id = $1 AND version = 3`, [id]);
      await tx.query(
        `UPDATE addresses_log x SET content_hash = pg_catalog.sha256(x.salt || ${canonicalContentSql(t.schema, 'x', columns)})
          WHERE x.entry_id = $1 AND x.version = 3`,
        [id],
      );
      await tx.query(
        `UPDATE addresses_log x SET hash = ${versionHashSql(t.schema, 'addresses', 'x', { parentHash: parentHashSql('x', 'addresses_log') })}
          WHERE x.entry_id = $1 AND x.version = 3`,
        [id],
      );
      await tx.query('SET LOCAL session_replication_role = origin');
    });
    const report = await db.verify();
    expect(report.ok).toBe(false);
    expect(report.failures.map((f) => [f.version, f.problem])).toEqual([[4, 'hash_mismatch']]);
    expect((await verifyChain(db, 'addresses')).failures).toEqual([`addresses ${id} v4: hash mismatch`]);
  });

  it('a rewrite carried on to the head verifies again, as with stored parents: only a checkpoint can tell', async () => {
    await db.transaction(async (tx) => {
      await tx.query('SET LOCAL session_replication_role = replica');
      for (const version of [4, 5]) {
        await tx.query(
          `UPDATE addresses_log x SET hash = ${versionHashSql(t.schema, 'addresses', 'x', { parentHash: parentHashSql('x', 'addresses_log') })}
            WHERE x.entry_id = $1 AND x.version = $2`,
          [id, version],
        );
      }
      await headFromLog(tx, t.schema, 'addresses', columns, id);
      await tx.query('SET LOCAL session_replication_role = origin');
    });
    expect(await db.verify()).toMatchObject({ ok: true, failures: [] });
  });
});
