import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Database } from '../src/index.js';
import { parseCheckpoint } from '../src/integrity/checkpoint-parse.js';
import { type InclusionProof, verifyInclusionProof } from '../src/integrity/inclusion.js';
import { describeEngines, type TestDb } from './support/engines.js';
import { waitForHorizon } from './support/horizon.js';
import { freshPGlite } from './support/pglite-snapshot.js';
import { addresses, kitchen } from './support/tables.js';

/** Session settings that would change a naive text rendering of every type. */
const HOSTILE = [
  `SET LOCAL TimeZone = 'Pacific/Chatham'`,
  `SET LOCAL DateStyle = 'SQL, DMY'`,
  `SET LOCAL extra_float_digits = -15`,
  `SET LOCAL IntervalStyle = 'iso_8601'`,
  `SET LOCAL bytea_output = 'escape'`,
];

describeEngines('verify', (engine) => {
  let t: TestDb;
  let db: Database;
  let versions = 0;

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    await db.migrate([addresses, kitchen]);
    const book = db.table(addresses);
    const k = db.table(kitchen);
    for (let i = 0; i < 5; i++) {
      const v = await book.insert(
        { name: `n${i}`, city: 'Oslo' },
        { actor: 'alice', meta: { i, ip: '10.0.0.1' } },
      );
      await book.update(v.entryId, { tel: `+47 ${i}` }, { reason: 'called' });
      versions += 2;
      if (i % 2 === 0) {
        await book.delete(v.entryId, { reason: 'gone' });
        await book.restore(v.entryId);
        versions += 2;
      }
    }
    await k.insert({
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
    await k.insert({ label: '' });
    versions += 2;
  });
  afterAll(() => t.close());

  it('checks every version of intact data and finds nothing', async () => {
    const r = await db.verify();
    expect(r).toEqual({ ok: true, checked: versions, erased: 0, failures: [] });
  });

  it('table.verify checks one table or one entry', async () => {
    const book = db.table(addresses);
    const [first] = await book.list({ limit: 1 });
    const all = await book.verify();
    expect(all.ok).toBe(true);
    expect(all.checked).toBe(versions - 2);
    const one = await book.verify(first!.entryId);
    expect(one).toEqual({ ok: true, checked: first!.version, erased: 0, failures: [] });
    expect(await db.verify({ tables: ['kitchen'] })).toMatchObject({ ok: true, checked: 2 });
    await expect(db.verify({ tables: ['nope'] })).rejects.toMatchObject({ code: 'invalid_input' });
  });

  it('accepts rows written under hostile TimeZone/DateStyle/extra_float_digits/search_path, raw SQL and library', async () => {
    await db.transaction(async (tx) => {
      for (const s of HOSTILE) await tx.query(s);
      await tx.query(`SELECT pg_catalog.set_config('search_path', 'pg_catalog', true)`);
      const view = `"${db.schema}"."kitchen"`;
      await tx.query(
        `INSERT INTO ${view} (label, count, big, price, active, born, seen_at, doc, ref)
         VALUES ('raw ✓', 7, 42, 0.000001230, true, '31/12/1999', '1999-12-31 23:59:59.999999', '{"b": 1, "a": [1.0, 2]}', gen_random_uuid())`,
      );
      await tx.query(
        `UPDATE ${view} SET seen_at = '2000-02-29 12:00:00.5', price = 1e3 WHERE label = 'raw ✓'`,
      );
      const lib = await tx
        .table(kitchen)
        .insert({ label: 'lib', seenAt: new Date('2020-01-01T00:00:00.000Z'), born: '2024-02-29' });
      await tx.table(kitchen).update(lib.entryId, {
        seenAt: '2021-06-30T23:59:59.5-02:30',
        price: '0.10',
        doc: { tags: ['ü'], n: 1.5 },
      });
    });
    versions += 4;
    const r = await db.verify();
    expect(r.failures).toEqual([]);
    expect(r.checked).toBe(versions);
  });

  it('verifies the same under hostile settings of the reading session', async () => {
    const r = await db.transaction(async (tx) => {
      for (const s of HOSTILE) await tx.query(s);
      return tx.verify();
    });
    expect(r).toMatchObject({ ok: true, checked: versions });
  });

  it('checkpoints: a later log extends an earlier checkpoint; inclusion proofs verify offline', async () => {
    const settle = () => waitForHorizon(db, ['addresses', 'kitchen']);
    await settle();
    const cp1 = await db.checkpoint();
    expect(cp1).toMatchObject({ spec: 'appendlog/v1', schema: db.schema, treeSize: versions });
    expect(parseCheckpoint(JSON.stringify(cp1))).toEqual(cp1);
    const book = db.table(addresses);
    const v = await book.insert({ name: 'late' });
    await book.update(v.entryId, { city: 'Bergen' });
    versions += 2;
    await settle();
    const r = await db.verify({ against: cp1 });
    expect(r.failures).toEqual([]);
    expect(r.consistency).toMatchObject({
      ok: true,
      oldSize: cp1.treeSize,
      oldRoot: cp1.root,
      newSize: versions,
    });
    const cp2 = await db.checkpoint();
    expect(cp2).toMatchObject({ id: cp1.id + 1, treeSize: versions });
    expect(r.consistency!.newRoot).toBe(cp2.root);
    expect((await db.verify({ against: cp2 })).consistency).toMatchObject({
      ok: true,
      oldSize: versions,
      newSize: versions,
      proof: [],
    });

    const proof = await db.inclusionProof({ table: 'addresses', entryId: v.entryId, version: 2 });
    expect(proof).toMatchObject({
      checkpoint: { id: cp2.id, treeSize: versions, root: cp2.root },
      version: 2,
    });
    expect(verifyInclusionProof(proof, cp2)).toEqual({ ok: true, problem: null });
    const older = await db.inclusionProof(
      { table: 'addresses', entryId: v.entryId, version: 1 },
      { checkpointId: cp2.id },
    );
    expect(verifyInclusionProof(older)).toEqual({ ok: true, problem: null });
    await expect(
      db.inclusionProof({ table: 'addresses', entryId: v.entryId, version: 3 }),
    ).rejects.toMatchObject({ code: 'not_found' });
    await expect(
      db.inclusionProof({ table: 'addresses', entryId: v.entryId, version: 2 }, { checkpointId: cp1.id }),
    ).rejects.toMatchObject({ code: 'not_found' });

    // Forged proofs are refused.
    const forged: Array<[string, InclusionProof]> = [
      [
        'wrong size',
        { ...proof, checkpoint: { ...proof.checkpoint, treeSize: proof.checkpoint.treeSize + 1 } },
      ],
      ['wrong index', { ...proof, leafIndex: proof.leafIndex === 0 ? 1 : proof.leafIndex - 1 }],
      ['wrong sibling', { ...proof, proof: proof.proof.map((p, i) => (i === 0 ? flip(p) : p)) }],
      ['truncated path', { ...proof, proof: proof.proof.slice(0, -1) }],
      ['extended path', { ...proof, proof: [...proof.proof, proof.proof[0]!] }],
      ['other root', { ...proof, checkpoint: { ...proof.checkpoint, root: flip(proof.checkpoint.root) } }],
      ['altered field', { ...proof, actor: 'mallory' }],
      ['altered hash', { ...proof, hash: flip(proof.hash) }],
    ];
    for (const [what, p] of forged) expect(verifyInclusionProof(p).ok, what).toBe(false);
    expect(verifyInclusionProof(proof, cp1).ok).toBe(false);
  });

  it('signs checkpoints with Ed25519 and refuses altered or foreign ones', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const cp = await db.checkpoint({ signKey: pem });
    expect(cp.signature).toMatchObject({ algorithm: 'ed25519' });
    expect((await db.verify({ against: cp, publicKey })).ok).toBe(true);
    expect((await db.verify({ against: cp, publicKey: cp.signature!.publicKey })).ok).toBe(true);
    const other = generateKeyPairSync('ed25519').publicKey;
    const foreign = await db.verify({ against: cp, publicKey: other });
    expect(foreign.failures.map((f) => f.problem)).toEqual(['checkpoint_invalid']);
    const altered = await db.verify({ against: { ...cp, createdAt: '2020-01-01T00:00:00.000000Z' } });
    expect(altered.failures.map((f) => f.problem)).toEqual(['checkpoint_invalid']);
    const unsigned = { ...cp };
    delete unsigned.signature;
    expect((await db.verify({ against: unsigned, publicKey })).failures.map((f) => f.problem)).toEqual([
      'checkpoint_invalid',
    ]);
    await expect(db.checkpoint({ signKey: 'not a key' })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(db.verify({ against: { ...cp, extra: 1 } as never })).rejects.toMatchObject({
      code: 'invalid_input',
    });
  });

  it('a checkpoint from the future or of a longer log is reported, not trusted', async () => {
    await waitForHorizon(db, ['addresses', 'kitchen']);
    const cp = await db.checkpoint();
    const r = await db.verify({ against: { ...cp, treeSize: cp.treeSize + 5 } });
    expect(r.ok).toBe(false);
    expect(r.failures.map((f) => f.problem)).toContain('checkpoint_truncated');
    const r2 = await db.verify({ against: { ...cp, root: flip(cp.root) } });
    expect(r2.failures.map((f) => f.problem)).toContain('checkpoint_inconsistent');
    expect(r2.failures.map((f) => f.problem)).toContain('checkpoint_index');
  });
});

describeEngines('verify: erased versions', (engine) => {
  let t: TestDb;
  let db: Database;
  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    await db.migrate([addresses]);
  });
  afterAll(() => t.close());

  /**
   * What the purge does to a forgotten entry, done here by hand as a superuser: every version in
   * the log, and the head's copy of the latest one (unless `logOnly`).
   */
  const redact = (entryId: string, opts: { keepSalt?: boolean; logOnly?: boolean } = {}) =>
    db.transaction(async (tx) => {
      await tx.query('SET LOCAL session_replication_role = replica');
      await tx.query(
        `UPDATE "${db.schema}".addresses_log SET redacted_at = now(), name = NULL, city = NULL, tel = NULL
           ${opts.keepSalt ? '' : ', salt = NULL'} WHERE entry_id = $1`,
        [entryId],
      );
      if (opts.logOnly) return;
      await tx.query(
        `UPDATE "${db.schema}".addresses_head SET redacted_at = now(), name = NULL, city = NULL, tel = NULL
          WHERE entry_id = $1`,
        [entryId],
      );
    });

  it('counts redacted versions of a forgotten entry as erased; their hashes still verify', async () => {
    const book = db.table(addresses);
    const v = await book.insert({ name: 'Forget me', tel: '+47 555' });
    await book.update(v.entryId, { city: 'Oslo' });
    // A forget version, through the table's append function (erasure's API is issue 6's).
    await db.query(
      `SELECT 1 FROM "${db.schema}".addresses_append('forget', $1, NULL, NULL, 'GDPR #12', NULL, NULL)`,
      [v.entryId],
    );
    const kept = await book.insert({ name: 'Keep me' });
    expect(await db.verify()).toMatchObject({ ok: true, checked: 4, erased: 0 });
    await redact(v.entryId);
    expect(await db.verify()).toEqual({ ok: true, checked: 4, erased: 3, failures: [] });
    expect(await book.verify(v.entryId)).toMatchObject({ ok: true, checked: 3, erased: 3 });

    // The head keeps a copy of the latest version: redacting the log alone leaves the content
    // there, and verify says so.
    const half = await book.insert({ name: 'Half erased', tel: '+47 556' });
    await book.forget(half.entryId, { reason: 'GDPR #13', after: '0 seconds' });
    await redact(half.entryId, { logOnly: true });
    const mismatch = await db.verify();
    expect(mismatch.failures.map((f) => [f.entryId, f.version, f.problem])).toEqual([
      [half.entryId, 2, 'head_mismatch'],
    ]);
    expect(mismatch.failures[0]!.detail).toContain('redacted_at, name, tel');
    await db.transaction(async (tx) => {
      await tx.query('SET LOCAL session_replication_role = replica');
      await tx.query(
        `UPDATE "${db.schema}".addresses_head h SET redacted_at = l.redacted_at, name = NULL, tel = NULL
           FROM "${db.schema}".addresses_log l WHERE l.seq = h.seq AND h.entry_id = $1`,
        [half.entryId],
      );
    });
    expect(await db.verify()).toEqual({ ok: true, checked: 6, erased: 5, failures: [] });

    // A redaction outside erasure's rules is reported.
    await redact(kept.entryId, { keepSalt: true });
    const r = await db.verify();
    expect(r.failures.map((f) => [f.entryId, f.version, f.problem])).toEqual(
      expect.arrayContaining([
        [kept.entryId, 1, 'redaction_incomplete'],
        [kept.entryId, 1, 'redacted_without_forget'],
      ]),
    );
    expect(r.failures.every((f) => f.entryId === kept.entryId)).toBe(true);
  });
});

describeEngines('verify: reading the log', (engine) => {
  let t: TestDb;
  let db: Database;
  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    await db.migrate([addresses, kitchen]);
  });
  afterAll(() => t.close());

  it('hashes timestamps of any year alike (microseconds past 2^53 are read exactly)', async () => {
    const k = db.table(kitchen);
    for (const seenAt of [
      '0001-01-01T00:00:00.000001Z',
      '1600-02-29T12:00:00.999999Z',
      '1714-12-31T23:59:59.999999Z',
      '2286-01-01T00:00:00.000001Z',
      '9999-12-31T23:59:59.999999Z',
    ])
      await k.insert({ label: seenAt, seenAt });
    expect(await db.verify({ tables: ['kitchen'] })).toEqual({
      ok: true,
      checked: 5,
      erased: 0,
      failures: [],
    });
  });

  it('a progress callback that throws stops verify; the database stays usable', async () => {
    const k = db.table(kitchen);
    // Megabytes of versions, so that the stream is abandoned while the server is still sending.
    await db.query(
      `INSERT INTO "${db.schema}".kitchen (label) SELECT repeat('x', 2000) || i FROM generate_series(1, 3000) i`,
    );
    const stop = new Error('enough');
    await expect(
      db.verify({
        tables: ['kitchen'],
        pageSize: 5,
        onProgress: () => {
          throw stop;
        },
      }),
    ).rejects.toBe(stop);
    // On PostgreSQL the connection was left inside its COPY: it is closed, not reused. Twelve
    // verifies pass through every connection of the pool (node-postgres's default is ten) and
    // more; PGlite has one connection, where two say as much.
    const rounds = db.kind === 'pglite' ? 2 : 12;
    for (let i = 0; i < rounds; i++) expect(await k.verify()).toMatchObject({ ok: true, checked: 3005 });
    expect((await db.query<{ n: number }>('SELECT 1 AS n'))[0]).toEqual({ n: 1 });
  });

  it('gives the same report in pages of any size, tampered rows on page boundaries included', () =>
    samePagedReport(db));
});

/**
 * Tampers with versions that pages of 1 to 7 rows split, and expects every page size to report
 * what one read of the whole log reports. `db` has the addresses table.
 */
async function samePagedReport(db: Database): Promise<void> {
  const book = db.table(addresses);
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) {
    const v = await book.insert({ name: `p${i}` });
    await book.update(v.entryId, { city: `c${i}` });
    await book.update(v.entryId, { city: `d${i}` });
    ids.push(v.entryId);
  }
  const before = (await db.verify({ tables: ['addresses'] })).checked;
  expect(before).toBeGreaterThanOrEqual(12);
  await db.transaction(async (tx) => {
    await tx.query('SET LOCAL session_replication_role = replica');
    await tx.query(`UPDATE "${db.schema}".addresses_log SET city = 'x' WHERE entry_id = $1 AND version = 2`, [
      ids[1],
    ]);
    await tx.query(`DELETE FROM "${db.schema}".addresses_log WHERE entry_id = $1 AND version = 3`, [ids[2]]);
    await tx.query(`DELETE FROM "${db.schema}".addresses_log WHERE entry_id = $1`, [ids[3]]);
    // The head's copy of an entry whose three versions some page sizes split: the page holding
    // its last version must still see its head.
    await tx.query(`UPDATE "${db.schema}".addresses_head SET tel = 'x' WHERE entry_id = $1`, [ids[0]]);
  });
  const whole = await db.verify({ tables: ['addresses'] });
  const located = (r: typeof whole) => r.failures.map((f) => [f.entryId, f.version, f.problem]).sort();
  expect(located(whole)).toEqual(
    [
      [ids[0], 3, 'head_mismatch'],
      [ids[1], 2, 'content_hash_mismatch'],
      [ids[2], 3, 'version_missing'],
      [ids[3], 1, 'log_missing'],
    ].sort(),
  );
  for (const pageSize of [1, 2, 3, 5, 7]) {
    const paged = await db.verify({ tables: ['addresses'], pageSize });
    expect(located(paged), `pageSize ${pageSize}`).toEqual(located(whole));
    expect(paged.checked).toBe(whole.checked);
    expect(paged.checked).toBe(before - 4);
  }
}

describeEngines('verify: the head against its log', (engine) => {
  it("judges the head's own fields against the log's last version, and a head left behind", async () => {
    const t = await engine.open();
    try {
      const db = t.db;
      await db.migrate([addresses]);
      const book = db.table(addresses);
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const v = await book.insert({ name: `h${i}` });
        await book.update(v.entryId, { city: 'a' });
        await book.update(v.entryId, { city: 'b' });
        ids.push(v.entryId);
      }
      const head = `"${db.schema}".addresses_head`;
      const log = `"${db.schema}".addresses_log`;
      await db.transaction(async (tx) => {
        await tx.query('SET LOCAL session_replication_role = replica');
        // 0: the head holds the last version, with another hash and time.
        await tx.query(
          `UPDATE ${head} SET hash = sha256('x'::bytea), recorded_at = recorded_at + interval '1 second' WHERE entry_id = $1`,
          [ids[0]],
        );
        // 1: the head says version 2, which the log holds; its other fields are version 3's.
        await tx.query(`UPDATE ${head} SET version = 2 WHERE entry_id = $1`, [ids[1]]);
        // 2: the head says version 2, which is gone from the log.
        await tx.query(`DELETE FROM ${log} WHERE entry_id = $1 AND version = 2`, [ids[2]]);
        await tx.query(`UPDATE ${head} SET version = 2 WHERE entry_id = $1`, [ids[2]]);
      });
      const r = await db.verify();
      const found = r.failures.map((f) => [f.entryId, f.version, f.problem, f.detail]);
      expect(found).toHaveLength(4);
      expect(found).toContainEqual([
        ids[0],
        3,
        'head_mismatch',
        expect.stringMatching(/: hash, recorded_at /),
      ]);
      // Version 3's seq, hash and time against the log's version 3: only the number disagrees.
      expect(found).toContainEqual([
        ids[1],
        3,
        'head_mismatch',
        expect.stringMatching(/: version 2 \(log: 3\)$/),
      ]);
      expect(found).toContainEqual([ids[2], 2, 'version_missing', expect.any(String)]);
      expect(found).toContainEqual([
        ids[2],
        3,
        'head_mismatch',
        expect.stringMatching(/: version 2 \(log: 3\)$/),
      ]);
    } finally {
      await t.close();
    }
  });
});

describe('verify on a PGlite without a streaming COPY (an older release)', () => {
  it('reads the log in pages by keyset and gives the same report, tampered rows on page boundaries included', async () => {
    const client = await freshPGlite();
    // The instance as an older PGlite shows itself: no execProtocolRawStream, so its COPY goes to
    // /dev/blob and the verifier pages.
    const older = new Proxy(client, {
      get(target, key) {
        if (key === 'execProtocolRawStream') return undefined;
        const value = Reflect.get(target, key, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const db = await connect({ client: older });
    try {
      await db.migrate([addresses]);
      await db.transaction(async (tx) => expect(tx.copyStreams).toBe(false));
      await samePagedReport(db);
    } finally {
      await db.close();
      await client.close();
    }
  });
});

describeEngines('checkpoint catalog upgrade', (engine) => {
  it('a schema migrated before checkpoints existed gets them on the next migrate', async () => {
    const t = await engine.open();
    try {
      const db = t.db;
      await db.migrate([addresses]);
      await db.table(addresses).insert({ name: 'old' });
      // The catalog as an earlier library version left it: no checkpoint tables (nor archives).
      await db.query(
        `DROP TABLE "${db.schema}".appendlog_archives, "${db.schema}".appendlog_checkpoint_leaves, "${db.schema}".appendlog_checkpoints`,
      );
      await db.query(
        `COMMENT ON TABLE "${db.schema}".appendlog_schema_history IS 'appendlog catalog (older)'`,
      );
      await expect(db.checkpoint()).rejects.toMatchObject({ code: 'invalid_state' });
      expect((await db.verify()).ok).toBe(true);
      await db.migrate([addresses]);
      await waitForHorizon(db, ['addresses']);
      expect(await db.checkpoint()).toMatchObject({ id: 1, treeSize: 1 });
    } finally {
      await t.close();
    }
  });
});

function flip(hex: string): string {
  return (hex[0] === '0' ? '1' : '0') + hex.slice(1);
}
