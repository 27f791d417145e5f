import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { type CliRun, runInProcess } from '../../../packages/appendlog/test/support/in-process.js';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const tsc = join(dirname(require.resolve('typescript')), '../bin/tsc');
const work = join(root, 'generated', `codegen-${process.pid}`);

/** The built command's entry (what dist/cli/main.js, the `appendlog` bin, calls). */
const { runCli } = (await import(
  pathToFileURL(join(dirname(require.resolve('appendlog')), 'cli/run.js')).href
)) as {
  runCli(argv: readonly string[]): Promise<void>;
};

/**
 * `appendlog <args>` in this folder, as `npm run codegen` runs it, but in this process
 * (support/in-process.ts): what it prints is the point here, not a Node start per run.
 */
function appendlog(args: string[]): Promise<CliRun> {
  return runInProcess(() => runCli([process.execPath, 'appendlog', ...args]), {}, root);
}

async function codegen(flag: string, config: string, ...more: string[]): Promise<string> {
  const r = await appendlog(['codegen', flag, '--config', config, ...more]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

// Issue 16 item 7: `appendlog codegen` emits what the Kysely and Drizzle scenarios use.
describe('appendlog codegen', () => {
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('emits exactly the committed src/generated files (npm run codegen -w orm-examples)', async () => {
    expect(await codegen('--kysely', 'appendlog.config.ts')).toBe(
      readFileSync(join(root, 'src/generated/kysely.ts'), 'utf8'),
    );
    expect(await codegen('--drizzle', 'appendlog.config.ts')).toBe(
      readFileSync(join(root, 'src/generated/drizzle.ts'), 'utf8'),
    );
  });

  it('refuses anything but exactly one of --kysely and --drizzle', async () => {
    for (const flags of [[], ['--kysely', '--drizzle']]) {
      const r = await appendlog(['codegen', ...flags, '--config', 'appendlog.config.ts']);
      expect(r.code, flags.join(' ')).toBe(2);
      expect(r.stdout, flags.join(' ')).toBe('');
      expect(r.stderr, flags.join(' ')).toContain('exactly one of --kysely and --drizzle');
    }
  });

  it('for every column type: the code compiles, and writes the types forbid do not', async () => {
    mkdirSync(work, { recursive: true });
    writeFileSync(
      join(work, 'kitchen.config.mjs'),
      `import { column as c, table } from 'appendlog';
export default [table('kitchen', {
  label: c.text().notNull(),
  status: c.text().notNull().default('open'),
  count: c.integer(),
  big: c.bigint(),
  price: c.numeric(),
  active: c.boolean(),
  born: c.date(),
  seenAt: c.timestamptz(),
  doc: c.jsonb(),
  ref: c.uuid(),
})];
`,
    );
    writeFileSync(join(work, 'kysely.ts'), await codegen('--kysely', join(work, 'kitchen.config.mjs')));
    writeFileSync(join(work, 'drizzle.ts'), await codegen('--drizzle', join(work, 'kitchen.config.mjs')));
    const ledgerKysely = await codegen('--kysely', join(work, 'kitchen.config.mjs'), '--schema', 'ledger');
    expect(ledgerKysely).toContain("'ledger.kitchen': KitchenView;");
    writeFileSync(join(work, 'kysely-ledger.ts'), ledgerKysely);
    const ledgerDrizzle = await codegen('--drizzle', join(work, 'kitchen.config.mjs'), '--schema', 'ledger');
    expect(ledgerDrizzle).toContain("const appendlogSchema = pgSchema('ledger');");
    writeFileSync(join(work, 'drizzle-ledger.ts'), ledgerDrizzle);
    writeFileSync(
      join(work, 'use-kysely.ts'),
      `import type { Insertable, Kysely, Selectable, Updateable } from 'kysely';
import { type DB, kitchenAsOf } from './kysely.js';
declare const db: Kysely<DB>;
export const ok: Insertable<DB['kitchen']> = { label: 'x', big: 1n, price: 2.5, born: '2020-01-01', doc: { a: 1 } };
// @ts-expect-error label is notNull without a default: required
export const noLabel: Insertable<DB['kitchen']> = { count: 1 };
// @ts-expect-error version is appendlog's
export const setVersion: Updateable<DB['kitchen']> = { version: 2 };
// @ts-expect-error entry_id is the identity: never updated
export const setId: Updateable<DB['kitchen']> = { entry_id: 'x' };
export const label: Selectable<DB['kitchen']>['label'] = 'x';
// @ts-expect-error a notNull column reads non-null
export const nullLabel: Selectable<DB['kitchen']>['label'] = null;
export const count: Selectable<DB['kitchen']>['count'] = null;
// The log is read-only: no column of it can be inserted or updated.
type NoKeys<T> = keyof T extends never ? true : false;
export const logInsert: NoKeys<Insertable<DB['kitchen_log']>> = true;
export const logUpdate: NoKeys<Updateable<DB['kitchen_log']>> = true;
// @ts-expect-error the view's label can be written
export const viewInsert: NoKeys<Insertable<DB['kitchen']>> = true;
export const asOf = db.selectFrom(kitchenAsOf(new Date())).select(['label', 'version']);
`,
    );
    writeFileSync(
      join(work, 'use-drizzle.ts'),
      `import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { kitchen, kitchenLog } from './drizzle.js';
declare const db: NodePgDatabase;
export const ok: typeof kitchen.$inferInsert = { label: 'x', big: 1n };
// @ts-expect-error label is notNull without a default: required
export const noLabel: typeof kitchen.$inferInsert = { count: 1 };
// @ts-expect-error version is appendlog's
export const setVersion: typeof kitchen.$inferInsert = { label: 'x', version: 2 };
export const label: (typeof kitchen.$inferSelect)['label'] = 'x';
// @ts-expect-error a notNull column reads non-null
export const nullLabel: (typeof kitchen.$inferSelect)['label'] = null;
// @ts-expect-error the log is a view: Drizzle inserts into tables only
db.insert(kitchenLog);
export const log = db.select().from(kitchenLog);
`,
    );
    const result = await run(
      process.execPath,
      [
        tsc,
        '--noEmit',
        '--strict',
        '--skipLibCheck',
        '--target',
        'es2022',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--types',
        'node',
        join(work, 'use-kysely.ts'),
        join(work, 'use-drizzle.ts'),
        join(work, 'kysely-ledger.ts'),
        join(work, 'drizzle-ledger.ts'),
      ],
      { cwd: root },
    ).catch((e: { stdout: string; code: number }) => e);
    expect(result.stdout).toBe('');
  });
});
