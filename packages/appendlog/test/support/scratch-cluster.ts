import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { promisify } from 'node:util';

const run = promisify(execFile);
const VERSION = '15';
const PORTS = [5440, 5441, 5442, 5443, 5444, 5445, 5446, 5447, 5448, 5449];

/**
 * A PostgreSQL 15 cluster of its own (Debian's postgresql-common tools), for tests that stop and
 * crash the server: the shared cluster on 5432 is never touched. Trust auth for 127.0.0.1, fsync
 * and synchronous_commit left on (the defaults), so a crash loses nothing that was acknowledged.
 */
export interface ScratchCluster {
  name: string;
  port: number;
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  /** `pg_ctlcluster … stop -m immediate`: the server dies without a checkpoint, like a power cut. */
  crash(): Promise<void>;
  /** Starts it again (crash recovery replays the WAL) and waits until it accepts connections. */
  start(): Promise<void>;
  /** `pg_dropcluster --stop`: stops it and deletes its data and configuration. */
  drop(): Promise<void>;
}

/** Why a scratch cluster cannot be made here, or null when the tools are installed. */
export function scratchClusterUnavailable(): string | null {
  const probe = spawnSync('pg_lsclusters', ['--help'], { stdio: 'ignore' });
  if (probe.error) return `pg_lsclusters not found (${probe.error.message}): install postgresql-common`;
  return null;
}

const ctl = (name: string, ...args: string[]) =>
  run('pg_ctlcluster', ['--skip-systemctl-redirect', VERSION, name, ...args]);

/** Creates and starts a cluster on a free port from 5440–5449, trying the next port if one is taken. */
export async function createScratchCluster(prefix: string): Promise<ScratchCluster> {
  const failures: string[] = [];
  for (const port of await freePorts()) {
    const name = `${prefix}_${randomBytes(4).toString('hex')}`;
    try {
      await run('pg_createcluster', [VERSION, name, '--port', String(port), '--', '--auth=trust']);
    } catch (err) {
      failures.push(`${port}: ${(err as Error).message}`);
      continue;
    }
    const cluster = scratchCluster(name, port);
    try {
      await cluster.start();
      return cluster;
    } catch (err) {
      // Another process took the port between the check and the start.
      failures.push(`${port}: ${(err as Error).message}`);
      await cluster.drop().catch(() => {});
    }
  }
  throw new Error(
    `could not create a scratch cluster on any of ports ${PORTS.join(', ')}:\n${failures.join('\n')}`,
  );
}

function scratchCluster(name: string, port: number): ScratchCluster {
  return {
    name,
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async crash() {
      await ctl(name, 'stop', '-m', 'immediate');
    },
    async start() {
      await ctl(name, 'start');
      await waitReady(port);
    },
    async drop() {
      await run('pg_dropcluster', ['--stop', VERSION, name]);
    },
  };
}

async function waitReady(port: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await run('pg_isready', ['-h', '127.0.0.1', '-p', String(port), '-q']).then(
      () => true,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`cluster on port ${port} not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Ports of 5440–5449 that no cluster is configured for (running or not) and nothing listens on. */
async function freePorts(): Promise<number[]> {
  const { stdout } = await run('pg_lsclusters', ['--no-header']);
  const configured = new Set(stdout.split('\n').map((line) => Number(line.trim().split(/\s+/)[2])));
  const free: number[] = [];
  for (const port of PORTS) {
    if (!configured.has(port) && (await canListen(port))) free.push(port);
  }
  // Start at a random one so that two test runs at once rarely try the same port first.
  const offset = Math.floor(Math.random() * free.length);
  return [...free.slice(offset), ...free.slice(0, offset)];
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
