import { column as c, type Database, table, type Version } from '../../src/index.js';
import { addresses, kitchen } from './tables.js';

/** The third table of the realtime tests' workload, beside `addresses` and `kitchen`. */
export const notes = table('notes', { body: c.text(), n: c.integer() });

/** The workload's three tables. */
export const workloadTables = [addresses, kitchen, notes] as const;

/** What a writer wrote: one version, and the transaction it was in. */
export type Written = Pick<Version<unknown>, 'txId' | 'entryId' | 'version'> & { table: string };

/** A deterministic random number generator in [0, 1), one per writer. */
export function seeded(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1_103_515_245 + 12_345) % 2_147_483_648;
    return s / 2_147_483_648;
  };
}

/** A random write of one version to one of the three tables: a new entry, or the next version of one. */
export async function writeOne(
  tx: Database,
  mine: Map<string, string[]>,
  rnd: () => number,
): Promise<Written> {
  const def = workloadTables[Math.floor(rnd() * 3)]!;
  const ids = mine.get(def.name) ?? [];
  mine.set(def.name, ids);
  let v: Version<unknown>;
  if (ids.length > 0 && rnd() < 0.5) {
    const id = ids[Math.floor(rnd() * ids.length)]!;
    if (def === addresses) v = await tx.table(addresses).update(id, { city: `c${rnd()}` });
    else if (def === kitchen) v = await tx.table(kitchen).update(id, { count: Math.floor(rnd() * 100) });
    else v = await tx.table(notes).update(id, { n: Math.floor(rnd() * 100) });
  } else {
    if (def === addresses) v = await tx.table(addresses).insert({ name: 'n' });
    else if (def === kitchen) v = await tx.table(kitchen).insert({ label: 'k', count: 1 });
    else v = await tx.table(notes).insert({ body: 'b', n: 1 });
    ids.push(v.entryId);
  }
  return { table: def.name, txId: v.txId, entryId: v.entryId, version: v.version };
}

/**
 * One writer's share: `versions` versions in transactions of 1 to 6 (random), committed one after
 * another; `pauseMs` waits up to that long (random) between transactions. `onCommit` hears of each.
 */
export async function writeShare(
  db: Database,
  seed: number,
  versions: number,
  onCommit: (written: Written[]) => void,
  pauseMs = 0,
): Promise<void> {
  const rnd = seeded(seed);
  const mine = new Map<string, string[]>();
  let left = versions;
  while (left > 0) {
    const size = Math.min(left, 1 + Math.floor(rnd() * 6));
    const written = await db.transaction(async (tx) => {
      const out: Written[] = [];
      for (let i = 0; i < size; i++) out.push(await writeOne(tx, mine, rnd));
      return out;
    });
    onCommit(written);
    left -= size;
    if (pauseMs > 0) await new Promise((r) => setTimeout(r, rnd() * pauseMs));
  }
}

/** A transaction that writes one note, then stays open `ms` before it commits. */
export async function holdOpen(db: Database, ms: number): Promise<Written> {
  return db.transaction(async (tx) => {
    const v = await tx.table(notes).insert({ body: 'held open', n: 0 });
    await new Promise((r) => setTimeout(r, ms));
    return { table: 'notes', txId: v.txId, entryId: v.entryId, version: v.version };
  });
}
