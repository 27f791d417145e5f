import type { Command } from 'commander';
import { InvalidInputError } from '../../errors.js';
import { exportCar } from '../../export/car.js';
import { checkCar } from '../../export/car-read.js';
import { type ConnectionFlags, openExisting, withConnectionFlags } from '../connection.js';
import { progressBar } from '../progress.js';

interface ExportFlags extends ConnectionFlags {
  car?: string;
  entry?: string;
  table: string[];
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** `appendlog export --car` and `appendlog check-car`. */
export function registerExport(program: Command): void {
  withConnectionFlags(
    program
      .command('export')
      .description('export the history as an IPFS-compatible CAR file (DAG-CBOR blocks linked by CID)')
      .requiredOption('--car <file>', 'the CAR file to write')
      .option('--entry <id>', 'only this entry')
      .option('--table <name>', 'only this table (repeatable)', collect, []),
  ).action(async (flags: ExportFlags) => {
    if (!flags.car) throw new InvalidInputError('--car <file> is required', 'car');
    const db = await openExisting(flags, 'nothing to export');
    const bar = progressBar(flags.json);
    try {
      const r = await exportCar(db, flags.car, {
        ...(flags.entry === undefined ? {} : { entryId: flags.entry }),
        ...(flags.table.length > 0 ? { tables: flags.table } : {}),
        onProgress: (n) => bar.update('export', n, n),
      });
      bar.stop();
      console.log(
        flags.json
          ? JSON.stringify(r, null, 2)
          : `wrote ${r.versions} versions in ${r.blocks} blocks to ${flags.car}; root ${r.root}`,
      );
    } finally {
      bar.stop();
      await db.close();
    }
  });

  program
    .command('check-car <file>')
    .description('check a CAR export offline: every CID, hash and parent link')
    .option('--json', 'print machine-readable JSON instead of a report')
    .action(async (file: string, flags: { json?: boolean }) => {
      const r = await checkCar(file);
      if (flags.json) console.log(JSON.stringify(r, null, 2));
      else if (r.ok) console.log(`intact: ${r.versions} versions (${r.erased} erased), root ${r.root}`);
      else {
        console.log(`FAILED: ${r.failures.length} failures in ${file}`);
        for (const f of r.failures)
          console.log(`  ${f.table ?? ''} ${f.entryId ?? ''} v${f.version ?? '?'} (${f.cid}): ${f.problem}`);
      }
      process.exitCode = r.ok ? 0 : 1;
    });
}
