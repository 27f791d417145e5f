import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { canonicalTimestamp } from '../src/hash/spec.js';
import type { Database } from '../src/index.js';
import { CopyParser, type CopyRow } from '../src/integrity/copy-format.js';
import { Preimage } from '../src/integrity/hasher.js';
import { CANONICAL_TIMESTAMP_BYTES, canonicalFromMicros, writeCanonical } from '../src/integrity/pg-time.js';
import { describeEngines, type TestDb } from './support/engines.js';

/** The whole binary COPY of `select`, as the verifier receives it. */
async function copyBytes(db: Database, select: string): Promise<Buffer> {
  return db.snapshot(async (tx) => {
    const chunks: Uint8Array[] = [];
    await tx.copyBinary(select, (chunk) => chunks.push(Buffer.from(chunk)));
    return Buffer.concat(chunks);
  });
}

/** Parses `bytes` fed in the given chunk sizes; each row as [text of field 0, field 1 hex, int4 of 2, int8 of 3]. */
function parse(bytes: Buffer, fields: number, cuts: number[]): unknown[][] {
  const parser = new CopyParser(fields);
  const rows: unknown[][] = [];
  const onRow = (r: CopyRow) =>
    rows.push([
      r.text(0),
      r.bytes(1)?.toString('hex') ?? null,
      r.isNull(2) ? null : r.int4(2),
      r.isNull(3) ? null : r.int8(3),
    ]);
  let at = 0;
  for (const cut of cuts) {
    parser.push(bytes.subarray(at, Math.min(bytes.length, at + cut)), onRow);
    at = Math.min(bytes.length, at + cut);
  }
  parser.push(bytes.subarray(at), onRow);
  parser.end();
  return rows;
}

/** Micros since 2000-01-01 UTC and PostgreSQL's text of each timestamp, read exactly. */
async function pgTimes(db: Database, texts: string[]): Promise<{ micros: bigint; text: string }[]> {
  return db.transaction(async (tx) => {
    await tx.query(`SET LOCAL TimeZone = 'UTC'`);
    await tx.query(`SET LOCAL DateStyle = 'ISO, YMD'`);
    const rows = await tx.query<{ us: string | null; text: string }>(
      `SELECT t::text AS text,
              CASE WHEN isfinite(t) THEN (extract(epoch FROM t) * 1000000 - 946684800000000)::bigint::text END AS us
         FROM unnest($1::timestamptz[]) t`,
      [texts],
    );
    return rows.map((r) => ({
      text: r.text,
      micros:
        r.us === null ? (r.text === 'infinity' ? 0x7fffffffffffffffn : -0x8000000000000000n) : BigInt(r.us),
    }));
  });
}

describeEngines('binary COPY and timestamps', (engine) => {
  let t: TestDb;
  let db: Database;

  beforeAll(async () => {
    t = await engine.open();
    db = t.db;
  });
  afterAll(() => t.close());

  it('reads every tuple of a real binary COPY, whatever the chunk boundaries', async () => {
    const select = `SELECT CASE WHEN i % 5 = 0 THEN NULL ELSE repeat('é', i % 7) || i END,
                           CASE WHEN i % 4 = 0 THEN NULL ELSE sha256(int4send(i)) END,
                           CASE WHEN i % 6 = 0 THEN NULL ELSE i - 20 END,
                           (i::bigint - 20) * 4294967311
                      FROM generate_series(1, 40) i ORDER BY i`;
    const bytes = await copyBytes(db, select);
    const expected = (
      await db.query<{ a: string | null; b: string | null; c: number | null; d: string }>(
        `SELECT a, encode(b, 'hex') AS b, c, d::text AS d FROM (${select}) s(a, b, c, d)`,
      )
    ).map((r) => [r.a, r.b, r.c, BigInt(r.d)]);
    expect(parse(bytes, 4, [])).toEqual(expected);
    // Every split into two chunks, and byte by byte.
    for (let cut = 0; cut <= bytes.length; cut += 1) expect(parse(bytes, 4, [cut])).toEqual(expected);
    expect(parse(bytes, 4, new Array(bytes.length).fill(1))).toEqual(expected);
  });

  it('a COPY that fails halfway rejects with the database error, and the database stays usable', async () => {
    // Rows 1 and 2 are sent before row 3 divides by zero.
    const select = 'SELECT 10 / (3 - i) FROM generate_series(1, 5) i';
    await expect(db.snapshot((tx) => tx.copyBinary(select, () => {}))).rejects.toMatchObject({
      code: '22012',
      message: 'division by zero',
    });
    // A callback that throws stops the COPY the same way: its own error, nothing else.
    const stop = new Error('enough');
    await expect(
      db.snapshot((tx) =>
        tx.copyBinary('SELECT i FROM generate_series(1, 100000) i', () => {
          throw stop;
        }),
      ),
    ).rejects.toBe(stop);
    expect(parse(await copyBytes(db, `SELECT 'still here', NULL::bytea, 7, 8::bigint`), 4, [])).toEqual([
      ['still here', null, 7, 8n],
    ]);
  });

  it('refuses a stream that is not binary COPY, has the wrong field count or stops halfway', async () => {
    const bytes = await copyBytes(db, 'SELECT 1, 2');
    expect(() => new CopyParser(2).push(Buffer.from('PGCOPY\nnot really a copy stream'), () => {})).toThrow(
      /bad signature/,
    );
    expect(() => new CopyParser(3).push(bytes, () => {})).toThrow(/2 fields, expected 3/);
    const cut = new CopyParser(2);
    cut.push(bytes.subarray(0, bytes.length - 3), () => {});
    expect(() => cut.end()).toThrow(/middle of a tuple/);
  });

  it('formats microseconds exactly as the canonical form of PostgreSQL text output', async () => {
    const edges = [
      '2000-01-01 00:00:00+00',
      '1999-12-31 23:59:59.999999+00',
      '0001-01-01 00:00:00+00',
      '9999-12-31 23:59:59.999999+00',
      '1582-10-15 12:00:00.5+00',
      '1900-02-28 23:59:59.000001+00',
      '2024-02-29 12:34:56.789+00',
      '2100-03-01 00:00:00.000010+00',
      '1970-01-01 00:00:00+00',
    ];
    const random = fc.sample(
      fc.date({
        min: new Date('0001-01-01T00:00:00Z'),
        max: new Date('9999-12-31T23:59:59Z'),
        noInvalidDate: true,
      }),
      { numRuns: 300, seed: 20261126 },
    );
    const texts = [
      ...edges,
      ...random.map(
        (d, i) => `${d.toISOString().replace('T', ' ').slice(0, 23)}${String(i % 1000).padStart(3, '0')}+00`,
      ),
    ];
    const out = Buffer.alloc(CANONICAL_TIMESTAMP_BYTES);
    let safe = 0;
    let written = 0;
    const times = await pgTimes(db, texts);
    for (const { micros, text } of times) {
      const canonical = canonicalTimestamp(text);
      expect(canonicalFromMicros(micros), text).toBe(canonical);
      // Numbers are exact within ±2^53 microseconds of 2000 (about 1715 to 2285), bigints beyond.
      if (Number.isSafeInteger(Number(micros))) {
        expect(canonicalFromMicros(Number(micros)), text).toBe(canonical);
        expect(writeCanonical(Number(micros), out, 0), text).toBe(true);
        expect(out.toString('latin1'), text).toBe(canonical);
        safe += 1;
      } else {
        expect(writeCanonical(Number(micros), out, 0), text).toBe(false);
      }
      // The verifier's preimage writer gives F(canonical) either way.
      written +=
        new Preimage()
          .timestamp(Number.isSafeInteger(Number(micros)) ? Number(micros) : micros)
          .digestLatin1() === new Preimage().text(canonical).digestLatin1()
          ? 1
          : 0;
    }
    expect(written).toBe(times.length);
    expect(safe).toBeGreaterThan(edges.length - 3);
  });

  it('gives values with another form (BC, infinities) PostgreSQL’s own text, never a canonical one', async () => {
    const out = Buffer.alloc(CANONICAL_TIMESTAMP_BYTES);
    for (const { micros, text } of await pgTimes(db, [
      '0044-03-15 12:00:00.5+00 BC',
      '0001-12-31 23:59:59+00 BC',
      'infinity',
      '-infinity',
    ])) {
      expect(canonicalFromMicros(micros)).toBe(text);
      expect(writeCanonical(Number(micros), out, 0)).toBe(false);
    }
  });
});
