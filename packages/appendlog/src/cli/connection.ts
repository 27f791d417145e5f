import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { connect, type Database } from '../db.js';
import { listTables } from '../erasure/purge-sql.js';
import { InvalidInputError } from '../errors.js';
import { recordedTables } from '../integrity/catalog.js';
import { redactUrl } from '../redact-url.js';

/** Connection flags every command shares. */
export interface ConnectionFlags {
  url?: string;
  dataDir?: string;
  schema?: string;
  json?: boolean;
}

/** Where the flags (or the environment) point: a PostgreSQL server or a PGlite data directory. */
type Target = { url: string; dataDir?: undefined } | { dataDir: string; url?: undefined };

/** Adds `--url`, `--data-dir`, `--schema` and `--json` to a command. */
export function withConnectionFlags(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'PostgreSQL connection string (default: $DATABASE_URL)')
    .option('--data-dir <dir>', 'embedded PGlite data directory (default: $APPENDLOG_DATA_DIR or .data)')
    .option('--schema <schema>', 'schema holding the appendlog tables', 'public')
    .option('--json', 'print machine-readable JSON instead of a report');
}

function targetOf(flags: ConnectionFlags): Target {
  const url = flags.url ?? process.env.DATABASE_URL;
  if (url) return { url };
  return { dataDir: flags.dataDir ?? process.env.APPENDLOG_DATA_DIR ?? '.data' };
}

/** The directory a `--data-dir` names (PGlite also takes `file://<path>`). */
function dataDirPath(dataDir: string): string {
  return resolve(dataDir.startsWith('file://') ? dataDir.slice('file://'.length) : dataDir);
}

/** A PGlite data directory holds `PG_VERSION`, as every PostgreSQL data directory does. */
function isDataDir(path: string): boolean {
  return existsSync(join(path, 'PG_VERSION'));
}

/**
 * Opens the database the flags point at. PGlite creates a data directory that does not exist:
 * only `migrate` opens this way. A dry run has nothing to create, so for a data directory that
 * is not one yet it plans against an empty database in memory and leaves the path alone.
 */
export async function openFromFlags(
  flags: ConnectionFlags,
  options: { dryRun?: boolean } = {},
): Promise<Database> {
  const target = targetOf(flags);
  const schema = flags.schema ?? 'public';
  if (options.dryRun && target.dataDir !== undefined && !isDataDir(dataDirPath(target.dataDir))) {
    return connect({ schema });
  }
  return connect({ ...target, schema });
}

/**
 * Opens a database that must exist and hold appendlog tables: every command but `migrate`.
 * A data directory is never created here, and an empty schema is an error rather than an empty
 * report: a mistyped `--data-dir` or `--schema` must not read as "intact" or "nothing due".
 * `nothing` ends the message ("nothing to verify").
 */
export async function openExisting(flags: ConnectionFlags, nothing: string): Promise<Database> {
  const target = targetOf(flags);
  if (target.dataDir !== undefined) {
    const path = dataDirPath(target.dataDir);
    if (!existsSync(path)) {
      throw new InvalidInputError(
        `data directory ${path} does not exist: pass the --data-dir (or APPENDLOG_DATA_DIR) of a database \`appendlog migrate\` created, or --url (or DATABASE_URL) for PostgreSQL`,
        'data-dir',
      );
    }
    if (!isDataDir(path)) {
      throw new InvalidInputError(
        `${path} is not a PGlite data directory (it has no PG_VERSION file)`,
        'data-dir',
      );
    }
  }
  const db = await connect({ ...target, schema: flags.schema ?? 'public' });
  try {
    await requireTables(db, target, nothing);
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}

/**
 * The schema's appendlog tables: those its schema history records (what verify checks) and the
 * logs carrying the chain trigger (what purge erases). None of either: there is nothing to read.
 */
async function requireTables(db: Database, target: Target, nothing: string): Promise<void> {
  const recorded = await recordedTables(db);
  if (recorded.length > 0 || (await listTables(db)).length > 0) return;
  const where =
    target.url === undefined
      ? `data directory ${dataDirPath(target.dataDir)}`
      : `database ${redactUrl(target.url)}`;
  throw new InvalidInputError(
    `no appendlog tables in schema "${db.schema}" of ${where}; ${nothing}`,
    'schema',
  );
}
