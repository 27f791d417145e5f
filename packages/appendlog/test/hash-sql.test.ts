import { afterAll, beforeAll, expect, it } from 'vitest';
import { canonicalContent, canonicalText, contentHash, versionHash } from '../src/hash/spec.js';
import type { Database } from '../src/index.js';
import { describeEngines, type TestDb } from './support/engines.js';
import { kitchen } from './support/tables.js';

// The chain trigger computes hashes in SQL; the TypeScript spec implementation recomputes them
// from column values. However the SQL is generated (it is tuned for speed), the two must agree
// byte for byte on every version, whatever the path that wrote it.
describeEngines('hashes computed in SQL match the spec implementation', (engine) => {
  let t: TestDb;
  let db: Database;

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    await db.migrate([kitchen]);
  });
  afterAll(() => t.close());

  it('for every version written through the library, the view and raw writes of the head', async () => {
    const k = db.table(kitchen);
    const a = await k.insert(
      {
        label: 'Ærøskøbing “quoted” 🚀',
        count: -42,
        big: '9223372036854775807',
        price: '12.50',
        active: true,
        born: '0001-01-01',
        seenAt: '2026-01-02T03:04:05.123456+02:00',
        doc: { tags: ['a', 'ü'], n: 1.5 },
        ref: '2b7f7f2e-5d7e-4a43-9d1e-0d0c1e2f3a4b',
      },
      { actor: 'alice', meta: { ip: '10.0.0.1', nested: { z: 1, a: [true, null] } } },
    );
    await k.update(a.entryId, { count: null, price: '0.000', doc: null }, { reason: 'tidy', actor: 'bob' });
    await k.delete(a.entryId, { reason: 'gone' });
    await k.restore(a.entryId, { actor: 'carol' });
    await k.insert({ label: '' });
    await db.query(`UPDATE kitchen SET label = 'via view', active = false WHERE entry_id = $1`, [a.entryId]);
    const [raw] = await db.query<{ entry_id: string }>(
      `INSERT INTO kitchen_head (label, born) VALUES ('raw', DATE '9999-12-31') RETURNING entry_id`,
    );
    // An update that gives its own reason and meta, the rest from the settings; then one that declares.
    await db.transaction(async (tx) => {
      await tx.query(`SET LOCAL appendlog.actor = 'dba'`);
      await tx.query(
        `UPDATE kitchen_head SET seen_at = '9999-12-31 23:59:59.999999+00', big = -9223372036854775808,
                reason = 'raw head', meta = '{"b": [1, "2"], "a": {}}' WHERE entry_id = $1`,
        [raw!.entry_id],
      );
    });
    await db.query(
      `UPDATE kitchen_head SET tx_id = NULL, version = 3, op = 'delete', actor = NULL, reason = 'raw delete', meta = NULL
        WHERE entry_id = $1`,
      [raw!.entry_id],
    );

    const cols = kitchen.columns;
    const rows = await db.transaction(async (tx) => {
      await tx.query(`SET LOCAL TimeZone = 'UTC'`);
      await tx.query(`SET LOCAL DateStyle = 'ISO'`);
      return tx.query<Record<string, string | null>>(
        `SELECT entry_id::text AS entry_id, version::text AS version, op, recorded_at::text AS recorded_at,
                tx_id::text AS tx_id, actor, reason, meta::text AS meta, encode(salt, 'hex') AS salt,
                encode(content_hash, 'hex') AS content_hash, encode(parent_hash, 'hex') AS parent_hash,
                encode(hash, 'hex') AS hash, ${cols.map((c) => `${c.sqlName}::text AS ${c.sqlName}`).join(', ')}
           FROM kitchen_log ORDER BY seq`,
      );
    });
    expect(rows.length).toBe(9);
    expect(rows.at(-2)).toMatchObject({
      op: 'update',
      actor: 'dba',
      reason: 'raw head',
      meta: '{"a": {}, "b": [1, "2"]}',
    });
    expect(rows.at(-1)).toMatchObject({ op: 'delete', actor: null, reason: 'raw delete' });
    // Since table code revision 9 the log leaves the parent hash null: it is the previous version's.
    const latest = new Map<string, string>();
    for (const r of rows) {
      expect(r.parent_hash).toBeNull();
      const parent = Number(r.version) === 1 ? null : latest.get(r.entry_id!)!;
      latest.set(r.entry_id!, r.hash!);
      const content = canonicalContent(
        cols.map(
          (c) => [c.sqlName, r[c.sqlName] === null ? null : canonicalText(c.type, r[c.sqlName]!)] as const,
        ),
      );
      const ch = contentHash(Buffer.from(r.salt!, 'hex'), content);
      expect(ch.toString('hex')).toBe(r.content_hash);
      const h = versionHash({
        table: 'kitchen',
        entryId: r.entry_id!,
        version: Number(r.version),
        op: r.op!,
        recordedAt: canonicalText('timestamptz', r.recorded_at!),
        txId: r.tx_id!,
        actor: r.actor ?? null,
        reason: r.reason ?? null,
        meta: r.meta ?? null,
        parentHash: parent === null ? null : Buffer.from(parent, 'hex'),
        contentHash: ch,
      });
      expect(h.toString('hex')).toBe(r.hash);
    }
    // Each head holds its entry's latest version, hash included.
    const heads = await db.query<{ entry_id: string; version: number; hash: string }>(
      `SELECT entry_id::text, version, encode(hash, 'hex') AS hash FROM kitchen_head`,
    );
    expect(heads.length).toBe(3);
    for (const head of heads) {
      const latest = rows.filter((r) => r.entry_id === head.entry_id).at(-1)!;
      expect([head.version, head.hash]).toEqual([Number(latest.version), latest.hash]);
    }
  });
});
