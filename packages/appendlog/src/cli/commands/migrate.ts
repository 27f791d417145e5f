import { Command } from 'commander';
import type { MigrateResult } from '../../migrate/run.js';
import { type ConnectionFlags, openFromFlags, withConnectionFlags } from '../connection.js';
import { loadTablesFromConfig } from '../load-config.js';

interface MigrateFlags extends ConnectionFlags {
  config?: string;
  dryRun?: boolean;
  all?: boolean;
  appRole?: string;
  strictContext?: boolean;
  lockTimeout?: string;
  subscriber?: boolean;
  distributed?: boolean;
  partitioned?: boolean;
}

/** `appendlog migrate`: applies the config's table definitions, additively only. */
export function migrateCommand(): Command {
  return withConnectionFlags(
    new Command('migrate')
      .description('create or extend the tables a config file exports; destructive changes are refused')
      .option(
        '-c, --config <file>',
        'config exporting the tables (default: appendlog.config.ts, .mjs or .js)',
      )
      .option('--dry-run', 'print the SQL without running it')
      .option(
        '--all',
        'the config lists every table of the schema: a table missing from it is a refused drop',
      )
      .option(
        '--app-role <role>',
        'grant this role read and append rights, deny it UPDATE/DELETE/TRUNCATE, and turn appendlog.strict_context on for it',
      )
      .option(
        '--no-strict-context',
        "with --app-role: leave the role's appendlog.strict_context setting alone",
      )
      .option('--lock-timeout <ms>', 'give up, applying nothing, when a table lock takes longer than this')
      .option(
        '--subscriber',
        "this database is a logical replication subscriber of the tables: refuse every write but the subscription's",
      )
      .option(
        '--distributed',
        "row-shard the tables on Citus: distribute each table's log and head by entry_id",
      )
      .option(
        '--partitioned',
        'partition the logs by range of transaction id (converting existing ones in place), so that appendlog archive can take old versions out',
      ),
  ).action(async (flags: MigrateFlags) => {
    const tables = await loadTablesFromConfig(flags.config);
    const db = await openFromFlags(flags, { dryRun: flags.dryRun === true });
    try {
      const options: Parameters<typeof db.migrate>[1] = {
        dryRun: flags.dryRun === true,
        all: flags.all === true,
        subscriber: flags.subscriber === true,
        distributed: flags.distributed === true,
        partitioned: flags.partitioned === true,
      };
      if (flags.appRole !== undefined) options.appRole = flags.appRole;
      if (flags.strictContext === false) options.strictContext = false;
      if (flags.lockTimeout !== undefined) options.lockTimeoutMs = Number(flags.lockTimeout);
      const result = await db.migrate(tables, options);
      process.stdout.write(
        flags.json ? `${JSON.stringify(result, null, 2)}\n` : report(result, flags.dryRun === true),
      );
    } finally {
      await db.close();
    }
  });
}

function report(result: MigrateResult, dryRun: boolean): string {
  const lines: string[] = [];
  if (dryRun) {
    if (result.statements.length > 0) lines.push(...result.statements.map((s) => `${s.trim()}\n`));
    lines.push(result.changes.length === 0 ? '-- nothing to apply' : '-- would apply:');
  } else if (result.changes.length > 0) {
    lines.push(`Applied ${result.changes.length} change(s):`);
  } else if (result.statements.length === 0) {
    lines.push('Up to date: nothing to apply.');
  } else {
    // No table changed, but something else was set up: grants, the DDL guard, strict mode.
    lines.push(
      `No table changes; ran ${result.statements.length} other statement(s) (--dry-run prints them whole):`,
    );
    for (const s of result.statements) lines.push(`  ${headline(s)}`);
  }
  for (const c of result.changes) lines.push(`${dryRun ? '-- ' : ''}  ${c.table}: ${c.summary}`);
  for (const table of result.behind) {
    lines.push(
      `${dryRun ? '-- ' : ''}${table}: this definition is an older one from the schema history (a newer one was migrated); left as it is`,
    );
  }
  for (const notice of result.notices ?? []) lines.push(`${dryRun ? '-- ' : ''}notice: ${notice}`);
  return `${lines.join('\n')}\n`;
}

/** A statement's first line of SQL, comments skipped, cut at 100 characters. */
function headline(statement: string): string {
  const line = statement
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '' && !l.startsWith('--'));
  if (line === undefined) return '';
  return line.length > 100 ? `${line.slice(0, 99)}…` : line;
}
