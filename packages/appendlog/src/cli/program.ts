import { Command } from 'commander';
import { LIBRARY_VERSION } from '../version.js';
import { registerCheckpoint } from './commands/checkpoint.js';
import { codegenCommand } from './commands/codegen.js';
import { registerExport } from './commands/export.js';
import { migrateCommand } from './commands/migrate.js';
import { registerPurge } from './commands/purge.js';
import { schemaCommand } from './commands/schema.js';
import { registerVerify } from './commands/verify.js';
import { registerWitness } from './commands/witness.js';

/**
 * Builds the `appendlog` command line. Each command lives in `commands/<name>.ts` and
 * registers itself here.
 */
export function buildProgram(): Command {
  const program = new Command('appendlog')
    .description('Append-only, hash-chained tables on PostgreSQL and PGlite')
    .version(LIBRARY_VERSION)
    .showHelpAfterError();
  registerPurge(program);
  program.addCommand(migrateCommand()).addCommand(schemaCommand()).addCommand(codegenCommand());
  registerVerify(program);
  registerCheckpoint(program);
  registerWitness(program);
  registerExport(program);
  // Usage errors throw (main.ts exits 2) instead of exiting 1, the code for failures found.
  for (const command of allCommands(program)) command.exitOverride();
  return program;
}

function allCommands(command: Command): Command[] {
  return [command, ...command.commands.flatMap(allCommands)];
}
