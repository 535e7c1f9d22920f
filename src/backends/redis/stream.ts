/**
 * The `stream` role on Redis Streams. `send` XADDs to the stream (a delayed message waits in a
 * sorted set scored by its due time and is moved to the stream by the receive script once due).
 * `receive` reads new entries through a consumer group (XREADGROUP, one consumer name per backend)
 * and records each claim's deadline, by the injected clock, in a sorted set; entries whose
 * deadline has passed are claimed again (XCLAIM) with a fresh claim token. `ack` (XACK + XDEL),
 * `release`, `extend` and `deadLetter` act only while the caller's token is current, so a consumer
 * whose claim expired cannot touch a message someone else now holds. The extends of one turn of the
 * event loop (a worker's sweep over its in-flight messages) go out as one script call, and a
 * `sendBatch` is one script call per {@link TICK_BATCH_MAX} messages.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type {
  BatchItemResult,
  Delivery,
  MessageSource,
  OutgoingMessage,
  Receipt,
  ReceiveOptions,
  Side,
  StreamPort,
} from "../../ports.js";
import { refuseInstanceFilter } from "../unfiltered.js";
import type { RedisConnection } from "./connection.js";
import { streamKeys } from "./keys.js";
import type { RedisPortOptions } from "./port-options.js";
import { TICK_BATCH_MAX, TickBatch } from "./tick-batch.js";

/** The consumer group every Switchyard worker reads the stream through. */
export const CONSUMER_GROUP = "switchyard";

/** A stream delivery's handle: its entry id and claim token. */
export interface StreamHandle {
  readonly id: string;
  readonly token: string;
}

/** One claim to extend: its entry id, claim token and new deadline (ms). */
type Extension = readonly [id: string, token: string, until: number];

/** Stream port and message source over one prefix's Redis stream. */
export class RedisStream implements StreamPort, MessageSource {
  readonly uri: string;
  readonly role = "stream" as const;
  readonly side: Side;
  readonly #options: RedisPortOptions;
  readonly #connection: RedisConnection;
  readonly #keys: readonly string[];
  readonly #consumer = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  readonly #extensions = new TickBatch<Extension>((claims) =>
    this.#connection.run("stream extend", (redis) => redis.syStreamExtend(...this.#keys, ...claims.flat())),
  );

  constructor(options: RedisPortOptions) {
    this.#options = options;
    this.uri = options.uri;
    this.side = options.side;
    this.#connection = options.connection;
    this.#keys = streamKeys(options.connection.location.prefix);
  }

  async send(message: OutgoingMessage): Promise<Receipt> {
    const [receipt] = await this.#send("stream send", [message]);
    return receipt as Receipt;
  }

  /** One script call per {@link TICK_BATCH_MAX} messages; a call that fails fails each of its messages. */
  async sendBatch(messages: readonly OutgoingMessage[]): Promise<BatchItemResult[]> {
    const chunks: (readonly OutgoingMessage[])[] = [];
    for (let start = 0; start < messages.length; start += TICK_BATCH_MAX) chunks.push(messages.slice(start, start + TICK_BATCH_MAX));
    const settled = await Promise.allSettled(chunks.map((chunk) => this.#send("stream send batch", chunk)));
    return settled.flatMap((outcome, i): BatchItemResult[] =>
      outcome.status === "fulfilled"
        ? outcome.value.map((receipt) => ({ ok: true, receipt }))
        : (chunks[i] ?? []).map(() => ({ ok: false, error: outcome.reason as Error })),
    );
  }

  async #send(operation: string, messages: readonly OutgoingMessage[]): Promise<Receipt[]> {
    const now = this.#options.clock.now();
    const args: (string | number)[] = [now];
    for (const message of messages) args.push(...streamSendArgs(message, now));
    const flat = await this.#connection.run(operation, (redis) => redis.syStreamSend(...this.#keys, ...args));
    const receipts: Receipt[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) receipts.push(streamReceipt(this.#keys, flat[i], flat[i + 1]));
    return receipts;
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
    const { id, token } = delivery.handle as StreamHandle;
    const at = this.#options.clock.now() + delaySeconds * 1000;
    await this.#connection.run("stream release", (redis) => redis.syStreamRelease(...this.#keys, id, token, at));
  }

  /** Joins the other extends of this turn: one script call moves all their deadlines. */
  async extend(delivery: Delivery, visibilityTimeoutSeconds: number): Promise<void> {
    const { id, token } = delivery.handle as StreamHandle;
    await this.#extensions.add([id, token, this.#options.clock.now() + visibilityTimeoutSeconds * 1000]);
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
}

/** One message's arguments of `syStreamSend` (after `now`): body, correlation id, due time, member. */
export function streamSendArgs(message: OutgoingMessage, now: number): (string | number)[] {
  return [message.body, message.correlationId, now + Math.max(0, message.delaySeconds) * 1000, randomUUID()];
}

/** The receipt of one message `syStreamSend` placed (`where`: `log` or `delayed`), over the stream's keys. */
export function streamReceipt(keys: readonly string[], where: unknown, id: unknown): Receipt {
  return where === "log" ? { stream: keys[0], id: String(id) } : { delayed: keys[4], id: String(id) };
}

