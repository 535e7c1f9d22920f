/**
 * Retry backoff (SPEC §3 step 6): "full jitter" exponential backoff,
 * `random(0, min(cap, base * 2^retries))`, with base 1 s and cap 60 s.
 */

/** Upper bound of any retry delay, in seconds. */
export const BACKOFF_CAP_SECONDS = 60;
/** The base of the exponential, in seconds. */
export const BACKOFF_BASE_SECONDS = 1;

/**
 * Seconds to wait before retry number `retries` (the value the retried message carries).
 * `random` returns a number in [0, 1), like `Math.random`; it is a parameter so tests are exact.
 */
export function retryBackoffSeconds(retries: number, random: () => number): number {
  const ceiling = Math.min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** retries);
  return random() * ceiling;
}
