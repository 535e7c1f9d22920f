/** An idle wait between polls that {@link Pause.wake} cuts short (a stop, or news of work). */
export class Pause {
  #wake: (() => void) | undefined;

  /** Wait `ms`, or until woken, whichever comes first. */
  for(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    }).finally(() => {
      this.#wake = undefined;
    });
  }

  /** End the current wait now; nothing when none is running. */
  wake(): void {
    this.#wake?.();
  }
}
