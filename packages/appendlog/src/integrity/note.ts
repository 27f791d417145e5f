import { createHash, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { InvalidInputError } from '../errors.js';

/** Signature type bytes of C2SP signed-note: Ed25519 note signatures and Ed25519 cosignatures. */
export const SIG_ED25519 = 0x01;
export const SIG_COSIGNATURE_V1 = 0x04;

/** One signature line of a signed note: `— <name> base64(key ID ‖ signature)`. */
export interface NoteSignature {
  name: string;
  /** The 4-byte key ID, as 8 lowercase hex digits. */
  keyId: string;
  /** The bytes after the key ID (the signature, or a cosignature's timestamp and signature). */
  signature: Buffer;
}

/** A signed note taken apart: its text (with the final newline) and its signature lines. */
export interface Note {
  text: string;
  signatures: NoteSignature[];
}

/** More signature lines than this and a note is refused (C2SP asks for at least 16). */
const MAX_SIGNATURES = 100;
const EM_DASH = '\u2014';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Whether `name` may name a key: non-empty, no spaces, no `+`, no control characters. */
export function isKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+\p{Cc}\p{Zs}]/u.test(name);
}

/**
 * The key ID of C2SP signed-note: the first 4 bytes of SHA-256(name ‖ 0x0A ‖ type ‖ public key).
 *
 * @example
 * noteKeyId('example.com/foo', SIG_ED25519, rawKey); // '530d903a'
 */
export function noteKeyId(name: string, type: number, publicKey: Uint8Array): string {
  return createHash('sha256')
    .update(Buffer.from(`${name}\n`, 'utf8'))
    .update(Buffer.of(type))
    .update(publicKey)
    .digest()
    .subarray(0, 4)
    .toString('hex');
}

/** The raw 32-byte public key of an Ed25519 key. */
export function rawPublicKey(key: KeyObject): Buffer {
  const jwk = (key.type === 'public' ? key : createPublicKey(key)).export({ format: 'jwk' });
  return Buffer.from(String(jwk.x), 'base64url');
}

/** An Ed25519 public KeyObject from its raw 32 bytes. */
export function ed25519PublicKey(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new InvalidInputError('an Ed25519 public key is 32 bytes', 'publicKey');
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') },
    format: 'jwk',
  });
}

/** One signature line, newline included. */
export function formatSignatureLine(s: NoteSignature): string {
  const bytes = Buffer.concat([Buffer.from(s.keyId, 'hex'), s.signature]);
  return `${EM_DASH} ${s.name} ${bytes.toString('base64')}\n`;
}

/**
 * A signed note: the text, a blank line, the signature lines.
 *
 * @example
 * formatNote({ text: 'hello\n', signatures: [sig] }); // 'hello\n\n— name AAAA…\n'
 */
export function formatNote(note: Note): string {
  return `${note.text}\n${note.signatures.map(formatSignatureLine).join('')}`;
}

function bad(what: string): never {
  throw new InvalidInputError(`not a signed note: ${what}`, 'note');
}

/** Whether `s` holds an ASCII control character other than newline. */
function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) return true;
  }
  return false;
}

/** Parses one signature line (without its newline). */
function parseSignatureLine(line: string): NoteSignature {
  if (!line.startsWith(`${EM_DASH} `)) bad(`"${line.slice(0, 40)}" is not a signature line`);
  const rest = line.slice(2);
  const space = rest.indexOf(' ');
  if (space < 0) bad('a signature line needs a key name and a signature');
  const name = rest.slice(0, space);
  const b64 = rest.slice(space + 1);
  if (!isKeyName(name)) bad(`"${name}" is not a key name`);
  if (!BASE64.test(b64) || b64.length % 4 !== 0) bad(`the signature of ${name} is not base64`);
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.length < 5 || bytes.toString('base64') !== b64) bad(`the signature of ${name} is malformed`);
  return { name, keyId: bytes.subarray(0, 4).toString('hex'), signature: bytes.subarray(4) };
}

/**
 * Takes a signed note apart (C2SP signed-note): valid UTF-8 without control characters but
 * newline, the text up to the last blank line, then one or more signature lines. Refuses
 * (InvalidInputError) anything else. Does not verify signatures.
 *
 * @example
 * const { text, signatures } = parseNote(readFileSync('checkpoint', 'utf8'));
 */
export function parseNote(input: string): Note {
  if (hasControlCharacter(input)) bad('it holds a control character');
  if (input.includes('\ufffd')) bad('it is not valid UTF-8');
  if (!input.endsWith('\n')) bad('it does not end in a newline');
  const split = input.lastIndexOf('\n\n');
  if (split < 0) bad('no blank line separates the text from the signatures');
  const text = input.slice(0, split + 1);
  const lines = input.slice(split + 2, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) bad(`more than ${MAX_SIGNATURES} signatures`);
  return { text, signatures: lines.map(parseSignatureLine) };
}

/**
 * Signs a note text with an Ed25519 key under `name` (signature type 0x01).
 *
 * @example
 * const sig = signNoteText('hello\n', 'example.com/log', privateKey);
 */
export function signNoteText(text: string, name: string, key: KeyObject): NoteSignature {
  if (!isKeyName(name)) throw new InvalidInputError(`"${name}" is not a key name`, 'name');
  return {
    name,
    keyId: noteKeyId(name, SIG_ED25519, rawPublicKey(key)),
    signature: sign(null, Buffer.from(text, 'utf8'), key),
  };
}

/** Whether `s` is an Ed25519 note signature of `text` by `publicKey` (name and key ID must match). */
export function verifyNoteSignature(text: string, s: NoteSignature, publicKey: KeyObject): boolean {
  if (s.keyId !== noteKeyId(s.name, SIG_ED25519, rawPublicKey(publicKey))) return false;
  return s.signature.length === 64 && verify(null, Buffer.from(text, 'utf8'), publicKey, s.signature);
}

/** A verifier key of C2SP signed-note, taken apart. */
export interface VerifierKey {
  name: string;
  type: number;
  publicKey: KeyObject;
}

/**
 * Parses a verifier key, `<name>+<hex key ID>+base64(type ‖ public key)`, for Ed25519 (0x01)
 * or Ed25519 cosignature (0x04) keys; the key ID must match.
 *
 * @example
 * parseVerifierKey('example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k');
 */
export function parseVerifierKey(vkey: string): VerifierKey {
  const wrong = (what: string): never => {
    throw new InvalidInputError(`not a verifier key (name+keyid+key): ${what}`, 'publicKey');
  };
  // The name and key ID hold no "+"; the base64 key after them may.
  const first = vkey.indexOf('+');
  const second = first < 0 ? -1 : vkey.indexOf('+', first + 1);
  if (second < 0) wrong(`"${vkey.slice(0, 60)}"`);
  const [name, id, b64] = [vkey.slice(0, first), vkey.slice(first + 1, second), vkey.slice(second + 1)];
  if (!isKeyName(name)) wrong('bad name');
  if (!/^[0-9a-f]{8}$/.test(id)) wrong('the key ID is not 8 lowercase hex digits');
  const bytes = Buffer.from(b64, 'base64');
  if (!BASE64.test(b64) || bytes.toString('base64') !== b64) wrong('the key is not base64');
  const type = bytes[0];
  if ((type !== SIG_ED25519 && type !== SIG_COSIGNATURE_V1) || bytes.length !== 33)
    wrong('only Ed25519 keys (type 0x01 or 0x04) are supported');
  const raw = bytes.subarray(1);
  if (noteKeyId(name, type!, raw) !== id) wrong('the key ID does not match the key');
  return { name, type: type!, publicKey: ed25519PublicKey(raw) };
}

/**
 * The verifier key text of an Ed25519 key under `name` and signature type.
 *
 * @example
 * verifierKey('example.com/log', publicKey); // 'example.com/log+1a2b3c4d+A…'
 */
export function verifierKey(name: string, key: KeyObject, type: number = SIG_ED25519): string {
  if (!isKeyName(name)) throw new InvalidInputError(`"${name}" is not a key name`, 'name');
  const raw = rawPublicKey(key);
  return `${name}+${noteKeyId(name, type, raw)}+${Buffer.concat([Buffer.of(type), raw]).toString('base64')}`;
}
