import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { isRowSharded } from '../../integrity/checkpoint.js';
import { type Checkpoint, signingKey } from '../../integrity/checkpoint-format.js';
import { checkpointNote } from '../../integrity/checkpoint-note.js';
import { verifierKey } from '../../integrity/note.js';
import { type ConnectionFlags, openExisting, withConnectionFlags } from '../connection.js';
import { progressBar } from '../progress.js';
import { formatReport, readUserFile } from './verify.js';

interface CheckpointFlags extends ConnectionFlags {
  out?: string;
  signKey?: string;
  origin?: string;
  verify: boolean;
}

/** What was written where, and the verifier key of a signed checkpoint. */
function summary(cp: Checkpoint, file: string, signKey: string | undefined): string {
  const line = `checkpoint ${cp.id} of ${cp.origin}: ${cp.treeSize} versions, root ${cp.root}${cp.signature ? ', signed' : ''} → ${file}`;
  return signKey === undefined
    ? line
    : `${line}\nverifier key: ${verifierKey(cp.origin!, signingKey(signKey))}`;
}

/** `appendlog checkpoint`: verify, then take a checkpoint and write it where it can be kept. */
export function checkpointCommand(): Command {
  return withConnectionFlags(
    new Command('checkpoint')
      .description('take a checkpoint (Merkle tree head over every version) to keep outside the database')
      .option(
        '--out <file>',
        'write the checkpoint (a C2SP signed note) to this file (default: stdout); of a row-sharded schema, one per node to <file>.node-<group>',
      )
      .option('--sign-key <file>', 'sign it with this Ed25519 private key (PEM)')
      .option('--origin <name>', "the log's name, recorded by its first checkpoint (default: a random one)")
      .option('--no-verify', 'skip verifying the log first'),
  ).action(async (flags: CheckpointFlags) => {
    const signKey = flags.signKey === undefined ? undefined : readUserFile(flags.signKey, 'sign key');
    const db = await openExisting(flags, 'nothing to checkpoint');
    const bar = progressBar(flags.json || flags.out === undefined);
    try {
      if (flags.verify) {
        const result = await db.verify({ onProgress: (p) => bar.update('verify    ', p.done, p.total) });
        bar.stop();
        if (!result.ok) {
          console.error(formatReport(result));
          console.error('no checkpoint taken: the log does not verify');
          process.exitCode = 1;
          return;
        }
      }
      const options = {
        ...(signKey === undefined ? {} : { signKey }),
        ...(flags.origin === undefined ? {} : { origin: flags.origin }),
        onProgress: (n: number) => bar.update('checkpoint', n, n),
      };
      if (await isRowSharded(db)) {
        // One tree per writing node: one note each, <out>.node-<group>.
        const cps = await db.clusterCheckpoint(options);
        bar.stop();
        if (flags.out === undefined) {
          process.stdout.write(`${JSON.stringify(cps, null, 2)}\n`);
          return;
        }
        const lines: string[] = [];
        for (const cp of cps) {
          const file = `${flags.out}.node-${cp.node}`;
          writeFileSync(file, checkpointNote(cp));
          lines.push(summary(cp, file, signKey));
        }
        console.log(flags.json ? JSON.stringify(cps, null, 2) : lines.join('\n'));
        return;
      }
      const cp = await db.checkpoint(options);
      bar.stop();
      const text = checkpointNote(cp);
      if (flags.out === undefined) {
        process.stdout.write(flags.json ? `${JSON.stringify(cp, null, 2)}\n` : text);
      } else {
        writeFileSync(flags.out, text);
        console.log(flags.json ? JSON.stringify(cp, null, 2) : summary(cp, flags.out, signKey));
      }
    } finally {
      bar.stop();
      await db.close();
    }
  });
}
