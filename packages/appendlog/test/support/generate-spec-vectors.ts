/**
 * Generates docs/spec-vectors.json ONCE. The vectors are frozen afterwards: the tests check the
 * TypeScript and SQL implementations against the file, never the other way round. Every value is
 * computed twice, by the TypeScript mirror and by the chain trigger's SQL on PGlite (and on
 * PostgreSQL when DATABASE_URL is set), and the script stops if they disagree.
 *
 *   npx tsx packages/appendlog/test/support/generate-spec-vectors.ts [--force]
 */
import { createPrivateKey } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { encodeBlock } from '../../src/export/car-blocks.js';
import {
  canonicalContent,
  canonicalText,
  contentHash,
  field,
  SPEC_VERSION,
  versionHash,
} from '../../src/hash/spec.js';
import { connect, type Database } from '../../src/index.js';
import { type CheckpointBody, checkpointMessage } from '../../src/integrity/checkpoint-format.js';
import { signCheckpoint } from '../../src/integrity/checkpoint-sign.js';
import { toHex } from '../../src/integrity/hex.js';
import { leafData } from '../../src/integrity/leaf.js';
import { leafHash, merkleRoot } from '../../src/integrity/merkle.js';
import type { ColumnType } from '../../src/schema/column.js';
import { consistencyProof, inclusionProof } from './merkle-reference-proofs.js';
import {
  type LiteralColumn,
  type LiteralVersion,
  sqlCanonicalText,
  sqlContent,
  sqlVersionHash,
} from './spec-sql.js';

const out = fileURLToPath(new URL('../../../../docs/spec-vectors.json', import.meta.url));
if (existsSync(out) && !process.argv.includes('--force')) {
  console.error(`${out} exists and is frozen; pass --force only if the spec version changes`);
  process.exit(1);
}

const TEXTS: Array<[ColumnType, string]> = [
  ['text', 'Grüße, 世界 🌍'],
  ['text', ''],
  ['text', 'line 1\nline 2\t"double" \'single\' \\'],
  ['text', 'e\u0301 (not normalised)'],
  ['integer', '-2147483648'],
  ['integer', '0042'],
  ['bigint', '9223372036854775807'],
  ['bigint', '-17'],
  ['numeric', '12.50'],
  ['numeric', '-1.5e3'],
  ['numeric', '0.000001230'],
  ['numeric', 'NaN'],
  ['boolean', 'true'],
  ['boolean', 'f'],
  ['date', '2026-02-28'],
  ['date', '0001-01-01'],
  ['date', '9999-12-31'],
  ['timestamptz', '2026-01-02 03:04:05.5+02'],
  ['timestamptz', '1999-12-31 23:59:59.999999-12:00'],
  ['timestamptz', '0001-01-01 00:00:00+00'],
  ['timestamptz', '2024-02-29T12:00:00Z'],
  ['jsonb', '{"bb": 1, "a": [1, 2.50, "\\u00e9"], "c": {"z": null, "y": true}}'],
  ['jsonb', '"plain"'],
  ['jsonb', '[1e2, -0.0, {}]'],
  ['uuid', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'],
];

const KITCHEN: LiteralColumn[] = [
  { name: 'label', type: 'text', value: 'Café ☕' },
  { name: 'count', type: 'integer', value: '7' },
  { name: 'big', type: 'bigint', value: '-9223372036854775808' },
  { name: 'price', type: 'numeric', value: '19.90' },
  { name: 'active', type: 'boolean', value: 'false' },
  { name: 'born', type: 'date', value: '1970-01-01' },
  { name: 'seen_at', type: 'timestamptz', value: '2026-05-06 07:08:09.012345+05:30' },
  { name: 'doc', type: 'jsonb', value: '{"tags": ["a", "b"], "n": 1.10}' },
  { name: 'ref', type: 'uuid', value: '6F9619FF-8B86-D011-B42D-00C04FC964FF' },
];
const CONTENTS: Array<{ note: string; columns: LiteralColumn[]; salt: string }> = [
  { note: 'every column type, one of each', columns: KITCHEN, salt: '000102030405060708090a0b0c0d0e0f' },
  {
    note: 'nulls are left out; an empty string is not null',
    columns: [
      { name: 'name', type: 'text', value: '' },
      { name: 'city', type: 'text', value: null },
      { name: 'address_line_1', type: 'text', value: 'Bifröst 1' },
      { name: 'address_line_10', type: 'text', value: null },
      { name: 'tel', type: 'text', value: '+47 123' },
    ],
    salt: 'ffeeddccbbaa99887766554433221100',
  },
  {
    note: 'no column set: content is empty',
    columns: [{ name: 'name', type: 'text', value: null }],
    salt: '00'.repeat(16),
  },
];

async function main(): Promise<void> {
  const engines: Array<[string, Database]> = [['pglite', await connect()]];
  if (process.env.DATABASE_URL)
    engines.push(['postgres', await connect({ url: process.env.DATABASE_URL, schema: 'spec_vectors_gen' })]);
  for (const [, db] of engines) await db.migrate([]);
  const [, pg] = engines[0]!;
  const agree = async <T>(what: string, f: (db: Database) => Promise<T>): Promise<T> => {
    const results = await Promise.all(engines.map(([, db]) => f(db)));
    for (const r of results) {
      if (JSON.stringify(r) !== JSON.stringify(results[0]))
        throw new Error(`engines disagree on ${what}: ${JSON.stringify(results)}`);
    }
    return results[0]!;
  };
  const same = (what: string, a: string, b: string) => {
    if (a !== b) throw new Error(`TypeScript and SQL disagree on ${what}: ${a} vs ${b}`);
  };

  const fieldVectors = ['', 'appendlog/v1', 'Grüße 🌍', null].map((t) => ({
    text: t,
    hex: field(t).toString('hex'),
  }));

  const canonical = [];
  for (const [type, value] of TEXTS) {
    const r = await agree(`${type} ${value}`, (db) => sqlCanonicalText(db, type, value));
    same(`canonical ${type} ${value}`, canonicalText(type, r.iso), r.canonical);
    canonical.push({ type, sql: value, isoText: r.iso, canonical: r.canonical });
  }

  const canon = async (c: LiteralColumn): Promise<string | null> =>
    c.value === null ? null : (await sqlCanonicalText(pg, c.type, c.value)).canonical;
  const contents: Array<{
    note: string;
    columns: Array<LiteralColumn & { canonical: string | null }>;
    salt: string;
    content: string;
    contentHash: string;
  }> = [];
  for (const v of CONTENTS) {
    const texts = await Promise.all(v.columns.map(canon));
    const content = canonicalContent(v.columns.map((c, i) => [c.name, texts[i]!] as const));
    const hash = contentHash(Buffer.from(v.salt, 'hex'), content);
    const sql = await agree(`content ${v.note}`, (db) => sqlContent(db, v.columns, v.salt));
    same(`content ${v.note}`, content.toString('hex'), sql.content);
    same(`content hash ${v.note}`, hash.toString('hex'), sql.contentHash);
    contents.push({
      note: v.note,
      columns: v.columns.map((c, i) => ({ ...c, canonical: texts[i] ?? null })),
      salt: v.salt,
      content: sql.content,
      contentHash: sql.contentHash,
    });
  }

  // A chain of one entry, plus versions of another table, for the version hash and Merkle vectors.
  const entry = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11';
  const specs: Array<Omit<LiteralVersion, 'parentHash'>> = [
    {
      table: 'addresses',
      entryId: entry,
      version: 1,
      op: 'insert',
      recordedAt: '2026-03-01 10:00:00+00',
      txId: '741',
      actor: null,
      reason: null,
      meta: null,
      contentHash: contents[1]!.contentHash,
    },
    {
      table: 'addresses',
      entryId: entry,
      version: 2,
      op: 'update',
      recordedAt: '2026-03-01 11:30:00.25+01',
      txId: '742',
      actor: 'alice',
      reason: 'moved',
      meta: '{"ip": "10.0.0.1", "app": {"v": 2}}',
      contentHash: contents[0]!.contentHash,
    },
    {
      table: 'addresses',
      entryId: entry,
      version: 3,
      op: 'delete',
      recordedAt: '2026-03-02 00:00:00.000001+00',
      txId: '9000000000',
      actor: 'bob',
      reason: 'doublon — supprimé',
      meta: '{}',
      contentHash: contents[0]!.contentHash,
    },
    {
      table: 'addresses',
      entryId: entry,
      version: 4,
      op: 'restore',
      recordedAt: '2026-03-02 00:00:00.000002+00',
      txId: '9000000001',
      actor: '',
      reason: null,
      meta: null,
      contentHash: contents[0]!.contentHash,
    },
  ];
  const versions: Array<{
    input: LiteralVersion;
    canonical: { recordedAt: string; meta: string | null };
    hash: string;
  }> = [];
  let parent: string | null = null;
  for (const s of specs) {
    const v: LiteralVersion = { ...s, parentHash: parent };
    const recordedAt = (await sqlCanonicalText(pg, 'timestamptz', v.recordedAt)).canonical;
    const meta = v.meta === null ? null : (await sqlCanonicalText(pg, 'jsonb', v.meta)).canonical;
    const ts = versionHash({
      table: v.table,
      entryId: v.entryId,
      version: v.version,
      op: v.op,
      recordedAt,
      txId: v.txId,
      actor: v.actor,
      reason: v.reason,
      meta,
      parentHash: parent === null ? null : Buffer.from(parent, 'hex'),
      contentHash: Buffer.from(v.contentHash, 'hex'),
    }).toString('hex');
    const sql = await agree(`version ${v.version}`, (db) => sqlVersionHash(db, v));
    same(`version hash ${v.version}`, ts, sql);
    versions.push({ input: v, canonical: { recordedAt, meta }, hash: sql });
    parent = sql;
  }

  const others = [1, 2, 3].map((i) => ({
    table: 'kitchen',
    entryId: `00000000-0000-4000-8000-00000000000${i}`,
    version: 1,
    hash: toHex(leafHash(Buffer.from(`stand-in hash ${i}`))),
  }));
  const leafVersions = [
    { table: 'addresses', entryId: entry, version: 1, hash: versions[0]!.hash },
    others[0]!,
    { table: 'addresses', entryId: entry, version: 2, hash: versions[1]!.hash },
    others[1]!,
    others[2]!,
    { table: 'addresses', entryId: entry, version: 3, hash: versions[2]!.hash },
    { table: 'addresses', entryId: entry, version: 4, hash: versions[3]!.hash },
  ];
  const leaves = leafVersions.map((l) => {
    const data = leafData({ ...l, hash: Buffer.from(l.hash, 'hex') });
    return { ...l, leafData: data.toString('hex'), leafHash: toHex(leafHash(data)) };
  });
  const leafHashes = leaves.map((l) => Buffer.from(l.leafHash, 'hex'));
  const roots = Array.from({ length: leaves.length + 1 }, (_, n) => ({
    treeSize: n,
    root: toHex(merkleRoot(leafHashes, n)),
  }));
  const inclusion = [
    [0, 1],
    [2, 7],
    [6, 7],
    [3, 5],
  ].map(([index, treeSize]) => ({
    index,
    treeSize,
    proof: inclusionProof(leafHashes, index!, treeSize!).map(toHex),
  }));
  const consistency = [
    [1, 2],
    [3, 7],
    [4, 7],
    [6, 7],
  ].map(([oldSize, newSize]) => ({
    oldSize,
    newSize,
    proof: consistencyProof(leafHashes, oldSize!, newSize!).map(toHex),
  }));

  // RFC 8032 section 7.1, test 1: its secret key, so the public key below can be checked there too.
  const seed = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
  const key = createPrivateKey({
    key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seed, 'hex')]),
    format: 'der',
    type: 'pkcs8',
  });
  const body: CheckpointBody = {
    spec: SPEC_VERSION,
    schema: 'public',
    id: 1,
    treeSize: 7,
    root: roots[7]!.root,
    horizon: '9000000002',
    createdAt: '2026-03-02T00:00:01.000000Z',
  };
  const signed = signCheckpoint(body, key);

  const v1 = versions[0]!;
  const kitchenColumns = contents[0]!.columns;
  const block = {
    spec: SPEC_VERSION,
    table: 'addresses',
    entryId: entry,
    version: 2,
    op: 'update',
    recordedAt: versions[1]!.canonical.recordedAt,
    txId: '742',
    actor: 'alice',
    reason: 'moved',
    meta: versions[1]!.canonical.meta,
    salt: Buffer.from(contents[0]!.salt, 'hex'),
    contentHash: Buffer.from(contents[0]!.contentHash, 'hex'),
    parentHash: Buffer.from(v1.hash, 'hex'),
    hash: Buffer.from(versions[1]!.hash, 'hex'),
    parent: (await encodeBlock({ ...blockOf(v1), parent: null })).cid,
    data: Object.fromEntries(kitchenColumns.map((c) => [c.name, c.canonical!])),
    redacted: false,
  } as const;
  const encoded = await encodeBlock({
    ...block,
    salt: new Uint8Array(block.salt),
    contentHash: new Uint8Array(block.contentHash),
    parentHash: new Uint8Array(block.parentHash),
    hash: new Uint8Array(block.hash),
  });

  function blockOf(v: (typeof versions)[number]) {
    return {
      spec: SPEC_VERSION,
      table: v.input.table,
      entryId: v.input.entryId,
      version: v.input.version,
      op: v.input.op,
      recordedAt: v.canonical.recordedAt,
      txId: v.input.txId,
      actor: v.input.actor,
      reason: v.input.reason,
      meta: v.canonical.meta,
      salt: new Uint8Array(Buffer.from(contents[1]!.salt, 'hex')),
      contentHash: new Uint8Array(Buffer.from(v.input.contentHash, 'hex')),
      parentHash: null,
      hash: new Uint8Array(Buffer.from(v.hash, 'hex')),
      data: Object.fromEntries(
        contents[1]!.columns.filter((c) => c.canonical !== null).map((c) => [c.name, c.canonical!]),
      ),
      redacted: false,
    } as const;
  }
  const v1Block = await encodeBlock({ ...blockOf(v1), parent: null });

  const vectors = {
    spec: SPEC_VERSION,
    about:
      'Test vectors of docs/spec.md. Frozen: generated once by packages/appendlog/test/support/generate-spec-vectors.ts, ' +
      'checked against the TypeScript and SQL implementations by packages/appendlog/test/spec-vectors.test.ts. ' +
      'Hex is lowercase; SQL literals are given as text to be cast to the type named.',
    field: fieldVectors,
    canonicalText: canonical,
    content: contents,
    versionHash: versions,
    merkle: { leaves, roots, inclusion, consistency },
    checkpoint: {
      privateKeySeed: seed,
      publicKey: signed.signature!.publicKey,
      body,
      message: checkpointMessage(body).toString('hex'),
      signed,
    },
    car: {
      blocks: [
        {
          note: 'version 1 of the chain above (content: the second content vector)',
          cid: v1Block.cid.toString(),
          bytes: Buffer.from(v1Block.bytes).toString('hex'),
        },
        {
          note: 'version 2, linking version 1 (content: the first content vector)',
          cid: encoded.cid.toString(),
          bytes: Buffer.from(encoded.bytes).toString('hex'),
        },
      ],
    },
  };
  writeFileSync(out, `${JSON.stringify(vectors, null, 2)}\n`);
  console.log(`wrote ${out}`);
  for (const [name, db] of engines) {
    if (name === 'postgres') await db.query('DROP SCHEMA spec_vectors_gen CASCADE');
    await db.close();
  }
}

await main();
