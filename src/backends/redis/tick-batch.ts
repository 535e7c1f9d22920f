/**
 * Calls made in one turn of the event loop, sent to Redis together as one script call. The worker
 * extends the claims of all its in-flight messages in one synchronous sweep; each of those calls
 * joins the batch, which is flushed in a microtask once the sweep is done, so a source pays one round
 * trip (and one script) for all of them instead of one per message.
 */

/** How many items one script call carries at most; larger batches are split. */
export const TICK_BATCH_MAX = 500;

interface Waiting<T> {
  readonly item: T;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** Collects items until the current turn ends, then hands them to `flush`, in chunks of `max`. */
export class TickBatch<T> {
  readonly #flush: (items: readonly T[]) => Promise<unknown>;
  readonly #max: number;
  #waiting: Waiting<T>[] = [];

  constructor(flush: (items: readonly T[]) => Promise<unknown>, max = TICK_BATCH_MAX) {
    this.#flush = flush;
    this.#max = max;
  }

  /** Resolves once the call carrying `item` has succeeded; rejects with that call's error. */
  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.#waiting.length === 0) queueMicrotask(() => this.#send());
      this.#waiting.push({ item, resolve, reject });
    });
  }

  #send(): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (let start = 0; start < waiting.length; start += this.#max) {
      const chunk = waiting.slice(start, start + this.#max);
      this.#flush(chunk.map((w) => w.item)).then(
        () => {
          for (const w of chunk) w.resolve();
        },
        (error: unknown) => {
          for (const w of chunk) w.reject(error);
        },
      );
    }
  }
}
