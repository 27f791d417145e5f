import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';

/** The PostgreSQL major version of the throwaway clusters, and where its programs are. */
export const PG_VERSION = '15';
export const PG_BIN = `/usr/lib/postgresql/${PG_VERSION}/bin`;
/** Ports the throwaway clusters may use; 5432 is the shared cluster's and is never touched. */
const PORTS = [5433, 5434, 5435, 5436, 5437, 5438, 5439];

/** The result of a program run to its end. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program to its end; never throws for a non-zero exit (the caller asserts on `code`). */
export function run(program: string, args: readonly string[], env?: Record<string, string>): Run {
  const r = spawnSync(program, args, {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: env === undefined ? process.env : { ...process.env, ...env },
  });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a program and throws with its output unless it exits 0. */
export function runOk(program: string, args: readonly string[], env?: Record<string, string>): string {
  const r = run(program, args, env);
  if (r.code !== 0) throw new Error(`${program} ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

/**
 * Why throwaway clusters cannot be made here, or null when they can: they need Debian's
 * postgresql-common (`pg_createcluster`), the server programs of {@link PG_VERSION}, and root
 * (clusters belong to `postgres`, and `pg_resetwal` runs as their owner through `runuser`).
 */
export function clusterToolsMissing(): string | null {
  for (const program of ['pg_createcluster', 'pg_ctlcluster', 'pg_dropcluster', 'pg_lsclusters', 'runuser']) {
    if (spawnSync('sh', ['-c', `command -v ${program}`]).status !== 0) return `${program} is not installed`;
  }
  if (!existsSync(`${PG_BIN}/pg_resetwal`)) return `${PG_BIN}/pg_resetwal is missing`;
  if (process.getuid?.() !== 0) return 'making clusters needs root';
  return null;
}

/** The ports PostgreSQL clusters of this machine are configured for. */
function configuredPorts(): Set<number> {
  const out = runOk('pg_lsclusters', ['-h']);
  return new Set(out.split('\n').flatMap((line) => (line.trim() ? [Number(line.split(/\s+/)[2])] : [])));
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function freePort(): Promise<number> {
  const taken = configuredPorts();
  // From a random one: two test files making clusters at once rarely try the same port first.
  const offset = Math.floor(Math.random() * PORTS.length);
  for (const port of [...PORTS.slice(offset), ...PORTS.slice(0, offset)]) {
    if (!taken.has(port) && !(await listening(port))) return port;
  }
  throw new Error(`no free port among ${PORTS.join(', ')} for a throwaway cluster`);
}

/** A PostgreSQL cluster of its own, made with pg_createcluster; `drop` removes every trace. */
export class Cluster {
  private constructor(
    readonly name: string,
    readonly port: number,
    readonly dataDir: string,
  ) {}

  /**
   * Creates a cluster (trust authentication on 127.0.0.1, small buffers). With `epoch`, its
   * transaction id epoch is set by pg_resetwal before its first start, so its transaction ids
   * (xid8) begin at `epoch`·2^32.
   */
  static async create(
    name: string,
    options: { epoch?: bigint; settings?: Record<string, string> } = {},
  ): Promise<Cluster> {
    return Cluster.startOnFreePort(name, options.settings, (cluster) => {
      if (options.epoch !== undefined) cluster.resetEpoch(options.epoch);
    });
  }

  /**
   * Makes a cluster, prepares it and starts it; when another test file running at the same time
   * took the same port first (the start then fails), drops it and tries another port.
   */
  private static async startOnFreePort(
    name: string,
    settings: Record<string, string> | undefined,
    prepare: (cluster: Cluster) => void,
  ): Promise<Cluster> {
    for (let attempt = 1; ; attempt++) {
      const cluster = await Cluster.make(name, settings);
      try {
        prepare(cluster);
        cluster.start();
        return cluster;
      } catch (err) {
        cluster.drop();
        if (attempt === 3) throw err;
        await new Promise((r) => setTimeout(r, Math.random() * 500));
      }
    }
  }

  /**
   * A hot standby of `primary` (which needs `wal_level` replica or logical, the default being
   * replica): a base backup with `-R`, so it streams from the primary and serves reads.
   */
  static async standbyOf(primary: Cluster, name: string): Promise<Cluster> {
    return Cluster.startOnFreePort(name, undefined, (standby) => {
      // Emptied, not removed: its parent belongs to root, and pg_basebackup runs as postgres.
      for (const entry of readdirSync(standby.dataDir)) {
        rmSync(join(standby.dataDir, entry), { recursive: true, force: true });
      }
      standby.baseBackupOf(primary);
    });
  }

  private baseBackupOf(primary: Cluster): void {
    runOk('runuser', [
      '-u',
      'postgres',
      '--',
      `${PG_BIN}/pg_basebackup`,
      ...primary.connectionArgs,
      '-D',
      this.dataDir,
      '-R',
      '-X',
      'stream',
      // An immediate checkpoint: the default spreads it over minutes of checkpoint_completion_target.
      '--checkpoint=fast',
    ]);
  }

  private static async make(name: string, settings: Record<string, string> = {}): Promise<Cluster> {
    const port = await freePort();
    const all = { shared_buffers: '16MB', max_connections: '30', ...settings };
    runOk('pg_createcluster', [
      PG_VERSION,
      name,
      '--port',
      String(port),
      ...Object.entries(all).flatMap(([k, v]) => ['-o', `${k}=${v}`]),
      '--',
      '--auth=trust',
    ]);
    const line = runOk('pg_lsclusters', ['-h', PG_VERSION, name]).trim();
    return new Cluster(name, port, line.split(/\s+/)[5]!);
  }

  url(database: string, user = 'postgres'): string {
    return `postgres://${user}@127.0.0.1:${this.port}/${database}`;
  }

  /** `-h … -p … -U postgres`, for the client programs. */
  get connectionArgs(): string[] {
    return ['-h', '127.0.0.1', '-p', String(this.port), '-U', 'postgres'];
  }

  start(): void {
    runOk('pg_ctlcluster', ['--skip-systemctl-redirect', PG_VERSION, this.name, 'start']);
  }

  stop(): void {
    runOk('pg_ctlcluster', ['--skip-systemctl-redirect', PG_VERSION, this.name, 'stop']);
  }

  /** `pg_resetwal --epoch`, as the cluster's owner; the cluster must be stopped. */
  resetEpoch(epoch: bigint): void {
    runOk('runuser', [
      '-u',
      'postgres',
      '--',
      `${PG_BIN}/pg_resetwal`,
      `--epoch=${epoch}`,
      '-D',
      this.dataDir,
    ]);
  }

  /** Runs SQL with psql as postgres, stopping at the first error; returns the unaligned output. */
  psql(database: string, sql: string): string {
    return runOk(`${PG_BIN}/psql`, [
      ...this.connectionArgs,
      '-d',
      database,
      '-v',
      'ON_ERROR_STOP=1',
      '-Atc',
      sql,
    ]);
  }

  drop(): void {
    run('pg_dropcluster', ['--stop', PG_VERSION, this.name]);
  }
}
