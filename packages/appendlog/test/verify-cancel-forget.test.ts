import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Database } from '../src/index.js';
import { cancelProblem, forgotten } from '../src/integrity/op-sequence.js';
import { versionHashSql } from '../src/sql/canonical.js';
import { tableObjects } from '../src/sql/names.js';
import { parentHashSql } from '../src/sql/version-fields.js';
import { describeEngines, type TestDb } from './support/engines.js';
import { headFromLog } from './support/head-from-log.js';
import { waitForHorizon } from './support/horizon.js';
import { freshDataDir } from './support/pglite-snapshot.js';
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

  /** An entry, live or in the recycle bin, forgotten (due in an hour) and its forget cancelled. */
  const cancelled = async (was: 'live' | 'deleted') => {
    const book = db.table(addresses);
    const v = await book.insert({ name: `was ${was}` });
    if (was === 'deleted') await book.delete(v.entryId, { reason: 'duplicate' });
    const forget = await book.forget(v.entryId, { reason: 'GDPR request', after: '1 hour' });
    const cancel = await book.cancelForget(v.entryId, { reason: 'withdrawn' });
    return { entryId: v.entryId, forget: forget.version, cancel: cancel.version };
  };

  /**
   * Rewrites one version as a superuser with the triggers off (SET … session_replication_role),
   * then recomputes its hash and relinks and rehashes the versions after it, and makes the head
   * hold the last version whole: only the rules on ops are left to break.
   */
  const forge = (entryId: string, version: number, set: string) =>
    db.transaction(async (tx) => {
      const o = tableObjects(db.schema, 'addresses');
      const rehash = `UPDATE ${o.log} x SET hash = ${versionHashSql(db.schema, 'addresses', 'x', { parentHash: parentHashSql('x', o.log) })}
                       WHERE x.entry_id = $1 AND x.version = $2`;
      await tx.query('SET LOCAL session_replication_role = replica');
      await tx.query(`UPDATE ${o.log} x SET ${set} WHERE x.entry_id = $1 AND x.version = $2`, [
        entryId,
        version,
      ]);
      await tx.query(rehash, [entryId, version]);
      const [last] = await tx.query<{ n: number }>(
        `SELECT max(version) AS n FROM ${o.log} WHERE entry_id = $1`,
        [entryId],
      );
      for (let v = version + 1; v <= last!.n; v++) {
        await tx.query(
          `UPDATE ${o.log} x SET parent_hash = p.hash FROM ${o.log} p
            WHERE x.entry_id = $1 AND x.version = $2 AND p.entry_id = x.entry_id AND p.version = x.version - 1`,
          [entryId, v],
        );
        await tx.query(rehash, [entryId, v]);
      }
      await headFromLog(tx, db.schema, 'addresses', addresses.columns, entryId);
    });

  const failures = async (entryId: string) =>
    (await db.table(addresses).verify(entryId)).failures.map((f) => [f.version, f.problem, f.detail]);

  /** The forget's due time, moved by `shift` (an interval literal). */
  const dueAt = (shift: string) =>
    `(SELECT (f.meta -> 'erasure' ->> 'dueAt')::timestamptz + interval '${shift}'
        FROM "${db.schema}".addresses_log f WHERE f.entry_id = x.entry_id AND f.version = x.version - 1)`;

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

  it('after a forget, anything but its cancel is op_sequence (rows forged with the triggers off)', async () => {
    const cases: Array<[string, 'live' | 'deleted', string, string]> = [
      ['an update', 'live', `op = 'update', meta = NULL`, 'an update follows a forget without'],
      ['an update marked as the cancel', 'live', `op = 'update'`, 'is an update, not a restore'],
      ['another forget', 'live', `op = 'forget'`, 'is a forget, not a restore'],
      ['an insert', 'live', `op = 'insert'`, 'is an insert, not a restore'],
      [
        'a delete cancelling the forget of a live entry',
        'live',
        `op = 'delete'`,
        'is a delete, not a restore',
      ],
      ['a restore cancelling the forget of a deleted entry', 'deleted', `op = 'restore'`, 'not a delete'],
      ['a restore without meta', 'live', 'meta = NULL', 'without meta.cancelForget'],
      ['cancelForget false', 'live', `meta = '{"cancelForget": false}'`, 'without meta.cancelForget'],
      ['cancelForget "true", a string', 'live', `meta = '{"cancelForget": "true"}'`, 'without'],
      ['the marker inside an array', 'live', `meta = '[{"cancelForget": true}]'`, 'without'],
      ['no reason', 'live', 'reason = NULL', 'has no reason'],
      ['a reason of spaces', 'deleted', `reason = '   '`, 'has no reason'],
      ['a cancel at the due time', 'live', `recorded_at = ${dueAt('0 seconds')}`, 'not before its due time'],
      ['a cancel after the due time', 'deleted', `recorded_at = ${dueAt('1 day')}`, 'not before'],
    ];
    for (const [what, was, set, detail] of cases) {
      const e = await cancelled(was);
      expect(await failures(e.entryId), what).toEqual([]);
      await forge(e.entryId, e.cancel, set);
      expect(await failures(e.entryId), what).toEqual([
        [e.cancel, 'op_sequence', expect.stringContaining(detail)],
      ]);
    }
  });

  it('the cancel is judged by the forget’s own meta.erasure.dueAt, in canonical text', async () => {
    const forgetMeta: Array<[string, string]> = [
      ['no dueAt', `meta = meta #- '{erasure,dueAt}'`],
      ['no erasure', `meta = meta - 'erasure'`],
      ['a dueAt not canonical', `meta = jsonb_set(meta, '{erasure,dueAt}', '"2999-01-01 00:00:00+00"')`],
      [
        'a dueAt that is no date',
        `meta = jsonb_set(meta, '{erasure,dueAt}', '"2999-02-29T00:00:00.000000Z"')`,
      ],
    ];
    for (const [what, set] of forgetMeta) {
      const e = await cancelled('live');
      await forge(e.entryId, e.forget, set);
      expect(await failures(e.entryId), what).toEqual([
        [e.cancel, 'op_sequence', expect.stringContaining('dueAt is not a canonical time')],
      ]);
    }
  });

  it('what the trigger accepts, the verifier accepts: a reason of a tab, 1 µs before the due time', async () => {
    // Through the trigger: raw SQL whose reason is blank only to JavaScript's trim().
    const book = db.table(addresses);
    const v = await book.insert({ name: 'Tab' });
    await book.forget(v.entryId, { reason: 'GDPR request' });
    await db.query(
      `UPDATE "${db.schema}".addresses_head SET op = 'restore', reason = E'\\t', meta = '{"cancelForget": true}'
        WHERE entry_id = $1`,
      [v.entryId],
    );
    expect((await book.history(v.entryId)).map((x) => [x.op, x.reason])).toEqual([
      ['insert', null],
      ['forget', 'GDPR request'],
      ['restore', '\t'],
    ]);
    expect(await failures(v.entryId)).toEqual([]);

    // Forged: the last instant the cancel may have.
    const e = await cancelled('deleted');
    await forge(e.entryId, e.cancel, `recorded_at = ${dueAt('-1 microsecond')}`);
    expect(await failures(e.entryId)).toEqual([]);
  });

  it('after the cancel, the rules after a restore or a delete apply', async () => {
    const book = db.table(addresses);
    const live = await cancelled('live');
    const next = await book.update(live.entryId, { city: 'Oslo' });
    await forge(live.entryId, next.version, `op = 'restore'`);
    expect(await failures(live.entryId)).toEqual([
      [next.version, 'op_sequence', 'a restore of an entry that was not deleted'],
    ]);

    const binned = await cancelled('deleted');
    const back = await book.restore(binned.entryId);
    await forge(binned.entryId, back.version, `op = 'update'`);
    expect(await failures(binned.entryId)).toEqual([
      [back.version, 'op_sequence', 'an update of a deleted entry'],
    ]);
  });
});

describe('appendlog checkpoint after a cancelled forget', () => {
  it('verifies first, then takes the checkpoint (PGlite data directory, the built binary)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'appendlog-cancel-'));
    try {
      const db = await connect({ dataDir: freshDataDir(join(dir, 'data')) });
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
      expect(r.stdout).toMatch(
        /^checkpoint 1 of appendlog\.local\/public\/[0-9a-f]{20}: 3 versions, root [0-9a-f]{64}/,
      );
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
