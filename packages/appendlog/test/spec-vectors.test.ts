import { createPrivateKey, createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBlock, encodeBlock, type VersionBlock } from '../src/export/car-blocks.js';
import {
  canonicalContent,
  canonicalText,
  contentHash,
  field,
  SPEC_VERSION,
  versionHash,
} from '../src/hash/spec.js';
import type { Database } from '../src/index.js';
import { checkpointMessage } from '../src/integrity/checkpoint-format.js';
import { parseCheckpoint } from '../src/integrity/checkpoint-parse.js';
import { checkSignature, signCheckpoint } from '../src/integrity/checkpoint-sign.js';
import { VersionHasher } from '../src/integrity/hasher.js';
import { fromHex, toHex } from '../src/integrity/hex.js';
import { leafData, parseLeaves } from '../src/integrity/leaf.js';
import { leafHash, merkleRoot } from '../src/integrity/merkle.js';
import { verifyConsistency, verifyInclusion } from '../src/integrity/merkle-verify.js';
import type { ColumnType } from '../src/schema/column.js';
import { describeEngines, type TestDb } from './support/engines.js';
import { consistencyProof, inclusionProof } from './support/merkle-reference-proofs.js';
import {
  type LiteralColumn,
  type LiteralVersion,
  sqlCanonicalOnly,
  sqlCanonicalText,
  sqlContent,
  sqlVersionHash,
} from './support/spec-sql.js';

interface Vectors {
  spec: string;
  field: Array<{ text: string | null; hex: string }>;
  canonicalText: Array<{ type: ColumnType; sql: string; isoText: string; canonical: string }>;
  content: Array<{
    note: string;
    columns: Array<LiteralColumn & { canonical: string | null }>;
    salt: string;
    content: string;
    contentHash: string;
  }>;
  versionHash: Array<{
    input: LiteralVersion;
    canonical: { recordedAt: string; meta: string | null };
    hash: string;
  }>;
  merkle: {
    leaves: Array<{
      table: string;
      entryId: string;
      version: number;
      hash: string;
      leafData: string;
      leafHash: string;
    }>;
    roots: Array<{ treeSize: number; root: string }>;
    inclusion: Array<{ index: number; treeSize: number; proof: string[] }>;
    consistency: Array<{ oldSize: number; newSize: number; proof: string[] }>;
  };
  checkpoint: {
    privateKeySeed: string;
    publicKey: string;
    body: Record<string, unknown>;
    message: string;
    signed: unknown;
  };
  car: { blocks: Array<{ note: string; cid: string; bytes: string }> };
}

const vectors = JSON.parse(
  readFileSync(new URL('../../../docs/spec-vectors.json', import.meta.url), 'utf8'),
) as Vectors;
const buf = (hex: string) => Buffer.from(hex, 'hex');

/** Session settings that would change a naive text rendering of every type. */
const HOSTILE_SETTINGS = [
  `SET LOCAL TimeZone = 'America/St_Johns'`,
  `SET LOCAL DateStyle = 'SQL, DMY'`,
  `SET LOCAL IntervalStyle = 'sql_standard'`,
  `SET LOCAL extra_float_digits = -15`,
  `SET LOCAL bytea_output = 'escape'`,
  `SET LOCAL lc_monetary = 'C'`,
];

describe('spec vectors: TypeScript', () => {
  it('is the spec version the code implements', () => {
    expect(vectors.spec).toBe(SPEC_VERSION);
  });

  it('F(x) encodes each vector', () => {
    for (const v of vectors.field) expect(field(v.text).toString('hex')).toBe(v.hex);
  });

  it('canonical text from PostgreSQL text output (UTC, ISO)', () => {
    for (const v of vectors.canonicalText)
      expect(canonicalText(v.type, v.isoText), `${v.type} ${v.sql}`).toBe(v.canonical);
  });

  it('canonical content and content hash, by spec.ts and by the verifier hasher', () => {
    for (const v of vectors.content) {
      const content = canonicalContent(v.columns.map((c) => [c.name, c.canonical] as const));
      expect(content.toString('hex'), v.note).toBe(v.content);
      expect(contentHash(buf(v.salt), content).toString('hex'), v.note).toBe(v.contentHash);
      const hasher = new VersionHasher(
        'any',
        v.columns.map((c) => c.name),
      );
      const values = hasher.columns.map((name) => v.columns.find((c) => c.name === name)!.canonical);
      expect(hasher.contentHash(buf(v.salt), values).toString('hex'), v.note).toBe(v.contentHash);
    }
  });

  it('version hashes and the chain they form, by spec.ts and by the verifier hasher', () => {
    let parent: string | null = null;
    for (const v of vectors.versionHash) {
      expect(v.input.parentHash).toBe(parent);
      const input = {
        table: v.input.table,
        entryId: v.input.entryId,
        version: v.input.version,
        op: v.input.op,
        recordedAt: v.canonical.recordedAt,
        txId: v.input.txId,
        actor: v.input.actor,
        reason: v.input.reason,
        meta: v.canonical.meta,
        parentHash: parent === null ? null : buf(parent),
        contentHash: buf(v.input.contentHash),
      };
      expect(versionHash(input).toString('hex')).toBe(v.hash);
      const hasher = new VersionHasher(v.input.table, []);
      const fast = hasher.versionHash(
        { ...input, version: String(input.version) },
        input.parentHash,
        input.contentHash,
      );
      expect(fast.toString('hex')).toBe(v.hash);
      parent = v.hash;
    }
  });

  it('Merkle leaves, roots and proofs', () => {
    const m = vectors.merkle;
    const hashes = m.leaves.map((l) => buf(l.leafHash));
    for (const l of m.leaves) {
      const data = leafData({ ...l, hash: buf(l.hash) });
      expect(data.toString('hex')).toBe(l.leafData);
      expect(toHex(leafHash(data))).toBe(l.leafHash);
    }
    const parsed = [...parseLeaves(Buffer.concat(m.leaves.map((l) => buf(l.leafData))))];
    expect(parsed.map((p) => [p.table, p.entryId, p.version, toHex(p.hash)])).toEqual(
      m.leaves.map((l) => [l.table, l.entryId, l.version, l.hash]),
    );
    for (const r of m.roots) expect(toHex(merkleRoot(hashes, r.treeSize))).toBe(r.root);
    for (const p of m.inclusion) {
      expect(inclusionProof(hashes, p.index, p.treeSize).map(toHex)).toEqual(p.proof);
      const root = fromHex(m.roots[p.treeSize]!.root);
      expect(verifyInclusion(hashes[p.index]!, p.index, p.treeSize, p.proof.map(fromHex), root)).toBe(true);
    }
    for (const p of m.consistency) {
      expect(consistencyProof(hashes, p.oldSize, p.newSize).map(toHex)).toEqual(p.proof);
      const [a, b] = [fromHex(m.roots[p.oldSize]!.root), fromHex(m.roots[p.newSize]!.root)];
      expect(verifyConsistency(p.oldSize, p.newSize, a, b, p.proof.map(fromHex))).toBe(true);
    }
  });

  it('checkpoint message and Ed25519 signature (RFC 8032 test key 1)', () => {
    const c = vectors.checkpoint;
    const body = parseCheckpoint(c.body);
    expect(checkpointMessage(body).toString('hex')).toBe(c.message);
    const key = createPrivateKey({
      key: Buffer.concat([buf('302e020100300506032b657004220420'), buf(c.privateKeySeed)]),
      format: 'der',
      type: 'pkcs8',
    });
    const signed = signCheckpoint(body, key);
    expect(signed).toEqual(c.signed);
    expect(signed.signature!.publicKey).toBe(
      'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    );
    expect(checkSignature(parseCheckpoint(c.signed), c.publicKey)).toBeNull();
    // Independently of our helpers: node:crypto verifies the message against the raw key.
    const pub = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: buf(c.publicKey).toString('base64url') },
      format: 'jwk',
    });
    expect(verify(null, buf(c.message), pub, buf(signed.signature!.value))).toBe(true);
  });

  it('CAR version blocks: DAG-CBOR bytes and CIDs', async () => {
    for (const b of vectors.car.blocks) {
      const decoded = decodeBlock<VersionBlock>(buf(b.bytes));
      const again = await encodeBlock(decoded);
      expect(again.cid.toString(), b.note).toBe(b.cid);
      expect(Buffer.from(again.bytes).toString('hex')).toBe(b.bytes);
    }
    const [v1, v2] = vectors.car.blocks.map((b) => decodeBlock<VersionBlock>(buf(b.bytes)));
    expect(v2!.parent?.toString()).toBe(vectors.car.blocks[0]!.cid);
    expect(toHex(v2!.parentHash!)).toBe(toHex(v1!.hash));
    expect(toHex(v1!.hash)).toBe(vectors.versionHash[0]!.hash);
  });
});

describeEngines('spec vectors: SQL of the chain trigger', (engine) => {
  let t: TestDb;
  let db: Database;
  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    await db.migrate([]);
  });
  afterAll(() => t.close());

  it('canonical text of every type', async () => {
    for (const v of vectors.canonicalText) {
      const r = await sqlCanonicalText(db, v.type, v.sql);
      expect(r, `${v.type} ${v.sql}`).toEqual({ iso: v.isoText, canonical: v.canonical });
    }
  });

  it('canonical content and content hashes', async () => {
    for (const v of vectors.content) {
      expect(await sqlContent(db, v.columns, v.salt), v.note).toEqual({
        content: v.content,
        contentHash: v.contentHash,
      });
    }
  });

  it('version hashes', async () => {
    for (const v of vectors.versionHash) expect(await sqlVersionHash(db, v.input)).toBe(v.hash);
  });

  it('gives the same results under hostile session settings', async () => {
    await db.transaction(async (tx) => {
      for (const s of HOSTILE_SETTINGS) await tx.query(s);
      await tx.query(`SELECT pg_catalog.set_config('search_path', 'pg_temp', true)`);
      for (const v of vectors.canonicalText)
        expect(await sqlCanonicalOnly(tx, v.type, v.sql), `${v.type} ${v.sql}`).toBe(v.canonical);
      for (const v of vectors.content)
        expect((await sqlContent(tx, v.columns, v.salt)).contentHash).toBe(v.contentHash);
      for (const v of vectors.versionHash) expect(await sqlVersionHash(tx, v.input)).toBe(v.hash);
    });
  });
});
