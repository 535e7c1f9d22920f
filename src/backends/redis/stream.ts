/**
 * The `stream` role on Redis Streams. `send` XADDs to the stream (a delayed message waits in a
 * sorted set scored by its due time and is moved to the stream by the receive script once due).
 * `receive` reads new entries through a consumer group (XREADGROUP, one consumer name per backend)
 * and records each claim's deadline, by the injected clock, in a sorted set; entries whose
 * deadline has passed are claimed again (XCLAIM) with a fresh claim token. `ack` (XACK + XDEL),
 * `release`, `extend` and `deadLetter` act only while the caller's token is current, so a consumer
 * whose claim expired cannot touch a message someone else now holds.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type {
  BatchItemResult,
  Delivery,
  MessageSource,
  OutgoingMessage,
  ReceiveOptions,
  Receipt,
  Side,
  StreamPort,
} from "../../ports.js";
import { refuseInstanceFilter } from "../unfiltered.js";
import type { RedisConnection } from "./connection.js";
import { streamKeys } from "./keys.js";
import type { RedisPortOptions } from "./port-options.js";

/** The consumer group every Switchyard worker reads the stream through. */
export const CONSUMER_GROUP = "switchyard";

interface StreamHandle {
  readonly id: string;
  readonly token: string;
}

/** Stream port and message source over one prefix's Redis stream. */
export class RedisStream implements StreamPort, MessageSource {
  readonly uri: string;
  readonly role = "stream" as const;
  readonly side: Side;
  readonly #options: RedisPortOptions;
  readonly #connection: RedisConnection;
  readonly #keys: readonly string[];
  readonly #consumer = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;

  constructor(options: RedisPortOptions) {
    this.#options = options;
    this.uri = options.uri;
    this.side = options.side;
    this.#connection = options.connection;
    this.#keys = streamKeys(options.connection.location.prefix);
  }

  async send(message: OutgoingMessage): Promise<Receipt> {
    const now = this.#options.clock.now();
    const dueAt = now + Math.max(0, message.delaySeconds) * 1000;
    const [where, id] = await this.#connection.run("stream send", (redis) =>
      redis.syStreamSend(...this.#keys, message.body, message.correlationId, dueAt, now, randomUUID()),
    );
    return where === "log" ? { stream: this.#keys[0], id } : { delayed: this.#keys[4], id };
  }

  async sendBatch(messages: readonly OutgoingMessage[]): Promise<BatchItemResult[]> {
    const settled = await Promise.allSettled(messages.map((message) => this.send(message)));
    return settled.map((outcome) =>
      outcome.status === "fulfilled" ? { ok: true, receipt: outcome.value } : { ok: false, error: outcome.reason as Error },
    );
  }

  /** A consumer group hands out entries in stream order: it cannot pick one instance's. */
  readonly filtersByCorrelationId = false;
  readonly countsPerInstance = true;

  /** Claims due messages; rejects a `correlationId` (see {@link filtersByCorrelationId}). */
  async receive(options: ReceiveOptions): Promise<Delivery[]> {
    refuseInstanceFilter(this, options);
    const now = this.#options.clock.now();
    const token = randomUUID();
    const until = now + options.visibilityTimeoutSeconds * 1000;
    const flat = await this.#connection.run("stream receive", (redis) =>
      redis.syStreamReceive(...this.#keys, now, until, token, options.max, CONSUMER_GROUP, this.#consumer),
    );
    const deliveries: Delivery[] = [];
    for (let i = 0; i + 2 < flat.length; i += 3) {
      const id = String(flat[i]);
      deliveries.push({
        id,
        body: String(flat[i + 1]),
        receiveCount: Number(flat[i + 2]),
        role: this.role,
        side: this.side,
        handle: { id, token } satisfies StreamHandle,
      });
    }
    return deliveries;
  }

  async ack(delivery: Delivery): Promise<void> {
    await this.#finish(delivery, "stream ack", undefined);
  }

  async release(delivery: Delivery, delaySeconds: number): Promise<void> {
    await this.#move(delivery, "stream release", delaySeconds, true);
  }

  async extend(delivery: Delivery, visibilityTimeoutSeconds: number): Promise<void> {
    await this.#move(delivery, "stream extend", visibilityTimeoutSeconds, false);
  }

  async deadLetter(delivery: Delivery, reason: string): Promise<void> {
    await this.#finish(delivery, "stream dead-letter", reason);
  }

  /** Messages waiting here, delayed and claimed ones included. */
  async pending(correlationId?: string): Promise<number> {
    const [log, , , , delayed, , , instances] = this.#keys as [string, string, string, string, string, string, string, string];
    if (correlationId !== undefined) {
      const count = await this.#connection.run("stream pending", (redis) => redis.hget(instances, correlationId));
      return Math.max(0, Number(count ?? 0));
    }
    const results = await this.#connection.run("stream pending", (redis) => redis.multi().xlen(log).zcard(delayed).exec());
    return (results ?? []).reduce((sum, [error, value]) => {
      if (error) throw error;
      return sum + Number(value);
    }, 0);
  }

  /**
   * Leave the consumer group (on close), so consumers of finished processes do not pile up. Its
   * claims stay recorded by deadline and are re-claimed by others once they pass.
   */
  async leaveGroup(): Promise<void> {
    await this.#connection.run("stream close", (redis) => redis.xgroup("DELCONSUMER", this.#keys[0] as string, CONSUMER_GROUP, this.#consumer));
  }

  async #finish(delivery: Delivery, operation: string, reason: string | undefined): Promise<void> {
    const { id, token } = delivery.handle as StreamHandle;
    const now = this.#options.clock.now();
    const dead = reason === undefined ? 0 : 1;
    await this.#connection.run(operation, (redis) =>
      redis.syStreamFinish(...this.#keys, id, token, CONSUMER_GROUP, dead, reason ?? "", now, this.uri),
    );
  }

  async #move(delivery: Delivery, operation: string, seconds: number, release: boolean): Promise<void> {
    const { id, token } = delivery.handle as StreamHandle;
    const at = this.#options.clock.now() + seconds * 1000;
    await this.#connection.run(operation, (redis) => redis.syStreamMove(...this.#keys, id, token, at, release ? 1 : 0));
  }
}
