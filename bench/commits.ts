/** Helpers for the commit figures of the benchmark (commits are observed with SqliteDatabase.onCommit). */

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
