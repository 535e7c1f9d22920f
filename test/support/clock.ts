import type { Clock } from "../../src/ports.js";

/** A clock that moves only when a test moves it. */
export class TestClock implements Clock {
  #now: number;

  constructor(start = Date.UTC(2030, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  /** Move forward by `ms` milliseconds. */
  advance(ms: number): void {
    this.#now += ms;
  }
}
