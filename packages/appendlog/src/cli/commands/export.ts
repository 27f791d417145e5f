import { Command } from 'commander';
import { InvalidInputError } from '../../errors.js';
import { exportCar } from '../../export/car.js';
import { checkCar } from '../../export/car-read.js';
import { exportTiles } from '../../export/tiles-export.js';
import { type ConnectionFlags, openExisting, withConnectionFlags } from '../connection.js';
import { progressBar } from '../progress.js';
import { readUserFile } from './verify.js';

interface ExportFlags extends ConnectionFlags {
  car?: string;
  tiles?: string;
  checkpoint?: string;
  node?: number;
  archive?: number;
  entry?: string;
  table: string[];
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** A parser of a positive integer given to `flag` on the command line (an archive or checkpoint number). */
export function positiveInteger(flag: string): (value: string) => number {
  return (value) => {
    if (!/^[1-9]\d{0,15}$/.test(value))
      throw new InvalidInputError(`${flag} takes a number (1, 2, 3 …), not "${value}"`, flag.slice(2));
    return Number(value);
  };
}

/** A Citus node group id given on the command line. */
function nodeGroup(value: string): number {
  if (!/^(0|[1-9]\d{0,8})$/.test(value))
    throw new InvalidInputError(`--node takes a node group id (0, 1, 2 …), not "${value}"`, 'node');
  return Number(value);
}

/** `appendlog export --car` or `--tiles`. */
export function exportCommand(): Command {
  return withConnectionFlags(
    new Command('export')
      .description(
        'export the history as an IPFS-compatible CAR file (--car), or the checkpoint tree as C2SP tlog-tiles (--tiles)',
      )
      .option('--car <file>', 'the CAR file to write (DAG-CBOR blocks linked by CID)')
      .option('--entry <id>', 'with --car: only this entry')
      .option(
        '--archive <n>',
        'with --car: the versions archive n took out of the logs (before appendlog archive --drop)',
        positiveInteger('--archive'),
      )
      .option('--table <name>', 'with --car: only this table (repeatable)', collect, [])
      .option('--tiles <dir>', 'write the tree as static tlog-tiles with its checkpoint (incremental)')
      .option('--checkpoint <file>', 'with --tiles: publish this checkpoint note (default: the latest taken)')
      .option(
        '--node <group>',
        "with --tiles, of a row-sharded schema: publish this node's tree (its latest checkpoint)",
        nodeGroup,
      ),
  ).action(async (flags: ExportFlags) => {
    if ((flags.car === undefined) === (flags.tiles === undefined))
      throw new InvalidInputError('give one of --car <file> and --tiles <dir>', flags.car ? 'tiles' : 'car');
    if (flags.tiles !== undefined) return writeTiles(flags, flags.tiles);
    if (flags.checkpoint !== undefined || flags.node !== undefined)
      throw new InvalidInputError('--checkpoint and --node go with --tiles', 'checkpoint');
    const car = flags.car!;
    const db = await openExisting(flags, 'nothing to export');
    const bar = progressBar(flags.json);
    try {
      const r = await exportCar(db, car, {
        ...(flags.entry === undefined ? {} : { entryId: flags.entry }),
        ...(flags.table.length > 0 ? { tables: flags.table } : {}),
        ...(flags.archive === undefined ? {} : { archive: flags.archive }),
        onProgress: (n) => bar.update('export', n, n),
      });
      bar.stop();
      console.log(
        flags.json
          ? JSON.stringify(r, null, 2)
          : `wrote ${r.versions} versions in ${r.blocks} blocks to ${car}; root ${r.root}`,
      );
    } finally {
      bar.stop();
      await db.close();
    }
  });
}

/** `appendlog check-car`: check a CAR export offline. */
export function checkCarCommand(): Command {
  return new Command('check-car')
    .argument('<file>')
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

/** `appendlog export --tiles DIR`. */
async function writeTiles(flags: ExportFlags, dir: string): Promise<void> {
  if (flags.entry !== undefined || flags.table.length > 0 || flags.archive !== undefined)
    throw new InvalidInputError(
      '--entry, --table and --archive go with --car: tiles hold the whole tree',
      'tiles',
    );
  const checkpoint =
    flags.checkpoint === undefined ? undefined : readUserFile(flags.checkpoint, 'checkpoint');
  const db = await openExisting(flags, 'nothing to export');
  const bar = progressBar(flags.json);
  try {
    const r = await exportTiles(db, dir, {
      ...(checkpoint === undefined ? {} : { checkpoint }),
      ...(flags.node === undefined ? {} : { node: flags.node }),
      onProgress: (n) => bar.update('tiles', n, n),
    });
    bar.stop();
    if (flags.json) console.log(JSON.stringify(r, null, 2));
    else {
      console.log(
        `checkpoint ${r.checkpointId} of ${r.origin} (${r.treeSize} versions, root ${r.root}) → ${dir}: ${r.written} tiles written, ${r.unchanged} unchanged`,
      );
      if (!r.signed)
        console.error('warning: the checkpoint is not signed; tlog-tiles clients need a signed one');
    }
  } finally {
    bar.stop();
    await db.close();
  }
}
