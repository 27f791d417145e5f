import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { InvalidInputError } from '../../errors.js';
import type { VerifyResult } from '../../integrity/report.js';
import { type ConnectionFlags, openExisting, withConnectionFlags } from '../connection.js';
import { progressBar } from '../progress.js';

interface VerifyFlags extends ConnectionFlags {
  against: string[];
  table: string[];
  publicKey?: string;
  witness: string[];
  witnessQuorum?: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Reads a file the user named, as a typed error when it cannot be read. */
export function readUserFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new InvalidInputError(`cannot read ${what} ${path}: ${(cause as Error).message}`, what, { cause });
  }
}

const VKEY = /^[^\s+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+$/;

/** A public key given on the command line: 64 hex digits, a C2SP verifier key, or a file of either or PEM. */
export function publicKeyArg(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (/^[0-9a-f]{64}$/i.test(value)) return value.toLowerCase();
  if (VKEY.test(value)) return value;
  const text = readUserFile(value, 'public key');
  return VKEY.test(text.trim()) || /^[0-9a-f]{64}$/i.test(text.trim()) ? text.trim().toLowerCase() : text;
}

/** A readable report of a verification, one line per failure. */
export function formatReport(r: VerifyResult): string {
  const lines: string[] = [];
  const versions = `${r.checked.toLocaleString('en')} version${r.checked === 1 ? '' : 's'} checked (${r.erased} erased)`;
  for (const c of r.consistencies ?? (r.consistency ? [r.consistency] : [])) {
    // The proof runs over the stored version hashes; a log that fails verification does not
    // match them, so it is not shown to extend the checkpoint even when they do.
    const log = c.node === undefined ? 'the log' : `node group ${c.node}'s log`;
    lines.push(
      !c.ok
        ? `checkpoint: ${log} is NOT a consistent extension of the checkpoint (${c.oldSize} versions)`
        : r.ok
          ? `checkpoint: ${log} (${c.newSize} versions) is a consistent extension of the checkpoint (${c.oldSize} versions)`
          : `checkpoint: NOT proven: the stored hashes${c.node === undefined ? '' : ` of ${log}`} extend the checkpoint (${c.oldSize} versions), but the log does not verify (failures below)`,
    );
  }
  for (const w of r.warnings ?? [])
    lines.push(`WARNING ${w.table ?? '(schema)'}: ${w.problem} — ${w.detail}`);
  if (r.ok) {
    lines.unshift(`intact: ${versions}, no failure`);
    return lines.join('\n');
  }
  lines.unshift(`FAILED: ${r.failures.length} failure${r.failures.length === 1 ? '' : 's'}; ${versions}`);
  for (const f of r.failures) {
    const where =
      f.table === null
        ? '(checkpoint)'
        : `${f.table}${f.entryId ? ` ${f.entryId}` : ''}${f.version === null ? '' : ` v${f.version}`}`;
    lines.push(`  ${where}: ${f.problem} — ${f.detail}`);
  }
  return lines.join('\n');
}

/** `appendlog verify`: recompute every hash, check chains, heads and (optionally) a checkpoint. */
export function verifyCommand(): Command {
  return withConnectionFlags(
    new Command('verify')
      .description(
        'recompute every hash from the column values, check the chains, the head tables and a checkpoint',
      )
      .option(
        '--against <file>',
        'a checkpoint (signed note, or JSON of the earlier format): prove the log still extends it; of a row-sharded schema, one per node (repeatable)',
        collect,
        [],
      )
      .option('--table <name>', 'verify only this table (repeatable)', collect, [])
      .option(
        '--public-key <key-or-file>',
        'the Ed25519 key the checkpoint must be signed with (hex, verifier key or PEM file)',
      )
      .option(
        '--witness <vkey-or-file>',
        'a witness trusted to cosign the checkpoint (repeatable)',
        collect,
        [],
      )
      .option('--witness-quorum <n>', 'how many of the --witness keys must have cosigned it (default: all)'),
  ).action(async (flags: VerifyFlags) => {
    const files = flags.against.map((f) => readUserFile(f, 'checkpoint'));
    const against = files.length === 0 ? undefined : files.length === 1 ? files[0]! : files;
    const publicKey = publicKeyArg(flags.publicKey);
    const witnesses = flags.witness.map((w) => publicKeyArg(w)!);
    const quorum = flags.witnessQuorum === undefined ? undefined : Number(flags.witnessQuorum);
    if (quorum !== undefined && witnesses.length === 0)
      throw new InvalidInputError('--witness-quorum needs --witness keys', 'witness-quorum');
    const db = await openExisting(flags, 'nothing to verify');
    const bar = progressBar(flags.json);
    try {
      const result = await db.verify({
        ...(against === undefined ? {} : { against }),
        ...(publicKey === undefined ? {} : { publicKey }),
        ...(witnesses.length === 0 ? {} : { witnesses }),
        ...(quorum === undefined ? {} : { witnessQuorum: quorum }),
        ...(flags.table.length > 0 ? { tables: flags.table } : {}),
        onProgress: (p) => bar.update(p.phase === 'versions' ? 'versions  ' : 'checkpoint', p.done, p.total),
      });
      bar.stop();
      console.log(flags.json ? JSON.stringify(result, null, 2) : formatReport(result));
      process.exitCode = result.ok ? 0 : 1;
    } finally {
      bar.stop();
      await db.close();
    }
  });
}
