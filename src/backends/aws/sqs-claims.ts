/**
 * What one SQS consumer remembers about the messages it handled, in process:
 *
 * - claims: the latest receipt handle of each message it holds and until when (by the backend's
 *   clock), so a stale ack/extend/release (of a handle since re-delivered) is ignored, and so that
 *   under an injected clock claims expire by that clock rather than by SQS's real timer;
 * - hand-backs: how often a not-yet-due message was received and handed back, so the receive count
 *   it is finally delivered with counts deliveries only; under an injected clock a hand-back hides
 *   the message until a clock time, kept here as a claim that expires by that clock;
 * - native delays, under an injected clock only: SQS's `DelaySeconds` runs on real time, so a
 *   message sent here with a delay goes out without one, and this consumer hides it until the test
 *   clock reaches the time SQS would have made it visible; and since SQS's `SentTimestamp` is real
 *   time too, the clock time it was sent at, which its retention period counts from (`sent`).
 * - schedule marks (retry role): the latest schedule or removal of each `(correlationId, steps)`,
 *   so an entry that was replaced or removed is dropped when it is received.
 *
 * The schedule marks are a separate {@link ScheduleMarks} (the Kinesis and SNS sources use them too).
 * All of it is bounded (oldest entries are forgotten first) and none of it crosses processes;
 * docs/backends/sqs.md describes what that means.
 */
import type { ScheduleMark } from "./sqs-attributes.js";

const LIMIT = 10_000;

/** A held message. */
export interface Claim {
  readonly receiptHandle: string;
  /** Clock time (ms) the claim ends. */
  until: number;
  /** Whether the claim ended and the message was made visible again (injected clock). */
  expired: boolean;
}

function remember<K, V>(map: Map<K, V>, key: K, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > LIMIT) {
    const oldest = map.keys().next();
    if (!oldest.done) map.delete(oldest.value);
  }
}

/** The in-process memory of one consumer. */
export class ClaimBook {
  readonly #claims = new Map<string, Claim>();
  readonly #handBacks = new Map<string, number>();
  readonly #sent = new Map<string, { readonly sentAt: number; readonly visibleAt: number }>();

  /** Record that `messageId` is held with `receiptHandle` until `until`. */
  claim(messageId: string, receiptHandle: string, until: number): void {
    remember(this.#claims, messageId, { receiptHandle, until, expired: false });
  }

  /** The current claim of a message, if this consumer holds one. */
  get(messageId: string): Claim | undefined {
    return this.#claims.get(messageId);
  }

  /** Whether `receiptHandle` is no longer the latest handle of `messageId` known here. */
  isStale(messageId: string, receiptHandle: string): boolean {
    const claim = this.#claims.get(messageId);
    return claim !== undefined && claim.receiptHandle !== receiptHandle;
  }

  /** Claims that ended by `now` and were not expired yet. */
  *due(now: number): Generator<[string, Claim]> {
    for (const entry of this.#claims) if (!entry[1].expired && entry[1].until <= now) yield entry;
  }

  /** Forget a message (deleted or dead-lettered). */
  forget(messageId: string): void {
    this.#claims.delete(messageId);
    this.#handBacks.delete(messageId);
    this.#sent.delete(messageId);
  }

  /**
   * Count a hand-back of a not-yet-due message and hide it until `until` (clock ms): a claim that
   * no delivery holds, made visible again by the first receive after it ends (injected clock).
   */
  hide(messageId: string, receiptHandle: string, until: number): void {
    this.handBack(messageId);
    this.claim(messageId, receiptHandle, until);
  }

  /** Record that `messageId` was sent at `sentAt` with a native delay that ends at `visibleAt` (clock ms). */
  sent(messageId: string, sentAt: number, visibleAt: number): void {
    remember(this.#sent, messageId, { sentAt, visibleAt });
  }

  /** When a message sent here was sent and its native delay ends (clock ms), if it was sent with one. */
  sentHere(messageId: string): { readonly sentAt: number; readonly visibleAt: number } | undefined {
    return this.#sent.get(messageId);
  }

  /** Count a hand-back of a not-yet-due message. */
  handBack(messageId: string): void {
    remember(this.#handBacks, messageId, (this.#handBacks.get(messageId) ?? 0) + 1);
  }

  /** Hand-backs counted for a message. */
  handBacks(messageId: string): number {
    return this.#handBacks.get(messageId) ?? 0;
  }
}

/**
 * The latest schedule or removal of each retry key `(correlationId, steps)` seen by this process,
 * so a received retry entry that was replaced or removed since is dropped instead of delivered.
 */
export class ScheduleMarks {
  readonly #marks = new Map<string, ScheduleMark>();
  readonly #sentHere = new Set<string>();

  /** Record the latest schedule (or, with a fresh token, removal) of a retry key. */
  mark(key: string, mark: ScheduleMark): void {
    remember(this.#marks, key, mark);
  }

  /**
   * Whether an entry of `key` carrying `mark` was replaced or removed since: by this process
   * (another token of its own is the latest), or, for an entry sent elsewhere, by a later schedule
   * or removal here.
   */
  isSuperseded(key: string, mark: ScheduleMark | undefined): boolean {
    const latest = this.#marks.get(key);
    if (latest === undefined || mark === undefined) return false;
    if (latest.token === mark.token) return false;
    return this.#sentHere.has(mark.token) ? true : latest.at > mark.at;
  }

  /** Remember that this process sent the entry with `token`. */
  sent(token: string): void {
    this.#sentHere.add(token);
    if (this.#sentHere.size > LIMIT) {
      const oldest = this.#sentHere.values().next();
      if (!oldest.done) this.#sentHere.delete(oldest.value);
    }
  }

  /** Forget the mark of `key` when it is the one of `token` (its entry was acknowledged). */
  settled(key: string, token: string | undefined): void {
    if (token !== undefined && this.#marks.get(key)?.token === token) this.#marks.delete(key);
    if (token !== undefined) this.#sentHere.delete(token);
  }
}
