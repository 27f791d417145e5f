import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CarWriter } from '@ipld/car/writer';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { exportCar } from '../src/export/car.js';
import { encodeBlock, type VersionBlock } from '../src/export/car-blocks.js';
import { carRoots, checkCar, readCar } from '../src/export/car-read.js';
import type { Database } from '../src/index.js';
import { toHex } from '../src/integrity/hex.js';
import { describeEngines, type TestDb } from './support/engines.js';
import { addresses, kitchen } from './support/tables.js';

describeEngines('CAR export', (engine) => {
  let t: TestDb;
  let db: Database;
  let dir: string;
  const ids: string[] = [];

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    dir = mkdtempSync(join(tmpdir(), 'appendlog-car-'));
    await db.migrate([addresses, kitchen]);
    const book = db.table(addresses);
    for (let i = 0; i < 4; i++) {
      const v = await book.insert({ name: `n${i}`, city: 'Oslo' }, { actor: 'alice', meta: { i } });
      await book.update(v.entryId, { tel: `${i}` }, { reason: 'r' });
      if (i === 1) await book.delete(v.entryId, { reason: 'gone' });
      ids.push(v.entryId);
    }
    await db.table(kitchen).insert({
      label: 'k',
      seenAt: '2026-01-02T03:04:05.123456Z',
      doc: { tags: ['é'], n: 1 },
      price: '1.50',
      born: '2020-02-29',
    });
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await t.close();
  });

  it('exports every version as a linked block and reads back the same versions and CIDs', async () => {
    const file = join(dir, 'all.car');
    const r = await exportCar(db, file);
    expect(r.versions).toBe(10);
    expect((await carRoots(file)).map(String)).toEqual([r.root]);
    const check = await checkCar(file);
    expect(check).toMatchObject({ ok: true, versions: 10, erased: 0, failures: [] });

    const blocks = new Map<string, VersionBlock>();
    for await (const b of readCar(file)) {
      expect(b.valid).toBe(true);
      const v = b.value as VersionBlock;
      if ('entryId' in (v as object)) blocks.set(b.cid.toString(), v);
    }
    const book = db.table(addresses);
    for (const id of ids) {
      const history = await book.history(id);
      const mine = [...blocks.entries()]
        .filter(([, v]) => v.entryId === id)
        .sort((a, b) => a[1].version - b[1].version);
      expect(mine.map(([, v]) => [v.version, v.op, toHex(v.hash), v.actor, v.reason, v.recordedAt])).toEqual(
        history.map((h) => [h.version, h.op, h.hash, h.actor, h.reason, h.recordedAtIso]),
      );
      for (let i = 1; i < mine.length; i++) expect(mine[i]![1].parent?.toString()).toBe(mine[i - 1]![0]);
      expect(mine[0]![1].data).toEqual({ name: history[0]!.data.name, city: 'Oslo' });
    }
    // Version blocks are content-addressed: a second export yields the same CIDs.
    const again = join(dir, 'again.car');
    await exportCar(db, again);
    const cids = new Set<string>();
    for await (const b of readCar(again)) cids.add(b.cid.toString());
    for (const cid of blocks.keys()) expect(cids.has(cid)).toBe(true);
  });

  it('exports one entry, and refuses an unknown one', async () => {
    const file = join(dir, 'one.car');
    const r = await exportCar(db, file, { entryId: ids[1]! });
    expect(r.versions).toBe(3);
    expect(await checkCar(file)).toMatchObject({ ok: true, versions: 3 });
    await expect(
      exportCar(db, join(dir, 'x.car'), { entryId: '00000000-0000-4000-8000-000000000000' }),
    ).rejects.toMatchObject({
      code: 'not_found',
    });
    await expect(exportCar(db, join(dir, 'y.car'), { entryId: 'nope' })).rejects.toMatchObject({
      code: 'invalid_input',
    });
    await expect(exportCar(db, join(dir, 'z.car'), { tables: ['nope'] })).rejects.toMatchObject({
      code: 'invalid_input',
    });
  });

  it('checkCar finds an altered version, a broken link and a forged CID', async () => {
    const file = join(dir, 'src.car');
    await exportCar(db, file, { entryId: ids[0]! });
    const all: Array<{ cid: import('multiformats/cid').CID; value: unknown }> = [];
    for await (const b of readCar(file)) all.push(b);
    const [root] = await carRoots(file);
    const rewrite = async (name: string, change: (v: VersionBlock) => VersionBlock, keepCid: boolean) => {
      const out = join(dir, name);
      const { writer, out: stream } = CarWriter.create([root!]);
      const chunks: Uint8Array[] = [];
      const done = (async () => {
        for await (const c of stream) chunks.push(c);
      })();
      for (const b of all) {
        const v = b.value as VersionBlock;
        if ((v as { version?: number }).version === 1) {
          const enc = await encodeBlock(change(v));
          await writer.put({ cid: keepCid ? b.cid : enc.cid, bytes: enc.bytes });
        } else {
          await writer.put({ cid: b.cid, bytes: (await encodeBlock(b.value as VersionBlock)).bytes });
        }
      }
      await writer.close();
      await done;
      const { writeFileSync } = await import('node:fs');
      writeFileSync(out, Buffer.concat(chunks));
      return checkCar(out);
    };
    const edited = await rewrite('edited.car', (v) => ({ ...v, data: { ...v.data, city: 'Gotham' } }), false);
    expect(edited.ok).toBe(false);
    expect(edited.failures.map((f) => f.problem)).toEqual(
      expect.arrayContaining(['content_hash_mismatch', 'the parent block is not in the file']),
    );
    const forged = await rewrite('forged.car', (v) => ({ ...v, actor: 'mallory' }), true);
    expect(forged.failures.map((f) => f.problem)).toEqual(
      expect.arrayContaining(['the block does not hash to its CID', 'hash_mismatch']),
    );
  });
});
