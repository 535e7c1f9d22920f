/**
 * The allowed range of every number in the settings and in backend URIs, checked when they are
 * read: an impossible number (`visibility_timeout: .inf`, `timeout_ms=1e12`) is one line naming the
 * key and its range, instead of a `TimeoutOverflowWarning` and a timer that fires at once, or a
 * claim that never comes back.
 */

/** Longest delay `setTimeout` keeps: 2^31-1 ms (about 24.8 days); a longer one fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
/** {@link MAX_TIMER_MS} in whole seconds. */
export const MAX_TIMER_SECONDS = Math.floor(MAX_TIMER_MS / 1000);

/** An inclusive range a number must lie in. */
export interface NumberRange {
  readonly min: number;
  readonly max: number;
  /** Only whole numbers. */
  readonly whole?: boolean | undefined;
  /** What the number counts (`seconds`, `milliseconds`), for the message. */
  readonly unit?: string | undefined;
  /** Where the maximum comes from, for the message. */
  readonly why?: string | undefined;
}

/** A port number. */
export const PORT_RANGE: NumberRange = { min: 1, max: 65_535, whole: true };
/** A timeout in milliseconds that becomes a timer. */
export const TIMER_MS_RANGE: NumberRange = { min: 1, max: MAX_TIMER_MS, whole: true, unit: "milliseconds", why: "the longest timer Node.js can set" };

/**
 * Undefined when `value` is a finite number within `range`, else the problem as the end of a
 * sentence: `must be a whole number of milliseconds from 1 to 2147483647 (…), got "0"`.
 * `shown` is how the input was written (default: the value itself).
 */
export function rangeProblem(value: unknown, range: NumberRange, shown?: string): string | undefined {
  if (
    typeof value === "number" &&
    Number.isFinite(value) &&
    value >= range.min &&
    value <= range.max &&
    (range.whole !== true || Number.isInteger(value))
  ) {
    return undefined;
  }
  const got = shown ?? (typeof value === "number" ? String(value) : JSON.stringify(value));
  return `must be ${describeRange(range)}, got ${got}`;
}

/** `a whole number of milliseconds from 1 to 2147483647 (the longest timer Node.js can set)`. */
export function describeRange(range: NumberRange): string {
  const what = `a ${range.whole === true ? "whole " : ""}number${range.unit === undefined ? "" : ` of ${range.unit}`}`;
  return `${what} from ${range.min} to ${range.max}${range.why === undefined ? "" : ` (${range.why})`}`;
}

/** A number written in a URI query (`"" ` and words are not numbers). */
export function parseNumber(text: string): number {
  return text.trim() === "" ? Number.NaN : Number(text);
}
