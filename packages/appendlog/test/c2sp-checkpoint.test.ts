import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Checkpoint, checkpointNote, type Database, parseCheckpoint } from '../src/index.js';
import { signCheckpoint } from '../src/integrity/checkpoint-sign.js';
import {
  formatNote,
  parseNote,
  parseVerifierKey,
  signNoteText,
  verifierKey,
  verifyNoteSignature,
} from '../src/integrity/note.js';
import { makeVkey, readCheckpoint, readVkey, verifyNote } from './support/c2sp-verifier.js';
import { describeEngines, type TestDb } from './support/engines.js';
import { waitForHorizon } from './support/horizon.js';
import { addresses } from './support/tables.js';

// golang.org/x/mod/sumdb/note, note_test.go (TestSign, TestOpen): a private key, its verifier
// key, a text and the signed note Go's implementation produces.
const GO_SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const GO_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const GO_TEXT =
  "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_PETER_SIG =
  '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const GO_ENOCH_SIG =
  '— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';
// c2sp.org/signed-note, "Example".
const C2SP_VKEY = 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k';
const C2SP_NOTE =
  'This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';

/** The Go signer key's Ed25519 seed as a KeyObject (PKCS#8 prefix of RFC 8410 and the seed). */
function goSigner(): KeyObject {
  // PRIVATE+KEY+<name>+<id>+base64(0x01 ‖ seed); the base64 may hold "+".
  const seed = Buffer.from(GO_SKEY.split('+').slice(4).join('+'), 'base64').subarray(1);
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
}

describe('signed notes against the vectors of golang.org/x/mod/sumdb/note and C2SP', () => {
  it("signs Go's text byte for byte as Go does, with Go's key ID and verifier key", () => {
    const key = goSigner();
    expect(verifierKey('PeterNeumann', key)).toBe(GO_VKEY);
    const sig = signNoteText(GO_TEXT, 'PeterNeumann', key);
    expect(sig.keyId).toBe('c74f20a3');
    expect(formatNote({ text: GO_TEXT, signatures: [sig] })).toBe(`${GO_TEXT}\n${GO_PETER_SIG}`);
  });

  it("verifies the C2SP example note with its verifier key, and Go's two-signature note", () => {
    const c2sp = parseVerifierKey(C2SP_VKEY);
    const note = parseNote(C2SP_NOTE);
    expect(note.text).toBe('This is an example message.\n');
    expect(verifyNoteSignature(note.text, note.signatures[0]!, c2sp.publicKey)).toBe(true);
    const two = parseNote(`${GO_TEXT}\n${GO_PETER_SIG}${GO_ENOCH_SIG}`);
    expect(two.signatures.map((s) => [s.name, s.keyId])).toEqual([
      ['PeterNeumann', 'c74f20a3'],
      ['EnochRoot', 'af0cfe78'],
    ]);
    const peter = parseVerifierKey(GO_VKEY).publicKey;
    expect(verifyNoteSignature(two.text, two.signatures[0]!, peter)).toBe(true);
    expect(verifyNoteSignature(two.text, two.signatures[1]!, peter)).toBe(false);
  });

  it('the independent verifier of the test suite agrees on the same vectors', () => {
    expect(verifyNote(C2SP_NOTE, [readVkey(C2SP_VKEY)])).toBe(true);
    expect(verifyNote(`${GO_TEXT}\n${GO_PETER_SIG}${GO_ENOCH_SIG}`, [readVkey(GO_VKEY)])).toBe(true);
    expect(verifyNote(`${GO_TEXT}\n${GO_ENOCH_SIG}`, [readVkey(GO_VKEY)])).toBe(false);
    expect(verifyNote(C2SP_NOTE.replace('example', 'exemple'), [readVkey(C2SP_VKEY)])).toBe(false);
  });

  it('reads verifier keys whose base64 holds "+" (only the first two "+" separate)', () => {
    let key = generateKeyPairSync('ed25519').publicKey;
    while (!verifierKey('w', key).split('+').slice(2).join('+').includes('+'))
      key = generateKeyPairSync('ed25519').publicKey;
    const vkey = verifierKey('w', key);
    expect(parseVerifierKey(vkey).publicKey.equals(key)).toBe(true);
    expect(readVkey(vkey).key.equals(key)).toBe(true);
  });

  it('refuses malformed notes and verifier keys', () => {
    for (const bad of [
      'no blank line\n— a AAAAAAA=\n',
      `${GO_TEXT}\n${GO_PETER_SIG.slice(0, -1)}`,
      `${GO_TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`,
      `tab\there\n\n${GO_PETER_SIG}`,
      `${GO_TEXT}\n— PeterNeumann !!!\n`,
    ])
      expect(() => parseNote(bad), bad).toThrow(expect.objectContaining({ code: 'invalid_input' }));
    for (const bad of [GO_VKEY.replace('c74f20a3', 'c74f20a4'), 'PeterNeumann+c74f20a3', `${GO_VKEY}+x`])
      expect(() => parseVerifierKey(bad), bad).toThrow(expect.objectContaining({ code: 'invalid_input' }));
  });
});

/** The raw 32-byte public key of an Ed25519 key, the test's own way (from its JWK). */
function raw(key: KeyObject): Buffer {
  return Buffer.from(String(key.export({ format: 'jwk' }).x), 'base64url');
}

describeEngines('C2SP checkpoints', (engine) => {
  let t: TestDb;
  let db: Database;
  const log = generateKeyPairSync('ed25519');
  const pem = log.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    await db.migrate([addresses]);
    for (let i = 0; i < 5; i++) await db.table(addresses).insert({ name: `n${i}` });
    await waitForHorizon(db, ['addresses']);
  });
  afterAll(() => t.close());

  it('a signed checkpoint is a C2SP signed note that an independent verifier accepts', async () => {
    const cp = await db.checkpoint({ signKey: pem });
    expect(cp.origin).toMatch(new RegExp(`^appendlog\\.local/${t.schema}/[0-9a-f]{20}$`));
    const note = checkpointNote(cp);
    const vkey = makeVkey(cp.origin!, 0x01, raw(log.publicKey));
    expect(verifyNote(note, [readVkey(vkey)])).toBe(true);
    const body = readCheckpoint(note.slice(0, note.lastIndexOf('\n\n') + 1));
    expect(body).toEqual({
      origin: cp.origin,
      size: BigInt(cp.treeSize),
      root: Buffer.from(cp.root, 'hex'),
      extensions: [
        `appendlog/v1 checkpoint ${cp.id}`,
        `schema ${t.schema}`,
        `horizon ${cp.horizon}`,
        `time ${cp.createdAt}`,
        'tables addresses',
      ],
    });
    expect(cp.treeSize).toBe(5);
    // The note, the verifier key, the PEM key and the raw key all verify it.
    for (const publicKey of [vkey, log.publicKey, raw(log.publicKey).toString('hex')])
      expect((await db.verify({ against: note, publicKey })).ok).toBe(true);
    expect((await db.verify({ against: cp, publicKey: vkey })).ok).toBe(true);
  });

  it('a tampered note is rejected by the independent verifier and by verify', async () => {
    const cp = await db.checkpoint({ signKey: pem });
    const note = checkpointNote(cp);
    const vkey = readVkey(makeVkey(cp.origin!, 0x01, raw(log.publicKey)));
    const rootB64 = Buffer.from(cp.root, 'hex').toString('base64');
    const otherRoot = Buffer.from(cp.root, 'hex');
    otherRoot[0]! ^= 1;
    const sigLine = note.slice(note.lastIndexOf('\n\n') + 2);
    const flipped = Buffer.from(sigLine.split(' ')[2]!, 'base64');
    flipped[10]! ^= 1;
    const tampered: [string, string][] = [
      ['size', note.replace(`\n${cp.treeSize}\n`, `\n${cp.treeSize + 1}\n`)],
      ['root', note.replace(rootB64, otherRoot.toString('base64'))],
      ['horizon', note.replace(`horizon ${cp.horizon}`, `horizon ${BigInt(cp.horizon) - 1n}`)],
      ['signature', note.replace(sigLine, `— ${cp.origin} ${flipped.toString('base64')}\n`)],
    ];
    for (const [what, bad] of tampered) {
      expect(verifyNote(bad, [vkey]), what).toBe(false);
      const r = await db.verify({ against: bad, publicKey: log.publicKey });
      expect(
        r.failures.map((f) => f.problem),
        what,
      ).toContain('checkpoint_invalid');
    }
    const foreign = await db.verify({ against: note, publicKey: generateKeyPairSync('ed25519').publicKey });
    expect(foreign.failures.map((f) => f.problem)).toEqual(['checkpoint_invalid']);
    // An unsigned checkpoint is the bare text: no signed note, refused when a key is trusted.
    const unsigned = checkpointNote(await db.checkpoint());
    expect(unsigned.includes('\n\n')).toBe(false);
    expect(verifyNote(unsigned, [vkey])).toBe(false);
    expect((await db.verify({ against: unsigned })).ok).toBe(true);
    expect((await db.verify({ against: unsigned, publicKey: log.publicKey })).failures[0]?.problem).toBe(
      'checkpoint_invalid',
    );
  });

  it('verify still reads checkpoints of the earlier JSON format', async () => {
    const cp = await db.checkpoint();
    const { origin: _o, tables: _t, ...legacyBody } = cp;
    const legacy = signCheckpoint(legacyBody, pem);
    const text = JSON.stringify(legacy);
    expect(legacy.signature?.keyName).toBeUndefined();
    expect((await db.verify({ against: text, publicKey: log.publicKey })).ok).toBe(true);
    const altered = JSON.stringify({ ...legacy, treeSize: legacy.treeSize - 1 });
    expect((await db.verify({ against: altered, publicKey: log.publicKey })).failures[0]?.problem).toBe(
      'checkpoint_invalid',
    );
  });

  it("a node's checkpoint (row-sharded schemas) carries a node line that verifiers read as an extension", async () => {
    const cp = await db.checkpoint();
    const nodeBody = { ...cp, origin: `${cp.origin}/node-2`, node: 2 };
    const signed = signCheckpoint(nodeBody, pem);
    const note = checkpointNote(signed);
    expect(verifyNote(note, [readVkey(makeVkey(nodeBody.origin, 0x01, raw(log.publicKey)))])).toBe(true);
    expect(readCheckpoint(note.slice(0, note.lastIndexOf('\n\n') + 1)).extensions.slice(0, 3)).toEqual([
      `appendlog/v1 checkpoint ${cp.id}`,
      `schema ${t.schema}`,
      'node 2',
    ]);
    expect(parseCheckpoint(note)).toMatchObject({ node: 2, origin: nodeBody.origin, root: cp.root });
    expect(parseCheckpoint(JSON.stringify(signed))).toMatchObject({ node: 2 });
    const text = checkpointNote({ ...nodeBody, signature: undefined } as Checkpoint);
    for (const bad of [
      text.replace('node 2', 'node -1'),
      text.replace('node 2', 'node 02'),
      text.replace('node 2', 'nodes 2'),
    ])
      expect(() => parseCheckpoint(bad)).toThrow(/not an appendlog checkpoint/);
    // This schema has one tree: no cluster checkpoint, and a node's checkpoint does not fit it.
    await expect(db.clusterCheckpoint()).rejects.toMatchObject({
      code: 'invalid_usage',
      message: expect.stringMatching(/not row-sharded/),
    });
    const r = await db.verify({ against: note });
    expect(r.ok).toBe(false);
    expect(r.failures).toContainEqual(
      expect.objectContaining({
        problem: 'checkpoint_invalid',
        detail: expect.stringMatching(/node group 2/),
      }),
    );
  });

  it('the origin is kept by the log, differs between databases and can be chosen', async () => {
    const first = await db.checkpoint();
    const again = await db.checkpoint({ origin: first.origin! });
    expect(again.origin).toBe(first.origin);
    await expect(db.checkpoint({ origin: 'example.com/other' })).rejects.toMatchObject({
      code: 'invalid_input',
    });
    const t2 = await engine.open();
    const t3 = await engine.open();
    try {
      await t2.db.migrate([addresses]);
      await t3.db.migrate([addresses]);
      const other = await t2.db.checkpoint();
      expect(other.origin).not.toBe(first.origin);
      expect(other.origin).toMatch(/^appendlog\.local\//);
      await expect(t3.db.checkpoint({ origin: 'has space' })).rejects.toMatchObject({
        code: 'invalid_input',
      });
      await expect(t3.db.checkpoint({ origin: 'a+b' })).rejects.toMatchObject({ code: 'invalid_input' });
      const named = await t3.db.checkpoint({ origin: 'example.com/address-book' });
      expect(checkpointNote(named).split('\n')[0]).toBe('example.com/address-book');
      expect((await t3.db.checkpoint()).origin).toBe('example.com/address-book');
      // A checkpoint of another log is named as such.
      const r = await db.verify({ against: checkpointNote(named) });
      expect(r.failures.map((f) => f.detail).join('\n')).toContain('example.com/address-book');
    } finally {
      await t2.close();
      await t3.close();
    }
  });
});
