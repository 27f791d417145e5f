import * as crypto from 'node:crypto';
import { field, SPEC_VERSION } from '../hash/spec.js';

/** The fields of a version that its hash covers, as canonical texts (docs/spec.md §4). */
export interface VersionFields {
  entryId: string;
  version: string;
  op: string;
  /** Canonical timestamp `YYYY-MM-DDTHH:MM:SS.ffffffZ`. */
  recordedAt: string;
  txId: string;
  actor: string | null;
  reason: string | null;
  meta: string | null;
}

const ZERO_HASH = Buffer.alloc(32);

/** One-shot SHA-256: `crypto.hash` (Node 20.12+) is about twice as fast as `createHash` on short inputs. */
const sha256: (data: Uint8Array) => Buffer =
  typeof crypto.hash === 'function'
    ? (data) => crypto.hash('sha256', data, 'buffer')
    : (data) => crypto.createHash('sha256').update(data).digest();

/**
 * The verifier's hot path: the spec's content and version hashes for one table, written into a
 * reused buffer instead of concatenating many small ones. Same results as `hash/spec.ts`
 * (the spec vector tests check both).
 *
 * @example
 * const h = new VersionHasher('addresses', ['city', 'name']);
 * const content = h.contentHash(salt, ['Oslo', 'Thor']);
 */
export class VersionHasher {
  /** Column names in the canonical (byte) order; `contentHash` takes values in this order. */
  readonly columns: readonly string[];
  readonly #nameFields: Buffer[];
  readonly #prefix: Buffer;
  #buf = Buffer.allocUnsafe(4096);

  constructor(table: string, columns: readonly string[]) {
    this.columns = [...columns].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    this.#nameFields = this.columns.map((c) => field(c));
    this.#prefix = Buffer.concat([field(SPEC_VERSION), field(table)]);
  }

  /** `SHA-256(salt ‖ content)`, `values` in the order of {@link columns}, null for absent. */
  contentHash(salt: Uint8Array, values: readonly (string | null)[]): Buffer {
    this.#ensure(salt.length);
    this.#buf.set(salt, 0);
    let at = salt.length;
    for (let i = 0; i < this.#nameFields.length; i++) {
      const v = values[i];
      if (v === null || v === undefined) continue;
      const name = this.#nameFields[i]!;
      this.#ensure(at + name.length + 4 + v.length * 3);
      name.copy(this.#buf, at);
      at = this.#text(at + name.length, v);
    }
    return sha256(this.#buf.subarray(0, at));
  }

  /** The version hash from its fields, the parent hash (null for version 1) and the content hash. */
  versionHash(v: VersionFields, parentHash: Uint8Array | null, contentHash: Uint8Array): Buffer {
    const texts = [v.entryId, v.version, v.op, v.recordedAt, v.txId, v.actor, v.reason, v.meta];
    const parent = parentHash ?? ZERO_HASH;
    let need = this.#prefix.length + parent.length + contentHash.length;
    for (const t of texts) need += 4 + (t === null ? 0 : t.length * 3);
    this.#ensure(need);
    const buf = this.#buf;
    this.#prefix.copy(buf, 0);
    let at = this.#prefix.length;
    for (const t of texts) {
      if (t === null) {
        buf.writeUInt32BE(0xffffffff, at);
        at += 4;
      } else {
        at = this.#text(at, t);
      }
    }
    buf.set(parent, at);
    at += parent.length;
    buf.set(contentHash, at);
    at += contentHash.length;
    return sha256(buf.subarray(0, at));
  }

  #text(at: number, text: string): number {
    const n = this.#buf.write(text, at + 4, 'utf8');
    this.#buf.writeUInt32BE(n, at);
    return at + 4 + n;
  }

  #ensure(bytes: number): void {
    if (bytes <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(bytes, this.#buf.length * 2));
    this.#buf.copy(next);
    this.#buf = next;
  }
}
