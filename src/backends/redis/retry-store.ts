/**
 * The `retry` role on Redis: one entry per `(correlationId, steps)` in a sorted set scored by its
 * due time (by the injected clock), with its body, claim token and receive count in hashes. A
 * receive claims due entries by moving their score to the claim deadline and stamping a fresh
 * token, so an entry whose claim expired is simply due again. Scheduling replaces the step's
 * earlier entry and clears its token: the ack of the replaced entry cannot delete the new one.
 * The extends of one turn of the event loop go out as one script call.
 */
import { randomUUID } from "node:crypto";
import type { Delivery, MessageSource, OutgoingMessage, Receipt, ReceiveOptions, RetryPort, Side } from "../../ports.js";
import { refuseInstanceFilter } from "../unfiltered.js";
import type { RedisConnection } from "./connection.js";
import { retryKeys } from "./keys.js";
import type { RedisPortOptions } from "./port-options.js";
import { TickBatch } from "./tick-batch.js";

/** A retry delivery's handle: its step's entry and claim token. */
export interface RetryHandle {
  readonly correlationId: string;
  readonly steps: number;
  readonly token: string;
}

/** One claim to extend: its member, claim token and new deadline (ms). */
type Extension = readonly [member: string, token: string, until: number];

/** The sorted-set member of a step's entry. */
export const member = (correlationId: string, steps: number) => `${steps}:${correlationId}`;

/** The arguments of `syRetrySchedule`: member, correlation id, body, due time by `now`. */
export function retryScheduleArgs(message: OutgoingMessage, now: number): (string | number)[] {
  const { correlationId, steps } = message;
  return [member(correlationId, steps), correlationId, message.body, now + Math.max(0, message.delaySeconds) * 1000];
}

/** The receipt of a scheduled entry, over the retry store's keys. */
export function retryReceipt(keys: readonly string[], correlationId: string, steps: number): Receipt {
  return { retry: keys[0], correlation_id: correlationId, steps };
}

/** Retry port and message source over one prefix's retry keys. */
export class RedisRetryStore implements RetryPort, MessageSource {
  readonly uri: string;
  readonly role = "retry" as const;
  readonly side: Side;
  readonly #options: RedisPortOptions;
  readonly #connection: RedisConnection;
  readonly #keys: readonly string[];
  readonly #extensions = new TickBatch<Extension>((claims) =>
    this.#connection.run("retry extend", (redis) => redis.syRetryExtend(...this.#keys, ...claims.flat())),
  );

  constructor(options: RedisPortOptions) {
    this.#options = options;
    this.uri = options.uri;
    this.side = options.side;
    this.#connection = options.connection;
    this.#keys = retryKeys(options.connection.location.prefix);
  }

  async schedule(message: OutgoingMessage): Promise<Receipt> {
    const args = retryScheduleArgs(message, this.#options.clock.now());
    await this.#connection.run("retry schedule", (redis) => redis.syRetrySchedule(...this.#keys, ...args));
    return retryReceipt(this.#keys, message.correlationId, message.steps);
  }

  async remove(correlationId: string, steps: number): Promise<void> {
    await this.#connection.run("retry remove", (redis) => redis.syRetryRemove(...this.#keys, member(correlationId, steps), correlationId));
  }

  /** The due set is claimed in due order by one script: it cannot pick one instance's entries. */
  readonly filtersByCorrelationId = false;
  readonly countsPerInstance = true;

  /** Claims due entries; rejects a `correlationId` (see {@link filtersByCorrelationId}). */
  async receive(options: ReceiveOptions): Promise<Delivery[]> {
    refuseInstanceFilter(this, options);
    const now = this.#options.clock.now();
    const token = randomUUID();
    const until = now + options.visibilityTimeoutSeconds * 1000;
    const flat = await this.#connection.run("retry receive", (redis) =>
      redis.syRetryReceive(...this.#keys, now, until, token, options.max),
    );
    const deliveries: Delivery[] = [];
    for (let i = 0; i + 2 < flat.length; i += 3) {
      const key = String(flat[i]);
      const colon = key.indexOf(":");
      const steps = Number(key.slice(0, colon));
      const correlationId = key.slice(colon + 1);
      deliveries.push({
        id: `${correlationId}:${steps}`,
        body: String(flat[i + 1]),
        receiveCount: Number(flat[i + 2]),
        role: this.role,
        side: this.side,
        handle: { correlationId, steps, token } satisfies RetryHandle,
      });
    }
    return deliveries;
  }

  async ack(delivery: Delivery): Promise<void> {
    await this.#finish(delivery, "retry ack", undefined);
  }

  async release(delivery: Delivery, delaySeconds: number): Promise<void> {
    const { correlationId, steps, token } = delivery.handle as RetryHandle;
    const at = this.#options.clock.now() + delaySeconds * 1000;
    await this.#connection.run("retry release", (redis) => redis.syRetryRelease(...this.#keys, member(correlationId, steps), token, at));
  }

  /** Joins the other extends of this turn: one script call moves all their deadlines. */
  async extend(delivery: Delivery, visibilityTimeoutSeconds: number): Promise<void> {
    const { correlationId, steps, token } = delivery.handle as RetryHandle;
    await this.#extensions.add([member(correlationId, steps), token, this.#options.clock.now() + visibilityTimeoutSeconds * 1000]);
  }

  async deadLetter(delivery: Delivery, reason: string): Promise<void> {
    await this.#finish(delivery, "retry dead-letter", reason);
  }

  /** Entries waiting here, delayed and claimed ones included. */
  async pending(correlationId?: string): Promise<number> {
    const [due, , , , instances] = this.#keys as [string, string, string, string, string];
    const count = await this.#connection.run("retry pending", async (redis): Promise<number | string | null> =>
      correlationId === undefined ? redis.zcard(due) : redis.hget(instances, correlationId),
    );
    return Math.max(0, Number(count ?? 0));
  }

  async #finish(delivery: Delivery, operation: string, reason: string | undefined): Promise<void> {
    const { correlationId, steps, token } = delivery.handle as RetryHandle;
    const now = this.#options.clock.now();
    await this.#connection.run(operation, (redis) =>
      redis.syRetryFinish(
        ...this.#keys,
        member(correlationId, steps),
        token,
        correlationId,
        reason === undefined ? 0 : 1,
        reason ?? "",
        now,
        this.uri,
        delivery.id,
      ),
    );
  }
}
