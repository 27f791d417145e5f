import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Database } from '../src/index.js';
import { cancelProblem, forgotten } from '../src/integrity/op-sequence.js';
import { describeEngines, type TestDb } from './support/engines.js';
import { waitForHorizon } from './support/horizon.js';
import { addresses } from './support/tables.js';

describeEngines('verify: what may follow a forget', (engine) => {
  let t: TestDb;
  let db: Database;

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    await db.migrate([addresses]);
  });
  afterAll(() => t.close());

  it('a forget cancelled before its due time verifies, and a checkpoint covers it', async () => {
    const book = db.table(addresses);
    const live = await book.insert({ name: 'Live' });
    const binned = await book.insert({ name: 'Binned' });
    await book.delete(binned.entryId, { reason: 'duplicate' });
    await book.forget(live.entryId, { reason: 'GDPR request #1' });
    await book.forget(binned.entryId, { reason: 'GDPR request #2', after: '100000 years' });
    expect(await book.cancelForget(live.entryId, { reason: 'withdrawn', meta: { ticket: 7 } })).toMatchObject(
      {
        op: 'restore',
        meta: { ticket: 7, cancelForget: true },
      },
    );
    expect(await book.cancelForget(binned.entryId, { reason: 'withdrawn' })).toMatchObject({ op: 'delete' });
    expect(await db.verify()).toEqual({ ok: true, checked: 7, erased: 0, failures: [] });

    // After the cancel, what may follow a restore (live) or a delete (binned); then again.
    await book.update(live.entryId, { city: 'Oslo' });
    await book.forget(live.entryId, { reason: 'GDPR request #3' });
    await book.cancelForget(live.entryId, { reason: 'withdrawn again' });
    await book.restore(binned.entryId);
    expect(await db.verify()).toEqual({ ok: true, checked: 11, erased: 0, failures: [] });

    // (The horizon is cluster-wide: on a shared server the checkpoint may cover fewer versions.)
    await waitForHorizon(db, ['addresses']);
    const cp = await db.checkpoint();
    expect(cp).toMatchObject({ id: 1 });
    expect(await db.verify({ against: cp })).toMatchObject({ ok: true, failures: [] });
  });
});

describe('appendlog checkpoint after a cancelled forget', () => {
  it('verifies first, then takes the checkpoint (PGlite data directory, the built binary)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'appendlog-cancel-'));
    try {
      const db = await connect({ dataDir: join(dir, 'data') });
      await db.migrate([addresses]);
      const book = db.table(addresses);
      const v = await book.insert({ name: 'Regretted' });
      await book.forget(v.entryId, { reason: 'GDPR request' });
      await book.cancelForget(v.entryId, { reason: 'withdrawn' });
      await db.close();
      const bin = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
      const r = spawnSync(
        process.execPath,
        [bin, 'checkpoint', '--data-dir', join(dir, 'data'), '--out', join(dir, 'cp.json')],
        {
          encoding: 'utf8',
          env: { ...process.env, DATABASE_URL: undefined },
        },
      );
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^checkpoint 1: 3 versions, root [0-9a-f]{64}/);
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('op-sequence: the forget’s due time', () => {
  const at = (iso: string) => BigInt(Date.parse(iso) - Date.parse('2000-01-01T00:00:00Z')) * 1000n;
  const meta = (dueAt: unknown) => JSON.stringify({ erasure: { dueAt } });
  const cancel = '{"cancelForget": true}';

  it('reads canonical times of years 1 to 294276 and nothing else', () => {
    for (const ok of [
      '0001-01-01T00:00:00.000000Z',
      '2024-02-29T23:59:59.999999Z',
      '9999-12-31T23:59:59.999999Z',
      '10000-01-01T00:00:00.000000Z',
      '294276-12-31T23:59:59.999999Z',
    ])
      expect(forgotten(meta(ok), 'update').dueAt?.text, ok).toBe(ok);
    for (const bad of [
      '0000-01-01T00:00:00.000000Z',
      '2026-02-29T00:00:00.000000Z',
      '2026-04-31T00:00:00.000000Z',
      '2026-13-01T00:00:00.000000Z',
      '2026-01-01T24:00:00.000000Z',
      '2026-01-01T00:60:00.000000Z',
      '2026-01-01T00:00:00.00000Z',
      '2026-01-01T00:00:00Z',
      '02026-01-01T00:00:00.000000Z',
      `${'9'.repeat(400)}-01-01T00:00:00.000000Z`,
      '2026-01-01 00:00:00+00',
      1_800_000_000,
      null,
    ])
      expect(forgotten(meta(bad), 'update').dueAt, String(bad)).toBeNull();
    expect(forgotten('not json', 'update').dueAt).toBeNull();
    expect(forgotten(null, 'delete')).toEqual({ dueAt: null, cancelOp: 'delete' });
  });

  it('orders times by instant, a longer year later', () => {
    const f = forgotten(meta('10000-01-01T00:00:00.000000Z'), 'update');
    expect(cancelProblem(f, 'restore', 'r', cancel, at('9999-12-31T23:59:59.999Z'))).toBeNull();
    const g = forgotten(meta('2026-06-01T00:00:00.000001Z'), 'update');
    expect(cancelProblem(g, 'restore', 'r', cancel, at('2026-06-01T00:00:00.000Z'))).toBeNull();
    expect(cancelProblem(g, 'restore', 'r', cancel, at('2026-06-01T00:00:00.000Z') + 1n)).toContain(
      'not before its due time 2026-06-01T00:00:00.000001Z',
    );
  });
});
