import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TileTree, tileIndexPath } from '../src/export/tiles.js';
import { type Checkpoint, type Database, exportTiles } from '../src/index.js';
import { makeVkey, readCheckpoint, readVkey, verifyNote } from './support/c2sp-verifier.js';
import { describeEngines, type TestDb } from './support/engines.js';
import { waitForHorizon } from './support/horizon.js';
import { treeRoot } from './support/spec-verifier-rules.js';
import { addresses } from './support/tables.js';
import {
  type Fetch,
  indexPath,
  leafHashOf,
  TiledLog,
  verifyConsistency,
  verifyInclusion,
} from './support/tlog-tiles-reader.js';

/**
 * C2SP tlog-tiles: appendlog's checkpoint tree published as static tiles, read back by a client
 * written from the C2SP text (support/tlog-tiles-reader.ts) that fetches inclusion and
 * consistency proofs from the files and verifies them against the signed checkpoint.
 */

const fromDir =
  (dir: string): Fetch =>
  (path) => {
    try {
      return readFileSync(join(dir, path));
    } catch {
      return null;
    }
  };

/** Every file below `dir` (relative path → bytes), the staging directory excepted. */
function files(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

describe('the tile reader is independent', () => {
  it('imports nothing but node:crypto', () => {
    const source = readFileSync(
      fileURLToPath(new URL('./support/tlog-tiles-reader.ts', import.meta.url)),
      'utf8',
    );
    expect([...source.matchAll(/^import\b[^;]*?'([^']+)';$/gm)].map((m) => m[1])).toEqual(['node:crypto']);
    expect(source).not.toMatch(/\bimport\s*\(|\brequire\s*\(/);
  });
});

describe('tiles of a tree as C2SP cuts it', () => {
  it('names tile indexes in groups of three digits, x before all but the last', () => {
    for (const [n, path] of [
      [0, '000'],
      [5, '005'],
      [999, '999'],
      [1000, 'x001/000'],
      [1234067, 'x001/x234/067'],
    ] as const) {
      expect(tileIndexPath(n)).toBe(path);
      expect(indexPath(n)).toBe(path);
    }
  });

  it('a tree of 70,000 leaves: the tiles C2SP lists, and every proof the reader builds from them verifies', () => {
    const entries = Array.from({ length: 70_000 }, (_, i) => Buffer.from(`leaf ${i}`));
    const out = new Map<string, Buffer>();
    const tree = new TileTree((f) => out.set(f.path, f.bytes));
    for (const e of entries) tree.push(e);
    tree.finish();
    const paths = [...out.keys()];
    // c2sp.org/tlog-tiles: 273 full level-0 tiles, a partial one of width 112, one full level-1
    // tile, a partial one of width 17, a partial level-2 tile of width 1; bundles like level 0.
    expect(paths.filter((p) => /^tile\/0\/[x\d/]+$/.test(p))).toHaveLength(273);
    expect(paths.filter((p) => p.startsWith('tile/0/') && p.includes('.p/'))).toEqual(['tile/0/273.p/112']);
    expect(paths.filter((p) => p.startsWith('tile/1/'))).toEqual(['tile/1/000', 'tile/1/001.p/17']);
    expect(paths.filter((p) => p.startsWith('tile/2/'))).toEqual(['tile/2/000.p/1']);
    expect(paths.filter((p) => p.startsWith('tile/entries/'))).toHaveLength(274);
    expect(paths).toHaveLength(273 + 1 + 2 + 1 + 274);

    const log = new TiledLog((p) => out.get(p) ?? null, entries.length);
    expect(log.root().equals(treeRoot(entries))).toBe(true);
    for (const i of [0, 1, 255, 256, 65_535, 65_536, 69_999]) {
      expect(log.entry(i).equals(entries[i]!)).toBe(true);
      const proof = log.inclusionProof(i);
      expect(verifyInclusion(leafHashOf(entries[i]!), i, entries.length, proof, log.root())).toBe(true);
      expect(verifyInclusion(leafHashOf(entries[i]!), i ^ 1, entries.length, proof, log.root())).toBe(false);
    }
    for (const m of [1, 3, 256, 300, 65_536, 69_999]) {
      const proof = log.consistencyProof(m);
      const old = treeRoot(entries.slice(0, m));
      expect(verifyConsistency(m, entries.length, proof, old, log.root()), `m = ${m}`).toBe(true);
      expect(verifyConsistency(m, entries.length, proof, treeRoot(entries.slice(1, m + 1)), log.root())).toBe(
        false,
      );
    }
  });

  it('a tree of 256 leaves: a full level-0 tile and a partial level-1 tile of width 1', () => {
    const out = new Map<string, Buffer>();
    const tree = new TileTree((f) => out.set(f.path, f.bytes));
    for (let i = 0; i < 256; i++) tree.push(Buffer.from([i]));
    tree.finish();
    expect([...out.keys()].sort()).toEqual(['tile/0/000', 'tile/1/000.p/1', 'tile/entries/000']);
  });
});

describeEngines('appendlog export --tiles', (engine) => {
  let t: TestDb;
  let db: Database;
  let dir: string;
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const signKey = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const rawPublic = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  let first: Checkpoint;

  /** The served checkpoint, its signature checked as any tlog client would: size and root. */
  const served = (origin: string) => {
    const note = readFileSync(join(dir, 'checkpoint'), 'utf8');
    expect(verifyNote(note, [readVkey(makeVkey(origin, 0x01, rawPublic))])).toBe(true);
    const c = readCheckpoint(note.slice(0, note.indexOf('\n\n') + 1));
    return { note, size: Number(c.size), root: c.root };
  };

  /** Writes versions in `n` transactions of 30 inserts each, then takes a signed checkpoint. */
  const grow = async (n: number) => {
    for (let i = 0; i < n; i++)
      await db.table(addresses).insertMany(Array.from({ length: 30 }, (_, j) => ({ name: `n${i}.${j}` })));
    await waitForHorizon(db, ['addresses']);
    return db.checkpoint({ signKey, origin: `example.com/${t.schema}` });
  };

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    await db.migrate([addresses]);
    dir = mkdtempSync(join(tmpdir(), 'appendlog-tiles-'));
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await t.close();
  });

  it('refuses before anything is written when there is no checkpoint', async () => {
    await expect(exportTiles(db, join(dir, 'none'))).rejects.toMatchObject({ code: 'invalid_state' });
    expect(readdirSync(join(dir, 'none'))).toEqual([]);
  });

  it('publishes the signed checkpoint and its tiles; a client proves inclusion of versions the log holds', async () => {
    first = await grow(10); // 300 versions
    const r = await exportTiles(db, dir);
    expect(r).toMatchObject({
      checkpointId: first.id,
      treeSize: 300,
      root: first.root,
      signed: true,
      unchanged: 0,
    });
    const written = files(dir);
    // Level 0: one full tile and one of 44; level 1: one of 1; two entry bundles; the checkpoint.
    expect([...written.keys()].sort()).toEqual(
      [
        'checkpoint',
        'tile/0/000',
        'tile/0/001.p/44',
        'tile/1/000.p/1',
        'tile/entries/000',
        'tile/entries/001.p/44',
      ].sort(),
    );
    expect(r.written).toBe(5);
    const cp = served(first.origin!);
    const log = new TiledLog(fromDir(dir), cp.size);
    expect(log.root().equals(cp.root)).toBe(true);
    for (const i of [0, 17, 255, 256, 299]) {
      const entry = log.entry(i);
      // The entry is the leaf data of docs/spec.md §6.1: F(table) ‖ F(entry_id) ‖ F(version) ‖ hash.
      const fields: string[] = [];
      let at = 0;
      for (let f = 0; f < 3; f++) {
        const n = entry.readUInt32BE(at);
        fields.push(entry.toString('utf8', at + 4, at + 4 + n));
        at += 4 + n;
      }
      const [table, entryId, version] = fields;
      const [row] = await db.query<{ h: string }>(
        `SELECT encode(hash, 'hex') AS h FROM "${t.schema}".addresses_log WHERE entry_id = $1 AND version = $2`,
        [entryId, Number(version)],
      );
      expect(table).toBe('addresses');
      expect(entry.subarray(at).toString('hex')).toBe(row!.h);
      expect(verifyInclusion(leafHashOf(entry), i, cp.size, log.inclusionProof(i), cp.root)).toBe(true);
    }
  });

  it('re-export writes only what is new, and the client proves the new tree extends the old one', async () => {
    const before = files(dir);
    const old = served(first.origin!);
    const again = await exportTiles(db, dir);
    expect(again).toMatchObject({ written: 0, unchanged: 5 });
    const second = await grow(9); // 570 versions
    const r = await exportTiles(db, dir);
    const after = files(dir);
    for (const [path, bytes] of before) {
      if (path !== 'checkpoint') expect(after.get(path)?.equals(bytes), path).toBe(true);
    }
    const added = [...after.keys()].filter((p) => !before.has(p)).sort();
    expect(added).toEqual([
      'tile/0/001',
      'tile/0/002.p/58',
      'tile/1/000.p/2',
      'tile/entries/001',
      'tile/entries/002.p/58',
    ]);
    expect(r).toMatchObject({ treeSize: 570, root: second.root, written: added.length, unchanged: 1 + 1 });
    const now = served(first.origin!);
    expect(now.size).toBe(570);
    const log = new TiledLog(fromDir(dir), now.size);
    expect(log.root().equals(now.root)).toBe(true);
    const proof = log.consistencyProof(old.size);
    expect(verifyConsistency(old.size, now.size, proof, old.root, now.root)).toBe(true);
    // The old checkpoint's tiles are still served, so its clients can still prove inclusion in it.
    const oldLog = new TiledLog(fromDir(dir), old.size);
    expect(oldLog.root().equals(old.root)).toBe(true);
  });

  it('refuses to move the served checkpoint back, or to publish over tiles that differ', async () => {
    await expect(exportTiles(db, dir, { checkpoint: first })).rejects.toMatchObject({
      code: 'invalid_state',
    });
    const tile = join(dir, 'tile/0/000');
    const good = readFileSync(tile);
    const bad = Buffer.from(good);
    bad[100] = (bad[100] ?? 0) ^ 1;
    writeFileSync(tile, bad);
    // Hash 3 of the first level-0 tile changed: leaf 3 no longer matches it, and leaf 2's proof,
    // which holds it, no longer reaches the signed root.
    const log = new TiledLog(fromDir(dir), 570);
    expect(() => log.entry(3)).toThrow(/does not hash to its leaf/);
    const root = served(first.origin!).root;
    expect(verifyInclusion(leafHashOf(log.entry(2)), 2, 570, log.inclusionProof(2), root)).toBe(false);
    expect(verifyInclusion(leafHashOf(log.entry(300)), 300, 570, log.inclusionProof(300), root)).toBe(true);
    const checkpointBefore = readFileSync(join(dir, 'checkpoint'));
    await expect(exportTiles(db, dir)).rejects.toMatchObject({ code: 'integrity' });
    expect(readFileSync(join(dir, 'checkpoint')).equals(checkpointBefore)).toBe(true);
    expect(readdirSync(dir).filter((n) => n.startsWith('.'))).toEqual([]);
    writeFileSync(tile, good);
  });

  it('refuses a log whose history changed since the checkpoint, writing nothing', async () => {
    const fresh = join(dir, 'elsewhere');
    await db.transaction(async (tx) => {
      await tx.query('SET LOCAL session_replication_role = replica');
      await tx.query(
        `UPDATE "${t.schema}".addresses_log SET hash = pg_catalog.sha256('x'::bytea)
          WHERE seq = (SELECT min(seq) FROM "${t.schema}".addresses_log)`,
      );
    });
    await expect(exportTiles(db, fresh)).rejects.toMatchObject({ code: 'integrity' });
    expect(readdirSync(fresh)).toEqual([]);
  });
});
