/**
 * PostgreSQL sends a timestamptz in binary as microseconds since 2000-01-01 00:00:00 UTC (a
 * signed 64-bit integer; its extremes are -infinity and infinity). These turn that into the
 * spec's canonical text, `YYYY-MM-DDTHH:MM:SS.ffffffZ` (docs/spec.md §2), the same text
 * `canonicalTimestamp` makes of PostgreSQL's ISO output in UTC.
 */

const MICROS_PER_DAY = 86_400_000_000;
/** Days from 1970-01-01 to 2000-01-01. */
const EPOCH_2000_DAYS = 10_957;
const INFINITY = 0x7fffffffffffffffn;
const MINUS_INFINITY = -0x8000000000000000n;

const two = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** Year, month, day of a day count from 1970-01-01 (proleptic Gregorian; H. Hinnant's algorithm). */
function civil(days: number): [number, number, number] {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

/**
 * The canonical text of a timestamptz given in microseconds since 2000-01-01 UTC (a number only
 * within ±2^53; past that, the bigint). Values PostgreSQL prints in another form (infinities,
 * years before 1 AD) come out as PostgreSQL's own ISO text, which is not canonical and so can
 * never match a hash: the same outcome as reading them as text.
 */
export function canonicalFromMicros(micros: bigint | number): string {
  let n: number;
  if (typeof micros === 'bigint') {
    if (micros === INFINITY) return 'infinity';
    if (micros === MINUS_INFINITY) return '-infinity';
    n = Number(micros);
    if (!Number.isSafeInteger(n)) {
      const perDay = BigInt(MICROS_PER_DAY);
      let d = micros / perDay;
      if (micros % perDay < 0n) d -= 1n;
      return format(Number(d), Number(micros - d * perDay));
    }
  } else {
    if (!Number.isSafeInteger(micros)) throw new RangeError(`not a safe integer of microseconds: ${micros}`);
    n = micros;
  }
  const days = Math.floor(n / MICROS_PER_DAY);
  return format(days, n - days * MICROS_PER_DAY);
}

function format(days: number, inDay: number): string {
  if (days === cachedDays) return `${cachedDate}${timeOfDay(inDay)}`;
  const [y, mo, d] = civil(days + EPOCH_2000_DAYS);
  if (y < 1) return beforeChrist(y, mo, d, inDay);
  cachedDays = days;
  cachedDate = `${String(y).padStart(4, '0')}-${two(mo)}-${two(d)}T`;
  return `${cachedDate}${timeOfDay(inDay)}`;
}

/** The last day formatted: versions read in a row are mostly from the same day. */
let cachedDays = Number.NaN;
let cachedDate = '';

/** Bytes of `YYYY-MM-DDTHH:MM:SS.ffffffZ`. */
export const CANONICAL_TIMESTAMP_BYTES = 27;
const ZERO = 48;
/**
 * `YYYY-MM-DDT` of recent days, in 64 slots by day number: a row's timestamps are often of a few
 * days (its own time, a date column), so one remembered day would be replaced at every call.
 */
const slotDays = new Float64Array(64).fill(Number.NaN);
const slotBytes = new Uint8Array(64 * 11);

/**
 * Writes the canonical text of `micros` (a safe integer) as ASCII bytes at `out[at]` when it has
 * the usual 27 (years 1 to 9999); returns false, writing nothing, otherwise (and for numbers past
 * ±2^53, which are not exact). Same text as {@link canonicalFromMicros}, without making a string.
 */
export function writeCanonical(micros: number, out: Uint8Array, at: number): boolean {
  if (!Number.isSafeInteger(micros)) return false;
  const days = Math.floor(micros / MICROS_PER_DAY);
  const slot = days & 63;
  const from = slot * 11;
  if (slotDays[slot] !== days) {
    const [y, mo, d] = civil(days + EPOCH_2000_DAYS);
    if (y < 1 || y > 9999) return false;
    const text = `${String(y).padStart(4, '0')}-${two(mo)}-${two(d)}T`;
    for (let i = 0; i < 11; i++) slotBytes[from + i] = text.charCodeAt(i);
    slotDays[slot] = days;
  }
  for (let i = 0; i < 11; i++) out[at + i] = slotBytes[from + i]!;
  // Below 2^31 from here on: integer arithmetic.
  const inDay = micros - days * MICROS_PER_DAY;
  let frac = inDay % 1_000_000;
  const secs = (inDay - frac) / 1_000_000;
  let p = at + 26;
  out[p--] = 90; // Z
  for (let i = 0; i < 6; i++) {
    const q = (frac / 10) | 0;
    out[p--] = ZERO + frac - q * 10;
    frac = q;
  }
  out[p--] = 46; // .
  const s = secs % 60;
  const m = ((secs / 60) | 0) % 60;
  const h = (secs / 3600) | 0;
  out[p--] = ZERO + (s % 10);
  out[p--] = ZERO + ((s / 10) | 0);
  out[p--] = 58; // :
  out[p--] = ZERO + (m % 10);
  out[p--] = ZERO + ((m / 10) | 0);
  out[p--] = 58;
  out[p--] = ZERO + (h % 10);
  out[p] = ZERO + ((h / 10) | 0);
  return true;
}

/** `HH:MM:SS.ffffffZ` of microseconds into a day. */
function timeOfDay(inDay: number): string {
  const secs = Math.floor(inDay / 1_000_000);
  const frac = inDay - secs * 1_000_000;
  return `${two(Math.floor(secs / 3600))}:${two(Math.floor(secs / 60) % 60)}:${two(secs % 60)}.${String(frac).padStart(6, '0')}Z`;
}

/** PostgreSQL's own text for years before 1 AD: `0044-03-15 12:00:00.5+00 BC` (year 0 is 1 BC). */
function beforeChrist(y: number, mo: number, d: number, inDay: number): string {
  const secs = Math.floor(inDay / 1_000_000);
  const frac = inDay - secs * 1_000_000;
  const time = `${two(Math.floor(secs / 3600))}:${two(Math.floor(secs / 60) % 60)}:${two(secs % 60)}`;
  const fraction = frac === 0 ? '' : `.${String(frac).padStart(6, '0').replace(/0+$/, '')}`;
  return `${String(1 - y).padStart(4, '0')}-${two(mo)}-${two(d)} ${time}${fraction}+00 BC`;
}
