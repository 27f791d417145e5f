#!/usr/bin/env node
import { CommanderError } from 'commander';
import { errorLine, exitCodeOf } from './errors.js';
import { buildProgram } from './program.js';

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  // Commander has printed its own usage error (or the help) already.
  if (!(err instanceof CommanderError)) console.error(errorLine(err));
  process.exitCode = exitCodeOf(err);
}
