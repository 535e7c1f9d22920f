/** The error counters one message processing accumulates and emits once (SPEC §3 step 8). */
import type { ErrorCounter, ErrorCounters } from "../ports.js";

/** Counts errors by name, in the order they were first recorded. */
export class ErrorTally {
  /** Made at the first error: most processings record none. */
  #counts: Map<ErrorCounter, number> | undefined;

  record(name: ErrorCounter): void {
    this.#counts ??= new Map();
    this.#counts.set(name, (this.#counts.get(name) ?? 0) + 1);
  }

  get isEmpty(): boolean {
    return this.#counts === undefined;
  }

  toJSON(): ErrorCounters {
    return (this.#counts === undefined ? {} : Object.fromEntries(this.#counts)) as ErrorCounters;
  }
}
