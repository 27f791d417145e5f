import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** One JSON line a child printed. */
export type Line = Record<string, unknown>;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A Node child process that speaks JSON lines on stdout, starts work when it reads a line on
 * stdin, and can be killed with SIGKILL at any moment.
 */
export interface Child {
  readonly name: string;
  /** Every line printed so far, in order. */
  readonly lines: Line[];
  /** Settles once the process has exited and its stdout is read to the end. */
  readonly exited: Promise<Exit>;
  /** The first line with `key` at index `from` or later; null if the child exits first. */
  line(key: string, from?: number): Promise<Line | null>;
  stderr(): string;
  go(): void;
  kill(): void;
}

const alive = new Set<Child>();

/** Runs `node script '<config as JSON>'`. */
export function spawnChild(name: string, script: string, config: object): Child {
  const proc = spawn(process.execPath, [script, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: Line[] = [];
  const waiting = new Set<() => void>();
  let errText = '';
  let ended = false;
  proc.stderr.on('data', (chunk: Buffer) => {
    errText += chunk.toString();
  });
  createInterface({ input: proc.stdout }).on('line', (text) => {
    lines.push(parse(text));
    for (const wake of waiting) wake();
  });
  const exited = new Promise<Exit>((resolve) => {
    proc.on('close', (code, signal) => {
      ended = true;
      alive.delete(child);
      for (const wake of waiting) wake();
      resolve({ code, signal });
    });
  });

  const child: Child = {
    name,
    lines,
    exited,
    line(key, from = 0) {
      return new Promise((resolve) => {
        const check = () => {
          const found = lines.slice(from).find((l) => key in l);
          if (found || ended) {
            waiting.delete(check);
            resolve(found ?? null);
          }
        };
        waiting.add(check);
        check();
      });
    },
    stderr: () => errText,
    go: () => proc.stdin.write('go\n'),
    kill: () => proc.kill('SIGKILL'),
  };
  alive.add(child);
  return child;
}

function parse(text: string): Line {
  try {
    return JSON.parse(text) as Line;
  } catch {
    return { text };
  }
}

/** Waits until every child printed `{"ready":…}`, then tells them all to go at once. */
export async function startTogether(children: readonly Child[]): Promise<void> {
  await Promise.all(
    children.map(async (c) => {
      if (!(await c.line('ready'))) {
        throw new Error(`${c.name} exited before it was ready: ${JSON.stringify(c.lines)}\n${c.stderr()}`);
      }
    }),
  );
  for (const c of children) c.go();
}

/** Kills whatever a failed test left running. */
export async function killAll(): Promise<void> {
  const left = [...alive];
  for (const c of left) c.kill();
  await Promise.all(left.map((c) => c.exited));
}

/** The payloads of every line with `key` printed by these children. */
export function collect<T>(children: readonly Child[], key: string): T[] {
  return children.flatMap((c) => c.lines.filter((l) => key in l).map((l) => l[key] as T));
}
