/**
 * What a feed loop sleeps on between reads: a timer, cut short by a notification or by `stop`. A
 * notification that arrives while the loop is reading is kept, so the next sleep returns at once
 * and no wake-up falls between a read and the sleep after it.
 */
export class Waker {
  #pending = false;
  #wake: (() => void) | undefined;

  /** A notification (or a stop): the current or next sleep ends now. */
  notify(): void {
    this.#pending = true;
    this.#wake?.();
  }

  /** Sleeps `ms`, or less if notified; says whether a notification ended it. */
  async sleep(ms: number): Promise<boolean> {
    if (!this.#pending) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, ms);
        const wake = this;
        function done() {
          clearTimeout(timer);
          wake.#wake = undefined;
          resolve();
        }
        this.#wake = done;
      });
    }
    const notified = this.#pending;
    this.#pending = false;
    return notified;
  }
}
