/** The error counters one message processing accumulates and emits once (SPEC §3 step 8). */
import type { ErrorCounter, ErrorCounters } from "../ports.js";

/** Counts errors by name, in the order they were first recorded. */
export class ErrorTally {
  readonly #counts = new Map<ErrorCounter, number>();

  record(name: ErrorCounter): void {
    this.#counts.set(name, (this.#counts.get(name) ?? 0) + 1);
  }

  get isEmpty(): boolean {
    return this.#counts.size === 0;
  }

  toJSON(): ErrorCounters {
    return Object.fromEntries(this.#counts) as ErrorCounters;
  }
}
