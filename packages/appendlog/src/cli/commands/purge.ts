import { Command } from 'commander';
import type { PurgeOptions, PurgeResult } from '../../erasure/purge-types.js';
import { InvalidInputError } from '../../errors.js';
import { type ConnectionFlags, openExisting, withConnectionFlags } from '../connection.js';

interface PurgeFlags extends ConnectionFlags {
  dryRun?: boolean;
  limit?: string;
  batchSize?: string;
  now?: string;
  vacuum?: boolean;
  vacuumFull?: boolean;
}

function integer(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value))
    throw new InvalidInputError(`${flag} takes a positive integer, got ${JSON.stringify(value)}`, flag);
  return Number(value);
}

/** The purge's options from the command line flags. */
export function purgeOptionsFromFlags(flags: PurgeFlags): PurgeOptions {
  const options: PurgeOptions = { dryRun: flags.dryRun === true };
  const limit = integer(flags.limit, '--limit');
  const batchSize = integer(flags.batchSize, '--batch-size');
  if (limit !== undefined) options.limit = limit;
  if (batchSize !== undefined) options.batchSize = batchSize;
  if (flags.now !== undefined) {
    const now = new Date(flags.now);
    if (Number.isNaN(now.getTime()))
      throw new InvalidInputError(`--now takes an ISO time, got ${JSON.stringify(flags.now)}`, '--now');
    options.now = now;
  }
  options.vacuum = flags.vacuum === false ? false : flags.vacuumFull ? 'full' : true;
  return options;
}

/** A short human report of a purge. */
export function formatPurge(r: PurgeResult): string {
  const verb = r.dryRun ? 'would erase' : 'erased';
  const versions = r.erased.reduce((n, e) => n + e.versions, 0);
  const lines = [
    `appendlog purge${r.dryRun ? ' --dry-run' : ''}: ${verb} ${r.erased.length} entr${r.erased.length === 1 ? 'y' : 'ies'} (${versions} versions)`,
  ];
  if (r.scheduled.length > 0) {
    lines.push(
      `  ${r.dryRun ? 'would forget' : 'forgot'} ${r.scheduled.length} deleted entries past their table's retention`,
    );
  }
  for (const e of r.erased) {
    lines.push(
      `  ${e.table} ${e.entryId}  ${e.versions} versions  due ${e.dueAt.toISOString()}  ${JSON.stringify(e.reason)}`,
    );
  }
  if (r.vacuumed.length > 0) lines.push(`  vacuumed: ${r.vacuumed.join(', ')}`);
  if (r.more) {
    lines.push(
      '  more entries are due (the --limit stopped this run, or another purge held them); run it again',
    );
  }
  return lines.join('\n');
}

/**
 * `appendlog purge [--dry-run]`: runs due erasures (see docs/erasure.md). Run it as the role
 * that owns the tables, from a scheduler (cron, a systemd timer, a Kubernetes CronJob).
 *
 * @example
 * // appendlog purge --dry-run --url postgres://owner@db/app
 * // appendlog purge --limit 10000 --json
 */
export function purgeCommand(): Command {
  return withConnectionFlags(new Command('purge'))
    .description(
      'erase forgotten entries that are due (user columns and salts of all their versions), then VACUUM',
    )
    .option('--dry-run', 'report what would be erased; write nothing')
    .option('--limit <n>', 'erase at most n entries in this run')
    .option('--batch-size <n>', 'entries per transaction (default 100)')
    .option('--now <time>', 'due cut-off (ISO time); never later than the database clock unless --dry-run')
    .option('--no-vacuum', 'do not VACUUM the affected tables afterwards')
    .option('--vacuum-full', 'VACUUM FULL: rewrite the affected tables (takes an exclusive lock)')
    .action(async (flags: PurgeFlags) => {
      const options = purgeOptionsFromFlags(flags);
      const db = await openExisting(flags, 'nothing to purge');
      try {
        const result = await db.purge(options);
        console.log(flags.json ? JSON.stringify(result) : formatPurge(result));
      } finally {
        await db.close();
      }
    });
}
