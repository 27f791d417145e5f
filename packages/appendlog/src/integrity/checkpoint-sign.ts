import { type KeyObject, sign, verify } from 'node:crypto';
import {
  asPublicKey,
  type Checkpoint,
  type CheckpointBody,
  checkpointFields,
  checkpointMessage,
  publicKeyFromHex,
  rawPublicKeyHex,
  signingKey,
} from './checkpoint-format.js';
import { checkpointText } from './checkpoint-note.js';
import {
  type NoteSignature,
  noteKeyId,
  parseNote,
  parseVerifierKey,
  rawPublicKey,
  SIG_ED25519,
  signNoteText,
  verifyNoteSignature,
} from './note.js';

/**
 * Signs a checkpoint body with an Ed25519 key (pure Ed25519, deterministic): a C2SP signed-note
 * signature over its note text under the key name `origin`, or for a body without origin the
 * signature of the earlier JSON format.
 *
 * @example
 * const signed = signCheckpoint(body, readFileSync('checkpoint-key.pem', 'utf8'));
 */
export function signCheckpoint(body: CheckpointBody, key: string | Buffer | KeyObject): Checkpoint {
  const k = signingKey(key);
  const cp = checkpointFields(body);
  if (cp.origin === undefined) {
    const value = sign(null, checkpointMessage(cp), k).toString('hex');
    return { ...cp, signature: { algorithm: 'ed25519', publicKey: rawPublicKeyHex(k), value } };
  }
  const s = signNoteText(checkpointText(cp), cp.origin, k);
  return {
    ...cp,
    signature: {
      algorithm: 'ed25519',
      publicKey: rawPublicKeyHex(k),
      value: s.signature.toString('hex'),
      keyName: s.name,
      keyId: s.keyId,
    },
  };
}

/** A trusted key: raw hex, PEM, KeyObject, or a C2SP verifier key (`name+keyid+base64`). */
export type TrustedKey = string | KeyObject;

/** The key and, for a verifier key, the name a trusted key stands for. */
function trusted(key: TrustedKey): { name?: string; key: KeyObject } {
  if (typeof key === 'string' && /^[^\s+]+\+[0-9a-f]{8}\+/.test(key)) {
    const v = parseVerifierKey(key);
    return { name: v.name, key: v.publicKey };
  }
  return { key: asPublicKey(key) };
}

/** Every signature line of a checkpoint's note: the log's, then the cosignatures. */
export function noteSignatures(cp: Checkpoint): NoteSignature[] {
  const out: NoteSignature[] = [];
  const s = cp.signature;
  if (s?.keyName !== undefined && s.keyId !== undefined)
    out.push({ name: s.keyName, keyId: s.keyId, signature: Buffer.from(s.value, 'hex') });
  if (cp.cosignatures !== undefined && cp.cosignatures.length > 0)
    out.push(...parseNote(`x\n\n${cp.cosignatures.map((l) => `${l}\n`).join('')}`).signatures);
  return out;
}

/** Checks the signature of a checkpoint of the earlier JSON format (no origin). */
function checkJsonSignature(cp: Checkpoint, trustedKey?: TrustedKey): string | null {
  if (cp.signature === undefined) return trustedKey === undefined ? null : 'the checkpoint is not signed';
  let key: KeyObject;
  try {
    key = publicKeyFromHex(cp.signature.publicKey ?? '');
  } catch {
    return 'the checkpoint signature carries a malformed public key';
  }
  if (trustedKey !== undefined && rawPublicKeyHex(trusted(trustedKey).key) !== cp.signature.publicKey)
    return 'the checkpoint is signed by another key than the trusted one';
  const ok = verify(null, checkpointMessage(cp), key, Buffer.from(cp.signature.value, 'hex'));
  return ok ? null : 'the checkpoint signature does not verify: the checkpoint was altered';
}

/**
 * Checks a checkpoint's signature. With `trustedKey` (raw hex, PEM, KeyObject or a C2SP
 * verifier key), the checkpoint must be signed by that key: for a signed note, a signature line
 * whose key name and ID match the key (C2SP signed-note) must verify over the note text. Without,
 * the signature is checked with the public key the checkpoint carries, when it carries one.
 * Returns a problem description, or null when it verifies.
 *
 * @example
 * const problem = checkSignature(parseCheckpoint(readFileSync('checkpoint', 'utf8')), 'example.com/log+…');
 * if (problem) throw new Error(problem);
 */
export function checkSignature(cp: Checkpoint, trustedKey?: TrustedKey): string | null {
  if (cp.origin === undefined) return checkJsonSignature(cp, trustedKey);
  const text = checkpointText(cp);
  if (trustedKey === undefined) {
    const own = cp.signature;
    if (own?.publicKey === undefined) return null;
    const line = noteSignatures(cp)[0];
    if (line === undefined) return 'the checkpoint signature has no key name or key ID';
    return verifyNoteSignature(text, line, publicKeyFromHex(own.publicKey))
      ? null
      : 'the checkpoint signature does not verify: the checkpoint was altered';
  }
  const t = trusted(trustedKey);
  const lines = noteSignatures(cp).filter(
    (s) => (t.name === undefined || s.name === t.name) && s.signature.length === 64,
  );
  const raw = rawPublicKey(t.key);
  const matching = lines.filter((s) => s.keyId === noteKeyId(s.name, SIG_ED25519, raw));
  if (matching.length === 0) return 'the checkpoint is not signed by the trusted key';
  return matching.every((s) => verifyNoteSignature(text, s, t.key))
    ? null
    : 'the checkpoint signature does not verify: the checkpoint was altered';
}
