import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CarReader } from '@ipld/car/reader';
import { CarWriter } from '@ipld/car/writer';
import type { CID } from 'multiformats/cid';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { exportCar } from '../src/export/car.js';
import {
  type ChunkedText,
  decodeBlock,
  type ExportRoot,
  encodeBlock,
  type VersionBlock,
} from '../src/export/car-blocks.js';
import { checkCar } from '../src/export/car-read.js';
import { column as c, type Database, table } from '../src/index.js';
import { MAX_LABEL_BYTES, MAX_VALUE_BYTES } from '../src/model/values.js';
import { describeEngines, type TestDb } from './support/engines.js';
import { readCarIndependently } from './support/ipld-car-check.js';

const big = table('big', { a: c.text(), b: c.text(), note: c.text() });
const MiB = 1024 * 1024;

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
    const car = await readCarIndependently(file);
    expect(car.largest).toBeLessThanOrEqual(MiB);
    expect(car.cids).toBe(true);
    expect(car.versions.map((v) => v.version)).toEqual([1, 2]);
    const rows = await db.table(big).history(car.versions[0]!.entryId);
    for (const v of car.versions) {
      expect(v.chunked.length).toBeGreaterThan(0);
      expect(v.chunked).not.toContain('meta');
      expect(v.consistent).toBe(true);
      expect(v.hash).toBe(rows[v.version - 1]!.hash);
      expect(v.data!.a).toBe(rows[0]!.data.a);
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

const labelled = table('labelled', { a: c.text(), note: c.text() });
// The largest meta accepted (its jsonb text `{"k": "…"}` is MAX_VALUE_BYTES long), multi-byte
// characters across chunk edges, and the longest actor and reason (4 KiB each).
const largestMeta = { k: `${'é'.repeat(1000)}${'m'.repeat(MAX_VALUE_BYTES - 9 - 2000)}` };
const label = 'λ'.repeat(MAX_LABEL_BYTES / 2);

describeEngines('CAR blocks within 1 MiB: the largest meta, actor and reason', (engine) => {
  let t: TestDb;
  let db: Database;
  let dir: string;
  let kept: string;
  let erased: string;

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    dir = mkdtempSync(join(tmpdir(), 'appendlog-car-meta-'));
    await db.migrate([labelled]);
    const book = db.table(labelled);
    const labels = { actor: label, reason: label, meta: largestMeta };
    kept = (await book.insert({ a: 'x'.repeat(MiB), note: 'small' }, labels)).entryId;
    erased = (await book.insert({ a: 'gone', note: 'small' }, labels)).entryId;
    await book.forget(erased, { reason: 'GDPR request #17', after: '0 seconds' });
    expect((await db.purge()).erased.map((e) => e.entryId)).toEqual([erased]);
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await t.close();
  });

  it('a version with the largest meta: no block over 1 MiB, and @ipld/car alone checks its hashes', async () => {
    const file = join(dir, 'kept.car');
    await exportCar(db, file, { entryId: kept });
    expect(await checkCar(file)).toMatchObject({ ok: true, versions: 1, failures: [] });
    const car = await readCarIndependently(file);
    expect(car.largest).toBeLessThanOrEqual(MiB);
    expect(car.cids).toBe(true);
    const [v] = car.versions;
    const [row] = await db.table(labelled).history(kept);
    expect(v!.chunked).toEqual(['a', 'meta', 'note']);
    expect(v!.consistent).toBe(true);
    expect(v!.hash).toBe(row!.hash);
    expect(Buffer.byteLength(v!.meta!, 'utf8')).toBe(MAX_VALUE_BYTES);
    expect(JSON.parse(v!.meta!)).toEqual(largestMeta);
    expect(v!.data).toEqual({ a: 'x'.repeat(MiB), note: 'small' });
  });

  it('an erased version keeps its meta, chunked, and still verifies', async () => {
    const file = join(dir, 'erased.car');
    await exportCar(db, file, { entryId: erased });
    expect(await checkCar(file)).toMatchObject({ ok: true, versions: 2, erased: 2, failures: [] });
    const car = await readCarIndependently(file);
    expect(car.largest).toBeLessThanOrEqual(MiB);
    expect(car.cids).toBe(true);
    const rows = await db.table(labelled).history(erased);
    expect(car.versions.map((v) => [v.version, v.redacted, v.data, v.chunked, v.consistent, v.hash])).toEqual(
      [
        [1, true, null, ['meta'], true, rows[0]!.hash],
        [2, true, null, [], true, rows[1]!.hash],
      ],
    );
    expect(JSON.parse(car.versions[0]!.meta!)).toEqual(largestMeta);
  });

  it('checkCar refuses a block over 1 MiB (meta inline, as before) and a missing chunk of meta', async () => {
    const file = join(dir, 'source.car');
    await exportCar(db, file, { entryId: kept });
    const car = await CarReader.fromBytes(readFileSync(file));
    const blocks: Array<{ cid: CID; bytes: Uint8Array }> = [];
    for await (const b of car.blocks()) blocks.push(b);
    const raw = (cid: CID) => blocks.find((b) => b.cid.equals(cid))!.bytes;
    const [root] = await car.getRoots();
    const rootBlock = decodeBlock<ExportRoot>(raw(root!));
    // The export of one entry of one version: raw chunks, the version, its entry page, the root.
    const [version] = blocks
      .filter((b) => b.cid.code === 0x71)
      .map((b) => decodeBlock<VersionBlock>(b.bytes))
      .filter((v) => 'entryId' in v);
    const metaChunks = (version!.meta as ChunkedText).chunks;

    // The version as the encoder wrote it before meta was chunked: every hash still holds.
    const meta = Buffer.concat(metaChunks.map(raw)).toString('utf8');
    const inline = await encodeBlock({ ...version!, meta });
    expect(inline.bytes.length).toBeGreaterThan(MiB);
    const page = await encodeBlock({ entries: [[kept, inline.cid]], prev: null });
    const newRoot = await encodeBlock({
      ...rootBlock,
      tables: rootBlock.tables.map((x) => ({ ...x, entries: page.cid })),
    });
    const chunks = blocks.filter((b) => b.cid.code === 0x55);
    const oversized = await writeCar(join(dir, 'oversized.car'), newRoot.cid, [
      ...chunks,
      inline,
      page,
      newRoot,
    ]);
    expect(await checkCar(oversized)).toMatchObject({
      ok: false,
      failures: [
        {
          cid: inline.cid.toString(),
          entryId: kept,
          version: 1,
          problem: `the block is ${inline.bytes.length} bytes, over the 1 MiB limit (1048576 bytes) of docs/spec.md §8`,
        },
      ],
    });

    const dropped = metaChunks[1]!;
    const missing = await writeCar(
      join(dir, 'missing.car'),
      root!,
      blocks.filter((b) => !b.cid.equals(dropped)),
    );
    expect((await checkCar(missing)).failures.map((f) => f.problem)).toEqual([
      'a chunk of meta is missing',
      `meta is not ${MAX_VALUE_BYTES} bytes long`,
      'hash_mismatch',
    ]);
  });
});

/** Writes `blocks` as a CAR file with root `root`; returns its path. */
async function writeCar(
  file: string,
  root: CID,
  blocks: Array<{ cid: CID; bytes: Uint8Array }>,
): Promise<string> {
  const { writer, out } = CarWriter.create([root]);
  const parts: Uint8Array[] = [];
  const collect = (async () => {
    for await (const p of out) parts.push(p);
  })();
  for (const b of blocks) await writer.put(b);
  await writer.close();
  await collect;
  writeFileSync(file, Buffer.concat(parts));
  return file;
}
