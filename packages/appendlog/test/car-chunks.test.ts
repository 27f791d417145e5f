import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CarReader } from '@ipld/car/reader';
import * as dagCbor from '@ipld/dag-cbor';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { exportCar } from '../src/export/car.js';
import { checkCar } from '../src/export/car-read.js';
import { column as c, type Database, table } from '../src/index.js';
import { describeEngines, type TestDb } from './support/engines.js';

const big = table('big', { a: c.text(), b: c.text(), note: c.text() });
const MiB = 1024 * 1024;

// The hashes of docs/spec.md §2 and §4, written here from the spec text, not imported from src/.
function F(x: string | null): Buffer {
  if (x === null) return Buffer.from([0xff, 0xff, 0xff, 0xff]);
  const b = Buffer.from(x, 'utf8');
  const n = Buffer.alloc(4);
  n.writeUInt32BE(b.length);
  return Buffer.concat([n, b]);
}
const sha = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();

describeEngines('CAR blocks within 1 MiB', (engine) => {
  let t: TestDb;
  let db: Database;
  let dir: string;

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    dir = mkdtempSync(join(tmpdir(), 'appendlog-car-chunks-'));
    await db.migrate([big]);
    // Three values of 1 MiB each (the largest a value may be), multi-byte characters across chunk edges.
    const v = await db.table(big).insert({ a: 'x'.repeat(MiB), b: 'é'.repeat(MiB / 2), note: 'small' });
    await db.table(big).update(v.entryId, { note: `ø${'y'.repeat(MiB - 2)}` });
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await t.close();
  });

  it('no block is over 1 MiB, and @ipld/car alone reads and checks every hash end to end', async () => {
    const file = join(dir, 'big.car');
    await exportCar(db, file);
    expect((await checkCar(file)).ok).toBe(true);
    const car = await CarReader.fromBytes(readFileSync(file));
    const blocks = new Map<string, Uint8Array>();
    for await (const { cid, bytes } of car.blocks()) {
      expect(bytes.length).toBeLessThanOrEqual(MiB);
      // CIDv1, sha2-256 (0x12, 32 bytes): the digest is the SHA-256 of the block's bytes.
      expect(cid.multihash.code).toBe(0x12);
      expect(Buffer.from(cid.multihash.digest).equals(sha(Buffer.from(bytes)))).toBe(true);
      expect([0x71, 0x55]).toContain(cid.code);
      blocks.set(cid.toString(), bytes);
    }
    const versions = [...blocks.values()]
      .map((b) => {
        try {
          return dagCbor.decode(b) as Record<string, unknown>;
        } catch {
          return null; // a raw chunk
        }
      })
      .filter((v): v is Record<string, unknown> => v !== null && 'entryId' in v);
    expect(versions.map((v) => v.version).sort()).toEqual([1, 2]);
    const rows = await db.table(big).history(String(versions[0]!.entryId));
    for (const v of versions) {
      const data = v.data as Record<string, string | { chunks: { toString(): string }[]; bytes: number }>;
      const text = (x: (typeof data)[string]) =>
        typeof x === 'string'
          ? x
          : Buffer.concat(x.chunks.map((cid) => Buffer.from(blocks.get(cid.toString())!))).toString('utf8');
      const names = Object.keys(data).sort();
      expect(names.some((n) => typeof data[n] !== 'string')).toBe(true);
      const content = Buffer.concat(names.flatMap((n) => [F(n), F(text(data[n]!))]));
      const contentHash = sha(Buffer.from(v.salt as Uint8Array), content);
      expect(contentHash.equals(Buffer.from(v.contentHash as Uint8Array))).toBe(true);
      const hash = sha(
        F('appendlog/v1'),
        F(v.table as string),
        F(v.entryId as string),
        F(String(v.version)),
        F(v.op as string),
        F(v.recordedAt as string),
        F(v.txId as string),
        F(v.actor as string | null),
        F(v.reason as string | null),
        F(v.meta as string | null),
        v.parentHash === null ? Buffer.alloc(32) : Buffer.from(v.parentHash as Uint8Array),
        contentHash,
      );
      expect(hash.toString('hex')).toBe(rows[(v.version as number) - 1]!.hash);
      expect(text(data.a!)).toBe(rows[0]!.data.a);
    }
  });

  it('checkCar finds a missing chunk', async () => {
    const file = join(dir, 'big2.car');
    await exportCar(db, file);
    // Rewrite the CAR without one raw block.
    const car = await CarReader.fromBytes(readFileSync(file));
    const { CarWriter } = await import('@ipld/car/writer');
    const { writeFileSync } = await import('node:fs');
    const { writer, out } = CarWriter.create(await car.getRoots());
    const chunks: Uint8Array[] = [];
    const collect = (async () => {
      for await (const c of out) chunks.push(c);
    })();
    // Every copy of the first raw block (equal chunks share one CID).
    let dropped: string | undefined;
    for await (const b of car.blocks()) {
      if (b.cid.code === 0x55) dropped ??= b.cid.toString();
      if (b.cid.toString() === dropped) continue;
      await writer.put(b);
    }
    await writer.close();
    await collect;
    const broken = join(dir, 'broken.car');
    writeFileSync(broken, Buffer.concat(chunks));
    const r = await checkCar(broken);
    expect(r.ok).toBe(false);
    expect(r.failures.map((f) => f.problem).join('\n')).toMatch(/a chunk of column \w+ is missing/);
  });
});
