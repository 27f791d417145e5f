import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { connect, type Database } from 'appendlog';
import { tsImport } from 'tsx/esm/api';
import type { EngineName } from './engine.js';
import { summarize } from './stats.js';

/** The people counts the Address Book's pages are timed at, side by side. */
export const APP_SIZES = [100, 10_000] as const;
/** Timed requests per page and size (after one untimed warm-up). */
const ROUNDS = 5;

/** Median milliseconds of each page at each size, on one engine. */
export interface AppPagesResult {
  engine: EngineName;
  pages: Array<{ page: string; ms: Record<number, number>; kb: Record<number, number> }>;
  /**
   * The bench process's memory at each size, in MB: `rss` right after the pages were timed, and
   * `peakRss` the highest RSS sampled (every 5 ms) while they were. On PGlite the database runs
   * in this process and is counted; on PostgreSQL only the app's side is.
   */
  memory?: Record<number, { rss: number; peakRss: number }>;
}

/** Samples the process's RSS every 5 ms until `stop()`, which returns the highest seen, in MB. */
function rssSampler(): { stop(): number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 5);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage.rss()) / 2 ** 20;
    },
  };
}

interface AppModule {
  createApp(db: Database): { fetch(request: Request): Response | Promise<Response> };
}
interface SchemaModule {
  addresses: Parameters<Database['table']>[0];
}
interface SetupModule {
  prepareDatabase(db: Database): Promise<void>;
}
interface AccountsModule {
  AccountStore: {
    for(db: Database): {
      create(input: {
        login: string;
        displayName: string;
        password: string;
      }): Promise<{ account: { id: string } }>;
      startSession(accountId: string): Promise<string>;
    };
  };
}

const appDir = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'examples',
  'address-book',
  'src',
);

/**
 * Loaded at run time from the example, compiled by tsx with the example's own tsconfig (its JSX
 * is Hono's), not by the bench's typecheck.
 */
async function loadApp(): Promise<{
  app: AppModule;
  schema: SchemaModule;
  setup: SetupModule;
  accounts: AccountsModule;
}> {
  const options = { parentURL: import.meta.url, tsconfig: path.join(appDir, '..', 'tsconfig.json') };
  const app = (await tsImport(pathToFileURL(path.join(appDir, 'app.tsx')).href, options)) as AppModule;
  const schema = (await tsImport(
    pathToFileURL(path.join(appDir, 'schema.ts')).href,
    options,
  )) as SchemaModule;
  const setup = (await tsImport(pathToFileURL(path.join(appDir, 'setup.ts')).href, options)) as SetupModule;
  const accounts = (await tsImport(
    pathToFileURL(path.join(appDir, 'accounts.ts')).href,
    options,
  )) as AccountsModule;
  return { app, schema, setup, accounts };
}

/** The pages a visitor uses most, as paths; `id` is a person with two versions. */
function pagesOf(id: string, now: string): Array<[string, string]> {
  return [
    ['people list', '/'],
    ['search (1 hit)', '/?q=Person%2000042'],
    ['person', `/people/${id}`],
    ['history', `/people/${id}/history`],
    ['time travel, now', `/as-of?at=${encodeURIComponent(now)}`],
    ['recycle bin', '/bin'],
    ['erasures', '/erasures'],
    ['activity', '/activity'],
    ["an account's changes", '/activity/actor?name=loader'],
    ['integrity (full verify)', '/integrity'],
    ['API: people', '/api/people'],
  ];
}

/**
 * Adds people `from`..`to - 1` as the scale test does, set-based: version 1 of each in one
 * `insertMany`, version 2 by one UPDATE of the view, then one in 50 of them deleted.
 */
async function grow(db: Database, schema: SchemaModule, from: number, to: number): Promise<void> {
  const book = db.table(schema.addresses);
  const name = (i: number) => `Person ${String(i).padStart(5, '0')}`;
  await book.insertMany(
    Array.from({ length: to - from }, (_, k) => ({
      name: name(from + k),
      city: k % 10 === 0 ? 'Leeds' : 'York',
    })),
    { actor: 'loader' },
  );
  await db.query(`UPDATE addresses SET address_line_1 = 'Street ' || right(name, 5) WHERE name >= $1`, [
    name(from),
  ]);
  await db.transaction(async (tx) => {
    await tx.query(`SET LOCAL appendlog.reason = 'bench'`);
    await tx.query(`DELETE FROM addresses WHERE name >= $1 AND right(name, 2) IN ('07', '57')`, [name(from)]);
  });
}

async function timePages(
  app: AppModule['createApp'] extends (db: Database) => infer A ? A : never,
  paths: Array<[string, string]>,
  session: string,
) {
  const out: Array<{ page: string; ms: number; kb: number }> = [];
  for (const [page, p] of paths) {
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i <= ROUNDS; i++) {
      const started = performance.now();
      const res = await app.fetch(
        new Request(`http://localhost${p}`, { headers: { cookie: `session=${session}` } }),
      );
      const body = await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${p} answered ${res.status}`);
      if (i > 0) times.push(performance.now() - started);
      bytes = body.byteLength;
    }
    out.push({ page, ms: summarize(times).median, kb: bytes / 1024 });
  }
  return out;
}

/**
 * Times the Address Book's main pages at 100 and at 10,000 people on one engine, through the
 * Hono app's `fetch` (no HTTP server): the medians of five requests after a warm-up. The same
 * database grows from the first size to the second.
 */
export async function benchAppPages(engine: EngineName, url?: string): Promise<AppPagesResult> {
  const { app: appModule, schema, setup, accounts } = await loadApp();
  let db: Database;
  let close: () => Promise<void>;
  if (engine === 'pglite') {
    const pgl = await PGlite.create();
    db = await connect({ client: pgl });
    close = async () => {
      await db.close();
      await pgl.close();
    };
  } else {
    const name = `bench_app_${randomBytes(4).toString('hex')}`;
    db = await connect({ url: url!, schema: name });
    close = async () => {
      // The DDL guard refuses dropping appendlog's tables unless the transaction says it means to.
      await db.transaction(async (tx) => {
        await tx.query(`SET LOCAL appendlog.allow_ddl = 'on'`);
        await tx.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
      });
      await db.close();
    };
  }
  try {
    await setup.prepareDatabase(db);
    // Pages need a signed-in account: the first one of the database, an admin, sees every page.
    const store = accounts.AccountStore.for(db);
    const { account } = await store.create({
      login: 'bench',
      displayName: 'Bench',
      password: 'the bench password',
    });
    const session = await store.startSession(account.id);
    const byPage = new Map<string, { ms: Record<number, number>; kb: Record<number, number> }>();
    const memory: NonNullable<AppPagesResult['memory']> = {};
    let have = 0;
    for (const size of APP_SIZES) {
      await grow(db, schema, have, size);
      have = size;
      const [someone] = await db.query<{ entry_id: string }>(
        `SELECT entry_id::text FROM addresses WHERE name = 'Person 00042'`,
      );
      const app = appModule.createApp(db);
      const sampler = rssSampler();
      const timed = await timePages(app, pagesOf(someone!.entry_id, new Date().toISOString()), session);
      const peakRss = sampler.stop();
      memory[size] = { rss: process.memoryUsage.rss() / 2 ** 20, peakRss };
      for (const r of timed) {
        const row = byPage.get(r.page) ?? { ms: {}, kb: {} };
        row.ms[size] = r.ms;
        row.kb[size] = r.kb;
        byPage.set(r.page, row);
      }
    }
    return { engine, pages: [...byPage].map(([page, v]) => ({ page, ...v })), memory };
  } finally {
    await close();
  }
}

/** The side-by-side table, as Markdown. */
export function appPagesTable(r: AppPagesResult): string {
  const [small, large] = APP_SIZES;
  const lines = [
    `\nAddress Book pages on ${r.engine}: median ms of ${ROUNDS} requests through app.fetch (KB of HTML or JSON)`,
    '',
    `| page | ${small} people | ${large.toLocaleString('en')} people | ratio |`,
    '|---|--:|--:|--:|',
  ];
  for (const p of r.pages) {
    const a = p.ms[small]!;
    const b = p.ms[large]!;
    lines.push(
      `| ${p.page} | ${a.toFixed(1)} (${p.kb[small]!.toFixed(0)}) | ${b.toFixed(1)} (${p.kb[large]!.toFixed(0)}) | ${(b / a).toFixed(1)}× |`,
    );
  }
  const m = r.memory;
  if (m?.[small] !== undefined && m[large] !== undefined) {
    const mb = (x: { rss: number; peakRss: number }) =>
      `${x.rss.toFixed(0)} MB (peak ${x.peakRss.toFixed(0)})`;
    lines.push(`| RSS after the pages (peak while timed) | ${mb(m[small])} | ${mb(m[large])} | |`);
  }
  return lines.join('\n');
}
