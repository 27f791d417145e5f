import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { column as c, connect, type Database, table } from '../src/index.js';
import { cliInProcess as cli } from './support/cli.js';
import { describeEngines, type TestDb } from './support/engines.js';
import { freshDataDir } from './support/pglite-snapshot.js';

const notes = table('notes', { body: c.text() });

describeEngines('appendlog purge (CLI)', (engine) => {
  let db: Database;
  let t: TestDb | undefined;
  let dir: string | undefined;
  let target: string[];

  beforeAll(async () => {
    if (engine.name === 'postgres') {
      t = await engine.open();
      db = t.db;
      target = ['--url', process.env.DATABASE_URL!, '--schema', t.schema];
    } else {
      dir = await mkdtemp(join(tmpdir(), 'appendlog-cli-'));
      db = await connect({ dataDir: freshDataDir(join(dir, 'data')) });
      target = ['--data-dir', join(dir, 'data')];
    }
    await db.migrate([notes]);
  });
  afterAll(async () => {
    if (t) await t.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('--dry-run reports without writing; a run erases and reports; bad flags exit 2', async () => {
    const book = db.table(notes);
    const v = await book.insert({ body: 'call me at 555-0100' });
    await book.forget(v.entryId, { reason: 'GDPR request #7', after: '0 seconds' });
    const pending = await book.insert({ body: 'not yet' });
    await book.forget(pending.entryId, { reason: 'GDPR request #8' });
    // PGlite on disk has one owner at a time: hand the directory to the CLI.
    if (dir) await db.close();

    const dry = await cli(['purge', '--dry-run', '--json', ...target]);
    expect(dry.code, dry.stderr).toBe(0);
    const preview = JSON.parse(dry.stdout);
    expect(preview).toMatchObject({ dryRun: true, vacuumed: [], more: false });
    expect(preview.erased).toEqual([
      expect.objectContaining({ table: 'notes', entryId: v.entryId, reason: 'GDPR request #7', versions: 2 }),
    ]);

    const real = await cli(['purge', ...target]);
    expect(real.code, real.stderr).toBe(0);
    expect(real.stdout).toContain('erased 1 entry (2 versions)');
    expect(real.stdout).toContain(v.entryId);
    expect(real.stdout).toContain('vacuumed: notes');

    const bad = await cli(['purge', '--limit', 'many', ...target]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--limit takes a positive integer');

    if (dir) db = await connect({ dataDir: join(dir, 'data') });
    // The log's versions and the head's copy of each entry's latest.
    const text = await db.query<{ t: string }>(
      'SELECT l::text AS t FROM notes_log l UNION ALL SELECT h::text FROM notes_head h',
    );
    expect(text.map((r) => r.t).join('\n')).not.toContain('555-0100');
    expect(text.map((r) => r.t).filter((r) => r.includes('not yet'))).toHaveLength(3);
    expect(await db.table(notes).erasure(v.entryId)).toMatchObject({ state: 'erased' });
    if (dir) await db.close();
  });
});
