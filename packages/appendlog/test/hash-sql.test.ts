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

  it('for every version written through the library, the view and a raw log insert', async () => {
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
    await db.query(`INSERT INTO kitchen_log (op, label, born) VALUES ('insert', 'raw', DATE '9999-12-31')`);

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
    expect(rows.length).toBe(7);
    for (const r of rows) {
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
        parentHash: r.parent_hash === null ? null : Buffer.from(r.parent_hash!, 'hex'),
        contentHash: ch,
      });
      expect(h.toString('hex')).toBe(r.hash);
    }
  });
});
