import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  column as c,
  type Database,
  isAppendLogError,
  type RowData,
  type Table,
  table,
  type Version,
} from '../src/index.js';
import { describeEngines, type TestDb } from './support/engines.js';
import { shiftIso } from './support/instants.js';

const cards = table('cards', {
  title: c.text().notNull(),
  city: c.text(),
  n: c.integer(),
  doc: c.jsonb<{ k?: string; list?: number[] }>(),
});
type Data = RowData<typeof cards.definition>;
type V = Version<Data>;

type Command =
  | { kind: 'insert'; data: Data }
  | { kind: 'update'; entry: number; patch: Partial<Data> }
  | { kind: 'delete'; entry: number }
  | { kind: 'restore'; entry: number }
  | { kind: 'revert'; entry: number; to: number };

const dataArb: fc.Arbitrary<Data> = fc.record({
  title: fc.constantFrom('a', 'b', 'ä', ''),
  city: fc.option(fc.constantFrom('Oslo', 'Bergen'), { nil: null }),
  n: fc.option(fc.integer({ min: -3, max: 3 }), { nil: null }),
  doc: fc.option(
    fc.record(
      { k: fc.constantFrom('x', 'y'), list: fc.array(fc.nat(3), { maxLength: 2 }) },
      { requiredKeys: [] },
    ),
    { nil: null },
  ),
});
const patchArb = dataArb.chain((d) =>
  fc.subarray(Object.keys(d) as (keyof Data)[], { minLength: 1 }).map((keys) => {
    const patch: Record<string, unknown> = {};
    for (const k of keys) patch[k] = d[k];
    return patch as Partial<Data>;
  }),
);
const entryArb = fc.nat(3);
const insertArb: fc.Arbitrary<Command> = dataArb.map((data) => ({ kind: 'insert' as const, data }));
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: insertArb, weight: 2 },
  {
    arbitrary: fc.record({ kind: fc.constant('update' as const), entry: entryArb, patch: patchArb }),
    weight: 3,
  },
  { arbitrary: fc.record({ kind: fc.constant('delete' as const), entry: entryArb }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('restore' as const), entry: entryArb }), weight: 1 },
  {
    arbitrary: fc.record({ kind: fc.constant('revert' as const), entry: entryArb, to: fc.nat(8) }),
    weight: 2,
  },
);

/** The model: every version each entry of this run has, as the writes returned them. */
interface ModelEntry {
  id: string;
  versions: V[];
}

const isLive = (v: V | undefined): v is V => v !== undefined && v.op !== 'delete' && v.op !== 'forget';
const latest = (e: ModelEntry): V => e.versions.at(-1)!;
/** The model's answer to "as of `iso`": the newest version not after it, if live. */
function modelAt(e: ModelEntry, iso: string): V | null {
  const v = e.versions.filter((x) => x.recordedAtIso <= iso).at(-1);
  return isLive(v) ? v : null;
}
const byCreation = (a: ModelEntry, b: ModelEntry) => {
  const [ca, cb] = [a.versions[0]!.recordedAtIso, b.versions[0]!.recordedAtIso];
  return ca < cb ? -1 : ca > cb ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
};

/** What the model predicts a command does: an error code, or the op and data it appends. */
function predict(
  entries: ModelEntry[],
  cmd: Command,
): { error: string } | { op: V['op']; data: Data | null; meta?: Record<string, unknown> } | null {
  if (cmd.kind === 'insert') return { op: 'insert', data: cmd.data };
  const e = entries[cmd.entry % Math.max(entries.length, 1)];
  if (!e) return null; // no entry yet: nothing to aim at
  const head = latest(e);
  const deleted = head.op === 'delete';
  switch (cmd.kind) {
    case 'update':
      return deleted ? { error: 'not_found' } : { op: 'update', data: { ...head.data, ...cmd.patch } };
    case 'delete':
      return deleted ? { error: 'not_found' } : { op: 'delete', data: head.data };
    case 'restore':
      return deleted ? { op: 'restore', data: head.data } : { error: 'invalid_state' };
    case 'revert': {
      const to = (cmd.to % (e.versions.length + 1)) + 1; // sometimes one past the latest
      const target = e.versions[to - 1];
      if (!target) return { error: 'not_found' };
      if (to === head.version || target.op === 'delete') return { error: 'invalid_state' };
      return { op: deleted ? 'restore' : 'update', data: target.data, meta: { revertedTo: to } };
    }
  }
}

async function run(t: Table<typeof cards.definition>, entries: ModelEntry[], cmd: Command): Promise<V> {
  if (cmd.kind === 'insert') return t.insert(cmd.data);
  const e = entries[cmd.entry % entries.length]!;
  switch (cmd.kind) {
    case 'update':
      return t.update(e.id, cmd.patch);
    case 'delete':
      return t.delete(e.id, { reason: 'model' });
    case 'restore':
      return t.restore(e.id);
    case 'revert':
      return t.revert(e.id, (cmd.to % (e.versions.length + 1)) + 1, { reason: 'model' });
  }
}

/** After every step: get, list, history, and at/listAt at every instant recorded so far. */
async function checkAgainstModel(t: Table<typeof cards.definition>, entries: ModelEntry[]): Promise<void> {
  const ids = new Set(entries.map((e) => e.id));
  const mine = (vs: V[]) => vs.filter((v) => ids.has(v.entryId));
  for (const e of entries) {
    const head = latest(e);
    expect(await t.get(e.id)).toEqual(isLive(head) ? head : null);
    expect(await t.history(e.id)).toEqual(e.versions);
  }
  const liveNow = [...entries].sort(byCreation).map(latest).filter(isLive);
  expect(mine(await t.list())).toEqual(liveNow);
  const instants = new Set<string>();
  for (const e of entries) {
    for (const v of e.versions) instants.add(v.recordedAtIso).add(shiftIso(v.recordedAtIso, -1));
  }
  for (const iso of instants) {
    for (const e of entries) expect(await t.at(e.id, iso)).toEqual(modelAt(e, iso));
    const expected = [...entries].sort(byCreation).flatMap((e) => modelAt(e, iso) ?? []);
    expect(mine(await t.listAt(iso))).toEqual(expected);
  }
}

describeEngines('time travel equals an in-memory model', (engine) => {
  let t: TestDb;
  let db: Database;

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
    await db.migrate([cards]);
  });
  afterAll(() => t.close());

  it('random insert/update/delete/restore/revert sequences', async () => {
    const book = db.table(cards);
    let steps = 0;
    await fc.assert(
      // Each run starts with an insert so that the other commands have an entry to aim at.
      fc.asyncProperty(
        insertArb,
        fc.array(commandArb, { minLength: 4, maxLength: 16, size: 'max' }),
        async (first, rest) => {
          const commands = [first, ...rest];
          const entries: ModelEntry[] = [];
          for (const cmd of commands) {
            const expected = predict(entries, cmd);
            if (expected === null) continue;
            steps++;
            if ('error' in expected) {
              const err = await run(book, entries, cmd).catch((e: unknown) => e);
              expect(isAppendLogError(err) ? err.code : err).toBe(expected.error);
            } else {
              const v = await run(book, entries, cmd);
              expect(v.op).toBe(expected.op);
              expect(v.data).toEqual(expected.data);
              if (expected.meta) expect(v.meta).toEqual(expected.meta);
              if (cmd.kind === 'insert') entries.push({ id: v.entryId, versions: [v] });
              else entries[cmd.entry % entries.length]!.versions.push(v);
            }
            await checkAgainstModel(book, entries);
          }
        },
      ),
      { numRuns: Number(process.env.APPENDLOG_PROPERTY_RUNS ?? 20) },
    );
    console.log('steps', steps);
    expect(steps).toBeGreaterThan(0);
  });
});
