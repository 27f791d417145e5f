// A fresh PGlite database costs an initdb (1.5–5 s of CPU on a small machine). The test run makes
// one freshly initialised data directory at start (global-setup.ts) and every test that needs
// an empty PGlite starts from a copy of it instead: the same files initdb writes, in ~0.3 s.
import { cpSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where global-setup.ts left the fresh data directory (`dir`) and its tar dump (`tar`). */
    pgliteSnapshot: { dir: string; tar: string };
  }
}

let tar: Promise<Blob> | undefined;

/**
 * An empty in-memory PGlite, as `PGlite.create()` would make it, loaded from the run's snapshot.
 * The caller closes it.
 */
export async function freshPGlite(): Promise<PGlite> {
  tar ??= readFile(inject('pgliteSnapshot').tar).then((bytes) => new Blob([bytes]));
  return PGlite.create({ loadDataDir: await tar });
}

/** Fills `dir` (which must not exist or be empty) with a fresh PGlite data directory. */
export function freshDataDir(dir: string): string {
  cpSync(inject('pgliteSnapshot').dir, dir, { recursive: true });
  return dir;
}
