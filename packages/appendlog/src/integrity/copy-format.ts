/**
 * A reader of PostgreSQL's binary COPY format (the COPY page of the PostgreSQL manual, "Binary
 * Format"): an 11-byte signature, flags and a header extension, then per tuple a 16-bit field
 * count and per field a 32-bit length (-1 for NULL) and the field's bytes in the type's binary
 * send format, then a 16-bit -1 as trailer.
 *
 * The verifier reads the log this way because it is the cheapest form for both sides: the server
 * sends bytea and integers as they are stored, and the client hashes field bytes where they lie,
 * without making a JavaScript string of every value.
 */

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const HEADER_FIXED = SIGNATURE.length + 8;
const TWO_32 = 2 ** 32;

/** A big-endian int32 (plain byte arithmetic: the hot path reads millions, and this beats the Buffer methods). */
function int32(b: Buffer, p: number): number {
  return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
}

/**
 * One tuple, valid only during the callback that receives it: field `i` is
 * `buf[start[i], start[i] + len[i])`, `len[i]` is -1 for NULL.
 */
export class CopyRow {
  buf: Buffer = Buffer.alloc(0);
  /** `buf` as a plain Uint8Array: its subarray is cheaper than a Buffer's. */
  bytesView: Uint8Array = new Uint8Array(0);
  readonly start: Int32Array;
  readonly len: Int32Array;

  constructor(readonly fields: number) {
    this.start = new Int32Array(fields);
    this.len = new Int32Array(fields);
  }

  /** Where field `i`'s bytes end (its start for NULL). */
  end(i: number): number {
    return this.start[i]! + Math.max(this.len[i]!, 0);
  }

  isNull(i: number): boolean {
    return this.len[i]! < 0;
  }

  int4(i: number): number {
    return int32(this.buf, this.start[i]!);
  }

  /** An int8 (or timestamptz, in microseconds) as a bigint. */
  int8(i: number): bigint {
    return this.buf.readBigInt64BE(this.start[i]!);
  }

  /**
   * An int8 as a number: exact within ±2^53, the nearest double beyond (no seq gets there; a
   * timestamp does outside about 1715 to 2285, see {@link micros}).
   */
  int8Number(i: number): number {
    const p = this.start[i]!;
    const hi = int32(this.buf, p);
    if (hi >= -0x200000 && hi < 0x200000) return hi * TWO_32 + (int32(this.buf, p + 4) >>> 0);
    return Number(this.buf.readBigInt64BE(p));
  }

  /** A timestamptz in microseconds since 2000-01-01 UTC, exact: a number within ±2^53, else a bigint. */
  micros(i: number): number | bigint {
    const n = this.int8Number(i);
    return Number.isSafeInteger(n) ? n : this.int8(i);
  }

  bool(i: number): boolean {
    return this.buf[this.start[i]!] !== 0;
  }

  /** A text field (UTF-8), or null. */
  text(i: number): string | null {
    const n = this.len[i]!;
    if (n < 0) return null;
    const s = this.start[i]!;
    return this.buf.toString('utf8', s, s + n);
  }

  /** A copy of a bytea field, or null. */
  bytes(i: number): Buffer | null {
    const n = this.len[i]!;
    if (n < 0) return null;
    const s = this.start[i]!;
    return Buffer.from(this.buf.subarray(s, s + n));
  }

  /** A bytea field as a latin1 string (one char per byte), or null. */
  latin1(i: number): string | null {
    const n = this.len[i]!;
    if (n < 0) return null;
    const s = this.start[i]!;
    return this.buf.toString('latin1', s, s + n);
  }

  /** Whether field `i` holds exactly the bytes of the latin1 string `chars` (false for NULL). */
  equalsLatin1(i: number, chars: string): boolean {
    const n = this.len[i]!;
    if (n !== chars.length) return false;
    const buf = this.buf;
    const s = this.start[i]!;
    for (let k = 0; k < n; k++) if (buf[s + k] !== chars.charCodeAt(k)) return false;
    return true;
  }

  /** Whether field `i` holds exactly `bytes` (false for NULL). */
  equals(i: number, bytes: Uint8Array): boolean {
    const n = this.len[i]!;
    if (n !== bytes.length) return false;
    const buf = this.buf;
    const s = this.start[i]!;
    // Hashes are 32 bytes: a loop is cheaper than the native compare's call.
    for (let k = 0; k < n; k++) if (buf[s + k] !== bytes[k]) return false;
    return true;
  }
}

/**
 * Splits a binary COPY byte stream into tuples, whatever the chunk boundaries.
 *
 * @example
 * const parser = new CopyParser(3);
 * for await (const chunk of chunks) parser.push(chunk, (row) => console.log(row.int4(0)));
 * parser.end();
 */
export class CopyParser {
  readonly #row: CopyRow;
  #rest: Buffer | null = null;
  #headerDone = false;
  #ended = false;
  /** Tuples read so far. */
  rows = 0;

  constructor(fields: number) {
    this.#row = new CopyRow(fields);
  }

  /** Reads every complete tuple of `chunk` (after what is left of the previous one). */
  push(chunk: Uint8Array, onRow: (row: CopyRow) => void): void {
    let piece = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let at = 0;
    if (this.#rest !== null) {
      const rest = this.#rest;
      this.#rest = null;
      if (!this.#headerDone) {
        piece = Buffer.concat([rest, piece]);
      } else {
        // Join only the tuple that straddles the two chunks, not the whole chunk.
        const need = this.#completing(rest, piece);
        if (need < 0) {
          this.#rest = Buffer.concat([rest, piece]);
          return;
        }
        this.#tuples(Buffer.concat([rest, piece.subarray(0, need)]), 0, onRow);
        at = need;
      }
    }
    if (!this.#headerDone) {
      if (piece.length < HEADER_FIXED) {
        this.#rest = Buffer.from(piece);
        return;
      }
      if (piece.compare(SIGNATURE, 0, SIGNATURE.length, 0, SIGNATURE.length) !== 0)
        throw new Error('appendlog: not a binary COPY stream (bad signature)');
      const extension = piece.readUInt32BE(SIGNATURE.length + 4);
      if (piece.length < HEADER_FIXED + extension) {
        this.#rest = Buffer.from(piece);
        return;
      }
      at = HEADER_FIXED + extension;
      this.#headerDone = true;
    }
    at = this.#tuples(piece, at, onRow);
    // A copy: the chunk may be memory its driver reuses (PGlite's).
    if (at < piece.length) this.#rest = Buffer.from(piece.subarray(at));
  }

  /** Reads the complete tuples of `buf` from `at`; returns where the first incomplete one starts. */
  #tuples(buf: Buffer, at: number, onRow: (row: CopyRow) => void): number {
    const row = this.#row;
    const { start, len } = row;
    row.buf = buf;
    row.bytesView = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
    const size = buf.length;
    while (at + 2 <= size) {
      if (this.#ended) throw new Error('appendlog: bytes after the end of a binary COPY stream');
      const count = (buf[at]! << 8) | buf[at + 1]!;
      if (count === 0xffff) {
        this.#ended = true;
        at += 2;
        continue;
      }
      if (count !== row.fields)
        throw new Error(`appendlog: a COPY tuple has ${count} fields, expected ${row.fields}`);
      let p = at + 2;
      let complete = true;
      for (let i = 0; i < count; i++) {
        if (p + 4 > size) {
          complete = false;
          break;
        }
        const n = int32(buf, p);
        p += 4;
        start[i] = p;
        len[i] = n;
        if (n > 0) p += n;
        if (p > size) {
          complete = false;
          break;
        }
      }
      if (!complete) break;
      at = p;
      this.rows += 1;
      onRow(row);
    }
    if (this.#ended && at < size) throw new Error('appendlog: bytes after the end of a binary COPY stream');
    return at;
  }

  /**
   * How many bytes of `piece` complete the tuple (or trailer) that `rest` begins, or -1 when
   * `piece` does not hold them all.
   */
  #completing(rest: Buffer, piece: Buffer): number {
    const total = rest.length + piece.length;
    const byte = (i: number) => (i < rest.length ? rest[i]! : piece[i - rest.length]!);
    if (total < 2) return -1;
    const count = (byte(0) << 8) | byte(1);
    let p = 2;
    if (count !== 0xffff) {
      if (count !== this.#row.fields)
        throw new Error(`appendlog: a COPY tuple has ${count} fields, expected ${this.#row.fields}`);
      for (let i = 0; i < count; i++) {
        if (p + 4 > total) return -1;
        const n = ((byte(p) << 24) | (byte(p + 1) << 16) | (byte(p + 2) << 8) | byte(p + 3)) >> 0;
        p += 4 + Math.max(n, 0);
        if (p > total) return -1;
      }
    }
    return p - rest.length;
  }

  /** Checks that the stream ended where it should (the trailer, nothing left over). */
  end(): void {
    if (!this.#ended || this.#rest !== null)
      throw new Error('appendlog: a binary COPY stream ended in the middle of a tuple');
  }
}
