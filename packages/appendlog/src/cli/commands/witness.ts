import { existsSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { InvalidInputError } from '../../errors.js';
import { parseCheckpoint } from '../../integrity/checkpoint-parse.js';
import { witnessCheckpoint, witnessVerifierKey } from '../../integrity/witness.js';
import { type ConnectionFlags, openExisting, withConnectionFlags } from '../connection.js';
import { publicKeyArg, readUserFile } from './verify.js';

interface WitnessFlags extends ConnectionFlags {
  name?: string;
  signKey?: string;
  logKey?: string;
  state?: string;
  checkpoint?: string;
  out?: string;
  printKey?: boolean;
}

function required<T>(value: T | undefined, flag: string): T {
  if (value === undefined) throw new InvalidInputError(`--${flag} is required`, flag);
  return value;
}

/**
 * `appendlog witness`: cosign another appendlog log's checkpoint (C2SP tlog-cosignature) once
 * a consistency proof shows it extends the last one this witness cosigned, kept in `--state`.
 */
export function witnessCommand(): Command {
  return withConnectionFlags(
    new Command('witness')
      .description("cosign a log's latest checkpoint after checking it extends the last one cosigned")
      .option(
        '--name <name>',
        "this witness's name, its cosignatures' key name (e.g. witness.example.com/w1)",
      )
      .option('--sign-key <file>', "this witness's Ed25519 private key (PEM)")
      .option('--log-key <key-or-file>', "the witnessed log's public key (hex, verifier key or PEM file)")
      .option(
        '--state <file>',
        'the last checkpoint this witness cosigned of the log (created the first time)',
      )
      .option(
        '--checkpoint <file>',
        "the checkpoint to cosign (default: the log's latest); keeps its other cosignatures",
      )
      .option('--out <file>', 'write the cosigned checkpoint here too (default: stdout)')
      .option('--print-key', "print this witness's verifier key for verify --witness, and stop"),
  ).action(async (flags: WitnessFlags) => {
    const name = required(flags.name, 'name');
    const signKey = readUserFile(required(flags.signKey, 'sign-key'), 'sign key');
    if (flags.printKey) {
      console.log(witnessVerifierKey(name, signKey));
      return;
    }
    const logKey = required(publicKeyArg(flags.logKey), 'log-key');
    const statePath = required(flags.state, 'state');
    const previous = existsSync(statePath) ? readUserFile(statePath, 'witness state') : null;
    const given = flags.checkpoint === undefined ? undefined : readUserFile(flags.checkpoint, 'checkpoint');
    const db = await openExisting(flags, 'no log to witness');
    try {
      const oldSize = previous === null ? 0 : parseCheckpoint(previous).treeSize;
      const id = given === undefined ? undefined : parseCheckpoint(given).id;
      const { checkpoint, proof } = await db.consistencyProof(
        oldSize,
        id === undefined ? {} : { checkpointId: id },
      );
      const w = witnessCheckpoint(previous, given ?? checkpoint, proof, { name, signKey, logKey });
      writeFileSync(statePath, w.note);
      if (flags.out !== undefined) writeFileSync(flags.out, w.note);
      if (flags.json) console.log(JSON.stringify(w.checkpoint, null, 2));
      else if (flags.out === undefined) process.stdout.write(w.note);
      else
        console.log(
          `cosigned checkpoint ${w.checkpoint.id} of ${w.checkpoint.origin}: ${w.checkpoint.treeSize} versions → ${flags.out}`,
        );
    } finally {
      await db.close();
    }
  });
}
