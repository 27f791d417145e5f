import { type KeyObject, sign, verify } from 'node:crypto';
import { InvalidInputError } from '../errors.js';
import { isKeyName, type NoteSignature, noteKeyId, rawPublicKey, SIG_COSIGNATURE_V1 } from './note.js';

/**
 * The message an Ed25519 cosignature covers (C2SP tlog-cosignature, `cosignature/v1`): a header
 * line, a `time` line, then the checkpoint's note text.
 */
export function cosignedMessage(checkpointText: string, timestamp: bigint): Buffer {
  return Buffer.from(`cosignature/v1\ntime ${timestamp}\n${checkpointText}`, 'utf8');
}

/**
 * Cosigns a checkpoint's note text as witness `name` at `timestamp` (POSIX seconds).
 *
 * @example
 * const line = cosign(text, 'witness.example/w1', witnessKey, BigInt(Math.floor(Date.now() / 1000)));
 */
export function cosign(
  checkpointText: string,
  name: string,
  key: KeyObject,
  timestamp: bigint,
): NoteSignature {
  if (!isKeyName(name)) throw new InvalidInputError(`"${name}" is not a key name`, 'name');
  if (timestamp < 0n || timestamp >= 2n ** 63n)
    throw new InvalidInputError('a cosignature timestamp is 0 … 2^63 − 1', 'timestamp');
  const time = Buffer.alloc(8);
  time.writeBigUInt64BE(timestamp);
  return {
    name,
    keyId: noteKeyId(name, SIG_COSIGNATURE_V1, rawPublicKey(key)),
    signature: Buffer.concat([time, sign(null, cosignedMessage(checkpointText, timestamp), key)]),
  };
}

/**
 * Checks a cosignature line by the witness `name` with `publicKey` over a checkpoint's note text.
 * Returns its timestamp, or null when the name, key ID or signature does not match.
 */
export function verifyCosignature(
  checkpointText: string,
  s: NoteSignature,
  name: string,
  publicKey: KeyObject,
): bigint | null {
  if (s.name !== name || s.keyId !== noteKeyId(name, SIG_COSIGNATURE_V1, rawPublicKey(publicKey)))
    return null;
  if (s.signature.length !== 72) return null;
  const timestamp = s.signature.readBigUInt64BE(0);
  if (timestamp >= 2n ** 63n) return null;
  const ok = verify(null, cosignedMessage(checkpointText, timestamp), publicKey, s.signature.subarray(8));
  return ok ? timestamp : null;
}
