import { afterAll, beforeAll, expect, it } from 'vitest';
import { column as c, type Database, isAppendLogError, table } from '../src/index.js';
import { describePostgres, postgres, type TestDb } from './support/engines.js';

const counters = table('counters', {
  label: c.text().notNull(),
  a: c.integer(),
  b: c.integer(),
});

const WRITERS = 16;
const UPDATES = 50;

describePostgres('concurrent writers on one entry', () => {
  let t: TestDb;
  let handles: Database[];

  beforeAll(async () => {
    t = await postgres.open();
    await t.db.migrate([counters]);
    // 16 pools of one connection each: 16 real concurrent sessions.
    handles = await Promise.all(Array.from({ length: WRITERS }, () => t.reopen()));
  });
  afterAll(() => t.close());

  it('16 connections × 50 patch updates: 801 contiguous versions, one chain, nothing lost', async () => {
    const first = await t.db.table(counters).insert({ label: 'shared', a: 0, b: 0 });
    // Even writers patch only `a`, odd ones only `b`: a lost carry-forward would show as a stale value.
    const results = await Promise.all(
      handles.map(async (db, w) => {
        const tbl = db.table(counters);
        const mine: number[] = [];
        for (let i = 1; i <= UPDATES; i++) {
          const patch = w % 2 === 0 ? { a: w * 1000 + i } : { b: w * 1000 + i };
          const v = await tbl.update(first.entryId, patch, { actor: `writer-${w}` });
          mine.push(v.version);
        }
        return mine;
      }),
    );
    const history = await t.db.table(counters).history(first.entryId);
    expect(history.length).toBe(1 + WRITERS * UPDATES);
    history.forEach((v, i) => {
      expect(v.version).toBe(i + 1);
      expect(v.parentHash).toBe(i === 0 ? null : history[i - 1]!.hash);
    });
    // Every write that returned a version owns exactly that version.
    const claimed = results.flat().sort((x, y) => x - y);
    expect(claimed).toEqual(Array.from({ length: WRITERS * UPDATES }, (_, i) => i + 2));
    // Each version carries forward the column the writer did not touch.
    for (let i = 1; i < history.length; i++) {
      const prev = history[i - 1]!.data;
      const cur = history[i]!.data;
      const w = Number(history[i]!.actor!.slice('writer-'.length));
      if (w % 2 === 0) expect(cur.b).toBe(prev.b);
      else expect(cur.a).toBe(prev.a);
    }
    const head = await t.db.query<{ version: number }>(
      'SELECT version FROM counters_head WHERE entry_id = $1',
      [first.entryId],
    );
    expect(head[0]!.version).toBe(801);
  });

  it('with expectedVersion, every lost race is a typed conflict and a retry succeeds', async () => {
    const first = await t.db.table(counters).insert({ label: 'optimistic', a: 0 });
    let conflicts = 0;
    await Promise.all(
      handles.slice(0, 8).map(async (db) => {
        const tbl = db.table(counters);
        for (let i = 0; i < 10; i++) {
          for (;;) {
            const current = (await tbl.get(first.entryId))!;
            try {
              await tbl.update(
                first.entryId,
                { a: (current.data.a ?? 0) + 1 },
                { expectedVersion: current.version },
              );
              break;
            } catch (err) {
              if (!isAppendLogError(err) || err.code !== 'version_conflict') throw err;
              conflicts++;
            }
          }
        }
      }),
    );
    const latest = (await t.db.table(counters).get(first.entryId))!;
    // 80 increments, none lost: the counter equals the number of successful writes.
    expect(latest.data.a).toBe(80);
    expect(latest.version).toBe(81);
    expect(conflicts).toBeGreaterThan(0);
  });

  it.each([
    ['the view', 'counters'],
    ['the head', 'counters_head'],
  ])('concurrent raw UPDATEs through %s never fork the chain', async (_, target) => {
    const first = await t.db.table(counters).insert({ label: target, a: 0 });
    let ok = 0;
    let conflicts = 0;
    await Promise.all(
      handles.slice(0, 8).map(async (db) => {
        for (let i = 0; i < 10; i++) {
          try {
            await db.query(`UPDATE ${target} SET a = a + 1 WHERE entry_id = $1`, [first.entryId]);
            ok++;
          } catch (err) {
            if (!isAppendLogError(err) || err.code !== 'version_conflict') throw err;
            conflicts++;
          }
        }
      }),
    );
    const latest = (await t.db.table(counters).get(first.entryId))!;
    expect(ok + conflicts).toBe(80);
    // a = a + 1 read a stale a in every conflicting statement; those were refused, so a counts the successes.
    expect(latest.data.a).toBe(ok);
    expect(latest.version).toBe(ok + 1);
    expect(await t.db.table(counters).verify(first.entryId)).toMatchObject({ ok: true, checked: ok + 1 });
  });
});
