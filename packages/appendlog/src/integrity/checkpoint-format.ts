import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { InvalidInputError } from '../errors.js';
import { field, SPEC_VERSION } from '../hash/spec.js';

/** The domain tag that opens a checkpoint's signed message (docs/spec.md §7.2). */
export const CHECKPOINT_DOMAIN = `${SPEC_VERSION}/checkpoint`;

/** An Ed25519 signature over a checkpoint's body. */
export interface CheckpointSignature {
  algorithm: 'ed25519';
  /** The raw 32-byte public key, hex. */
  publicKey: string;
  /** The 64-byte signature, hex. */
  value: string;
}

/**
 * A checkpoint: the Merkle tree head over every version of the schema's tables, in the order of
 * docs/spec.md §6.2, as `db.checkpoint()` returns it and `appendlog checkpoint --out` writes it.
 * Keep it outside the database; `db.verify({ against })` proves the log still extends it.
 *
 * @example
 * const cp: Checkpoint = await db.checkpoint();
 * writeFileSync('checkpoint.json', JSON.stringify(cp, null, 2));
 */
export interface Checkpoint {
  spec: typeof SPEC_VERSION;
  /** The schema whose tables the tree covers. */
  schema: string;
  /** The checkpoint's number in the database's catalog (1, 2, 3 …). */
  id: number;
  /** Number of leaves (versions) in the tree. */
  treeSize: number;
  /** RFC 9162 Merkle Tree Hash, hex. */
  root: string;
  /** The transaction horizon: the tree holds every version whose `tx_id` is below it (decimal xid8). */
  horizon: string;
  /** When it was taken, `YYYY-MM-DDTHH:MM:SS.ffffffZ`. */
  createdAt: string;
  signature?: CheckpointSignature;
}

/** The body of a checkpoint: everything but the signature. */
export type CheckpointBody = Omit<Checkpoint, 'signature'>;

const HEX32 = /^[0-9a-f]{64}$/;
const HEX64 = /^[0-9a-f]{128}$/;
const DECIMAL = /^(0|[1-9]\d{0,19})$/;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/**
 * The bytes a checkpoint signature covers: `F(domain) ‖ F(schema) ‖ F(id) ‖ F(tree size) ‖
 * F(root hex) ‖ F(horizon) ‖ F(createdAt)` (docs/spec.md §7.2).
 *
 * @example
 * const message = checkpointMessage(checkpoint);
 * crypto.verify(null, message, publicKey, Buffer.from(checkpoint.signature.value, 'hex'));
 */
export function checkpointMessage(body: CheckpointBody): Buffer {
  return Buffer.concat([
    field(CHECKPOINT_DOMAIN),
    field(body.schema),
    field(String(body.id)),
    field(String(body.treeSize)),
    field(body.root),
    field(body.horizon),
    field(body.createdAt),
  ]);
}

/**
 * Reads an Ed25519 private key: PEM (PKCS#8, as `openssl genpkey -algorithm ed25519` writes) or
 * a `KeyObject`.
 *
 * @example
 * const key = signingKey(readFileSync('checkpoint-key.pem', 'utf8'));
 */
export function signingKey(key: string | Buffer | KeyObject): KeyObject {
  let k: KeyObject;
  try {
    k = typeof key === 'string' || Buffer.isBuffer(key) ? createPrivateKey(key) : key;
  } catch (cause) {
    throw new InvalidInputError('signKey is not a PEM private key', 'signKey', { cause });
  }
  if (k.type !== 'private' || k.asymmetricKeyType !== 'ed25519') {
    throw new InvalidInputError('signKey must be an Ed25519 private key', 'signKey');
  }
  return k;
}

/** The raw 32-byte public key of an Ed25519 key, hex. */
export function rawPublicKeyHex(key: KeyObject): string {
  const jwk = (key.type === 'public' ? key : createPublicKey(key)).export({ format: 'jwk' });
  return Buffer.from(String(jwk.x), 'base64url').toString('hex');
}

/**
 * Signs a checkpoint body with an Ed25519 key (pure Ed25519, deterministic).
 *
 * @example
 * const signed = signCheckpoint(body, readFileSync('checkpoint-key.pem', 'utf8'));
 */
export function signCheckpoint(body: CheckpointBody, key: string | Buffer | KeyObject): Checkpoint {
  const k = signingKey(key);
  const value = sign(null, checkpointMessage(body), k).toString('hex');
  return {
    ...stripSignature(body),
    signature: { algorithm: 'ed25519', publicKey: rawPublicKeyHex(k), value },
  };
}

/**
 * Checks a checkpoint's signature. With `trustedKey` (raw hex, PEM or KeyObject), the signature
 * must also be by that key. Returns a problem description, or null when it verifies.
 *
 * @example
 * const problem = checkSignature(checkpoint, trustedPublicKeyHex);
 * if (problem) throw new Error(problem);
 */
export function checkSignature(cp: Checkpoint, trustedKey?: string | KeyObject): string | null {
  if (cp.signature === undefined) return trustedKey === undefined ? null : 'the checkpoint is not signed';
  let key: KeyObject;
  try {
    key = publicKeyFromHex(cp.signature.publicKey);
  } catch {
    return 'the checkpoint signature carries a malformed public key';
  }
  if (trustedKey !== undefined) {
    const trusted =
      typeof trustedKey === 'string' && HEX32.test(trustedKey)
        ? trustedKey
        : rawPublicKeyHex(asPublicKey(trustedKey));
    if (trusted !== cp.signature.publicKey)
      return 'the checkpoint is signed by another key than the trusted one';
  }
  const ok = verify(null, checkpointMessage(cp), key, Buffer.from(cp.signature.value, 'hex'));
  return ok ? null : 'the checkpoint signature does not verify: the checkpoint was altered';
}

function asPublicKey(key: string | KeyObject): KeyObject {
  if (typeof key !== 'string' && key.type === 'public') return key;
  try {
    return createPublicKey(key);
  } catch (cause) {
    throw new InvalidInputError('publicKey must be a raw Ed25519 key in hex or a PEM key', 'publicKey', {
      cause,
    });
  }
}

/** An Ed25519 public key from its raw 32 bytes in hex. */
export function publicKeyFromHex(hex: string): KeyObject {
  if (!HEX32.test(hex)) throw new InvalidInputError('an Ed25519 public key is 32 bytes of hex', 'publicKey');
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(hex, 'hex').toString('base64url') },
    format: 'jwk',
  });
}

function stripSignature(body: CheckpointBody | Checkpoint): CheckpointBody {
  const { spec, schema, id, treeSize, root, horizon, createdAt } = body;
  return { spec, schema, id, treeSize, root, horizon, createdAt };
}

/**
 * Validates a checkpoint (parsed JSON, or its text) and returns it typed. Unknown fields are
 * refused, so a checkpoint never carries something its signature does not cover.
 *
 * @example
 * const cp = parseCheckpoint(readFileSync('checkpoint.json', 'utf8'));
 */
export function parseCheckpoint(input: unknown): Checkpoint {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (cause) {
      throw new InvalidInputError('the checkpoint is not JSON', 'checkpoint', { cause });
    }
  }
  const bad = (what: string): never => {
    throw new InvalidInputError(`not an appendlog checkpoint: ${what}`, 'checkpoint');
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('expected an object');
  const v = value as Record<string, unknown>;
  const allowed = new Set(['spec', 'schema', 'id', 'treeSize', 'root', 'horizon', 'createdAt', 'signature']);
  for (const k of Object.keys(v)) if (!allowed.has(k)) bad(`unknown field "${k}"`);
  if (v.spec !== SPEC_VERSION) bad(`spec must be "${SPEC_VERSION}", got ${JSON.stringify(v.spec)}`);
  if (typeof v.schema !== 'string' || !/^[a-z_][a-z0-9_]*$/.test(v.schema)) bad('schema');
  if (!Number.isSafeInteger(v.id) || (v.id as number) < 1) bad('id must be a positive integer');
  if (!Number.isSafeInteger(v.treeSize) || (v.treeSize as number) < 0)
    bad('treeSize must be a non-negative integer');
  if (typeof v.root !== 'string' || !HEX32.test(v.root)) bad('root must be 64 lowercase hex digits');
  if (typeof v.horizon !== 'string' || !DECIMAL.test(v.horizon))
    bad('horizon must be a decimal transaction id');
  if (typeof v.createdAt !== 'string' || !TIME.test(v.createdAt))
    bad('createdAt must be YYYY-MM-DDTHH:MM:SS.ffffffZ');
  const cp: Checkpoint = stripSignature(v as unknown as CheckpointBody);
  if (v.signature !== undefined) {
    const s = v.signature as Record<string, unknown>;
    if (typeof s !== 'object' || s === null || Array.isArray(s)) return bad('signature must be an object');
    for (const k of Object.keys(s))
      if (!['algorithm', 'publicKey', 'value'].includes(k)) bad(`unknown signature field "${k}"`);
    if (s.algorithm !== 'ed25519') bad('signature.algorithm must be "ed25519"');
    if (typeof s.publicKey !== 'string' || !HEX32.test(s.publicKey))
      bad('signature.publicKey must be 64 hex digits');
    if (typeof s.value !== 'string' || !HEX64.test(s.value)) bad('signature.value must be 128 hex digits');
    cp.signature = { algorithm: 'ed25519', publicKey: s.publicKey as string, value: s.value as string };
  }
  return cp;
}
