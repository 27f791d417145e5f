import { Command } from 'commander';
import { NotFoundError } from '../../errors.js';
import type { ProjectionStatus } from '../../realtime/projection-status.js';
import { type ConnectionFlags, openExisting, withConnectionFlags } from '../connection.js';

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** One projection's status as a line of the report. */
export function formatProjectionStatus(s: ProjectionStatus): string {
  const lag =
    s.lagVersions === 0
      ? 'up to date'
      : `${plural(s.lagVersions, 'version', 'versions')} behind, the oldest ${s.lagSeconds.toFixed(1)} s old`;
  const held =
    s.heldBack === 0
      ? ''
      : `\n  stalled: ${plural(s.heldBack, 'committed version waits', 'committed versions wait')} behind an open transaction${s.heldBy ? ` (pid ${s.heldBy.pid}, open since ${s.heldBy.startedAt?.toISOString() ?? 'unknown'})` : ''}; they are applied when it ends`;
  const rebuild = s.rebuildPending ? ', rebuild pending' : '';
  const tables = s.tables.length === 0 ? 'all tables' : s.tables.join(', ');
  return `${s.name}: ${lag}${rebuild}; cursor ${s.cursor ?? '(start)'}, ${plural(s.appliedSets, 'change set', 'change sets')} applied${s.appliedAt ? `, last at ${s.appliedAt.toISOString()}` : ''} [${tables}]${held}`;
}

function statusCommand(): Command {
  return withConnectionFlags(
    new Command('status')
      .description('how far each projection (or NAME) is behind the log, and why')
      .argument('[name]', 'one projection'),
  ).action(async (name: string | undefined, flags: ConnectionFlags) => {
    const db = await openExisting(flags, 'no projections');
    try {
      const statuses = await db.projectionStatus(name);
      if (name !== undefined && statuses.length === 0)
        throw new NotFoundError(`projection ${name} has never run in schema ${db.schema}`);
      if (flags.json) console.log(JSON.stringify(name === undefined ? statuses : statuses[0], null, 2));
      else if (statuses.length === 0) console.log('no projection has run in this schema yet');
      else for (const s of statuses) console.log(formatProjectionStatus(s));
    } finally {
      await db.close();
    }
  });
}

function rebuildCommand(): Command {
  return withConnectionFlags(
    new Command('rebuild')
      .description(
        'start projection NAME over from the beginning of the log: wherever it runs, it resets its tables and applies every change set again',
      )
      .argument('<name>', 'the projection'),
  ).action(async (name: string, flags: ConnectionFlags) => {
    const db = await openExisting(flags, 'no projections');
    try {
      await db.rebuildProjection(name);
      const message = `projection ${name} will rebuild from the beginning at its next round (the process running it resets its tables first)`;
      console.log(flags.json ? JSON.stringify({ name, rebuildPending: true }) : message);
    } finally {
      await db.close();
    }
  });
}

/**
 * `appendlog projection status [NAME]` and `appendlog projection rebuild NAME`: durable
 * projections (`db.projection`) seen from outside the processes that run them.
 *
 * @example
 * // appendlog projection status --json
 * // appendlog projection rebuild activity
 */
export function projectionCommand(): Command {
  return new Command('projection')
    .description('durable projections of the log: status and rebuild')
    .addCommand(statusCommand())
    .addCommand(rebuildCommand());
}
