// Runs shell commands side by side, as many at a time as the machine has cores, for the npm
// scripts whose steps do not depend on each other (the type-checks of the workspaces, the
// library's build beside the Prisma client's generation). tsc and Prisma each keep one core
// busy; one after the other they left the second core of a 2-core machine idle.
//
// Each command's output is held back and printed whole when it ends, under the command, so the
// steps' lines do not interleave. Exits 1 if any command failed, after all have ended.
//
//   node scripts/parallel.mjs "tsc -p a/tsconfig.json --noEmit" "tsc -p b/tsconfig.json --noEmit"
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';

const commands = process.argv.slice(2);
if (commands.length === 0) {
  console.error('usage: node scripts/parallel.mjs "<command>" ["<command>" …]');
  process.exit(2);
}

/** Runs one command in a shell; resolves with its exit code and what it printed, in order. */
function run(command) {
  return new Promise((resolve) => {
    const child = spawn(command, { shell: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const output = [];
    child.stdout.on('data', (chunk) => output.push(chunk));
    child.stderr.on('data', (chunk) => output.push(chunk));
    child.on('error', (err) => output.push(Buffer.from(`${err.message}\n`)));
    child.on('close', (code, signal) =>
      resolve({ code: code ?? (signal ? 1 : 0), output: Buffer.concat(output) }),
    );
  });
}

let next = 0;
let failed = 0;
async function worker() {
  while (next < commands.length) {
    const command = commands[next++];
    const { code, output } = await run(command);
    process.stdout.write(`> ${command}${code === 0 ? '' : `  (exit code ${code})`}\n`);
    process.stdout.write(output);
    if (code !== 0) failed++;
  }
}

const workers = Math.min(commands.length, Math.max(1, availableParallelism()));
await Promise.all(Array.from({ length: workers }, worker));
if (failed > 0) {
  console.error(`${failed} of ${commands.length} commands failed`);
  process.exitCode = 1;
}
