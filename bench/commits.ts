/**
 * Counts SQLite commits without touching src/: better-sqlite3 statements share one prototype, so
 * wrapping its `run` sees every `COMMIT` the backend's group commit executes (and better-sqlite3's
 * own transaction helper). Diagnostic only: it tells how many transitions each commit carried and
 * how long writes waited for one.
 */
import Database from "better-sqlite3";

export interface CommitWatch {
  /** `performance.now()` of each commit since the watch started. */
  readonly times: number[];
  stop(): void;
}

export function watchCommits(): CommitWatch {
  const probe = new Database(":memory:");
  const prototype = Object.getPrototypeOf(probe.prepare("SELECT 1")) as { run: (...args: unknown[]) => unknown };
  probe.close();
  const original = prototype.run;
  const times: number[] = [];
  prototype.run = function (this: { source: string }, ...args: unknown[]) {
    const result = original.apply(this, args);
    if (this.source === "COMMIT") times.push(performance.now());
    return result;
  };
  return {
    times,
    stop: () => {
      prototype.run = original;
    },
  };
}

/** The longest stretch in [start, end] without a commit, in ms. */
export function longestGap(times: readonly number[], start: number, end: number): number {
  let previous = start;
  let longest = 0;
  for (const time of [...times, end]) {
    longest = Math.max(longest, time - previous);
    previous = time;
  }
  return longest;
}
