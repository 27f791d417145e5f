import type pg from 'pg';
import { expect } from 'vitest';
import { column as c, type Database, type Table, type TableDef, table } from '../../src/index.js';
import type { addresses } from '../support/tables.js';

type Book = Table<typeof addresses extends TableDef<infer C> ? C : never>;
type Written = Awaited<ReturnType<Book['insert']>>;

/**
 * What the tenant and row-sharded suites share: the README example, the table their writers race
 * on, that race, and the clean-up of their schemas.
 */
export const counters = table('counters', {
  label: c.text().notNull(),
  a: c.integer(),
  b: c.integer(),
});

/**
 * The README example through the library: insert, update with an expected version (a stale one is
 * a conflict), history chained, a delete that needs a reason, restore, and time travel to each of
 * the first two versions. Leaves the entry at version 4 (restored); returns its first two versions.
 */
export async function readmeExample(book: Book): Promise<{ v1: Written; v2: Written }> {
  const v1 = await book.insert({ name: 'Thor', city: 'Asgard' }, { actor: 'alice' });
  const v2 = await book.update(v1.entryId, { city: 'Oslo' }, { expectedVersion: 1, reason: 'moved' });
  await expect(book.update(v1.entryId, { city: 'Rome' }, { expectedVersion: 1 })).rejects.toMatchObject({
    code: 'version_conflict',
  });
  const history = await book.history(v1.entryId);
  expect(history.map((v) => [v.version, v.data.city, v.reason, v.actor])).toEqual([
    [1, 'Asgard', null, 'alice'],
    [2, 'Oslo', 'moved', null],
  ]);
  expect(history[1]!.parentHash).toBe(history[0]!.hash);
  await expect(book.delete(v1.entryId, {} as never)).rejects.toMatchObject({ code: 'reason_required' });
  expect(await book.delete(v1.entryId, { reason: 'duplicate' })).toMatchObject({ version: 3, op: 'delete' });
  expect(await book.get(v1.entryId)).toBeNull();
  expect((await book.deleted()).map((v) => v.entryId)).toContain(v1.entryId);
  await book.restore(v1.entryId);
  expect((await book.get(v1.entryId))?.data.city).toBe('Oslo');
  expect(await book.at(v1.entryId, v1.recordedAtIso)).toMatchObject({ version: 1, data: { city: 'Asgard' } });
  expect(await book.at(v1.entryId, v2.recordedAtIso)).toMatchObject({ version: 2, data: { city: 'Oslo' } });
  return { v1, v2 };
}

const WRITERS = 8;
const UPDATES = 15;

/**
 * 8 real connections (`openWriter`) each append 15 versions to one entry, patching `a` or `b` by
 * turns: every version number is claimed once, the chain is contiguous and linked, and the column
 * a writer did not patch carries forward.
 */
export async function writersOnOneEntry(app: Database, openWriter: () => Promise<Database>): Promise<void> {
  const first = await app.table(counters).insert({ label: 'shared', a: 0, b: 0 });
  const writers = await Promise.all(Array.from({ length: WRITERS }, openWriter));
  const claimed = await Promise.all(
    writers.map(async (db, w) => {
      const mine: number[] = [];
      for (let i = 1; i <= UPDATES; i++) {
        const patch = w % 2 === 0 ? { a: w * 1000 + i } : { b: w * 1000 + i };
        mine.push((await db.table(counters).update(first.entryId, patch, { actor: `writer-${w}` })).version);
      }
      return mine;
    }),
  );
  expect(claimed.flat().sort((x, y) => x - y)).toEqual(
    Array.from({ length: WRITERS * UPDATES }, (_, i) => i + 2),
  );
  const history = await app.table(counters).history(first.entryId);
  expect(history.length).toBe(1 + WRITERS * UPDATES);
  history.forEach((v, i) => {
    expect(v.version).toBe(i + 1);
    expect(v.parentHash).toBe(i === 0 ? null : history[i - 1]!.hash);
    // The column a writer did not patch carried forward.
    if (i > 0) {
      const w = Number(v.actor!.slice('writer-'.length));
      if (w % 2 === 0) expect(v.data.b).toBe(history[i - 1]!.data.b);
      else expect(v.data.a).toBe(history[i - 1]!.data.a);
    }
  });
}

/**
 * Drops `schemas` (through the hatch of the DDL guard migrate installed, which protects them) and
 * `role`, then ends `admin`.
 */
export async function dropSchemasAndRole(
  admin: pg.Pool,
  schemas: readonly string[],
  role: string,
): Promise<void> {
  const client = await admin.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL appendlog.allow_ddl = 'on'`);
    await client.query(`DROP SCHEMA IF EXISTS ${schemas.join(', ')} CASCADE`);
    await client.query('COMMIT');
    await client.query(`DROP ROLE IF EXISTS ${role}`);
  } finally {
    client.release();
    await admin.end();
  }
}
