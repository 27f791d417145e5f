/** Summary of one cell's samples (one sample per measured round). */
export interface Summary {
  median: number;
  min: number;
  max: number;
  /** Half the range, relative to the median: the "±" shown in tables. */
  spread: number;
  samples: number[];
}

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const median = quantile(sorted, 0.5);
  const min = sorted[0] ?? Number.NaN;
  const max = sorted[sorted.length - 1] ?? Number.NaN;
  return { median, min, max, spread: median > 0 ? (max - min) / 2 / median : 0, samples: [...samples] };
}

/**
 * Runs `op` for each item in turn (a, b, c, a, b, c …) for at least `ms` and `minOps` rounds;
 * returns each item's median latency in microseconds. Interleaving operation by operation puts
 * every contender under the same machine conditions; the median, not the mean, keeps one stall
 * of another process from deciding the result.
 */
export async function timeInterleaved<T>(
  items: readonly T[],
  ms: number,
  minOps: number,
  op: (item: T) => Promise<unknown>,
): Promise<number[]> {
  const times = items.map(() => [] as number[]);
  const end = performance.now() + ms;
  for (let n = 0; n < minOps || performance.now() < end; n++) {
    for (const [k, item] of items.entries()) {
      const t0 = performance.now();
      await op(item);
      times[k]!.push((performance.now() - t0) * 1000);
    }
  }
  return times.map((t) =>
    quantile(
      t.sort((a, b) => a - b),
      0.5,
    ),
  );
}

/** Runs `clients` workers concurrently for `ms`; returns operations per second, all workers together. */
export async function timeThroughput(
  ms: number,
  clients: number,
  op: (worker: number, i: number) => Promise<unknown>,
): Promise<number> {
  const start = performance.now();
  const end = start + ms;
  let total = 0;
  await Promise.all(
    Array.from({ length: clients }, async (_, w) => {
      let i = 0;
      while (performance.now() < end) {
        await op(w, i++);
        total++;
      }
    }),
  );
  return (total * 1000) / (performance.now() - start);
}
