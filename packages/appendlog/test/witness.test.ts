import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Checkpoint,
  checkpointNote,
  connect,
  type Database,
  witnessCheckpoint,
  witnessVerifierKey,
} from '../src/index.js';
import { makeVkey, readVkey, verifyCosignatureLine, verifyNote } from './support/c2sp-verifier.js';
import { cliInProcess } from './support/cli.js';
import { describeEngines, type TestDb } from './support/engines.js';
import { waitForHorizon } from './support/horizon.js';
import { freshDataDir } from './support/pglite-snapshot.js';
import { addresses } from './support/tables.js';

interface Party {
  t: TestDb;
  db: Database;
  logKey: string;
  logPublic: KeyObject;
  witnessName: string;
  witnessKey: string;
  /** The last checkpoint of the other party's log this party's witness cosigned. */
  state: string | null;
}

function pemPair(): { pem: string; publicKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { pem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), publicKey };
}

async function write(db: Database, n: number, prefix: string): Promise<void> {
  for (let i = 0; i < n; i++) await db.table(addresses).insert({ name: `${prefix}${i}` });
  await waitForHorizon(db, ['addresses']);
}

/** One witness step of `w` over the latest checkpoint of `log`'s database. */
async function witness(w: Party, log: Party, given?: string): Promise<string> {
  const oldSize = w.state === null ? 0 : Number(w.state.split('\n')[1]);
  const { checkpoint, proof } = await log.db.consistencyProof(oldSize);
  const r = witnessCheckpoint(w.state, given ?? checkpoint, proof, {
    name: w.witnessName,
    signKey: w.witnessKey,
    logKey: log.logPublic,
  });
  w.state = r.note;
  return r.note;
}

describeEngines('witnesses', (engine) => {
  const parties: Party[] = [];
  let a: Party;
  let b: Party;

  beforeAll(async () => {
    for (const name of ['a', 'b']) {
      const t = await engine.open();
      await t.db.migrate([addresses]);
      const log = pemPair();
      parties.push({
        t,
        db: t.db,
        logKey: log.pem,
        logPublic: log.publicKey,
        witnessName: `witness.example/${name}`,
        witnessKey: pemPair().pem,
        state: null,
      });
    }
    [a, b] = parties as [Party, Party];
  });
  afterAll(async () => {
    for (const p of parties) await p.t.close();
  });

  it('two databases witness each other, checkpoint after checkpoint', async () => {
    for (let round = 1; round <= 3; round++) {
      for (const [log, w] of [
        [a, b],
        [b, a],
      ] as const) {
        await write(log.db, round + 1, `r${round}-`);
        const cp = await log.db.checkpoint({ signKey: log.logKey });
        const note = await witness(w, log);
        // The log's signature and the witness's cosignature verify with the independent verifier.
        expect(verifyNote(note, [readVkey(makeVkey(cp.origin!, 0x01, rawOf(log.logPublic)))])).toBe(true);
        const vkey = readVkey(witnessVerifierKey(w.witnessName, w.witnessKey));
        expect(verifyCosignatureLine(note, vkey)).not.toBeNull();
        const r = await log.db.verify({
          against: note,
          publicKey: log.logPublic,
          witnesses: [witnessVerifierKey(w.witnessName, w.witnessKey)],
        });
        expect(r.failures).toEqual([]);
        expect(r.consistency?.oldSize).toBe(cp.treeSize);
      }
    }
  });

  it('verify --against asks N of M cosignatures; a forged cosignature is refused', async () => {
    const cp = await a.db.checkpoint({ signKey: a.logKey });
    const byB = await witness(b, a);
    // A third witness cosigns the note b cosigned: the note then carries both cosignatures.
    const c: Party = { ...b, witnessName: 'witness.example/c', witnessKey: pemPair().pem, state: null };
    const both = await witness(c, a, byB);
    const keys = [b, c].map((p) => witnessVerifierKey(p.witnessName, p.witnessKey));
    const stranger = witnessVerifierKey('witness.example/d', pemPair().pem);
    const problems = async (note: string, witnesses: string[], witnessQuorum?: number) =>
      (
        await a.db.verify({
          against: note,
          publicKey: a.logPublic,
          witnesses,
          ...(witnessQuorum === undefined ? {} : { witnessQuorum }),
        })
      ).failures.map((f) => f.problem);
    expect(await problems(both, [...keys, stranger], 2)).toEqual([]);
    expect(await problems(both, [...keys, stranger], 3)).toEqual(['checkpoint_witnesses']);
    expect(await problems(byB, keys, 2)).toEqual(['checkpoint_witnesses']);
    expect(await problems(byB, keys, 1)).toEqual([]);
    expect(await problems(checkpointNote(cp), keys, 1)).toEqual(['checkpoint_witnesses']);
    // A cosignature line by c's name and key ID over another text does not verify.
    const lines = both.split('\n');
    const cLine = lines.findIndex((l) => l.startsWith('— witness.example/c '));
    const bytes = Buffer.from(lines[cLine]!.split(' ')[2]!, 'base64');
    bytes[20]! ^= 1;
    lines[cLine] = `— witness.example/c ${bytes.toString('base64')}`;
    expect(await problems(lines.join('\n'), keys, 1)).toEqual(['checkpoint_witnesses']);
    await expect(a.db.verify({ against: both, witnesses: keys, witnessQuorum: 3 })).rejects.toMatchObject({
      code: 'invalid_input',
    });
  });

  it('a witness detects a fork: another checkpoint of the same size, or one that does not extend', async () => {
    const cosigned = (await a.db.checkpoint({ signKey: a.logKey })) as Checkpoint;
    await witness(b, a);
    const before = b.state;
    // A second database posing as log a (its origin, its key) with as many versions, other data.
    const fork = await engine.open();
    try {
      await fork.db.migrate([addresses]);
      await write(fork.db, cosigned.treeSize, 'forged-');
      const forged = await fork.db.checkpoint({ signKey: a.logKey, origin: cosigned.origin! });
      expect(forged.treeSize).toBe(cosigned.treeSize);
      const step = () =>
        witnessCheckpoint(b.state, forged, [], {
          name: b.witnessName,
          signKey: b.witnessKey,
          logKey: a.logPublic,
        });
      expect(step).toThrow(
        expect.objectContaining({ code: 'integrity', message: expect.stringMatching(/fork/) }),
      );
      // One version more, with the forged database's own consistency proof: still a fork.
      await write(fork.db, 1, 'more-');
      await fork.db.checkpoint({ signKey: a.logKey });
      const { checkpoint, proof } = await fork.db.consistencyProof(cosigned.treeSize);
      expect(checkpoint.treeSize).toBe(cosigned.treeSize + 1);
      expect(proof.length).toBeGreaterThan(0);
      expect(() =>
        witnessCheckpoint(b.state, checkpoint, proof, {
          name: b.witnessName,
          signKey: b.witnessKey,
          logKey: a.logPublic,
        }),
      ).toThrow(expect.objectContaining({ code: 'integrity', message: expect.stringMatching(/fork/) }));
      // A checkpoint signed by another key, or smaller than the last cosigned, is refused too.
      const other = pemPair();
      expect(() =>
        witnessCheckpoint(b.state, forged, [], {
          name: b.witnessName,
          signKey: b.witnessKey,
          logKey: other.publicKey,
        }),
      ).toThrow(/log's signature/);
    } finally {
      await fork.close();
    }
    expect(b.state).toBe(before);
  });

  it('a witness refuses a checkpoint smaller than the last it cosigned: the log rolled back', async () => {
    const earlier = await a.db.checkpoint({ signKey: a.logKey });
    await write(a.db, 2, 'after-');
    await a.db.checkpoint({ signKey: a.logKey });
    await witness(b, a);
    const before = b.state;
    await expect(witness(b, a, checkpointNote(earlier))).rejects.toMatchObject({
      code: 'integrity',
      message: `not cosigned: the checkpoint has ${earlier.treeSize} leaves, fewer than the ${earlier.treeSize + 2} already cosigned: the log rolled back`,
    });
    expect(b.state).toBe(before);
  });
});

describe('appendlog witness --state, on a PGlite data directory', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'appendlog-witness-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a rolled-back checkpoint and leaves its state file as it was', async () => {
    const data = freshDataDir(join(dir, 'data'));
    const log = pemPair();
    const logPub = join(dir, 'log.pub.pem');
    writeFileSync(logPub, log.publicKey.export({ format: 'pem', type: 'spki' }));
    const witnessKey = join(dir, 'witness.pem');
    writeFileSync(witnessKey, pemPair().pem);
    const db = await connect({ dataDir: data });
    await db.migrate([addresses]);
    await write(db, 2, 'early-');
    const earlier = join(dir, 'earlier.note');
    writeFileSync(earlier, checkpointNote(await db.checkpoint({ signKey: log.pem })));
    await write(db, 2, 'late-');
    await db.checkpoint({ signKey: log.pem });
    await db.close();

    const state = join(dir, 'state');
    const args = ['witness', '--data-dir', data, '--name', 'witness.example/w', '--sign-key', witnessKey];
    const first = await cliInProcess([...args, '--log-key', logPub, '--state', state]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const before = readFileSync(state, 'utf8');
    expect(before.split('\n')[1]).toBe('4');
    const rollback = await cliInProcess([
      ...args,
      '--log-key',
      logPub,
      '--state',
      state,
      '--checkpoint',
      earlier,
    ]);
    expect(rollback.code).toBe(2);
    expect(rollback.stderr).toContain(
      'not cosigned: the checkpoint has 2 leaves, fewer than the 4 already cosigned: the log rolled back (integrity)',
    );
    expect(readFileSync(state, 'utf8')).toBe(before);
  });
});

function rawOf(key: KeyObject): Buffer {
  return Buffer.from(String(key.export({ format: 'jwk' }).x), 'base64url');
}
