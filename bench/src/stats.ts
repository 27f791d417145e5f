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

/** Runs `op` sequentially for at least `ms` and `minOps` operations; returns microseconds per operation. */
export async function timeLatency(
  ms: number,
  minOps: number,
  op: (i: number) => Promise<unknown>,
): Promise<number> {
  const start = performance.now();
  const end = start + ms;
  let n = 0;
  while (n < minOps || performance.now() < end) {
    await op(n);
    n++;
  }
  return ((performance.now() - start) * 1000) / n;
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
