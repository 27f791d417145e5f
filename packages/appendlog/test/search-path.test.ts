import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { buildProgram } from '../src/cli/program.js';
import { column as c, connect, type Database, exportCar, table, verifyInclusionProof } from '../src/index.js';
import { describeEngines, describePostgres, type TestDb } from './support/engines.js';
import { waitForHorizon } from './support/horizon.js';

// Issue 14, item 2. Where the application role may create objects in a schema on the owner's
// search_path (PUBLIC's default on PostgreSQL 13 and 14), it can plant operators and functions
// that an unqualified name in the owner's SQL resolves to, and have them run with the owner's
// rights. Here the app plants them in `public` of a database of its own (appendlog in schema
// `public`, the owner on the default search_path `"$user", public`), and every tool the owner
// runs must leave them alone.

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const people = (extra: Record<string, ReturnType<typeof c.text>> = {}) =>
  table(
    'people',
    { name: c.text().notNull(), email: c.text(), ...extra },
    { retention: { deletedFor: '0 days' } },
  );
const notes = table('notes', { body: c.text() });

/** Runs an `appendlog …` command in this process; what it wrote to stderr, and its exit code. */
async function cli(args: string[]): Promise<{ code: number; stderr: string }> {
  const stderr: string[] = [];
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr.push(String(chunk));
    return true;
  });
  try {
    await buildProgram()
      .exitOverride()
      .parseAsync(['node', 'appendlog', ...args]);
    return { code: Number(process.exitCode ?? 0), stderr: stderr.join('') };
  } catch (e) {
    return { code: 2, stderr: `${stderr.join('')}${(e as Error).message}` };
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.exitCode = undefined;
  }
}

/**
 * What a hostile application plants: operators and functions whose argument types match, exactly,
 * expressions an owner query may contain (`relname LIKE '…'`, `attname || '…'`, `meta -> 'key'`,
 * `lower(relname)` …), where pg_catalog has only a near match. Each answers like the original
 * and, when it runs with more rights than the app's, records itself and opens the logs to the app.
 */
function plantSql(app: string): string {
  const ops: Array<[op: string, left: string, right: string, returns: string, real: string]> = [
    ['~~', 'name', 'name', 'boolean', 'a::text OPERATOR(pg_catalog.~~) b::text'],
    ['!~~', 'name', 'name', 'boolean', 'a::text OPERATOR(pg_catalog.!~~) b::text'],
    ['=', 'name', 'name', 'boolean', 'a OPERATOR(pg_catalog.=) b'],
    ['=', 'oid', 'oid', 'boolean', 'a OPERATOR(pg_catalog.=) b'],
    ['=', 'text', 'text', 'boolean', 'a OPERATOR(pg_catalog.=) b'],
    ['<>', 'text', 'text', 'boolean', 'a OPERATOR(pg_catalog.<>) b'],
    ['||', 'name', 'name', 'text', 'a::text OPERATOR(pg_catalog.||) b::text'],
    ['->', 'jsonb', 'jsonb', 'jsonb', `a OPERATOR(pg_catalog.->) (b OPERATOR(pg_catalog.#>>) '{}')`],
    ['->>', 'jsonb', 'jsonb', 'text', `a OPERATOR(pg_catalog.->>) (b OPERATOR(pg_catalog.#>>) '{}')`],
    ['-', 'jsonb', 'jsonb', 'jsonb', `a OPERATOR(pg_catalog.-) (b OPERATOR(pg_catalog.#>>) '{}')`],
    ['?', 'jsonb', 'jsonb', 'boolean', `a OPERATOR(pg_catalog.?) (b OPERATOR(pg_catalog.#>>) '{}')`],
  ];
  const fns: Array<[name: string, args: string, returns: string, real: string]> = [
    ['lower', 'a name', 'text', 'pg_catalog.lower(a::text)'],
    ['left', 'a name, n integer', 'text', 'pg_catalog.left(a::text, n)'],
    ['quote_ident', 'a name', 'text', 'pg_catalog.quote_ident(a::text)'],
    ['format', 'f text, a name', 'text', 'pg_catalog.format(f, a)'],
    ['format', 'f text, a name, b name', 'text', 'pg_catalog.format(f, a, b)'],
    ['current_setting', 'a name', 'text', 'pg_catalog.current_setting(a::text)'],
  ];
  return [
    `CREATE TABLE public.hostile_marker (what text NOT NULL, ran_as name NOT NULL)`,
    `GRANT INSERT ON public.hostile_marker TO PUBLIC`,
    `CREATE FUNCTION public.hostile_ran(what text) RETURNS void LANGUAGE plpgsql AS $fn$
     BEGIN
       INSERT INTO public.hostile_marker (what, ran_as) VALUES (what, current_user);
       EXECUTE pg_catalog.format('GRANT UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public TO %I', ${pg.escapeLiteral(app)});
       EXECUTE 'ALTER TABLE public.people_log DISABLE TRIGGER USER';
     EXCEPTION
       -- Run by the app itself: nothing to gain.
       WHEN insufficient_privilege THEN NULL;
       -- Run in a read-only snapshot: it cannot record, so it says so.
       WHEN read_only_sql_transaction THEN
         RAISE EXCEPTION 'hostile % ran as %', what, current_user;
     END $fn$`,
    ...ops.flatMap(([op, left, right, returns, real], i) => [
      `CREATE FUNCTION public.hostile_op_${i}(a ${left}, b ${right}) RETURNS ${returns} LANGUAGE plpgsql AS $fn$
       BEGIN PERFORM public.hostile_ran(${pg.escapeLiteral(`${op}(${left}, ${right})`)}); RETURN ${real}; END $fn$`,
      `CREATE OPERATOR public.${op} (leftarg = ${left}, rightarg = ${right}, function = public.hostile_op_${i})`,
    ]),
    // In the appendlog schema itself (public here): an overload that untyped arguments match better.
    `CREATE FUNCTION public.people_append(text, text, text, text, text, jsonb, text)
       RETURNS SETOF public.people_log LANGUAGE plpgsql AS $fn$
     BEGIN PERFORM public.hostile_ran('people_append(text, text, text, text, text, jsonb, text)'); END $fn$`,
    ...fns.map(
      ([name, args, returns, real]) =>
        `CREATE FUNCTION public.${name}(${args}) RETURNS ${returns} LANGUAGE plpgsql AS $fn$
         BEGIN PERFORM public.hostile_ran(${pg.escapeLiteral(`${name}(${args})`)}); RETURN ${real}; END $fn$`,
    ),
  ].join(';\n');
}

describePostgres('owner tools under a search_path the application can write to', () => {
  const suffix = randomBytes(5).toString('hex');
  const dbName = `appendlog_sp_${suffix}`;
  const app = `app_sp_${suffix}`;
  const server = new URL(process.env.DATABASE_URL ?? 'postgres://localhost');
  const url = Object.assign(new URL(server.href), { pathname: `/${dbName}` }).href;
  let admin: pg.Pool;
  let su: pg.Pool;
  let owner: Database;
  let dir: string;
  const ids: Record<string, string> = {};

  /** Nothing planted ran with the owner's rights, and the app was given nothing. */
  async function expectNothingRan(): Promise<void> {
    // Taken out, so that a later check reports only what ran after this one.
    const { rows: ran } = await su.query('DELETE FROM public.hostile_marker RETURNING what, ran_as');
    expect([...new Set(ran.map((r) => `${r.what} as ${r.ran_as}`))]).toEqual([]);
    // The app updates the heads (through the chain trigger) and its projections' cursors (state,
    // not a record), and may do nothing else of the kind.
    const { rows: rights } = await su.query<{ t: string; p: string }>(
      `SELECT c.relname AS t, p.p FROM pg_class c
         CROSS JOIN unnest(ARRAY['UPDATE', 'DELETE', 'TRUNCATE']) AS p(p)
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND c.relname <> 'hostile_marker'
          AND NOT (p.p = 'UPDATE' AND c.relname LIKE '%\\_head')
          AND NOT (p.p = 'UPDATE' AND c.relname = 'appendlog_projections')
          AND has_table_privilege($1, c.oid, p.p)`,
      [app],
    );
    expect(rights).toEqual([]);
    const { rows: off } = await su.query(
      `SELECT tgname FROM pg_trigger WHERE tgrelid = 'public.people_log'::regclass AND tgenabled = 'D'`,
    );
    expect(off).toEqual([]);
  }

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: server.href, max: 1 });
    await admin.query(`CREATE DATABASE ${dbName}`);
    // The search_path hardening on its own: the DDL guard would refuse planting an overload among
    // appendlog's functions before the attack could be tried (ddl-guard.test.ts tests the guard).
    await admin.query(`ALTER DATABASE ${dbName} SET appendlog.ddl_guard = off`);
    await admin.query(`CREATE ROLE ${app} LOGIN`);
    // The test's own checks see pg_catalog only: with public on the path, even pg_catalog listed
    // first, `relname LIKE '…'` would call the planted ~~(name, name), an exact match.
    su = new pg.Pool({ connectionString: url, max: 1, options: '-c search_path=pg_catalog' });
    su.on('error', () => {});
    dir = await mkdtemp(join(tmpdir(), 'appendlog-sp-'));

    owner = await connect({ url });
    await owner.migrate([people(), notes], { appRole: app });
    const book = owner.table(people());
    const kept = await book.insert({ name: 'Kept', email: 'kept@example.org' });
    await book.update(kept.entryId, { email: 'kept@example.com' });
    const forgotten = await book.insert({ name: 'Forgotten' });
    await book.forget(forgotten.entryId, { reason: 'GDPR', after: '0 seconds' });
    const binned = await book.insert({ name: 'Binned' });
    await book.delete(binned.entryId, { reason: 'gone' });
    await owner.table(notes).insert({ body: 'a note' });
    Object.assign(ids, { kept: kept.entryId, forgotten: forgotten.entryId, binned: binned.entryId });

    // PostgreSQL 13 and 14 grant this to PUBLIC by default.
    await su.query(`GRANT CREATE ON SCHEMA public TO ${app}`);
    const plant = new pg.Client({ connectionString: url, user: app });
    await plant.connect();
    try {
      await plant.query(plantSql(app));
    } finally {
      await plant.end();
    }
    // The next migrate runs the catalog script again, as after a library upgrade.
    await su.query('COMMENT ON TABLE public.appendlog_schema_history IS NULL');
  });

  afterAll(async () => {
    await owner?.close();
    await su?.end();
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.query(`DROP ROLE IF EXISTS ${app}`);
    await admin.end();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the owner runs on the default search_path, with the planted objects in reach', async () => {
    const [row] = await owner.query<{ path: string; me: string }>(
      `SELECT pg_catalog.current_setting('search_path') AS path, current_user AS me`,
    );
    expect(row).toEqual({ path: '"$user", public', me: expect.any(String) });
    const { rows } = await su.query(
      `SELECT count(*)::int AS n FROM pg_operator WHERE oprnamespace = 'public'::regnamespace`,
    );
    expect(rows[0].n).toBe(11);
  });

  it('migrate: the catalog script, a new column and a new table', async () => {
    const result = await owner.migrate([people({ tel: c.text() }), notes, table('tags', { tag: c.text() })], {
      appRole: app,
    });
    expect(result.changes.map((ch) => `${ch.table} ${ch.change}`)).toEqual([
      'people add_columns',
      'tags create_table',
    ]);
    await expectNothingRan();
  });

  it('purge: a dry run, then retention and erasure', async () => {
    const preview = await owner.purge({ dryRun: true });
    expect(preview.erased.map((e) => e.entryId).sort()).toEqual([ids.forgotten, ids.binned].sort());
    await expectNothingRan();
    const result = await owner.purge();
    expect(result.scheduled.map((e) => e.entryId)).toEqual([ids.binned]);
    expect(result.erased.map((e) => e.entryId).sort()).toEqual([ids.forgotten, ids.binned].sort());
    await expectNothingRan();
    expect(await owner.table(people()).erasure(ids.forgotten!)).toMatchObject({ state: 'erased' });
    await expectNothingRan();
  });

  it('verify, checkpoint, verify against it and an inclusion proof', async () => {
    expect(await owner.verify()).toMatchObject({ ok: true, failures: [] });
    await expectNothingRan();
    await waitForHorizon(owner, ['people', 'notes']);
    const cp = await owner.checkpoint();
    await expectNothingRan();
    expect(await owner.verify({ against: cp })).toMatchObject({ ok: true });
    await expectNothingRan();
    const proof = await owner.inclusionProof({ table: 'people', entryId: ids.kept!, version: 2 });
    expect(verifyInclusionProof(proof, cp).ok).toBe(true);
    await expectNothingRan();
  });

  it('changes, the schema history and an export', async () => {
    expect((await owner.changes()).changes.length).toBeGreaterThan(0);
    await expectNothingRan();
    expect((await owner.schemaHistory()).map((r) => r.change)).toContain('add_columns');
    await expectNothingRan();
    expect((await exportCar(owner, join(dir, 'all.car'))).versions).toBeGreaterThan(0);
    await expectNothingRan();
  });

  it('the CLI: migrate, purge, checkpoint, verify, export, schema history', async () => {
    const config = join(dir, 'appendlog.config.mjs');
    const src = pathToFileURL(join(packageDir, 'src/index.ts')).href;
    await writeFile(
      config,
      `import { column as c, table } from ${JSON.stringify(src)};
export const tables = [
  table('people', { name: c.text().notNull(), email: c.text(), tel: c.text(), city: c.text() },
    { retention: { deletedFor: '0 days' } }),
];
`,
    );
    const target = ['--url', url];
    const cp = join(dir, 'cp.json');
    for (const args of [
      ['migrate', '--config', config, '--app-role', app],
      ['purge'],
      ['checkpoint', '--out', cp],
      ['verify', '--against', cp],
      ['export', '--car', join(dir, 'cli.car')],
      ['schema', 'history'],
    ]) {
      const r = await cli([...args, ...target]);
      expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: '' });
      await expectNothingRan();
    }
    const { rows } = await su.query(
      `SELECT attname FROM pg_attribute WHERE attrelid = 'public.people_log'::regclass AND attname = 'city'`,
    );
    expect(rows).toEqual([{ attname: 'city' }]);
  });
});

describeEngines('the search_path of the catalog functions and the owner tools', (engine) => {
  let t: TestDb;

  beforeAll(async () => {
    t = await engine.open();
    await t.db.migrate([notes]);
  });
  afterAll(() => t.close());

  it('every shared catalog function runs on pg_catalog, pg_temp', async () => {
    const rows = await t.db.query<{ name: string; config: string[] | null }>(
      `SELECT p.proname AS name, p.proconfig AS config FROM pg_catalog.pg_proc p
        WHERE p.pronamespace = pg_catalog.to_regnamespace($1)
          AND p.proname OPERATOR(pg_catalog.~~) 'appendlog\\_%'
        ORDER BY 1`,
      [t.schema],
    );
    expect(rows.map((r) => r.name)).toEqual([
      'appendlog_check_cancel_forget',
      'appendlog_context',
      'appendlog_enc',
      'appendlog_erasure_apply',
      'appendlog_erasure_fill',
      'appendlog_forget_meta',
      'appendlog_guard_log_insert',
      'appendlog_head_guard',
      'appendlog_notify_changes',
      'appendlog_refuse',
      'appendlog_refuse_log_insert',
    ]);
    // The log's INSERT guard runs on every write, so it spells out every name instead (catalog-ddl.ts).
    for (const r of rows)
      expect(r.config, r.name).toEqual(
        r.name === 'appendlog_guard_log_insert' ? null : ['search_path=pg_catalog, pg_temp'],
      );
  });

  it('pins the search_path inside a caller’s transaction and puts the caller’s back', async () => {
    await t.db.transaction(async (tx) => {
      const path = async () =>
        (await tx.query<{ p: string }>(`SELECT pg_catalog.current_setting('search_path') AS p`))[0]!.p;
      const before = await path();
      expect(before).not.toBe('pg_catalog, pg_temp');
      await tx.migrate([notes, table('more_notes', { body: c.text() })]);
      expect(await path()).toBe(before);
      expect((await tx.verify()).ok).toBe(true);
      expect(await path()).toBe(before);
      // Raw SQL on the caller's path still finds the tables by their bare names.
      expect(await tx.query('SELECT body FROM more_notes')).toEqual([]);
    });
  });
});
