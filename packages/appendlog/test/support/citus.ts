import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { PG_BIN, run, runOk } from './clusters.js';

/**
 * A Citus cluster for the scale-out tests: the coordinator on 5601 and two workers on 5602 and
 * 5603 that `cluster.sh start` (in the Citus build directory) makes. Where that directory is:
 * `APPENDLOG_CITUS_DIR`, else `../shared/citus` beside the repository's checkout.
 */
export const CITUS_COORDINATOR_PORT = 5601;
export const CITUS_WORKER_PORTS = [5602, 5603] as const;

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

/** The directory holding Citus's build.sh and cluster.sh. */
export const citusDir = resolve(process.env.APPENDLOG_CITUS_DIR ?? join(repoRoot, '../shared/citus'));

/** Whether Citus is installed into PostgreSQL 15's directories (build.sh does that). */
function citusInstalled(): boolean {
  const libdir = run(`${PG_BIN}/pg_config`, ['--pkglibdir']);
  return libdir.code === 0 && existsSync(join(libdir.stdout.trim(), 'citus.so'));
}

/** The URL of a database on the coordinator (or on the node at `port`). */
export function citusUrl(database = 'postgres', user = 'postgres', port = CITUS_COORDINATOR_PORT): string {
  return `postgres://${user}@127.0.0.1:${port}/${database}`;
}

/** How many active workers the coordinator knows, or null when it does not answer as a coordinator. */
async function activeWorkers(): Promise<number | null> {
  const client = new pg.Client({ connectionString: citusUrl(), connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    const r = await client.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM pg_dist_node WHERE isactive AND noderole = 'primary' AND nodeport = ANY($1)`,
      [CITUS_WORKER_PORTS],
    );
    return Number(r.rows[0]!.n);
  } catch {
    return null;
  } finally {
    await client.end().catch(() => {});
  }
}

/** A running Citus cluster, and whether this process started it (and so stops it). */
export interface CitusCluster {
  startedHere: boolean;
  /** Stops the cluster when this process started it; leaves one that was running alone. */
  release(): void;
}

/**
 * Why the Citus tests cannot run here, or null when a cluster is up: a cluster already running
 * is used as it is; when Citus is installed but no cluster runs, `cluster.sh start` makes one
 * (and {@link CitusCluster.release} stops it). Building Citus is left to build.sh (CI runs it).
 */
export async function citusCluster(): Promise<CitusCluster | string> {
  if ((await activeWorkers()) === CITUS_WORKER_PORTS.length) {
    return { startedHere: false, release: () => {} };
  }
  if (!citusInstalled()) return `Citus is not installed: ${join(citusDir, 'build.sh')} installs it`;
  const script = join(citusDir, 'cluster.sh');
  if (!existsSync(script))
    return `no Citus cluster on port ${CITUS_COORDINATOR_PORT} and no ${script} to start one`;
  if (process.getuid?.() !== 0)
    return `no Citus cluster on port ${CITUS_COORDINATOR_PORT}, and starting one needs root`;
  runOk(script, ['start']);
  if ((await activeWorkers()) !== CITUS_WORKER_PORTS.length) {
    throw new Error(
      `${script} start did not bring up a coordinator with ${CITUS_WORKER_PORTS.length} workers`,
    );
  }
  return { startedHere: true, release: () => void runOk(script, ['stop']) };
}
