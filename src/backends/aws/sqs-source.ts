/**
 * The stream and retry ports of an SQS queue, and its message source (also what Lambda and
 * dev-lambda drive). Time follows the backend's clock: every message carries its due time, and a
 * receive never delivers a message before it is due: a not-yet-due one is held (hidden for up to
 * 11 h 45 min) and, once at most 900 s are left, replaced by a copy that SQS delays until due
 * (`sqs-early.ts`). Native SQS delays (DelaySeconds, at most 900 s) and visibility timeouts are
 * used under the system clock; under an injected clock the consumer keeps both by that clock (for
 * the messages it sent itself, in the case of delays). See docs/backends/sqs.md.
 */
import { createHash, randomUUID } from "node:crypto";
import type { Message, MessageAttributeValue } from "@aws-sdk/client-sqs";
import type { SQSEvent, SQSMessageAttributes } from "aws-lambda";
import { UsageError } from "../../errors.js";
import type { LambdaEventSource, LambdaRecordCodec } from "../../lambda-port.js";
import {
  type BatchItemResult,
  type Clock,
  type Delivery,
  type MessageSource,
  type OutgoingMessage,
  type Receipt,
  type ReceiveOptions,
  type RetryPort,
  type Side,
  type StreamPort,
  systemClock,
} from "../../ports.js";
import { refuseInstanceFilter } from "../unfiltered.js";
import { SQS_MAX_DELAY_SECONDS } from "./limits.js";
import { ATTR, messageAttributes, numberAttribute, type ScheduleMark, stringAttribute } from "./sqs-attributes.js";
import { ClaimBook, ScheduleMarks } from "./sqs-claims.js";
import { holdsBeforeDue, lifeLeft, planEarly, SQS_DEFAULT_RETENTION_SECONDS } from "./sqs-early.js";
import type { SqsQueue } from "./sqs-queue.js";
import { type SqsRecordHandle, sqsCodec } from "./sqs-record.js";
import type { MessageSender, WireMessage } from "./sqs-send.js";

/**
 * The backend-private part of an SQS delivery. Deliveries the Lambda handler builds from decoded
 * records carry only the receipt handle (and the due time): every method copes without `message`.
 */
export interface SqsHandle {
  readonly receiptHandle: string;
  readonly message?: Message | undefined;
}

/** How an SQS source is put together. */
export interface SqsSourceOptions {
  /** The configured ARN (the queue's, or the SNS topic's whose queue this reads). */
  readonly uri: string;
  readonly role: "stream" | "retry";
  readonly side: Side;
  readonly clock: Clock;
  /** The queue messages are read from. */
  readonly queue: SqsQueue;
  /** The queue dead letters are moved to. */
  readonly deadLetterQueue: SqsQueue;
  /** Where sends go. */
  readonly sender: MessageSender;
  readonly region: string;
}

/** Under an injected clock, the real SQS visibility of a claim: long enough that the clock decides. */
const INJECTED_CLOCK_VISIBILITY_SECONDS = 600;

/** The stream or retry role on an SQS queue. */
export class SqsSource implements StreamPort, RetryPort, MessageSource, LambdaEventSource {
  readonly uri: string;
  readonly arn: string;
  /** SQS records (`aws:sqs`). */
  readonly codec: LambdaRecordCodec = sqsCodec;
  readonly role: "stream" | "retry";
  readonly side: Side;
  protected readonly options: SqsSourceOptions;
  protected readonly book = new ClaimBook();
  protected readonly marks = new ScheduleMarks();
  readonly #systemTime: boolean;
  #retention: Promise<number> | undefined;

  constructor(options: SqsSourceOptions) {
    this.options = options;
    this.uri = options.uri;
    this.arn = options.uri;
    this.role = options.role;
    this.side = options.side;
    this.#systemTime = options.clock === systemClock;
  }

  #now(): number {
    return this.options.clock.now();
  }

  #wire(message: OutgoingMessage, mark?: ScheduleMark): WireMessage {
    const delaySeconds = Math.max(0, message.delaySeconds);
    const due = this.#now() + delaySeconds * 1000;
    const native = this.#systemTime && this.options.sender.nativeDelay;
    return {
      body: message.body,
      attributes: messageAttributes(message, due, mark),
      delaySeconds: native ? Math.min(SQS_MAX_DELAY_SECONDS, delaySeconds) : 0,
    };
  }

  /** Send one message, due after its delay. */
  async send(message: OutgoingMessage): Promise<Receipt> {
    const sentAt = this.#now();
    const receipt = await this.options.sender.send(this.#wire(message));
    this.#sentWithDelay(receipt, message.delaySeconds, sentAt);
    return receipt;
  }

  /** Send many: one result per message, in order. */
  async sendBatch(messages: readonly OutgoingMessage[]): Promise<BatchItemResult[]> {
    const sentAt = this.#now();
    const results = await this.options.sender.sendBatch(messages.map((message) => this.#wire(message)));
    results.forEach((result, index) => {
      if (result.ok) this.#sentWithDelay(result.receipt, messages[index]?.delaySeconds ?? 0, sentAt);
    });
    return results;
  }

  /** Send a retry entry due after its backoff; it replaces an earlier entry of the same step. */
  async schedule(message: OutgoingMessage): Promise<Receipt> {
    const mark = { token: randomUUID(), at: this.#now() };
    this.marks.sent(mark.token);
    this.marks.mark(retryKey(message.correlationId, message.steps), mark);
    const receipt = await this.options.sender.send(this.#wire(message, mark));
    this.#sentWithDelay(receipt, message.delaySeconds, mark.at);
    return receipt;
  }

  /**
   * Under an injected clock no `DelaySeconds` is sent (SQS delays by real time): remember when SQS
   * would have made the message visible, so this consumer hides it until then by the clock. Only
   * SQS queue sends: an SNS publish's message id is not the id the subscribed queue gives it.
   */
  #sentWithDelay(receipt: Receipt, delaySeconds: number, sentAt: number): void {
    if (this.#systemTime || !this.options.sender.nativeDelay || delaySeconds <= 0) return;
    const id = (receipt as { MessageId?: unknown }).MessageId;
    if (typeof id === "string") this.book.sent(id, sentAt, sentAt + Math.min(SQS_MAX_DELAY_SECONDS, delaySeconds) * 1000);
  }

  /** Stop the retries of a step: its entry is dropped when received (SQS cannot delete by key). */
  async remove(correlationId: string, steps: number): Promise<void> {
    this.marks.mark(retryKey(correlationId, steps), { token: randomUUID(), at: this.#now() });
  }

  /** A queue hands out any visible message: it cannot pick one instance's. */
  readonly filtersByCorrelationId = false;

  /** Claim up to `max` due messages; not-yet-due ones are handed back. Rejects a `correlationId`. */
  async receive(options: ReceiveOptions): Promise<Delivery[]> {
    refuseInstanceFilter(this, options);
    const now = this.#now();
    if (!this.#systemTime) await this.#expireClaims(now);
    const visibility = this.#systemTime ? options.visibilityTimeoutSeconds : INJECTED_CLOCK_VISIBILITY_SECONDS;
    const deliveries: Delivery[] = [];
    const rounds = Math.ceil(Math.max(1, options.max) / 10);
    for (let round = 0; round < rounds && deliveries.length < options.max; round++) {
      const asked = Math.min(10, options.max - deliveries.length);
      const messages = await this.options.queue.receive(asked, visibility);
      let delivered = 0;
      for (const message of messages) {
        const delivery = await this.#accept(message, now, options.visibilityTimeoutSeconds);
        if (delivery !== undefined) {
          deliveries.push(delivery);
          delivered++;
        }
      }
      if (messages.length < asked || delivered === 0) break;
    }
    return deliveries;
  }

  /** A received message as a delivery, or undefined when it was handed back or dropped. */
  async #accept(message: Message, now: number, visibilityTimeoutSeconds: number): Promise<Delivery | undefined> {
    const id = message.MessageId ?? "";
    const receiptHandle = message.ReceiptHandle ?? "";
    const attributes = message.MessageAttributes;
    if (this.role === "retry") {
      const key = retryKey(stringAttribute(attributes, ATTR.correlationId) ?? "", numberAttribute(attributes, ATTR.steps) ?? -1);
      const token = stringAttribute(attributes, ATTR.token);
      const mark = token === undefined ? undefined : { token, at: numberAttribute(attributes, ATTR.scheduledAt) ?? 0 };
      if (this.marks.isSuperseded(key, mark)) {
        await this.options.queue.delete(receiptHandle);
        this.book.forget(id);
        return undefined;
      }
    }
    const due = numberAttribute(attributes, ATTR.due) ?? 0;
    if (due > now) {
      await this.#early(message, due, now);
      return undefined;
    }
    const approximate = Number(message.Attributes?.ApproximateReceiveCount ?? "1");
    const receiveCount = Math.max(1, approximate - this.#handBacks(id, due, message));
    this.book.claim(id, receiptHandle, now + visibilityTimeoutSeconds * 1000);
    const handle: SqsHandle = { receiptHandle, message };
    return { id, body: this.messageBody(message.Body ?? ""), receiveCount, role: this.role, side: this.side, handle };
  }

  /**
   * A message received before it is due: hold it until 900 s are left, or replace it by a copy
   * SQS delays until due (`sqs-early.ts`). Under an injected clock, a message this consumer sent
   * with a delay is first hidden until that delay ends, as SQS would have kept it.
   */
  async #early(message: Message, due: number, now: number): Promise<void> {
    const id = message.MessageId ?? "";
    const receiptHandle = message.ReceiptHandle ?? "";
    if (!this.#systemTime) {
      const visibleAt = this.book.sentHere(id)?.visibleAt;
      if (visibleAt !== undefined && visibleAt > now) {
        this.book.hide(id, receiptHandle, visibleAt);
        return;
      }
    }
    const plan = planEarly(Math.ceil((due - now) / 1000), await this.#lifeLeft(id, sentTimestamp(message.Attributes?.SentTimestamp), now));
    if (plan.kind === "hold") {
      this.book.hide(id, receiptHandle, now + plan.seconds * 1000);
      if (this.#systemTime) await this.options.queue.changeVisibility(receiptHandle, plan.seconds);
      return;
    }
    await this.#sendCopy(message.Body ?? "", message.MessageAttributes ?? {}, plan.delaySeconds);
    await this.options.queue.delete(receiptHandle);
    this.book.forget(id);
  }

  /**
   * How much longer SQS keeps message `id` (less a reserve), from when it was enqueued: SQS's
   * `sentAt` under the system clock, the clock time this consumer sent it at under an injected one
   * (unknown for a message it did not send: Infinity).
   */
  async #lifeLeft(id: string, sentAt: number | undefined, now: number): Promise<number> {
    const enqueued = this.#systemTime ? sentAt : this.book.sentHere(id)?.sentAt;
    if (enqueued === undefined) return Number.POSITIVE_INFINITY;
    return lifeLeft(now, enqueued, await this.#retentionSeconds());
  }

  /** The queue's `MessageRetentionPeriod`, read once (SQS's default while it cannot be read). */
  #retentionSeconds(): Promise<number> {
    this.#retention ??= this.options.queue.attributes(["MessageRetentionPeriod"]).then(
      (attributes) => Number(attributes.MessageRetentionPeriod) || SQS_DEFAULT_RETENTION_SECONDS,
      () => {
        this.#retention = undefined;
        return SQS_DEFAULT_RETENTION_SECONDS;
      },
    );
    return this.#retention;
  }

  /**
   * Send a copy of a received message (its raw body and every attribute, so its due time and
   * schedule mark) to the queue it came from, delayed `delaySeconds`. Straight to the queue, not
   * through the sender: on an SNS source the sender is the topic, and its other subscribers must
   * not get the message twice.
   */
  async #sendCopy(body: string, attributes: Record<string, MessageAttributeValue>, delaySeconds: number): Promise<void> {
    const sentAt = this.#now();
    const id = await this.options.queue.send({
      MessageBody: body,
      MessageAttributes: attributes,
      ...(this.#systemTime && delaySeconds > 0 ? { DelaySeconds: delaySeconds } : {}),
    });
    if (!this.#systemTime && delaySeconds > 0) this.book.sent(id, sentAt, sentAt + delaySeconds * 1000);
  }

  /**
   * The receives of a due message that were hand-backs, not deliveries: those this consumer made,
   * or (system clock) the holds a long-delayed message had if nobody replaced it in time.
   */
  #handBacks(id: string, due: number, message: Message): number {
    const here = this.book.handBacks(id);
    if (!this.#systemTime || due <= 0) return here;
    const sentAt = sentTimestamp(message.Attributes?.SentTimestamp);
    return sentAt === undefined ? here : Math.max(here, holdsBeforeDue(due, sentAt));
  }

  /** The wire message a received body holds (on SQS, the body itself). */
  protected messageBody(body: string): string {
    return body;
  }

  /** Under an injected clock: make messages whose claim ended by that clock visible again. */
  async #expireClaims(now: number): Promise<void> {
    for (const [, claim] of [...this.book.due(now)]) {
      claim.expired = true;
      await this.options.queue.changeVisibility(claim.receiptHandle, 0);
    }
  }

  /**
   * Under an injected clock, make the messages this consumer keeps hidden by that clock (held,
   * delayed or claimed) visible again, as a consumer that closes: SQS's own timers run on real
   * time (600 s here), and once this consumer is gone nothing would end them by the test clock. A
   * consumer that starts next finds them and holds them again by what is left. Best effort (a
   * message that cannot be made visible returns after those 600 s). Nothing to do under the system
   * clock, where SQS's visibility timeouts keep time.
   */
  async handBackHidden(): Promise<void> {
    if (this.#systemTime) return;
    for (const [id, claim] of [...this.book.due(Number.POSITIVE_INFINITY)]) {
      claim.expired = true;
      try {
        await this.options.queue.changeVisibility(claim.receiptHandle, 0);
      } catch {
        this.book.forget(id);
      }
    }
  }

  #handle(delivery: Delivery): SqsHandle {
    return delivery.handle as SqsHandle;
  }

  #stale(delivery: Delivery): boolean {
    return this.book.isStale(delivery.id, this.#handle(delivery).receiptHandle);
  }

  /** Delete a handled message (a stale claim's ack is ignored). */
  async ack(delivery: Delivery): Promise<void> {
    if (this.#stale(delivery)) return;
    const { receiptHandle, message } = this.#handle(delivery);
    await this.options.queue.delete(receiptHandle);
    this.book.forget(delivery.id);
    if (this.role === "retry" && message !== undefined) {
      const attributes = message.MessageAttributes;
      const key = retryKey(stringAttribute(attributes, ATTR.correlationId) ?? "", numberAttribute(attributes, ATTR.steps) ?? -1);
      this.marks.settled(key, stringAttribute(attributes, ATTR.token));
    }
  }

  /** Hand a message back, visible again after `delaySeconds`. */
  async release(delivery: Delivery, delaySeconds: number): Promise<void> {
    if (this.#stale(delivery)) return;
    const claim = this.book.get(delivery.id);
    if (claim !== undefined) claim.until = this.#now() + delaySeconds * 1000;
    if (this.#systemTime || delaySeconds <= 0) {
      await this.options.queue.changeVisibility(this.#handle(delivery).receiptHandle, delaySeconds);
      if (claim !== undefined && delaySeconds <= 0) claim.expired = true;
    }
  }

  /** Keep a message claimed `visibilityTimeoutSeconds` more from now. */
  async extend(delivery: Delivery, visibilityTimeoutSeconds: number): Promise<void> {
    if (this.#stale(delivery)) return;
    const claim = this.book.get(delivery.id);
    if (claim !== undefined) claim.until = this.#now() + visibilityTimeoutSeconds * 1000;
    if (this.#systemTime) await this.options.queue.changeVisibility(this.#handle(delivery).receiptHandle, visibilityTimeoutSeconds);
  }

  /** Send the message to the dead-letter queue with the reason, then delete it here. */
  async deadLetter(delivery: Delivery, reason: string): Promise<void> {
    await this.options.deadLetterQueue.send({
      MessageBody: delivery.body,
      MessageAttributes: {
        [ATTR.reason]: { DataType: "String", StringValue: reason || "(no reason)" },
        [ATTR.source]: { DataType: "String", StringValue: this.uri },
        [ATTR.messageId]: { DataType: "String", StringValue: delivery.id || "(none)" },
        [ATTR.receiveCount]: { DataType: "Number", StringValue: String(delivery.receiveCount) },
        [ATTR.deadAt]: { DataType: "Number", StringValue: String(this.#now()) },
      },
    });
    if (!this.#stale(delivery)) await this.options.queue.delete(this.#handle(delivery).receiptHandle);
    this.book.forget(delivery.id);
  }

  /**
   * Messages in the queue: visible, in flight and delayed (SQS's approximate counts). SQS cannot
   * count one instance's messages: a correlation id is refused rather than answered for the whole
   * queue.
   */
  async pending(correlationId?: string): Promise<number> {
    if (correlationId !== undefined) {
      throw new UsageError(
        `${this.role}.${this.side} (${this.uri}) cannot count the messages of one instance (${correlationId}): SQS counts whole queues only; count without a correlation id`,
        { code: "unfiltered_source" },
      );
    }
    const attributes = await this.options.queue.attributes([
      "ApproximateNumberOfMessages",
      "ApproximateNumberOfMessagesNotVisible",
      "ApproximateNumberOfMessagesDelayed",
    ]);
    return (
      Number(attributes.ApproximateNumberOfMessages ?? 0) +
      Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0) +
      Number(attributes.ApproximateNumberOfMessagesDelayed ?? 0)
    );
  }

  /** The deliveries as the SQSEvent Lambda's SQS trigger sends. */
  lambdaEvent(deliveries: readonly Delivery[]): unknown {
    const event: SQSEvent = { Records: deliveries.map((delivery) => this.#record(delivery)) };
    return event;
  }

  #record(delivery: Delivery): SQSEvent["Records"][number] {
    const { receiptHandle, message } = this.#handle(delivery);
    const system = message?.Attributes ?? {};
    const messageAttributes: SQSMessageAttributes = {};
    for (const [name, value] of Object.entries(message?.MessageAttributes ?? {})) {
      messageAttributes[name] = {
        dataType: value.DataType ?? "String",
        ...(value.StringValue === undefined ? {} : { stringValue: value.StringValue }),
        stringListValues: [],
        binaryListValues: [],
      };
    }
    return {
      messageId: delivery.id,
      receiptHandle,
      body: delivery.body,
      attributes: {
        ApproximateReceiveCount: String(delivery.receiveCount),
        SentTimestamp: system.SentTimestamp ?? String(this.#now()),
        SenderId: system.SenderId ?? "",
        ApproximateFirstReceiveTimestamp: system.ApproximateFirstReceiveTimestamp ?? String(this.#now()),
      },
      messageAttributes,
      md5OfBody: message?.MD5OfBody ?? createHash("md5").update(delivery.body).digest("hex"),
      eventSource: "aws:sqs",
      eventSourceARN: this.options.queue.arn,
      awsRegion: this.options.region,
    };
  }

  /**
   * A record that reached Lambda `seconds` before it is due: hold it (its visibility timeout, up to
   * 11 h 45 min, until 900 s are left) and report it, or, with at most 900 s left, send a copy SQS
   * delays until due and let Lambda delete this one (`sqs-early.ts`).
   */
  async holdUntilDue(delivery: Delivery, seconds: number): Promise<boolean | "replaced"> {
    const plan = planEarly(seconds, await this.#lifeLeft(delivery.id, this.#sentAt(delivery), this.#now()));
    if (plan.kind === "hold") {
      await this.release(delivery, plan.seconds);
      return true;
    }
    await this.#sendCopy(this.#rawBody(delivery), this.#attributesOf(delivery), plan.delaySeconds);
    return "replaced";
  }

  /** The body as it sits in the queue (an SNS source's deliveries may be unwrapped). */
  #rawBody(delivery: Delivery): string {
    return this.#handle(delivery).message?.Body ?? delivery.body;
  }

  /** When SQS enqueued a delivery's message (ms): from the received message, or from the Lambda record. */
  #sentAt(delivery: Delivery): number | undefined {
    const handle = delivery.handle as Partial<SqsHandle & SqsRecordHandle>;
    return sentTimestamp(handle.message?.Attributes?.SentTimestamp) ?? handle.sentAt;
  }

  /** The message attributes of a delivery: from the received message, or from the Lambda record. */
  #attributesOf(delivery: Delivery): Record<string, MessageAttributeValue> {
    const handle = delivery.handle as Partial<SqsHandle & SqsRecordHandle>;
    return handle.message?.MessageAttributes ?? handle.attributes ?? {};
  }

  /** The SQS message id. */
  itemIdentifier(delivery: Delivery): string {
    return delivery.id;
  }
}

/** SQS's `SentTimestamp` (ms, as a string), if there is one. */
function sentTimestamp(value: string | undefined): number | undefined {
  const sentAt = Number(value ?? Number.NaN);
  return Number.isFinite(sentAt) ? sentAt : undefined;
}

/** The key retry entries replace each other by. */
export function retryKey(correlationId: string, steps: number): string {
  return `${correlationId}\u0000${steps}`;
}
