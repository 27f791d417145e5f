import { randomFillSync } from 'node:crypto';

/** Random bytes drawn 4 KiB at a time: one call into the random source per 256 ids. */
const pool = Buffer.alloc(4096);
let used = pool.length;

/**
 * A new entry id: a UUID of version 7 (RFC 9562 §5.7), the Unix time in milliseconds in its first
 * 48 bits, then 74 random bits. Ids the library draws sort by creation time, so a new entry's
 * keys land at the right-hand end of the `entry_id` B-trees (the head's primary key, the log's
 * `(entry_id, version)` and `(entry_id, recorded_at)`) instead of on a random page of each, which
 * dirties (and after each checkpoint, writes whole to the WAL) far fewer pages per insert. The
 * millisecond an entry was created is readable from its id, as it is from its `created_at`.
 */
export function uuidv7(now: number = Date.now()): string {
  if (used === pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const b = pool.subarray(used, used + 16);
  used += 16;
  b.writeUIntBE(now, 0, 6);
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
