import type pg from 'pg';
import { expect } from 'vitest';
import { column as c, type Database, table } from '../../src/index.js';

/**
 * What the tenant and row-sharded suites share: the table their writers race on, that race, and
 * the clean-up of their schemas.
 */
export const counters = table('counters', {
  label: c.text().notNull(),
  a: c.integer(),
  b: c.integer(),
});

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
