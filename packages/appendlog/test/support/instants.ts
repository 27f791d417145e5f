/**
 * `iso` (a `recordedAtIso`: UTC, six fractional digits, `Z`) moved by `deltaMicros`
 * microseconds, in the same canonical form, so instants compare as strings.
 */
export function shiftIso(iso: string, deltaMicros: number): string {
  const micros =
    BigInt(Date.parse(`${iso.slice(0, 19)}Z`)) * 1000n + BigInt(iso.slice(20, 26)) + BigInt(deltaMicros);
  const ms = micros / 1000n;
  return `${new Date(Number(ms)).toISOString().slice(0, 19)}.${String(micros % 1_000_000n).padStart(6, '0')}Z`;
}

/**
 * Waits until the clock is past the millisecond of `iso`, so that the next write cannot share its
 * time (PGlite's clock ticks in milliseconds; across entries, equal times are allowed).
 */
export async function clockPast(iso: string): Promise<void> {
  while (Date.now() <= Date.parse(iso)) await new Promise((resolve) => setTimeout(resolve, 1));
}
