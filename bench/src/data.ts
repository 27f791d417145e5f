import { column as c, table } from 'appendlog';

/** The user columns every contender stores: an address book entry. */
export const COLUMNS = ['name', 'address_line_1', 'city', 'postcode', 'tel'] as const;

/** The same columns as an appendlog table definition. */
export function itemsTable(name: string) {
  return table(name, {
    name: c.text().notNull(),
    addressLine1: c.text(),
    city: c.text(),
    postcode: c.text(),
    tel: c.text(),
  });
}
export type ItemsTable = ReturnType<typeof itemsTable>;

/** Row `n` as the library takes it. */
export function itemData(n: number) {
  return {
    name: `Person ${n}`,
    addressLine1: `${n} Main Street`,
    city: `City ${n % 97}`,
    postcode: `PC ${n}`,
    tel: `+47 555 ${n}`,
  };
}

/** Row `n` as positional SQL parameters, in {@link COLUMNS} order. */
export function itemParams(n: number): string[] {
  const d = itemData(n);
  return [d.name, d.addressLine1, d.city, d.postcode, d.tel];
}

/**
 * SQL expressions for set-based generation: entry number `e`, version number `g`. Only `city`
 * changes from version to version, as in the timed updates.
 */
export function generatedValues(e: string, g: string): string[] {
  return [
    `'Person ' || ${e}`,
    `${e} || ' Main Street'`,
    `'City ' || ${g}`,
    `'PC ' || ${e}`,
    `'+47 555 ' || ${e}`,
  ];
}

/** A moment in a table's history, exact to the microsecond. */
export interface Stamp {
  /** ISO 8601, UTC, microseconds. */
  iso: string;
}

/** `to_char` of a timestamptz into the {@link Stamp} format, immune to TimeZone. */
export function isoSql(expr: string): string {
  return `to_char((${expr}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

/** A quoted identifier (bench names are generated, but quote anyway). */
export function qi(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Deterministic pseudo-random numbers (mulberry32), so runs pick the same entries. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `xs` rotated left by `by`: the order of contenders in round `by`. */
export function rotate<T>(xs: readonly T[], by: number): T[] {
  const k = ((by % xs.length) + xs.length) % xs.length;
  return [...xs.slice(k), ...xs.slice(0, k)];
}
