import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addresses } from '../src/tables.js';
import { describePostgres, freshDatabase, type ScenarioDb } from './support.js';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const drizzleKit = join(dirname(createRequire(import.meta.url).resolve('drizzle-kit')), 'bin.cjs');

// Issue 16 item 6: `drizzle-kit push --force` with a schema file that knows only the view
// (src/drizzle/view-schema.ts) drops the head, the log and appendlog's catalog. With the DDL
// guard migrate installed, its first DROP is refused and nothing is lost.
describePostgres('drizzle-kit push --force against the DDL guard', () => {
  let s: ScenarioDb;

  beforeAll(async () => {
    s = await freshDatabase('orm_drizzle_kit');
    await s.db.table(addresses).insert({ name: 'Ada', city: 'Oslo' });
  });
  afterAll(() => s?.drop());

  it('is refused, and the log, head, view and catalog are all still there and verify', async () => {
    const { stdout, stderr } = await run(process.execPath, [drizzleKit, 'push', '--force'], {
      cwd: root,
      env: { ...process.env, DRIZZLE_URL: s.url },
      timeout: 120_000,
    }).catch((e: { stdout: string; stderr: string }) => e);
    // drizzle-kit reports the refusal and exits 0 anyway; what counts is what is left.
    expect(`${stdout}${stderr}`).toMatch(/appendlog: DROP TABLE refused: .* is part of appendlog's log/);
    const [left] = await s.db.query<Record<string, boolean>>(
      `SELECT to_regclass('addresses') IS NOT NULL AS view, to_regclass('addresses_head') IS NOT NULL AS head,
              to_regclass('addresses_log') IS NOT NULL AS log,
              to_regclass('appendlog_schema_history') IS NOT NULL AS history,
              to_regclass('appendlog_checkpoints') IS NOT NULL AS checkpoints`,
    );
    expect(left).toEqual({ view: true, head: true, log: true, history: true, checkpoints: true });
    expect((await s.db.table(addresses).list()).map((r) => r.data.name)).toEqual(['Ada']);
    expect(await s.db.verify()).toMatchObject({ ok: true, checked: 1 });
  });
});

// The own-schema layout: appendlog in `ledger`, drizzle-kit told schemaFilter: ['public']. Without
// the guard (ddl_guard off), schemaFilter alone keeps push away from appendlog's schema.
describePostgres('drizzle-kit push --force with schemaFilter, appendlog in a schema of its own', () => {
  let s: ScenarioDb;

  beforeAll(async () => {
    s = await freshDatabase('orm_drizzle_kit_own', { schema: 'ledger', noGuard: true });
    await s.db.table(addresses).insert({ name: 'Ada', city: 'Oslo' });
  });
  afterAll(() => s?.drop());

  it('creates the application’s table in public and leaves ledger as it was', async () => {
    await run(process.execPath, [drizzleKit, 'push', '--force', '--config', 'drizzle-own-schema.config.ts'], {
      cwd: root,
      env: { ...process.env, DRIZZLE_URL: s.url },
      timeout: 120_000,
    });
    const [left] = await s.db.query<Record<string, boolean>>(
      `SELECT to_regclass('public.notes') IS NOT NULL AS notes, to_regclass('ledger.addresses') IS NOT NULL AS view,
              to_regclass('ledger.addresses_head') IS NOT NULL AS head, to_regclass('ledger.addresses_log') IS NOT NULL AS log,
              to_regclass('ledger.appendlog_schema_history') IS NOT NULL AS history,
              (SELECT count(*) FROM pg_event_trigger) = 0 AS unguarded`,
    );
    expect(left).toEqual({ notes: true, view: true, head: true, log: true, history: true, unguarded: true });
    expect(await s.db.verify()).toMatchObject({ ok: true, checked: 1 });
  });
});
