import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorLine } from '../src/cli/errors.js';
import { connect, InvalidInputError } from '../src/index.js';
import { rawPublicKeyHex } from '../src/integrity/checkpoint-format.js';
import { redactUrl } from '../src/redact-url.js';
import { readCheckpoint, readVkey, verifyNote } from './support/c2sp-verifier.js';
import { binShim, cliInProcess, cliProcess, packageDir } from './support/cli.js';
import { describePostgres, postgres, rawPool, type TestDb } from './support/engines.js';
import { waitForHorizon } from './support/horizon.js';
import { freshDataDir } from './support/pglite-snapshot.js';
import { addresses } from './support/tables.js';
import { TiledLog } from './support/tlog-tiles-reader.js';

// Most runs are in this process (cliInProcess, support/cli.ts); those through cliProcess run the
// real command, bin/appendlog.js over dist/, for its exit codes and the shim.
beforeAll(() => {
  // `npm test` builds first; a bare `vitest run` of this file builds when the binary is missing.
  if (!existsSync(join(packageDir, 'dist/cli/main.js'))) {
    execFileSync('npx', ['tsc', '-p', join(packageDir, 'tsconfig.json')], { stdio: 'inherit' });
  }
});

describe('appendlog CLI on a PGlite data directory', () => {
  let dir: string;
  let data: string;
  let entryId: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'appendlog-cli-'));
    data = join(dir, 'data');
    const db = await connect({ dataDir: freshDataDir(data) });
    await db.migrate([addresses]);
    const book = db.table(addresses);
    for (let i = 0; i < 4; i++) {
      const v = await book.insert({ name: `n${i}`, city: 'Oslo' });
      await book.update(v.entryId, { tel: `${i}` }, { actor: 'alice' });
      entryId = v.entryId;
    }
    await db.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('verify: exit 0 and a readable report on intact data, JSON with --json', async () => {
    const r = cliProcess(['verify', '--data-dir', data]);
    expect(r.stdout).toContain('intact: 8 versions checked');
    expect(r.code).toBe(0);
    const j = await cliInProcess(['verify', '--data-dir', data, '--json', '--table', 'addresses']);
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout)).toEqual({ ok: true, checked: 8, erased: 0, failures: [] });
    expect(j.stderr).toBe('');
  });

  it('a --schema with no appendlog tables in it: exit 2, nothing to verify', async () => {
    const r = await cliInProcess(['verify', '--data-dir', data, '--schema', 'typo']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `appendlog: no appendlog tables in schema "typo" of data directory ${data}; nothing to verify (invalid_input)\n`,
    );
  });

  it('checkpoint --out --sign-key, then verify --against --public-key', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const keyFile = join(dir, 'key.pem');
    writeFileSync(keyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }));
    const out = join(dir, 'checkpoint');
    const c = await cliInProcess([
      'checkpoint',
      '--data-dir',
      data,
      '--out',
      out,
      '--sign-key',
      keyFile,
      '--origin',
      'example.com/book',
    ]);
    expect(c.stderr).toBe('');
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(/^checkpoint 1 of example\.com\/book: 8 versions, root [0-9a-f]{64}, signed/);
    const vkey = /verifier key: (\S+)/.exec(c.stdout)![1]!;
    const note = readFileSync(out, 'utf8');
    expect(note.split('\n').slice(0, 2)).toEqual(['example.com/book', '8']);
    expect(verifyNote(note, [readVkey(vkey)])).toBe(true);
    for (const key of [rawPublicKeyHex(privateKey), vkey]) {
      const v = await cliInProcess(['verify', '--data-dir', data, '--against', out, '--public-key', key]);
      expect(v.stdout).toContain('consistent extension of the checkpoint (8 versions)');
      expect(v.code).toBe(0);
    }
    const other = rawPublicKeyHex(generateKeyPairSync('ed25519').privateKey);
    const w = await cliInProcess(['verify', '--data-dir', data, '--against', out, '--public-key', other]);
    expect(w.code).toBe(1);
    expect(w.stdout).toContain('not signed by the trusted key');
  });

  it('witness: cosigns the log checkpoints after a consistency proof; verify --witness asks for it', async () => {
    const witnessKey = join(dir, 'witness.pem');
    writeFileSync(
      witnessKey,
      generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }),
    );
    const logKey = join(dir, 'log.pem');
    const log = generateKeyPairSync('ed25519');
    writeFileSync(logKey, log.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    const logPub = join(dir, 'log.pub.pem');
    writeFileSync(logPub, log.publicKey.export({ format: 'pem', type: 'spki' }));
    const state = join(dir, 'witness-state');
    const cosigned = join(dir, 'cosigned');
    const name = ['--name', 'witness.example/w1', '--sign-key', witnessKey];
    const vkey = (await cliInProcess(['witness', ...name, '--print-key'])).stdout.trim();
    expect(vkey).toMatch(/^witness\.example\/w1\+[0-9a-f]{8}\+/);
    expect((await cliInProcess(['checkpoint', '--data-dir', data, '--sign-key', logKey])).code).toBe(0);
    const w = await cliInProcess([
      'witness',
      '--data-dir',
      data,
      ...name,
      '--log-key',
      logPub,
      '--state',
      state,
      '--out',
      cosigned,
    ]);
    expect(w.stderr).toBe('');
    expect(w.code).toBe(0);
    expect(readFileSync(state, 'utf8')).toBe(readFileSync(cosigned, 'utf8'));
    const ok = await cliInProcess([
      'verify',
      '--data-dir',
      data,
      '--against',
      cosigned,
      '--public-key',
      logPub,
      '--witness',
      vkey,
    ]);
    expect(ok.stdout).toContain('consistent extension');
    expect(ok.code).toBe(0);
    const stranger = (
      await cliInProcess(['witness', '--name', 'w2', '--sign-key', logKey, '--print-key'])
    ).stdout.trim();
    const two = await cliInProcess([
      'verify',
      '--data-dir',
      data,
      '--against',
      cosigned,
      '--witness',
      vkey,
      '--witness',
      stranger,
      '--witness-quorum',
      '2',
    ]);
    expect(two.code).toBe(1);
    expect(two.stdout).toContain('checkpoint_witnesses');
    // The witness refuses a checkpoint signed by another key than the log's, and keeps its state.
    const before = readFileSync(state, 'utf8');
    const bad = await cliInProcess([
      'witness',
      '--data-dir',
      data,
      ...name,
      '--log-key',
      vkey,
      '--state',
      state,
    ]);
    expect(bad.code).not.toBe(0);
    expect(readFileSync(state, 'utf8')).toBe(before);
  });

  it('export --car and check-car', async () => {
    const car = join(dir, 'h.car');
    const e = await cliInProcess(['export', '--car', car, '--data-dir', data, '--entry', entryId, '--json']);
    expect(e.code).toBe(0);
    expect(JSON.parse(e.stdout)).toMatchObject({ versions: 2 });
    const c = await cliInProcess(['check-car', car]);
    expect(c.stdout).toContain('intact: 2 versions');
    expect(c.code).toBe(0);
  });

  it('export --tiles: the latest checkpoint and its tiles, then nothing new on a second run', async () => {
    const tiles = join(dir, 'tiles');
    const e = await cliInProcess(['export', '--tiles', tiles, '--data-dir', data]);
    expect(e.stderr).toBe('');
    expect(e.code).toBe(0);
    expect(e.stdout).toMatch(
      /^checkpoint \d+ of example\.com\/book \(8 versions, root [0-9a-f]{64}\) → .*: 2 tiles written, 0 unchanged\n$/,
    );
    const note = readFileSync(join(tiles, 'checkpoint'), 'utf8');
    const c = readCheckpoint(note.slice(0, note.indexOf('\n\n') + 1));
    const log = new TiledLog((p) => (existsSync(join(tiles, p)) ? readFileSync(join(tiles, p)) : null), 8);
    expect(log.root().equals(c.root)).toBe(true);
    expect(readdirSync(join(tiles, 'tile')).sort()).toEqual(['0', 'entries']);
    const again = await cliInProcess(['export', '--tiles', tiles, '--data-dir', data, '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ treeSize: 8, written: 0, unchanged: 2, signed: true });
    for (const args of [
      ['--tiles', tiles, '--car', join(dir, 'x.car')],
      ['--tiles', tiles, '--entry', entryId],
      ['--car', join(dir, 'x.car'), '--checkpoint', join(tiles, 'checkpoint')],
    ]) {
      const r = await cliInProcess(['export', ...args, '--data-dir', data]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/^appendlog: .*\(invalid_input\)\n$/);
    }
  });

  it('bad input: exit 2 with a message, no stack trace', async () => {
    const r = await cliInProcess(['verify', '--data-dir', data, '--against', join(dir, 'missing.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^appendlog: cannot read checkpoint .*missing\.json/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"spec":"other"}');
    const b = await cliInProcess(['verify', '--data-dir', data, '--against', bad]);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('not an appendlog checkpoint');
    expect((await cliInProcess(['export', '--data-dir', data])).code).not.toBe(0);
  });

  it('tampered data: exit 1 naming the entry and version', async () => {
    const { PGlite } = await import('@electric-sql/pglite');
    const pg = await PGlite.create(data);
    await pg.exec(
      `SET session_replication_role = replica; UPDATE addresses_log SET city = 'Gotham' WHERE entry_id = '${entryId}' AND version = 2`,
    );
    await pg.close();
    const r = cliProcess(['verify', '--data-dir', data]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`FAILED: 1 failure`);
    expect(r.stdout).toContain(`addresses ${entryId} v2: content_hash_mismatch`);
    const j = JSON.parse((await cliInProcess(['verify', '--data-dir', data, '--json'])).stdout);
    expect(j.failures).toEqual([
      expect.objectContaining({ table: 'addresses', entryId, version: 2, problem: 'content_hash_mismatch' }),
    ]);
    const c = await cliInProcess(['checkpoint', '--data-dir', data, '--out', join(dir, 'cp2.json')]);
    expect(c.code).toBe(1);
    expect(c.stderr).toContain('no checkpoint taken');
    expect(existsSync(join(dir, 'cp2.json'))).toBe(false);
    // Against the checkpoint taken before the edit: its stored hashes still extend it, but a log
    // that fails verification is not reported as a consistent extension.
    const against = await cliInProcess(['verify', '--data-dir', data, '--against', join(dir, 'checkpoint')]);
    expect(against.code).toBe(1);
    expect(against.stdout).toMatch(/^FAILED: 1 failure; /);
    expect(against.stdout).not.toContain('consistent extension');
    expect(against.stdout).toContain(
      'checkpoint: NOT proven: the stored hashes extend the checkpoint (8 versions), but the log does not verify (failures below)',
    );
  });
});

describe('appendlog CLI: its words and exit codes', () => {
  it('bad usage exits 2 (1 means failures found); --help and --version exit 0', async () => {
    const option = cliProcess(['verify', '--bogus']);
    expect(option.code).toBe(2);
    expect(option.stderr).toContain("error: unknown option '--bogus'");
    const command = await cliInProcess(['frobnicate']);
    expect(command.code).toBe(2);
    expect(command.stderr).toContain("error: unknown command 'frobnicate'");
    const nested = await cliInProcess(['schema', 'history', '--bogus']);
    expect(nested.code).toBe(2);
    expect((await cliInProcess(['check-car'])).code).toBe(2); // its <file> is missing
    expect((await cliInProcess(['--help'])).code).toBe(0);
    expect((await cliInProcess(['verify', '--help'])).code).toBe(0);
    const version = cliProcess(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it('the bin shim, before dist/ is built: exit 2, saying what to run', () => {
    const pkg = mkdtempSync(join(tmpdir(), 'appendlog-unbuilt-'));
    try {
      mkdirSync(join(pkg, 'bin'));
      copyFileSync(binShim, join(pkg, 'bin', 'appendlog.js'));
      writeFileSync(join(pkg, 'package.json'), '{ "type": "module" }\n');
      const r = spawnSync(process.execPath, [join(pkg, 'bin', 'appendlog.js'), '--version'], {
        encoding: 'utf8',
      });
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(
        `appendlog: the command is not built (${join(pkg, 'dist/cli/main.js')} is missing)`,
      );
    } finally {
      rmSync(pkg, { recursive: true, force: true });
    }
  });

  it('a URL that is not one: names it (password masked) and says what is wrong', async () => {
    const text = await cliInProcess(['verify', '--url', 'not a url']);
    expect(text.code).toBe(2);
    expect(text.stderr).toBe(
      'appendlog: "not a url" is not a PostgreSQL connection URL (expected postgres://user:password@host:5432/database) (invalid_input)\n',
    );
    const broken = await cliInProcess(['verify', '--url', 'postgres://app:s3cret@[::1:5432/db']);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toBe(
      'appendlog: "postgres://app:***@[::1:5432/db" is not a valid connection URL: Invalid URL (expected postgres://user:password@host:5432/database) (invalid_input)\n',
    );
    const scheme = await cliInProcess(['verify'], { DATABASE_URL: 'mysql://root@localhost/app' });
    expect(scheme.stderr).toContain('"mysql://root@localhost/app" is not a PostgreSQL connection URL');
  });

  it('says "appendlog:" once, however the message began', async () => {
    expect(errorLine(new InvalidInputError('appendlog: appendlog: no such thing', 'x'))).toBe(
      'appendlog: no such thing (invalid_input)',
    );
    expect(errorLine(new Error('appendlog: PGlite returned no blob for a COPY'))).toBe(
      'appendlog: PGlite returned no blob for a COPY',
    );
    expect(errorLine('plain')).toBe('appendlog: plain');
  });
});

/** Every command that reads a database, with the words its refusal ends on. */
function readCommands(dir: string): Array<{ args: string[]; nothing: string }> {
  return [
    { args: ['verify'], nothing: 'nothing to verify' },
    { args: ['verify', '--json'], nothing: 'nothing to verify' },
    { args: ['checkpoint', '--out', join(dir, 'cp.json')], nothing: 'nothing to checkpoint' },
    { args: ['export', '--car', join(dir, 'h.car')], nothing: 'nothing to export' },
    { args: ['export', '--tiles', join(dir, 'tiles')], nothing: 'nothing to export' },
    { args: ['purge'], nothing: 'nothing to purge' },
    { args: ['purge', '--dry-run'], nothing: 'nothing to purge' },
    { args: ['schema', 'history'], nothing: 'no schema history to show' },
  ];
}

describe('appendlog CLI: no database is not an intact one [pglite]', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'appendlog-cli-none-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a data directory that does not exist: exit 2 naming it, for every command that reads; none creates it', async () => {
    const missing = join(dir, 'typo');
    for (const { args } of readCommands(dir)) {
      const r = await cliInProcess([...args, '--data-dir', missing]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout, args.join(' ')).toBe('');
      expect(r.stderr, args.join(' ')).toContain(`appendlog: data directory ${missing} does not exist: `);
      expect(r.stderr, args.join(' ')).toMatch(/\(invalid_input\)\n$/);
      expect(existsSync(missing), args.join(' ')).toBe(false);
    }
    expect(readdirSync(dir)).toEqual([]);
    // From the environment, and the default `.data` of the working directory, alike.
    const fromEnv = await cliInProcess(['verify'], { APPENDLOG_DATA_DIR: missing });
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toContain(`data directory ${missing} does not exist`);
    const byDefault = await cliInProcess(['verify'], {}, dir);
    expect(byDefault.code).toBe(2);
    expect(byDefault.stderr).toContain(`data directory ${join(dir, '.data')} does not exist`);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a directory that is not a PGlite data directory: exit 2, and nothing is written into it', async () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    for (const { args } of readCommands(dir)) {
      const r = await cliInProcess([...args, '--data-dir', empty]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(
        `appendlog: ${empty} is not a PGlite data directory (it has no PG_VERSION file)`,
      );
    }
    expect(readdirSync(empty)).toEqual([]);
    rmSync(empty, { recursive: true });
  });

  it('a data directory with no appendlog tables: verify says there is nothing to verify and exits 2, as does every command that reads', async () => {
    const bare = join(dir, 'bare');
    const db = await connect({ dataDir: freshDataDir(bare) });
    await db.migrate([]);
    await db.close();
    for (const { args, nothing } of readCommands(dir)) {
      const r = await cliInProcess([...args, '--data-dir', bare]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout, args.join(' ')).toBe('');
      expect(r.stderr, args.join(' ')).toBe(
        `appendlog: no appendlog tables in schema "public" of data directory ${bare}; ${nothing} (invalid_input)\n`,
      );
    }
    expect(existsSync(join(dir, 'cp.json'))).toBe(false);
    expect(existsSync(join(dir, 'h.car'))).toBe(false);
  }, 120_000); // seven runs of the CLI, each starting PGlite

  it('a server that cannot be reached: exit 2, one message, the password left out', async () => {
    const r = await cliInProcess(['verify', '--url', 'postgres://nobody:secret@127.0.0.1:1/none']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^appendlog: cannot reach the database at postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:1\/none: /,
    );
  });
});

describePostgres('appendlog CLI on PostgreSQL', () => {
  let t: TestDb;
  let dir: string;
  beforeAll(async () => {
    t = await postgres.open();
    await t.db.migrate([addresses]);
    const v = await t.db.table(addresses).insert({ name: 'pg' });
    await t.db.table(addresses).update(v.entryId, { city: 'Oslo' });
    dir = mkdtempSync(join(tmpdir(), 'appendlog-cli-pg-'));
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await t.close();
  });

  it('a schema with no appendlog tables, or no such schema: exit 2, nothing to verify, for every command that reads', async () => {
    const url = process.env.DATABASE_URL!;
    const bare = `${t.schema}_bare`;
    const db = await connect({ url, schema: bare });
    try {
      await db.migrate([]);
      for (const schema of [bare, `${t.schema}_typo`]) {
        for (const { args, nothing } of readCommands(dir)) {
          const r = await cliInProcess([...args, '--schema', schema], { DATABASE_URL: url });
          expect(r.code, args.join(' ')).toBe(2);
          expect(r.stdout, args.join(' ')).toBe('');
          expect(r.stderr, args.join(' ')).toBe(
            `appendlog: no appendlog tables in schema "${schema}" of database ${redactUrl(url)}; ${nothing} (invalid_input)\n`,
          );
        }
      }
    } finally {
      await db.query(`DROP SCHEMA IF EXISTS "${bare}" CASCADE`);
      await db.close();
    }
    expect(existsSync(join(dir, 'cp.json'))).toBe(false);
  });

  it('verify, checkpoint and verify --against through --url / DATABASE_URL', async () => {
    const url = process.env.DATABASE_URL!;
    expect((await cliInProcess(['verify', '--url', url, '--schema', t.schema])).stdout).toContain(
      'intact: 2 versions checked',
    );
    await waitForHorizon(t.db, ['addresses']);
    const out = join(dir, 'checkpoint');
    const c = await cliInProcess(['checkpoint', '--schema', t.schema, '--out', out], { DATABASE_URL: url });
    expect(c.code).toBe(0);
    const lines = readFileSync(out, 'utf8').split('\n');
    expect([lines[1], lines[4]]).toEqual(['2', `schema ${t.schema}`]);
    expect(
      (await cliInProcess(['verify', '--schema', t.schema, '--against', out], { DATABASE_URL: url })).code,
    ).toBe(0);

    const pool = rawPool(1);
    try {
      await pool.query(`SET session_replication_role = replica`);
      await pool.query(`DELETE FROM "${t.schema}".addresses_log WHERE version = 1`);
      await pool.query(`RESET session_replication_role`);
    } finally {
      await pool.end();
    }
    const r = await cliInProcess(['verify', '--schema', t.schema, '--against', out, '--json'], {
      DATABASE_URL: url,
    });
    expect(r.code).toBe(1);
    const problems = JSON.parse(r.stdout).failures.map((f: { problem: string }) => f.problem);
    expect(problems).toEqual(expect.arrayContaining(['version_missing', 'checkpoint_missing_version']));
  });
});
