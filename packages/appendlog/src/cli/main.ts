#!/usr/bin/env node
import { isAppendLogError } from '../errors.js';
import { buildProgram } from './program.js';

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  if (isAppendLogError(err)) {
    console.error(`appendlog: ${err.message} (${err.code})`);
  } else {
    // connect() already says `appendlog: …` in its messages.
    console.error(err instanceof Error ? `appendlog: ${err.message.replace(/^appendlog: /, '')}` : err);
  }
  process.exitCode = 2;
}
