import { Command } from 'commander';
import { LIBRARY_VERSION } from '../version.js';
import { archiveCommand } from './commands/archive.js';
import { checkpointCommand } from './commands/checkpoint.js';
import { codegenCommand } from './commands/codegen.js';
import { checkCarCommand, exportCommand } from './commands/export.js';
import { migrateCommand } from './commands/migrate.js';
import { projectionCommand } from './commands/projection.js';
import { purgeCommand } from './commands/purge.js';
import { schemaCommand } from './commands/schema.js';
import { verifyCommand } from './commands/verify.js';
import { witnessCommand } from './commands/witness.js';

/**
 * Builds the `appendlog` command line. Each command lives in `commands/<name>.ts`, which exports
 * a function returning it (`verifyCommand()`); this is the one place that adds them.
 */
export function buildProgram(): Command {
  const program = new Command('appendlog')
    .description('Append-only, hash-chained tables on PostgreSQL and PGlite')
    .version(LIBRARY_VERSION)
    .showHelpAfterError();
  for (const command of [
    purgeCommand(),
    migrateCommand(),
    schemaCommand(),
    codegenCommand(),
    verifyCommand(),
    checkpointCommand(),
    archiveCommand(),
    witnessCommand(),
    exportCommand(),
    checkCarCommand(),
    projectionCommand(),
  ]) {
    program.addCommand(command);
  }
  // Usage errors throw (main.ts exits 2) instead of exiting 1, the code for failures found.
  for (const command of allCommands(program)) command.exitOverride();
  return program;
}

function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(allCommands)];
}
