// Runs once per `vitest run`, before any test file: makes the fresh PGlite data directory that
// pglite-snapshot.ts hands out copies of (removed at the end), and keeps the DDL guard out of the
// shared PostgreSQL database.
//
// The snapshot's shared_buffers is 16MB (as the scratch clusters' in clusters.ts), not initdb's
// 128MB: PGlite zeroes its shared buffers every time it starts, and at 128MB that was ~1.3 s of
// CPU per start (~0.4 s at 16MB), paid by every test that opens a PGlite, several hundred times
// a run. The tests' databases are small; no test depends on the buffer pool's size.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import type {} from './pglite-snapshot.js';

export default async function setup(project: TestProject): Promise<() => void> {
  await guardOff();
  const root = mkdtempSync(join(tmpdir(), 'appendlog-pglite-snapshot-'));
  const dir = join(root, 'data');
  const tar = join(root, 'data.tar');
  const db = await PGlite.create(dir);
  await db.exec(`ALTER SYSTEM SET shared_buffers = '16MB'`);
  const dump = await db.dumpDataDir('none');
  await db.close();
  writeFileSync(tar, new Uint8Array(await dump.arrayBuffer()));
  project.provide('pgliteSnapshot', { dir, tar });
  return () => rmSync(root, { recursive: true, force: true });
}

/**
 * The test files share DATABASE_URL's database, each in schemas of its own, and drop them when
 * done; an event trigger there would guard every file's objects at once. So migrate installs no
 * DDL guard in it (`appendlog.ddl_guard = 'off'` for the database); the guard's tests, and the
 * ORM examples, run in fresh databases of their own.
 */
async function guardOff(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) return;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(
      `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET appendlog.ddl_guard = off', current_database()); END $$`,
    );
  } finally {
    await client.end();
  }
}
