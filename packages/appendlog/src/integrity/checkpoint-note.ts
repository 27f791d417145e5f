import { InvalidInputError } from '../errors.js';
import { SPEC_VERSION } from '../hash/spec.js';
import type { Checkpoint, CheckpointBody } from './checkpoint-format.js';
import { formatNote, formatSignatureLine, isKeyName, type NoteSignature, parseNote } from './note.js';

const DECIMAL = /^(0|[1-9]\d{0,19})$/;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const SCHEMA = /^[a-z_][a-z0-9_]*$/;
const TABLE = /^[a-z_][a-z0-9_]*$/;
const NODE = /^(0|[1-9]\d{0,8})$/;

/**
 * The C2SP tlog-checkpoint note text of a checkpoint (docs/spec.md §7.1): origin, tree size and
 * base64 root, then appendlog's extension lines.
 *
 * @example
 * checkpointText(cp);
 * // 'appendlog.local/public/…\n8\nq1…=\nappendlog/v1 checkpoint 1\nschema public\n…'
 */
export function checkpointText(cp: CheckpointBody): string {
  if (cp.origin === undefined) {
    throw new InvalidInputError(
      'a checkpoint of the earlier JSON format has no origin, so no note',
      'checkpoint',
    );
  }
  return [
    cp.origin,
    String(cp.treeSize),
    Buffer.from(cp.root, 'hex').toString('base64'),
    `${cp.spec} checkpoint ${cp.id}`,
    `schema ${cp.schema}`,
    ...(cp.node === undefined ? [] : [`node ${cp.node}`]),
    `horizon ${cp.horizon}`,
    `time ${cp.createdAt}`,
    ['tables', ...(cp.tables ?? [])].join(' '),
    '',
  ].join('\n');
}

/** The log's signature of a checkpoint as a note signature line's parts. */
function logSignature(cp: Checkpoint): NoteSignature | null {
  const s = cp.signature;
  if (s === undefined) return null;
  if (s.keyName === undefined || s.keyId === undefined) {
    throw new InvalidInputError('the checkpoint signature has no key name or key ID', 'checkpoint');
  }
  return { name: s.keyName, keyId: s.keyId, signature: Buffer.from(s.value, 'hex') };
}

/**
 * A checkpoint as `appendlog checkpoint --out` writes it: a C2SP signed note (the checkpoint
 * text, a blank line, the log's signature and any cosignatures), or the bare checkpoint text
 * when it is not signed.
 *
 * @example
 * writeFileSync('checkpoint', checkpointNote(await db.checkpoint({ signKey })));
 */
export function checkpointNote(cp: Checkpoint): string {
  const text = checkpointText(cp);
  const own = logSignature(cp);
  const lines = cp.cosignatures ?? [];
  if (own === null && lines.length === 0) return text;
  return `${formatNote({ text, signatures: own === null ? [] : [own] })}${lines.map((l) => `${l}\n`).join('')}`;
}

function refuse(what: string): never {
  throw new InvalidInputError(`not an appendlog checkpoint: ${what}`, 'checkpoint');
}

/** Reads `<word> <value>` from an extension line. */
function ext(line: string | undefined, word: string, pattern: RegExp): string {
  const value = line?.startsWith(`${word} `) ? line.slice(word.length + 1) : undefined;
  if (value === undefined || !pattern.test(value))
    refuse(`expected "${word} …", got ${JSON.stringify(line)}`);
  return value;
}

/** The checkpoint fields of a note text, which must be exactly what `checkpointText` writes. */
export function parseCheckpointText(text: string): CheckpointBody {
  const lines = text.split('\n');
  if (lines.pop() !== '' || (lines.length !== 8 && lines.length !== 9))
    refuse('expected 8 lines (9 with a node line), each ending in a newline');
  // A node's tree of a row-sharded schema has a node line after the schema line.
  const nodeLine = lines.length === 9 ? lines.splice(5, 1)[0] : undefined;
  const [origin, size, root64, head, schemaLine, horizonLine, timeLine, tablesLine] = lines as string[];
  if (!isKeyName(origin!)) refuse('the origin must be non-empty, without spaces or "+"');
  if (!DECIMAL.test(size!) || !Number.isSafeInteger(Number(size)))
    refuse('the tree size is not a decimal number');
  const root = Buffer.from(root64!, 'base64');
  if (root.length !== 32 || root.toString('base64') !== root64)
    refuse('the root hash is not 32 bytes of base64');
  const id = ext(head, `${SPEC_VERSION} checkpoint`, /^[1-9]\d{0,15}$/);
  const names = tablesLine === 'tables' ? [] : ext(tablesLine, 'tables', /^\S+( \S+)*$/).split(' ');
  if (!names.every((t) => TABLE.test(t))) refuse('a table name is malformed');
  const body: CheckpointBody = {
    spec: SPEC_VERSION,
    origin: origin!,
    schema: ext(schemaLine, 'schema', SCHEMA),
    ...(nodeLine === undefined ? {} : { node: Number(ext(nodeLine, 'node', NODE)) }),
    id: Number(id),
    treeSize: Number(size),
    root: root.toString('hex'),
    horizon: ext(horizonLine, 'horizon', DECIMAL),
    createdAt: ext(timeLine, 'time', TIME),
    tables: names,
  };
  if (checkpointText(body) !== text) refuse('the text is not in its canonical form');
  return body;
}

/**
 * Reads a checkpoint from its note: the bare checkpoint text, or a signed note whose first
 * signature by the origin's name is the log's and whose other lines are kept as cosignatures.
 * Signatures are checked by `checkSignature` and `checkCosignatures`, not here.
 *
 * @example
 * const cp = parseCheckpointNote(readFileSync('checkpoint', 'utf8'));
 */
export function parseCheckpointNote(input: string): Checkpoint {
  if (!input.includes('\n\n')) return parseCheckpointText(input);
  const note = parseNote(input);
  const cp: Checkpoint = parseCheckpointText(note.text);
  const cosignatures: string[] = [];
  for (const s of note.signatures) {
    if (cp.signature === undefined && s.name === cp.origin && s.signature.length === 64) {
      cp.signature = {
        algorithm: 'ed25519',
        value: s.signature.toString('hex'),
        keyName: s.name,
        keyId: s.keyId,
      };
    } else {
      cosignatures.push(formatSignatureLine(s).slice(0, -1));
    }
  }
  if (cosignatures.length > 0) cp.cosignatures = cosignatures;
  return cp;
}
