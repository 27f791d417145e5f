import type { KeyObject } from 'node:crypto';
import { IntegrityError, InvalidInputError } from '../errors.js';
import { type Checkpoint, signingKey } from './checkpoint-format.js';
import { checkpointNote, checkpointText } from './checkpoint-note.js';
import { parseCheckpoint } from './checkpoint-parse.js';
import { checkSignature, type TrustedKey } from './checkpoint-sign.js';
import { cosign } from './cosignature.js';
import { fromHex } from './hex.js';
import { verifyConsistency } from './merkle-verify.js';
import { formatSignatureLine, noteKeyId, rawPublicKey, SIG_COSIGNATURE_V1, verifierKey } from './note.js';

/** Options of `witnessCheckpoint`. */
export interface WitnessOptions {
  /** The witness's name: its cosignatures' key name, e.g. `witness.example.com/w1`. */
  name: string;
  /** The witness's Ed25519 private key (PEM or KeyObject). */
  signKey: string | Buffer | KeyObject;
  /** The witnessed log's public key (raw hex, PEM, KeyObject or verifier key): its checkpoints must be signed by it. */
  logKey: TrustedKey;
  /** The cosignature's time, POSIX seconds; default now. */
  now?: bigint;
}

/** What a witness step gives back: the checkpoint with the witness's cosignature, as a note and parsed. */
export interface Witnessed {
  checkpoint: Checkpoint;
  note: string;
}

/**
 * The C2SP verifier key of a witness's cosignatures (type 0x04), to give to `verify --witness`.
 *
 * @example
 * witnessVerifierKey('witness.example.com/w1', readFileSync('witness.pem', 'utf8'));
 */
export function witnessVerifierKey(name: string, key: string | Buffer | KeyObject): string {
  return verifierKey(name, signingKey(key), SIG_COSIGNATURE_V1);
}

function refuse(message: string): never {
  throw new IntegrityError(`not cosigned: ${message}`);
}

/**
 * One witness step (C2SP tlog-cosignature): given the last checkpoint this witness cosigned of a
 * log (`previous`, null the first time), a new checkpoint of the same log signed by the log's key,
 * and the RFC 9162 consistency proof between them, checks that the new one extends the previous
 * one and cosigns it. Refuses (IntegrityError) a checkpoint of another origin, one smaller than
 * the previous, a fork (same size, other root, or a proof that does not verify) and a bad
 * log signature. Keep the returned note as the next `previous`.
 *
 * @example
 * const { note } = witnessCheckpoint(readFileSync('state', 'utf8'), newNote, proof.proof, { name, signKey, logKey });
 */
export function witnessCheckpoint(
  previous: string | Checkpoint | null,
  next: string | Checkpoint,
  proof: readonly string[],
  options: WitnessOptions,
): Witnessed {
  const key = signingKey(options.signKey);
  const cp = parseCheckpoint(next);
  if (cp.origin === undefined)
    throw new InvalidInputError('only C2SP checkpoints (with an origin) are witnessed', 'checkpoint');
  const problem =
    checkSignature(cp, options.logKey) ?? (cp.signature === undefined ? 'it is not signed' : null);
  if (problem !== null) refuse(`the log's signature: ${problem}`);
  const old = previous === null ? null : parseCheckpoint(previous);
  if (old !== null) {
    if (old.origin !== cp.origin)
      refuse(`the checkpoint is of log "${cp.origin}", this witness follows "${old.origin}"`);
    if (cp.treeSize < old.treeSize)
      refuse(
        `the checkpoint has ${cp.treeSize} leaves, fewer than the ${old.treeSize} already cosigned: the log rolled back`,
      );
    if (cp.treeSize === old.treeSize && cp.root !== old.root)
      refuse(
        `fork: two checkpoints of size ${cp.treeSize} with different roots (${old.root} cosigned, now ${cp.root})`,
      );
    const ok = verifyConsistency(
      old.treeSize,
      cp.treeSize,
      fromHex(old.root),
      fromHex(cp.root),
      proof.map(fromHex),
    );
    if (!ok)
      refuse(
        `fork: the log at size ${cp.treeSize} is not an extension of the checkpoint of size ${old.treeSize} already cosigned`,
      );
  }
  const now = options.now ?? BigInt(Math.floor(Date.now() / 1000));
  const line = cosign(checkpointText(cp), options.name, key, now);
  const id = noteKeyId(options.name, SIG_COSIGNATURE_V1, rawPublicKey(key));
  const others = (cp.cosignatures ?? []).filter(
    (l) => !l.startsWith(`\u2014 ${options.name} `) || !ownLine(l, id),
  );
  const encoded = formatSignatureLine(line).slice(0, -1);
  const checkpoint: Checkpoint = { ...cp, cosignatures: [...others, encoded] };
  return { checkpoint, note: checkpointNote(checkpoint) };
}

/** Whether a cosignature line carries key ID `id` (this witness's earlier cosignature). */
function ownLine(line: string, id: string): boolean {
  const b64 = line.slice(line.lastIndexOf(' ') + 1);
  return Buffer.from(b64, 'base64').subarray(0, 4).toString('hex') === id;
}
