/**
 * A verifier of C2SP signed notes, tlog-checkpoints and Ed25519 tlog-cosignatures written from
 * the specification texts (c2sp.org/signed-note, /tlog-checkpoint, /tlog-cosignature) alone. It
 * shares no code with src/ on purpose: tests hold appendlog's output against it.
 */
import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';

/** A trusted key as a verifier key string says: name, key ID, algorithm byte, raw key. */
export interface Vkey {
  name: string;
  id: Buffer;
  type: number;
  key: KeyObject;
}

export function keyIdFor(name: string, type: number, raw: Buffer): Buffer {
  const h = createHash('sha256');
  h.update(name, 'utf8');
  h.update(Buffer.from([0x0a, type]));
  h.update(raw);
  return h.digest().subarray(0, 4);
}

function ed25519(raw: Buffer): KeyObject {
  // SPKI DER of an Ed25519 key: a fixed 12-byte prefix (RFC 8410) and the 32 raw bytes.
  const prefix = Buffer.from('302a300506032b6570032100', 'hex');
  return createPublicKey({ key: Buffer.concat([prefix, raw]), format: 'der', type: 'spki' });
}

/** `<name>+<hex id>+<base64(type || key)>`; throws unless well formed with a matching ID. */
export function readVkey(text: string): Vkey {
  // The name and the hex ID hold no '+'; the base64 key after them may.
  const m = /^([^+]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(text);
  if (!m) throw new Error('bad vkey');
  const [, name, idHex, b64] = m as unknown as [string, string, string, string];
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.length !== 33) throw new Error('bad vkey length');
  const raw = bytes.subarray(1);
  const id = Buffer.from(idHex, 'hex');
  if (!keyIdFor(name, bytes[0]!, raw).equals(id)) throw new Error('vkey id mismatch');
  return { name, id, type: bytes[0]!, key: ed25519(raw) };
}

export function makeVkey(name: string, type: number, raw: Buffer): string {
  return `${name}+${keyIdFor(name, type, raw).toString('hex')}+${Buffer.concat([Buffer.from([type]), raw]).toString('base64')}`;
}

export interface OpenedNote {
  text: string;
  lines: { name: string; id: Buffer; sig: Buffer }[];
}

/** Splits a note at its last blank line; null when it is not a signed note. */
export function openNote(note: string): OpenedNote | null {
  for (const ch of note) {
    const c = ch.codePointAt(0)!;
    if (c < 0x20 && c !== 0x0a) return null;
  }
  if (!note.endsWith('\n')) return null;
  const at = note.lastIndexOf('\n\n');
  if (at < 0) return null;
  const text = note.slice(0, at + 1);
  const lines = [];
  for (const line of note.slice(at + 2, note.length - 1).split('\n')) {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!m || m[1]!.includes('+')) return null;
    const bytes = Buffer.from(m[2]!, 'base64');
    if (bytes.length < 5) return null;
    lines.push({ name: m[1]!, id: bytes.subarray(0, 4), sig: bytes.subarray(4) });
  }
  return { text, lines };
}

/**
 * Verifies a signed note against Ed25519 (0x01) keys: true when at least one known key's
 * signature verifies and none of the known keys' signatures fails; unknown keys are ignored.
 */
export function verifyNote(note: string, keys: readonly Vkey[]): boolean {
  const opened = openNote(note);
  if (opened === null) return false;
  let good = 0;
  for (const line of opened.lines) {
    const k = keys.find((k) => k.type === 0x01 && k.name === line.name && k.id.equals(line.id));
    if (k === undefined) continue;
    if (line.sig.length !== 64 || !verify(null, Buffer.from(opened.text, 'utf8'), k.key, line.sig))
      return false;
    good += 1;
  }
  return good > 0;
}

/** The three mandatory lines of a tlog-checkpoint, and its extension lines. */
export function readCheckpoint(text: string): {
  origin: string;
  size: bigint;
  root: Buffer;
  extensions: string[];
} {
  const lines = text.split('\n');
  if (lines.pop() !== '' || lines.length < 3 || lines.some((l) => l === ''))
    throw new Error('bad checkpoint');
  const [origin, size, root64, ...extensions] = lines as [string, string, string, ...string[]];
  if (!/^(0|[1-9][0-9]*)$/.test(size)) throw new Error('bad size');
  const root = Buffer.from(root64, 'base64');
  if (root.toString('base64') !== root64) throw new Error('bad root');
  return { origin, size: BigInt(size), root, extensions };
}

/** Verifies the Ed25519 cosignature (type 0x04) of `witness` on a note; returns its time or null. */
export function verifyCosignatureLine(note: string, witness: Vkey): bigint | null {
  const opened = openNote(note);
  if (opened === null || witness.type !== 0x04) return null;
  for (const line of opened.lines) {
    if (line.name !== witness.name || !line.id.equals(witness.id) || line.sig.length !== 72) continue;
    const time = line.sig.readBigUInt64BE(0);
    const message = Buffer.from(`cosignature/v1\ntime ${time}\n${opened.text}`, 'utf8');
    return verify(null, message, witness.key, line.sig.subarray(8)) ? time : null;
  }
  return null;
}
