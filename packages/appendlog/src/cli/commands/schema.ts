import { Command } from 'commander';
import type { SchemaHistoryRecord } from '../../migrate/history.js';
import { type ConnectionFlags, openExisting, withConnectionFlags } from '../connection.js';

interface HistoryFlags extends ConnectionFlags {
  table?: string;
}

/** `appendlog schema history`: prints the append-only schema history. */
export function schemaCommand(): Command {
  const schema = new Command('schema').description('inspect the schema appendlog keeps');
  schema.addCommand(
    withConnectionFlags(
      new Command('history')
        .description(
          'every schema change applied, oldest first: when, what, by which role and library version',
        )
        .option('-t, --table <table>', 'only this table'),
    ).action(async (flags: HistoryFlags) => {
      const db = await openExisting(flags, 'no schema history to show');
      try {
        const records = await db.schemaHistory(flags.table === undefined ? {} : { table: flags.table });
        process.stdout.write(
          flags.json ? `${JSON.stringify(records.map(toJson), null, 2)}\n` : report(records),
        );
      } finally {
        await db.close();
      }
    }),
  );
  return schema;
}

function toJson(r: SchemaHistoryRecord): Record<string, unknown> {
  const { appliedAt: _date, appliedAtIso, ...rest } = r;
  return { ...rest, appliedAt: appliedAtIso };
}

function report(records: readonly SchemaHistoryRecord[]): string {
  if (records.length === 0) return 'No schema changes recorded.\n';
  const lines = records.flatMap((r) => {
    const by = [
      r.appliedBy === null ? undefined : `by ${r.appliedBy}`,
      `appendlog ${r.libraryVersion}`,
    ].filter(Boolean);
    const what =
      r.summary ??
      `${r.change} (${r.definition.columns.map((c) => `${c.sqlName} ${c.type}${c.notNull ? ' not null' : ''}`).join(', ')})`;
    return [`#${r.seq}  ${r.appliedAtIso}  ${r.table}  ${r.change}  (${by.join(', ')})`, `    ${what}`];
  });
  return `${lines.join('\n')}\n`;
}
