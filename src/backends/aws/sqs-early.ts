/**
 * What an SQS consumer does with a message it receives before its due time (a delay longer than
 * SQS's 900 s `DelaySeconds`, e.g. a 48 h timer). Pure: the clock and the message come in.
 *
 * - More than 900 s left: **hold** it, by its visibility timeout, until 900 s are left, at most
 *   {@link SQS_MAX_HOLD_SECONDS} (11 h 45 min) at a time. SQS caps a message's visibility at 12 h
 *   from the receive that returned it, time already spent included, and rejects a longer one; the
 *   quarter of an hour kept back covers the time between Lambda's receive and the handler's hold
 *   (a batching window is at most 5 min).
 * - 900 s or less left: **replace** it by a copy (same body, same attributes, so the same due time
 *   and schedule mark) sent with the time left as its native delay, and delete it. The copy
 *   reaches a consumer when due, as a new message: its receive count counts its own deliveries,
 *   not the hand-backs of the original. That is what keeps a long timer from looking like a poison
 *   message (`max_receive_count`) however many consumers handed it back, and across restarts.
 *
 * - A held message that SQS would delete before its next receive (a standard queue expires a
 *   message by its first enqueue time, after the queue's `MessageRetentionPeriod`: 4 days unless
 *   set, at most 14) is **renewed**: replaced by a copy delayed 900 s, which starts a retention
 *   period of its own. Without it, a timer longer than the retention period would be lost.
 *
 * A 48 h delay therefore costs 5 holds and 1 copy: the original is received 6 times (at 900 s,
 * then every 11 h 45 min, the last hold shorter, and once more with 900 s left), the copy once
 * ({@link timerCost}).
 */
import { SQS_MAX_DELAY_SECONDS, SQS_MAX_VISIBILITY_SECONDS } from "./limits.js";

/** Kept back from SQS's 12 h visibility cap: Lambda receives a record before the handler holds it. */
const HOLD_RESERVE_SECONDS = 900;
/** Longest hold of a not-yet-due message, seconds (11 h 45 min). */
export const SQS_MAX_HOLD_SECONDS = SQS_MAX_VISIBILITY_SECONDS - HOLD_RESERVE_SECONDS;
/** A held message is renewed at least this long before SQS's retention would delete it, seconds. */
const RENEW_RESERVE_SECONDS = 3600;
/** SQS's `MessageRetentionPeriod` when a queue does not set one (4 days), seconds. */
export const SQS_DEFAULT_RETENTION_SECONDS = 345_600;
/** Clock difference tolerated between SQS's `SentTimestamp` and the backend's clock, seconds. */
const SKEW_SECONDS = 60;
/** The longest delay a timer can have (365 days) and then some: a longer one is not ours to count. */
const LONGEST_DELAY_SECONDS = 366 * 86_400;

/** What to do with a message received before it is due. */
export type EarlyPlan =
  /** Hide it for `seconds` (its visibility timeout); it is received again then. */
  | { readonly kind: "hold"; readonly seconds: number }
  /** Send a copy with `delaySeconds` of native delay, then delete it. */
  | { readonly kind: "replace"; readonly delaySeconds: number };

/**
 * The plan for a message received `remainingSeconds` (whole seconds, rounded up) before its due
 * time, which SQS keeps `lifeLeftSeconds` more before its retention period deletes it (less the
 * reserve: {@link lifeLeft}; unknown: Infinity).
 *
 * @example
 * ```ts
 * planEarly(171_900);         // {kind: "hold", seconds: 42_300}
 * planEarly(2_700);           // {kind: "hold", seconds: 1_800}
 * planEarly(900);             // {kind: "replace", delaySeconds: 900}
 * planEarly(171_900, 10_000); // {kind: "replace", delaySeconds: 900}: renewed before SQS deletes it
 * ```
 */
export function planEarly(remainingSeconds: number, lifeLeftSeconds = Number.POSITIVE_INFINITY): EarlyPlan {
  if (remainingSeconds <= SQS_MAX_DELAY_SECONDS) return { kind: "replace", delaySeconds: Math.max(0, Math.ceil(remainingSeconds)) };
  const hold = Math.min(SQS_MAX_HOLD_SECONDS, remainingSeconds - SQS_MAX_DELAY_SECONDS);
  if (hold > lifeLeftSeconds) return { kind: "replace", delaySeconds: SQS_MAX_DELAY_SECONDS };
  return { kind: "hold", seconds: hold };
}

/**
 * How long a message SQS enqueued at `sentAt` (ms) may still be held at `now` (ms) before a queue
 * with `retentionSeconds` deletes it, less a reserve of an hour for the receive that renews it.
 */
export function lifeLeft(now: number, sentAt: number, retentionSeconds: number): number {
  return retentionSeconds - (now - sentAt) / 1000 - RENEW_RESERVE_SECONDS;
}

/** What a delay costs on an SQS queue when consumers receive each message as soon as it is visible. */
export interface TimerCost {
  /** Hand-backs by visibility timeout (ChangeMessageVisibility). */
  readonly holds: number;
  /** Copies sent in place of a received message: the last 900 s, and each renewal (SendMessage + DeleteMessage each). */
  readonly copies: number;
  /** Times a consumer receives the message or a copy of it, the delivery when due included. */
  readonly receives: number;
}

/**
 * Play {@link planEarly} for a message sent with `delaySeconds` to a queue that keeps messages
 * `retentionSeconds`: the figures docs/runtimes/lambda.md gives (48 h: 5 holds, 1 copy, 7 receives).
 */
export function timerCost(delaySeconds: number, retentionSeconds = SQS_DEFAULT_RETENTION_SECONDS): TimerCost {
  let holds = 0;
  let copies = 0;
  let receives = 1;
  let now = Math.min(SQS_MAX_DELAY_SECONDS, delaySeconds);
  let sentAt = 0;
  while (now < delaySeconds) {
    receives++;
    const plan = planEarly(Math.ceil(delaySeconds - now), lifeLeft(now * 1000, sentAt * 1000, retentionSeconds));
    if (plan.kind === "hold") {
      holds++;
      now += plan.seconds;
    } else {
      copies++;
      sentAt = now;
      now += plan.delaySeconds;
    }
  }
  return { holds, copies, receives };
}

/**
 * How many times {@link planEarly} holds a message sent with a delay of `delaySeconds` before it
 * is replaced, when consumers receive it as soon as it is visible: 0 up to 1800 s (received once at
 * 900 s and replaced), then one per 11 h 45 min beyond. 48 h: 5. 30 days: 62.
 */
export function holdsFor(delaySeconds: number): number {
  return Math.max(0, Math.ceil((delaySeconds - 2 * SQS_MAX_DELAY_SECONDS) / SQS_MAX_HOLD_SECONDS));
}

/**
 * Receives a message delivered when due may already have had before it was due, which its
 * `ApproximateReceiveCount` includes but which were hand-backs, not deliveries: the holds of a
 * message whose delay (due time minus SQS's `SentTimestamp`, both ms) was longer than SQS could
 * delay it, and that no consumer replaced in its last 900 s (consumers stopped then). 0 for a copy
 * and for any message SQS delayed natively. Assumes the system clock (SQS's timestamps are real
 * time); a delay beyond a year is treated as unknown (0).
 */
export function holdsBeforeDue(due: number, sentAt: number): number {
  const delaySeconds = (due - sentAt) / 1000;
  if (!(delaySeconds > SQS_MAX_DELAY_SECONDS + SKEW_SECONDS) || delaySeconds > LONGEST_DELAY_SECONDS) return 0;
  return holdsFor(delaySeconds);
}
