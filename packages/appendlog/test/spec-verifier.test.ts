import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Checkpoint, column as c, checkpointNote, connect, type Database, table } from '../src/index.js';
import { versionHashSql } from '../src/sql/canonical.js';
import { tableObjects } from '../src/sql/names.js';
import { engines } from './support/engines.js';
import { headFromLog } from './support/head-from-log.js';
import { waitForHorizon } from './support/horizon.js';
import { freshPGlite } from './support/pglite-snapshot.js';
import { readSignedCheckpoint, type SqlClient, specVerify } from './support/spec-verifier.js';
import { kitchen } from './support/tables.js';

/**
 * docs/spec.md, complete for a reimplementer: a verifier written from the spec text alone
 * (support/spec-verifier.ts) reads databases the library wrote and must agree with db.verify():
 * every hash, every failure, the checkpoint tree.
 */

const stockV1 = table('stock', { sku: c.text().notNull(), qty: c.integer() });
const stockV2 = table('stock', { sku: c.text().notNull(), qty: c.integer(), bin: c.text() });
const addresses = table('addresses', { name: c.text().notNull(), city: c.text() });

describe('the spec verifier is independent', () => {
  it('imports nothing but node:crypto and the other verifiers written from specifications', () => {
    const allowed = new Set(['node:crypto', './c2sp-verifier.js', './spec-verifier-rules.js']);
    for (const file of ['spec-verifier.ts', 'spec-verifier-rules.ts', 'c2sp-verifier.ts']) {
      const source = readFileSync(fileURLToPath(new URL(`./support/${file}`, import.meta.url)), 'utf8');
      const imports = [...source.matchAll(/^import\b[^;]*?'([^']+)';$/gm)].map((m) => m[1]);
      expect(source).not.toMatch(/\bimport\s*\(|\brequire\s*\(/);
      expect(imports.length, file).toBeGreaterThan(0);
      for (const specifier of imports) expect(allowed, `${file} imports ${specifier}`).toContain(specifier);
    }
  });
});

interface Opened {
  db: Database;
  schema: string;
  sql: SqlClient;
  close(): Promise<void>;
}

/** A fresh database with a bare client beside the library's handle on the same data. */
async function openPGlite(): Promise<Opened> {
  const client = await freshPGlite();
  const db = await connect({ client });
  await db.exec(`SET appendlog.ddl_guard = 'off'`);
  return {
    db,
    schema: 'public',
    sql: client,
    async close() {
      await db.close();
      await client.close();
    },
  };
}

async function openPostgres(): Promise<Opened> {
  const url = process.env.DATABASE_URL!;
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const db = await connect({ url, schema });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    db,
    schema,
    sql: client,
    async close() {
      await client.end();
      await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await db.close();
    },
  };
}

const keyOf = (f: {
  table: string | null;
  entryId: string | null;
  version: number | null;
  problem: string;
}) => `${f.table}/${f.entryId}/${f.version}/${f.problem}`;

for (const engine of engines) {
  describe(`spec verifier against the library [${engine.name}]`, () => {
    let o: Opened;
    let db: Database;
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const signKey = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const rawPublic = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
    const ids: Record<string, string> = {};
    let firstCheckpoint: Checkpoint;

    /** Both verifiers now: their failures as sorted keys, and the spec verifier's result. */
    const both = async () => {
      const lib = await db.verify();
      const spec = await specVerify(o.sql, o.schema);
      return {
        lib,
        spec,
        libKeys: lib.failures.map(keyOf).sort(),
        specKeys: spec.failures.map(keyOf).sort(),
      };
    };

    /** A superuser rewrite with the triggers off. */
    const superuser = (fn: (tx: Database) => Promise<void>) =>
      db.transaction(async (tx) => {
        await tx.query('SET LOCAL session_replication_role = replica');
        await fn(tx);
      });

    /** Recomputes the hash of `version` and relinks and rehashes every later version of the entry, then the head. */
    const rehashFrom = async (
      tx: Database,
      t: typeof addresses | typeof kitchen | typeof stockV2,
      entryId: string,
      version: number,
    ) => {
      const log = tableObjects(db.schema, t.name).log;
      const [last] = await tx.query<{ n: number }>(
        `SELECT max(version) AS n FROM ${log} WHERE entry_id = $1`,
        [entryId],
      );
      for (let v = version; v <= last!.n; v++) {
        await tx.query(
          `UPDATE ${log} x SET parent_hash = p.hash FROM ${log} p
            WHERE x.entry_id = $1 AND x.version = $2 AND p.entry_id = x.entry_id AND p.version = x.version - 1`,
          [entryId, v],
        );
        await tx.query(
          `UPDATE ${log} x SET hash = ${versionHashSql(db.schema, t.name, 'x')} WHERE x.entry_id = $1 AND x.version = $2`,
          [entryId, v],
        );
      }
      await headFromLog(tx, db.schema, t.name, t.columns, entryId);
    };

    beforeAll(async () => {
      o = engine.name === 'pglite' ? await openPGlite() : await openPostgres();
      db = o.db;
      await db.migrate([kitchen, addresses, stockV1]);
      const k = db.table(kitchen);
      const full = await k.insert(
        {
          label: 'e\u0301 ☃ "quoted" \\ tab\t',
          count: -42,
          big: '9007199254740993',
          price: '12.50',
          active: false,
          born: '0001-01-01',
          seenAt: '2026-01-02T03:04:05.5+02:00',
          doc: { tags: ['b', 'a', 'é'], n: 2.5 },
          ref: 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
        },
        { actor: 'alice', reason: 'first', meta: { ticket: 7, nested: { z: [1, '2'] } } },
      );
      ids.full = full.entryId;
      await k.update(full.entryId, { price: 'NaN', doc: null, label: '' }, { actor: 'bob' });
      await k.update(full.entryId, { price: 'Infinity', count: 0 });
      await k.update(full.entryId, { price: '-Infinity', seenAt: new Date('9999-12-31T23:59:59.999Z') });
      const sparse = await k.insert({ label: 'nulls elsewhere' });
      ids.sparse = sparse.entryId;
      await k.delete(sparse.entryId, { reason: 'duplicate' });
      await k.restore(sparse.entryId, { reason: 'not a duplicate' });
      await k.delete(sparse.entryId, { reason: 'duplicate after all' });
      // Raw SQL through the view: numeric's special values in PostgreSQL's other spellings.
      await db.query(
        `INSERT INTO "${db.schema}".kitchen (label, price, born) VALUES ('raw sql', '-inf', '2026-02-28')`,
      );
      await db.query(`UPDATE "${db.schema}".kitchen SET price = 'nan', count = 3 WHERE label = 'raw sql'`);
      const [raw] = await db.query<{ entry_id: string }>(
        `SELECT entry_id::text FROM "${db.schema}".kitchen WHERE label = 'raw sql'`,
      );
      ids.raw = raw!.entry_id;
      const many = await k.insertMany(
        Array.from({ length: 30 }, (_, i) => ({ label: `bulk ${i}`, count: i })),
      );
      ids.bulk = many[3]!.entryId;
      await k.update(ids.bulk, { label: 'bulk changed' });

      const book = db.table(addresses);
      const kept = await book.insert({ name: 'Kept', city: 'Oslo' }, { actor: 'carol', reason: 'signup' });
      ids.kept = kept.entryId;
      await book.update(kept.entryId, { city: 'Bergen' }, { reason: 'moved' });
      await book.update(kept.entryId, { city: 'Tromsø' }, { reason: 'moved again' });
      const cancelled = await book.insert({ name: 'Changed their mind' });
      ids.cancelled = cancelled.entryId;
      await book.forget(cancelled.entryId, { reason: 'GDPR request', after: '1 hour' });
      await book.cancelForget(cancelled.entryId, { reason: 'withdrawn' });
      await book.update(cancelled.entryId, { city: 'Bodø' });
      const binned = await book.insert({ name: 'Binned' });
      await book.delete(binned.entryId, { reason: 'bin' });
      await book.forget(binned.entryId, { reason: 'GDPR request', after: '1 hour' });
      await book.cancelForget(binned.entryId, { reason: 'withdrawn' });
      const erased = await book.insert({ name: 'Erase me', city: 'Nowhere' });
      ids.erased = erased.entryId;
      await book.update(erased.entryId, { city: 'Elsewhere' });
      await book.forget(erased.entryId, { reason: 'GDPR request', after: '0 seconds' });
      await db.purge();

      await db.table(stockV1).insert({ sku: 'A-1', qty: 5 });
      await db.migrate([kitchen, addresses, stockV2]);
      const s = await db.table(stockV2).insert({ sku: 'B-2', qty: 1, bin: 'top' });
      ids.stock = s.entryId;
      await db.table(stockV2).update(s.entryId, { bin: null, qty: 2 });
      await db.table(stockV2).update(s.entryId, { qty: 3 });
      await waitForHorizon(db, ['kitchen', 'addresses', 'stock']);
      firstCheckpoint = await db.checkpoint({ signKey });
    }, 120_000);
    afterAll(() => o?.close());

    it('agrees with db.verify on a log with every type, op, erasure and a new column', async () => {
      const { lib, spec, libKeys, specKeys } = await both();
      expect(lib.ok).toBe(true);
      expect(specKeys).toEqual(libKeys);
      expect(spec.ok).toBe(true);
      expect(spec.versions).toBe(lib.checked);
      expect(spec.erased).toBe(lib.erased);
      expect(spec.erased).toBeGreaterThanOrEqual(3);
      expect(spec.tables).toEqual(['addresses', 'kitchen', 'stock']);
      // numeric's special values went in through the API and through SQL, and read back canonical.
      const prices = await db.query<{ price: string }>(
        `SELECT price::text FROM "${db.schema}".kitchen_log WHERE price IS NOT NULL ORDER BY seq`,
      );
      expect(prices.map((p) => p.price)).toEqual(
        expect.arrayContaining(['12.50', 'NaN', 'Infinity', '-Infinity']),
      );
      const k = db.table(kitchen);
      expect((await k.get(ids.raw!))?.data.price).toBe('NaN');
      // What the API reads it writes back: the special values round-trip; JavaScript's NaN is refused.
      const back = await k.update(ids.raw!, { price: (await k.get(ids.full!))!.data.price });
      expect(back.data.price).toBe('-Infinity');
      await expect(k.update(ids.raw!, { price: Number.NaN })).rejects.toMatchObject({
        code: 'invalid_input',
        field: 'price',
      });
      await expect(k.update(ids.raw!, { price: 'nan' })).rejects.toMatchObject({ code: 'invalid_input' });
      expect((await k.get(ids.raw!))?.version).toBe(back.version);
      expect((await specVerify(o.sql, o.schema)).ok).toBe(true);
    });

    it('builds the tree of the signed checkpoint from the spec alone', async () => {
      const note = checkpointNote(firstCheckpoint);
      const cp = readSignedCheckpoint(note, rawPublic);
      expect(cp).toMatchObject({
        schema: db.schema,
        treeSize: firstCheckpoint.treeSize,
        tables: firstCheckpoint.tables,
      });
      const spec = await specVerify(o.sql, o.schema, { horizon: cp.horizon });
      expect(spec.tree.size).toBe(cp.treeSize);
      expect(spec.tree.root.toString('hex')).toBe(cp.root.toString('hex'));
      expect(spec.tables).toEqual(cp.tables);
      expect(() =>
        readSignedCheckpoint(note.replace(/\n\d+\n/, `\n${cp.treeSize + 1}\n`), rawPublic),
      ).toThrow();
    });

    it('finds the same failures as db.verify in a tampered log, row by row', async () => {
      const k = tableObjects(db.schema, 'kitchen');
      const a = tableObjects(db.schema, 'addresses');
      const step = async (expected: string[], tamper: (tx: Database) => Promise<void>) => {
        await superuser(tamper);
        const { libKeys, specKeys } = await both();
        expect(specKeys).toEqual(libKeys);
        for (const key of expected) expect(libKeys).toContain(key);
      };
      // A value changed in the log: its content no longer matches.
      await step([`kitchen/${ids.full}/2/content_hash_mismatch`], (tx) =>
        tx
          .query(`UPDATE ${k.log} SET label = 'forged' WHERE entry_id = $1 AND version = 2`, [ids.full])
          .then(() => {}),
      );
      // A stored hash replaced: that version fails, its child still links to what it should be.
      await step([`addresses/${ids.kept}/1/hash_mismatch`], (tx) =>
        tx
          .query(
            `UPDATE ${a.log} SET hash = pg_catalog.sha256('x'::bytea) WHERE entry_id = $1 AND version = 1`,
            [ids.kept],
          )
          .then(() => {}),
      );
      // The head's copy of the content changed.
      await step([`kitchen/${ids.raw}/3/head_mismatch`], (tx) =>
        tx.query(`UPDATE ${k.head} SET label = 'head only' WHERE entry_id = $1`, [ids.raw]).then(() => {}),
      );
      // A version renumbered: a gap, and a hash that covered the old number.
      await step([`kitchen/${ids.sparse}/2/version_missing`], (tx) =>
        tx
          .query(`UPDATE ${k.log} SET version = 9 WHERE entry_id = $1 AND version = 2`, [ids.sparse])
          .then(() => {}),
      );
      // Rehashed rewrites that only the op rules catch: a cancel without a reason, an update of a deleted entry.
      await step([`addresses/${ids.cancelled}/3/op_sequence`], async (tx) => {
        await tx.query(`UPDATE ${a.log} SET reason = '   ' WHERE entry_id = $1 AND version = 3`, [
          ids.cancelled,
        ]);
        await rehashFrom(tx, addresses, ids.cancelled!, 3);
      });
      await step([`kitchen/${ids.full}/4/op_sequence`], async (tx) => {
        await tx.query(`UPDATE ${k.log} SET op = 'restore' WHERE entry_id = $1 AND version = 4`, [ids.full]);
        await rehashFrom(tx, kitchen, ids.full!, 4);
      });
      // An op that is none of the five.
      await step([`kitchen/${ids.bulk}/2/op_sequence`], async (tx) => {
        await tx.query(`UPDATE ${k.log} SET op = 'bogus' WHERE entry_id = $1 AND version = 2`, [ids.bulk]);
        await rehashFrom(tx, kitchen, ids.bulk!, 2);
      });
      // Time running backwards along a chain, rehashed.
      const st = tableObjects(db.schema, 'stock');
      await step([`stock/${ids.stock}/2/time_order`], async (tx) => {
        await tx.query(
          `UPDATE ${st.log} x SET recorded_at = p.recorded_at - interval '1 second' FROM ${st.log} p
            WHERE x.entry_id = $1 AND x.version = 2 AND p.entry_id = x.entry_id AND p.version = 1`,
          [ids.stock],
        );
        await rehashFrom(tx, stockV2, ids.stock!, 2);
      });
      // A link pointing elsewhere: version 3 names version 1 as its parent. (A null parent_hash
      // is no cut: since table code revision 9 it is how the log leaves the link to be derived.)
      await step([`stock/${ids.stock}/3/parent_mismatch`], (tx) =>
        tx
          .query(
            `UPDATE ${st.log} x SET parent_hash = p.hash FROM ${st.log} p
              WHERE x.entry_id = $1 AND x.version = 3 AND p.entry_id = x.entry_id AND p.version = 1`,
            [ids.stock],
          )
          .then(() => {}),
      );
      // An erased version that still holds a value.
      await step([`addresses/${ids.erased}/1/redaction_incomplete`], (tx) =>
        tx
          .query(`UPDATE ${a.log} SET city = 'back' WHERE entry_id = $1 AND version = 1`, [ids.erased])
          .then(() => {}),
      );
    });

    it('a consistent rewrite passes both chain checks, and the checkpoint tree catches it in both', async () => {
      const a = tableObjects(db.schema, 'addresses');
      const [entry] = await db.query<{ e: string }>(
        `SELECT h.entry_id::text AS e FROM ${a.head} h WHERE h.name = 'Binned'`,
      );
      await superuser(async (tx) => {
        await tx.query(`UPDATE ${a.log} SET actor = 'mallory' WHERE entry_id = $1 AND version = 1`, [
          entry!.e,
        ]);
        await rehashFrom(tx, addresses, entry!.e, 1);
      });
      const before = new Set((await both()).libKeys);
      const { libKeys, specKeys } = await both();
      expect(specKeys).toEqual(libKeys);
      expect(libKeys.filter((k) => k.includes(entry!.e))).toEqual([]);
      expect(before.size).toBe(libKeys.length);
      const note = checkpointNote(firstCheckpoint);
      const cp = readSignedCheckpoint(note, rawPublic);
      const spec = await specVerify(o.sql, o.schema, { horizon: cp.horizon });
      expect(spec.tree.size).toBe(cp.treeSize);
      expect(spec.tree.root.equals(cp.root)).toBe(false);
      const against = await db.verify({ against: note, publicKey: `${rawPublic.toString('hex')}` });
      expect(against.consistency?.ok).toBe(false);
      expect(against.failures.map((f) => f.problem)).toContain('checkpoint_changed_version');
    });
  });
}
