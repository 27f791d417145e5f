import type { Command } from 'commander';
import { connect, type Database } from '../db.js';

/** Connection flags every command shares. */
export interface ConnectionFlags {
  url?: string;
  dataDir?: string;
  schema?: string;
  json?: boolean;
}

/** Adds `--url`, `--data-dir`, `--schema` and `--json` to a command. */
export function withConnectionFlags(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'PostgreSQL connection string (default: $DATABASE_URL)')
    .option('--data-dir <dir>', 'embedded PGlite data directory (default: $APPENDLOG_DATA_DIR or .data)')
    .option('--schema <schema>', 'schema holding the appendlog tables', 'public')
    .option('--json', 'print machine-readable JSON instead of a report');
}

/** Opens the database the flags (or the environment) point at. */
export async function openFromFlags(flags: ConnectionFlags): Promise<Database> {
  const url = flags.url ?? process.env.DATABASE_URL;
  const schema = flags.schema ?? 'public';
  if (url) return connect({ url, schema });
  return connect({ dataDir: flags.dataDir ?? process.env.APPENDLOG_DATA_DIR ?? '.data', schema });
}
