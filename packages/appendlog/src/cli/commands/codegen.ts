import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { drizzleCodegen } from '../../codegen/drizzle.js';
import { kyselyCodegen } from '../../codegen/kysely.js';
import { InvalidInputError } from '../../errors.js';
import { validateSchemaName } from '../../schema/names.js';
import { loadTablesFromConfig } from '../load-config.js';

interface CodegenFlags {
  config?: string;
  kysely?: boolean;
  drizzle?: boolean;
  schema: string;
  out?: string;
}

/** `appendlog codegen --kysely | --drizzle`: typed definitions of the views, logs and as-of functions. */
export function codegenCommand(): Command {
  return new Command('codegen')
    .description(
      'print Kysely or Drizzle types of the views, the logs and the as-of functions of the config’s tables',
    )
    .option('-c, --config <file>', 'config exporting the tables (default: appendlog.config.ts, .mjs or .js)')
    .option('--kysely', 'Kysely: a DB interface')
    .option('--drizzle', 'Drizzle: pg-core tables and views')
    .option('--schema <name>', 'the schema the tables are in (connect({ schema }))', 'public')
    .option('-o, --out <file>', 'write to this file instead of standard output')
    .action(async (flags: CodegenFlags) => {
      if (flags.kysely === flags.drizzle) {
        throw new InvalidInputError('codegen takes exactly one of --kysely and --drizzle', 'kysely');
      }
      validateSchemaName(flags.schema);
      const tables = await loadTablesFromConfig(flags.config);
      const code = flags.kysely ? kyselyCodegen(tables, flags.schema) : drizzleCodegen(tables, flags.schema);
      if (flags.out === undefined) process.stdout.write(code);
      else writeFileSync(flags.out, code);
    });
}
