import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { InvalidInputError } from '../errors.js';
import { field, SPEC_VERSION } from '../hash/spec.js';

/** The domain tag that opens a checkpoint's signed message (docs/spec.md §7.2). */
export const CHECKPOINT_DOMAIN = `${SPEC_VERSION}/checkpoint`;

/**
 * The log's Ed25519 signature of a checkpoint. With `origin`, it is a C2SP signed-note signature
 * over the checkpoint's note text (docs/spec.md §7.2) by the key named `keyName` (the origin);
 * without, the signature of the earlier JSON format over `checkpointMessage`.
 */
export interface CheckpointSignature {
  algorithm: 'ed25519';
  /** The raw 32-byte public key, hex. A checkpoint read from a signed note does not carry it. */
  publicKey?: string;
  /** The 64-byte signature, hex. */
  value: string;
  /** The note signature's key name (signed notes only). */
  keyName?: string;
  /** The note signature's 4-byte key ID, 8 hex digits (signed notes only). */
  keyId?: string;
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
  /**
   * The log's name, the first line of its C2SP checkpoint note and the key name of its signature.
   * Absent only from checkpoints of the earlier JSON format.
   */
  origin?: string;
  /** The schema whose tables the tree covers. */
  schema: string;
  /**
   * Of a row-sharded schema on Citus: the node group whose versions the tree holds (docs/spec.md
   * §7.7); each writing node has a tree, and a log, of its own. Absent for the schema's one tree.
   */
  node?: number;
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
  /** The tables whose versions the tree holds (C2SP checkpoints only). */
  tables?: string[];
  signature?: CheckpointSignature;
  /** Further signature lines of the note (witness cosignatures), verbatim, `— name base64`. */
  cosignatures?: string[];
}

/** The body of a checkpoint: everything but the signature. */
export type CheckpointBody = Omit<Checkpoint, 'signature' | 'cosignatures'>;

export const HEX32 = /^[0-9a-f]{64}$/;

/**
 * The bytes the signature of a checkpoint of the earlier JSON format covers: `F(domain) ‖ F(schema) ‖ F(id) ‖ F(tree size) ‖
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

/** A checkpoint's own fields, without signatures, in their usual order. */
export function checkpointFields(body: CheckpointBody): CheckpointBody {
  const { spec, origin, schema, node, id, treeSize, root, horizon, createdAt, tables } = body;
  return {
    spec,
    ...(origin === undefined ? {} : { origin }),
    schema,
    ...(node === undefined ? {} : { node }),
    id,
    treeSize,
    root,
    horizon,
    createdAt,
    ...(tables === undefined ? {} : { tables: [...tables] }),
  };
}

/** A public key given as raw hex, PEM or KeyObject. */
export function asPublicKey(key: string | KeyObject): KeyObject {
  if (typeof key === 'string' && HEX32.test(key)) return publicKeyFromHex(key);
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
