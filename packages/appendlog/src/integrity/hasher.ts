import * as crypto from 'node:crypto';
import { field, versionHashPrefix } from '../hash/spec.js';
import { VERSION_HASH_KEYS, type VersionFields } from '../model/log-columns.js';
import { CANONICAL_TIMESTAMP_BYTES, canonicalFromMicros, writeCanonical } from './pg-time.js';

/** The parent of version 1 in the version hash. */
export const ZERO_HASH = Buffer.alloc(32);

/** One-shot SHA-256: `crypto.hash` (Node 20.12+) is about twice as fast as `createHash` on short inputs. */
const sha256: (data: Uint8Array) => Buffer =
  typeof crypto.hash === 'function'
    ? (data) => crypto.hash('sha256', data, 'buffer')
    : (data) => crypto.createHash('sha256').update(data).digest();

/** One-shot SHA-256 as a latin1 string, one char per byte. */
export const sha256Latin1: (data: Uint8Array) => string =
  typeof crypto.hash === 'function'
    ? (data) => crypto.hash('sha256', data, 'binary')
    : (data) => crypto.createHash('sha256').update(data).digest('binary');

/**
 * A hash preimage written into one reused buffer: raw bytes (the verifier copies field ranges of
 * its rows, which are already `F(x)`), and the spec's fields `F(x)` from strings, so the hot path
 * makes neither small buffers nor strings.
 */
export class Preimage {
  #buf = Buffer.allocUnsafe(4096);
  #at = 0;
  #views: Buffer[] = [];

  reset(): this {
    this.#at = 0;
    return this;
  }

  /** Appends bytes as they are. */
  raw(src: Uint8Array, start = 0, end = src.length): this {
    const n = end - start;
    this.#ensure(n);
    if (n <= 24) {
      // Very short copies: a loop beats the native call's overhead.
      const buf = this.#buf;
      let at = this.#at;
      for (let i = start; i < end; i++) buf[at++] = src[i]!;
      this.#at = at;
    } else {
      this.#buf.set(src.subarray(start, end), this.#at);
      this.#at += n;
    }
    return this;
  }

  /** Appends the bytes of a latin1 string (one char per byte), as {@link digestLatin1} returns them. */
  rawLatin1(src: string): this {
    this.#ensure(src.length);
    this.#at += this.#buf.write(src, this.#at, 'latin1');
    return this;
  }

  /** Appends `F(text)`, or `F(null)` for null. */
  text(text: string | null): this {
    if (text === null) return this.null();
    this.#ensure(4 + text.length * 3);
    const n = this.#buf.write(text, this.#at + 4, 'utf8');
    this.#buf.writeUInt32BE(n, this.#at);
    this.#at += 4 + n;
    return this;
  }

  /** Appends `F(null)`. */
  null(): this {
    this.#ensure(4);
    this.#buf.writeUInt32BE(0xffffffff, this.#at);
    this.#at += 4;
    return this;
  }

  /** SHA-256 of what was written. */
  digest(): Buffer {
    return sha256(this.#written());
  }

  /**
   * SHA-256 of what was written as a latin1 ('binary') string, one char per byte: node:crypto
   * returns a string about twice as fast as a Buffer, and the verifier only compares hashes.
   */
  digestLatin1(): string {
    return sha256Latin1(this.#written());
  }

  /** The bytes written, as a view kept per length (preimages of a table come in few lengths). */
  #written(): Buffer {
    let view = this.#views[this.#at];
    if (view === undefined) {
      view = this.#buf.subarray(0, this.#at);
      this.#views[this.#at] = view;
    }
    return view;
  }

  /**
   * Appends `F(t)` of the canonical text of a timestamp in microseconds since 2000-01-01 UTC (a
   * number within ±2^53, about the years 1715 to 2285; a bigint beyond), written as bytes where it
   * can be, else through the text.
   */
  timestamp(micros: number | bigint): this {
    this.#ensure(4 + CANONICAL_TIMESTAMP_BYTES);
    if (typeof micros === 'number' && writeCanonical(micros, this.#buf, this.#at + 4)) {
      this.#buf.writeUInt32BE(CANONICAL_TIMESTAMP_BYTES, this.#at);
      this.#at += 4 + CANONICAL_TIMESTAMP_BYTES;
      return this;
    }
    return this.text(canonicalFromMicros(micros));
  }

  #ensure(more: number): void {
    const need = this.#at + more;
    if (need <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(need, this.#buf.length * 2));
    this.#buf.copy(next, 0, 0, this.#at);
    this.#buf = next;
    this.#views = [];
  }
}

/**
 * The spec's content and version hashes for one table (same results as `hash/spec.ts`; the spec
 * vector tests check both).
 *
 * @example
 * const h = new VersionHasher('addresses', ['city', 'name']);
 * const content = h.contentHash(salt, ['Oslo', 'Thor']);
 */
export class VersionHasher {
  /** Column names in the canonical (byte) order; `contentHash` takes values in this order. */
  readonly columns: readonly string[];
  /** `F(name)` of each column, in the order of {@link columns}. */
  readonly #nameFields: readonly Buffer[];
  /** `F(domain) ‖ F(table)`, the start of every version hash preimage. */
  readonly prefix: Buffer;
  readonly #pre = new Preimage();

  constructor(table: string, columns: readonly string[]) {
    this.columns = [...columns].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    this.#nameFields = this.columns.map((c) => field(c));
    this.prefix = versionHashPrefix(table);
  }

  /** `SHA-256(salt ‖ content)`, `values` in the order of {@link columns}, null for absent. */
  contentHash(salt: Uint8Array, values: readonly (string | null)[]): Buffer {
    const pre = this.#pre.reset().raw(salt);
    for (let i = 0; i < this.#nameFields.length; i++) {
      const v = values[i];
      if (v === null || v === undefined) continue;
      pre.raw(this.#nameFields[i]!).text(v);
    }
    return pre.digest();
  }

  /** The version hash from its fields, the parent hash (null for version 1) and the content hash. */
  versionHash(v: VersionFields, parentHash: Uint8Array | null, contentHash: Uint8Array): Buffer {
    const pre = this.#pre.reset().raw(this.prefix);
    for (const key of VERSION_HASH_KEYS) pre.text(v[key]);
    return pre
      .raw(parentHash ?? ZERO_HASH)
      .raw(contentHash)
      .digest();
  }
}
