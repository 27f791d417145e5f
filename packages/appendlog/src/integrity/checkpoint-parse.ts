import { InvalidInputError } from '../errors.js';
import { SPEC_VERSION } from '../hash/spec.js';
import { type Checkpoint, checkpointFields, HEX32 } from './checkpoint-format.js';
import { checkpointText, parseCheckpointNote, parseCheckpointText } from './checkpoint-note.js';
import { parseNote } from './note.js';

const HEX64 = /^[0-9a-f]{128}$/;
const DECIMAL = /^(0|[1-9]\d{0,19})$/;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const FIELDS = new Set([
  'spec',
  'origin',
  'schema',
  'node',
  'id',
  'treeSize',
  'root',
  'horizon',
  'createdAt',
  'tables',
  'signature',
  'cosignatures',
]);
const SIGNATURE_FIELDS = ['algorithm', 'publicKey', 'value', 'keyName', 'keyId'];

function bad(what: string): never {
  throw new InvalidInputError(`not an appendlog checkpoint: ${what}`, 'checkpoint');
}

function parseSignature(value: unknown, noted: boolean): NonNullable<Checkpoint['signature']> {
  const s = value as Record<string, unknown>;
  if (typeof s !== 'object' || s === null || Array.isArray(s)) return bad('signature must be an object');
  for (const k of Object.keys(s)) if (!SIGNATURE_FIELDS.includes(k)) bad(`unknown signature field "${k}"`);
  if (s.algorithm !== 'ed25519') bad('signature.algorithm must be "ed25519"');
  if (typeof s.value !== 'string' || !HEX64.test(s.value)) bad('signature.value must be 128 hex digits');
  if (s.publicKey !== undefined && (typeof s.publicKey !== 'string' || !HEX32.test(s.publicKey)))
    bad('signature.publicKey must be 64 hex digits');
  if (!noted && s.publicKey === undefined) bad('signature.publicKey is missing');
  if (
    noted &&
    (typeof s.keyName !== 'string' || typeof s.keyId !== 'string' || !/^[0-9a-f]{8}$/.test(s.keyId))
  )
    bad('signature.keyName and signature.keyId (8 hex digits) are required with an origin');
  if (!noted && (s.keyName !== undefined || s.keyId !== undefined)) bad('signature.keyName needs an origin');
  return {
    algorithm: 'ed25519',
    ...(s.publicKey === undefined ? {} : { publicKey: s.publicKey as string }),
    value: s.value,
    ...(noted ? { keyName: s.keyName as string, keyId: s.keyId as string } : {}),
  };
}

/** Validates a checkpoint object: the earlier JSON format, or the JSON of a C2SP checkpoint. */
function parseObject(value: unknown): Checkpoint {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('expected an object');
  const v = value as Record<string, unknown>;
  for (const k of Object.keys(v)) if (!FIELDS.has(k)) bad(`unknown field "${k}"`);
  if (v.spec !== SPEC_VERSION) bad(`spec must be "${SPEC_VERSION}", got ${JSON.stringify(v.spec)}`);
  if (typeof v.schema !== 'string' || !/^[a-z_][a-z0-9_]*$/.test(v.schema)) bad('schema');
  if (
    v.node !== undefined &&
    (!Number.isSafeInteger(v.node) || (v.node as number) < 0 || (v.node as number) > 999_999_999)
  )
    bad('node must be a node group id');
  if (!Number.isSafeInteger(v.id) || (v.id as number) < 1) bad('id must be a positive integer');
  if (!Number.isSafeInteger(v.treeSize) || (v.treeSize as number) < 0)
    bad('treeSize must be a non-negative integer');
  if (typeof v.root !== 'string' || !HEX32.test(v.root)) bad('root must be 64 lowercase hex digits');
  if (typeof v.horizon !== 'string' || !DECIMAL.test(v.horizon))
    bad('horizon must be a decimal transaction id');
  if (typeof v.createdAt !== 'string' || !TIME.test(v.createdAt))
    bad('createdAt must be YYYY-MM-DDTHH:MM:SS.ffffffZ');
  const noted = v.origin !== undefined;
  if (noted && typeof v.origin !== 'string') bad('origin must be a string');
  if (v.tables !== undefined && (!Array.isArray(v.tables) || !v.tables.every((t) => typeof t === 'string')))
    bad('tables must be a list of names');
  if (!noted && (v.tables !== undefined || v.cosignatures !== undefined || v.node !== undefined))
    bad('tables, node and cosignatures need an origin');
  let cp: Checkpoint = checkpointFields(v as unknown as Checkpoint);
  // A C2SP checkpoint's fields must make a valid note text, whose parse gives them back.
  if (noted) cp = { ...parseCheckpointText(checkpointText({ ...cp, tables: cp.tables ?? [] })) };
  if (v.signature !== undefined) cp.signature = parseSignature(v.signature, noted);
  if (v.cosignatures !== undefined) {
    if (!Array.isArray(v.cosignatures) || !v.cosignatures.every((l) => typeof l === 'string'))
      bad('cosignatures must be a list of signature lines');
    parseNote(`x\n\n${v.cosignatures.map((l) => `${l}\n`).join('')}`);
    cp.cosignatures = [...v.cosignatures];
  }
  return cp;
}

/**
 * Reads a checkpoint: a C2SP signed note (or bare checkpoint text) as `appendlog checkpoint`
 * writes it, a checkpoint object, or the JSON text of one (the earlier format too). Unknown
 * fields are refused, so a checkpoint never carries something its signature does not cover.
 * Signatures are not checked here (`checkSignature` does).
 *
 * @example
 * const cp = parseCheckpoint(readFileSync('checkpoint', 'utf8'));
 */
export function parseCheckpoint(input: unknown): Checkpoint {
  if (typeof input !== 'string') return parseObject(input);
  if (!input.trimStart().startsWith('{')) return parseCheckpointNote(input);
  let value: unknown;
  try {
    value = JSON.parse(input);
  } catch (cause) {
    throw new InvalidInputError('the checkpoint is not JSON', 'checkpoint', { cause });
  }
  return parseObject(value);
}
