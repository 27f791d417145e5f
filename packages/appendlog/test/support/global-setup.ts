// Runs once per `vitest run`, before any test file: makes the fresh PGlite data directory that
// pglite-snapshot.ts hands out copies of, and removes it at the end.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { TestProject } from 'vitest/node';
import type {} from './pglite-snapshot.js';

export default async function setup(project: TestProject): Promise<() => void> {
  const root = mkdtempSync(join(tmpdir(), 'appendlog-pglite-snapshot-'));
  const dir = join(root, 'data');
  const tar = join(root, 'data.tar');
  const pg = await PGlite.create(dir);
  const dump = await pg.dumpDataDir('none');
  await pg.close();
  writeFileSync(tar, new Uint8Array(await dump.arrayBuffer()));
  project.provide('pgliteSnapshot', { dir, tar });
  return () => rmSync(root, { recursive: true, force: true });
}
