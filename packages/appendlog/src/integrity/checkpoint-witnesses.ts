import type { KeyObject } from 'node:crypto';
import { InvalidInputError } from '../errors.js';
import { asPublicKey, type Checkpoint } from './checkpoint-format.js';
import { checkpointText } from './checkpoint-note.js';
import { noteSignatures } from './checkpoint-sign.js';
import { verifyCosignature } from './cosignature.js';
import { isKeyName, noteKeyId, parseVerifierKey, rawPublicKey, SIG_COSIGNATURE_V1 } from './note.js';

/**
 * A witness trusted to cosign checkpoints: its C2SP verifier key for cosignatures
 * (`name+keyid+base64(0x04 ‖ key)`, as `appendlog witness --print-key` prints it), or its name
 * and Ed25519 public key (raw hex, PEM or KeyObject).
 */
export type Witness = string | { name: string; publicKey: string | KeyObject };

/** A witness's name and key, checked. */
export function witnessKey(w: Witness): { name: string; key: KeyObject } {
  if (typeof w === 'string') {
    const v = parseVerifierKey(w);
    if (v.type !== SIG_COSIGNATURE_V1)
      throw new InvalidInputError(`witness key ${v.name} is not a cosignature key (type 0x04)`, 'witnesses');
    return { name: v.name, key: v.publicKey };
  }
  if (!isKeyName(w.name)) throw new InvalidInputError(`"${w.name}" is not a witness name`, 'witnesses');
  return { name: w.name, key: asPublicKey(w.publicKey) };
}

/**
 * Counts the trusted witnesses whose tlog-cosignature of the checkpoint verifies, and returns a
 * problem unless at least `quorum` of them do (N of M), or when a trusted witness's cosignature
 * does not verify.
 *
 * @example
 * checkCosignatures(cp, [witnessA, witnessB, witnessC], 2); // null when two of three cosigned it
 */
export function checkCosignatures(
  cp: Checkpoint,
  witnesses: readonly Witness[],
  quorum: number,
): string | null {
  const keys = witnesses.map(witnessKey);
  if (!Number.isSafeInteger(quorum) || quorum < 1 || quorum > keys.length) {
    throw new InvalidInputError(
      `witnessQuorum must be 1 … ${keys.length} (the number of witnesses given)`,
      'witnessQuorum',
    );
  }
  if (cp.origin === undefined) return 'a checkpoint of the earlier JSON format carries no cosignatures';
  const text = checkpointText(cp);
  const lines = noteSignatures(cp);
  const signed = new Set<string>();
  for (const w of keys) {
    const id = noteKeyId(w.name, SIG_COSIGNATURE_V1, rawPublicKey(w.key));
    for (const line of lines.filter((l) => l.name === w.name && l.keyId === id)) {
      if (verifyCosignature(text, line, w.name, w.key) === null)
        return `the cosignature of witness ${w.name} does not verify: the checkpoint was altered`;
      signed.add(w.name);
    }
  }
  if (signed.size >= quorum) return null;
  return `the checkpoint has ${signed.size} valid cosignature${signed.size === 1 ? '' : 's'} of the trusted witnesses, ${quorum} required`;
}
