/**
 * Failed sign-ins, counted per key (a login, an address) over a sliding window: after `max`
 * failures within `windowMs`, that key is refused until its oldest failure leaves the window. In
 * memory, per process: enough for one server; several servers behind a balancer would keep the
 * counts in a shared store instead.
 */
export class FailureLimiter {
  readonly #failures = new Map<string, number[]>();

  constructor(
    readonly max: number,
    readonly windowMs: number,
  ) {}

  /** Milliseconds until `key` may try again, or 0 when it may now. */
  waitFor(key: string, now = Date.now()): number {
    const recent = this.#recent(key, now);
    return recent.length < this.max ? 0 : recent[0]! + this.windowMs - now;
  }

  fail(key: string, now = Date.now()): void {
    const recent = this.#recent(key, now);
    recent.push(now);
    this.#failures.set(key, recent);
    // Keep the map from growing without bound under a spray of distinct keys.
    if (this.#failures.size > 10_000) {
      for (const [k, times] of this.#failures)
        if (times.every((t) => t <= now - this.windowMs)) this.#failures.delete(k);
    }
  }

  succeed(key: string): void {
    this.#failures.delete(key);
  }

  #recent(key: string, now: number): number[] {
    return (this.#failures.get(key) ?? []).filter((t) => t > now - this.windowMs);
  }
}
