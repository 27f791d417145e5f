import { Command } from 'commander';
import { exportCar } from '../../export/car.js';
import { checkCar } from '../../export/car-read.js';
import { type ConnectionFlags, openExisting, withConnectionFlags } from '../connection.js';
import { positiveInteger } from './export.js';

interface ArchiveFlags extends ConnectionFlags {
  checkpoint?: number;
  car?: string;
  drop?: number;
}

/**
 * `appendlog archive`: takes the versions below a checkpoint's horizon out of the range-partitioned
 * logs (docs/scale-out.md), optionally exporting them to a CAR file, checked, then dropping them;
 * or, with `--drop <n>`, drops an earlier archive's tables.
 */
export function archiveCommand(): Command {
  return withConnectionFlags(
    new Command('archive')
      .description(
        "take every version below a checkpoint's horizon out of the range-partitioned logs (migrate --partitioned)",
      )
      .option(
        '--checkpoint <id>',
        'archive below this checkpoint (default: the latest)',
        positiveInteger('--checkpoint'),
      )
      .option(
        '--car <file>',
        "export the archived versions to this CAR file, check it, and only then drop the archive's tables",
      )
      .option('--drop <n>', "only drop archive n's tables (after exporting them)", positiveInteger('--drop')),
  ).action(async (flags: ArchiveFlags) => {
    const db = await openExisting(flags, 'nothing to archive');
    try {
      if (flags.drop !== undefined) {
        const dropped = await db.dropArchive(flags.drop);
        console.log(
          flags.json
            ? JSON.stringify({ dropped }, null, 2)
            : `dropped ${dropped.length ? dropped.join(', ') : 'nothing'}`,
        );
        return;
      }
      const r = await db.archive(flags.checkpoint === undefined ? {} : { checkpointId: flags.checkpoint });
      const lines = [
        `archive ${r.id}: the versions below transaction ${r.horizon} (checkpoint ${r.checkpointId}, ${r.treeSize} versions) left the logs`,
        ...r.tables.map(
          (t) =>
            `  ${t.table}: ${t.archived} archived into ${t.archiveTable}, ${t.kept} kept at the boundary, ${t.moved} moved`,
        ),
      ];
      let exported: { root: string; versions: number } | undefined;
      if (flags.car !== undefined) {
        exported = await exportCar(db, flags.car, { archive: r.id });
        const check = await checkCar(flags.car);
        if (!check.ok) {
          console.error(
            `${flags.car} does not check: the archive's tables are kept (appendlog check-car ${flags.car})`,
          );
          process.exitCode = 1;
          return;
        }
        await db.dropArchive(r.id);
        lines.push(
          `exported to ${flags.car} (${exported.versions} versions, root ${exported.root}), checked, and dropped`,
        );
      }
      console.log(
        flags.json
          ? JSON.stringify({ ...r, ...(exported ? { car: exported } : {}) }, null, 2)
          : lines.join('\n'),
      );
    } finally {
      await db.close();
    }
  });
}
