import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Database } from '../src/index.js';
import { type CliRun, cliInProcess } from './support/cli.js';
import { freshDataDir } from './support/pglite-snapshot.js';

const here = import.meta.dirname;
const fixtures = resolve(here, 'fixtures/cli');
const url = process.env.DATABASE_URL;

/** `appendlog <args>` in the fixtures folder (in this process: support/cli.ts). */
function run(args: string[]): Promise<CliRun> {
  return cliInProcess(args, {}, fixtures);
}

interface Target {
  name: string;
  flags: string[];
  open(): Promise<Database>;
  cleanup(): Promise<void>;
}

function pgliteTarget(): Target {
  // A fresh PGlite data directory: creating one is the test at the end of this file.
  const dir = freshDataDir(join(mkdtempSync(join(tmpdir(), 'appendlog-cli-')), 'data'));
  return {
    name: 'pglite',
    flags: ['--data-dir', dir],
    open: () => connect({ dataDir: dir }),
    cleanup: async () => rmSync(dirname(dir), { recursive: true, force: true }),
  };
}

function postgresTarget(pgUrl: string): Target {
  const schema = `cli_${randomBytes(6).toString('hex')}`;
  return {
    name: 'postgres',
    flags: ['--url', pgUrl, '--schema', schema],
    open: () => connect({ url: pgUrl, schema }),
    cleanup: async () => {
      const db = await connect({ url: pgUrl });
      await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await db.close();
    },
  };
}

const targets: Array<() => Target> = url ? [pgliteTarget, () => postgresTarget(url)] : [pgliteTarget];

for (const [index, make] of targets.entries()) {
  const target = make();
  // Engine-independent checks (error reporting) run once, on the last target: PGlite start-up is slow.
  const once = index === targets.length - 1 ? it : it.skip;
  describe(`appendlog migrate and schema history (the CLI) [${target.name}]`, () => {
    const withDb = async <T>(fn: (db: Database) => Promise<T>): Promise<T> => {
      const db = await target.open();
      try {
        return await fn(db);
      } finally {
        await db.close();
      }
    };

    afterAll(() => target.cleanup());

    it('--dry-run prints the SQL of the TypeScript config and runs none of it', async () => {
      const r = await run(['migrate', '--dry-run', '--config', 'appendlog.config.ts', ...target.flags]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/CREATE TABLE "[a-z0-9_]+"\."contacts_log"/);
      expect(r.stdout).toContain(
        '-- would apply:\n--   contacts: create table contacts (name text not null, email text)',
      );
      expect(await withDb((db) => db.schemaHistory())).toEqual([]);
    });

    it('migrate applies it (the default config file), and reports JSON with --json', async () => {
      const r = await run(['migrate', '--json', ...target.flags]);
      expect(r.code).toBe(0);
      const result = JSON.parse(r.stdout) as { changes: unknown[]; behind: string[] };
      expect(result.changes).toEqual([
        {
          table: 'contacts',
          change: 'create_table',
          columns: ['name', 'email'],
          summary: expect.any(String),
        },
      ]);
      const again = await run(['migrate', ...target.flags]);
      expect(again.stdout).toBe('Up to date: nothing to apply.\n');
    });

    if (target.name === 'postgres') {
      it('a migrate that changes no table but sets up the app role says what it ran', async () => {
        const role = `cli_app_${randomBytes(4).toString('hex')}`;
        await withDb((db) => db.query(`CREATE ROLE ${role} LOGIN`));
        try {
          const r = await run(['migrate', '--app-role', role, ...target.flags]);
          expect(r.stderr).toBe('');
          expect(r.code).toBe(0);
          const lines = r.stdout.trimEnd().split('\n');
          expect(lines[0]).toMatch(
            /^No table changes; ran \d+ other statement\(s\) \(--dry-run prints them whole\):$/,
          );
          expect(lines.slice(1).every((l) => l.startsWith('  ') && l.length <= 102)).toBe(true);
          expect(lines.some((l) => l.startsWith(`  ALTER ROLE "${role}" IN DATABASE `))).toBe(true);
          expect(lines.length - 1).toBe(Number(/ran (\d+)/.exec(lines[0]!)![1]));
        } finally {
          await withDb(async (db) => {
            await db.query(`ALTER ROLE ${role} RESET ALL`);
            await db.query(`DROP OWNED BY ${role}`);
            await db.query(`DROP ROLE ${role}`);
          });
        }
      });
    }

    it('a JavaScript config adds a column; the older TypeScript config is then old code, left alone', async () => {
      const r = await run(['migrate', '-c', 'v2.config.mjs', ...target.flags]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(
        `Applied 1 change(s):\n  contacts: add column tier text not null default 'free'::text\n`,
      );
      const old = await run(['migrate', '-c', 'appendlog.config.ts', ...target.flags]);
      expect(old.code).toBe(0);
      expect(old.stdout).toContain('contacts: this definition is an older one from the schema history');
    });

    once(
      'a destructive config is refused with every change listed, exit code 2, nothing applied',
      async () => {
        const before = await withDb((db) => db.schemaHistory());
        const r = await run(['migrate', '-c', 'drop.config.mjs', ...target.flags]);
        expect(r.code).toBe(2);
        expect(r.stdout).toBe('');
        expect(r.stderr).toContain('migrate refused 2 destructive change(s); nothing was applied');
        expect(r.stderr).toContain('- contacts.email: the definition no longer has this column');
        expect(r.stderr).toContain('- contacts.tier: the definition no longer has this column');
        expect(r.stderr).toContain('(destructive_migration)');
        expect(await withDb((db) => db.schemaHistory())).toEqual(before);
      },
    );

    it('schema history prints the append-only history, as text or JSON, for all tables or one', async () => {
      const text = await run(['schema', 'history', ...target.flags]);
      expect(text.code).toBe(0);
      const lines = text.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(4);
      expect(lines[0]).toMatch(
        /^#1 {2}\d{4}-\d{2}-\d{2}T[\d:.]+Z {2}contacts {2}create_table {2}\(by \S+, appendlog \d+\.\d+\.\d+\)$/,
      );
      expect(lines[1]).toBe('    create table contacts (name text not null, email text)');
      expect(lines[2]).toMatch(/^#2 .* contacts {2}add_columns /);
      expect(lines[3]).toBe(`    add column tier text not null default 'free'::text`);
      const json = await run(['schema', 'history', '--json', '--table', 'contacts', ...target.flags]);
      const records = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
      expect(records.map((r) => [r.seq, r.change, r.columns])).toEqual([
        [1, 'create_table', ['name', 'email']],
        [2, 'add_columns', ['tier']],
      ]);
      expect(records[1]).toMatchObject({
        appliedAt: expect.stringMatching(/Z$/),
        definition: {
          columns: expect.arrayContaining([
            { sqlName: 'tier', type: 'text', notNull: true, default: 'free' },
          ]),
        },
      });
      const none = await run(['schema', 'history', '--table', 'nothing_here', ...target.flags]);
      expect(none.stdout).toBe('No schema changes recorded.\n');
    });

    once('a missing or empty config is a clear error', async () => {
      const missing = await run(['migrate', '-c', 'nope.config.ts', ...target.flags]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/config file .*nope\.config\.ts does not exist \(invalid_input\)/);
      const empty = await run(['migrate', '-c', '../tables-none.mjs', ...target.flags]);
      expect(empty.code).toBe(2);
      expect(empty.stderr).toContain('must export its tables');
    });
  });
}

describe('appendlog migrate on a data directory that does not exist yet [pglite]', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'appendlog-cli-new-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('--dry-run plans against an empty database and creates nothing; migrate creates it; verify then reads it', async () => {
    const data = join(dir, 'data');
    const dry = await run(['migrate', '--dry-run', '--data-dir', data]);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(
      '-- would apply:\n--   contacts: create table contacts (name text not null, email text)',
    );
    expect(existsSync(data)).toBe(false);

    const real = await run(['migrate', '--data-dir', data]);
    expect(real.stderr).toBe('');
    expect(real.code).toBe(0);
    expect(real.stdout).toContain('Applied 1 change(s):');
    expect(existsSync(join(data, 'PG_VERSION'))).toBe(true);
    // Empty tables are something to verify: intact, not "nothing to verify".
    const verify = await run(['verify', '--data-dir', data]);
    expect(verify.stdout).toBe('intact: 0 versions checked (0 erased), no failure\n');
    expect(verify.code).toBe(0);
    // Row sharding needs Citus: refused, with the reason, and nothing changes.
    const sharded = await run(['migrate', '--distributed', '--data-dir', data]);
    expect(sharded.code).not.toBe(0);
    expect(sharded.stderr).toContain('not a Citus coordinator');
  }, 120_000); // four runs of the CLI, two of them creating a PGlite database
});
