import type { Clock } from "../../src/ports.js";

/**
 * A clock that moves only when a test moves it: by {@link advance}, or by the time code under test
 * sleeps. A sleep takes no real time: it moves the clock forward by its length and runs the
 * callbacks scheduled with {@link after} whose time has come, so a test can make something happen
 * while the engine waits (a lease released during its hand-over wait).
 */
export class TestClock implements Clock {
  #now: number;
  readonly #scheduled: Array<{ readonly at: number; readonly callback: () => unknown }> = [];

  constructor(start = Date.UTC(2030, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  /** Move forward by `ms` milliseconds (scheduled callbacks wait for the next sleep). */
  advance(ms: number): void {
    this.#now += ms;
  }

  /** Let `ms` pass on this clock, at once, and run (and await) the callbacks now due, in time order. */
  async sleep(ms: number): Promise<void> {
    this.#now += ms;
    this.#scheduled.sort((a, b) => a.at - b.at);
    while (this.#scheduled.length > 0 && (this.#scheduled[0]?.at ?? Number.POSITIVE_INFINITY) <= this.#now) {
      await this.#scheduled.shift()?.callback();
    }
  }

  /** Run `callback` in the first sleep that reaches `ms` from now. */
  after(ms: number, callback: () => unknown): void {
    this.#scheduled.push({ at: this.#now + ms, callback });
  }
}
