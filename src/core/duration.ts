/**
 * Durations of timer transitions (`after: 48h`, SPEC §9): a positive whole number and one unit.
 * One unit and no fractions keep the written form exact and comparable: `90s`, `15m`, `48h`, `30d`.
 */
import { MAX_DELAY_SECONDS } from "./message.js";

/** A duration as written: a positive whole number followed by `s`, `m`, `h` or `d`. */
export type Duration = `${number}${"s" | "m" | "h" | "d"}`;

/** Seconds per duration unit. */
export const DURATION_UNITS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

/** The longest timer a definition may set: 365 days, the longest delay a message may ask for. */
export const MAX_DURATION_SECONDS = MAX_DELAY_SECONDS;

const DURATION = /^(\d+)([smhd])$/;

/**
 * The seconds of a duration, or the problem as the end of a sentence:
 * `must be a duration like 90s, 15m, 48h or 30d, got "2 days"`.
 *
 * @example
 * ```ts
 * parseDuration("48h"); // { seconds: 172800 }
 * ```
 */
export function parseDuration(value: unknown): { seconds: number; problem?: undefined } | { seconds?: undefined; problem: string } {
  const got = typeof value === "number" ? String(value) : (JSON.stringify(value) ?? String(value));
  const match = typeof value === "string" ? DURATION.exec(value) : null;
  if (match === null) return { problem: `must be a duration like 90s, 15m, 48h or 30d, got ${got}` };
  const seconds = Number(match[1]) * DURATION_UNITS[match[2] as keyof typeof DURATION_UNITS];
  if (seconds === 0) return { problem: `must be a positive duration like 90s, 15m, 48h or 30d, got ${got}` };
  if (seconds > MAX_DURATION_SECONDS) return { problem: `must be at most 365d, got ${got}` };
  return { seconds };
}
