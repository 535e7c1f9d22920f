/**
 * Sending to SQS: one message (SendMessage) or many (SendMessageBatch, at most 10 entries and
 * 256 KiB per call). Sizes are checked before anything is sent; batches report per item, and
 * entries that failed are retried once and then reported failed, never dropped.
 */

import { SystemError } from "../../errors.js";
import type { BatchItemResult, Receipt } from "../../ports.js";
import { errorReason } from "./http.js";
import { byteLength, checkSize, SQS_BATCH_ENTRIES, SQS_MAX_BYTES, SQS_MAX_DELAY_SECONDS } from "./limits.js";
import { type Attributes, attributesSize } from "./sqs-attributes.js";
import type { SqsQueue } from "./sqs-queue.js";

/** One message ready for the wire. */
export interface WireMessage {
  readonly body: string;
  readonly attributes: Attributes;
  /** Native delay in seconds (0 under an injected clock). */
  readonly delaySeconds: number;
}

/** Where a source's messages are sent: an SQS queue, or an SNS topic that feeds one. */
export interface MessageSender {
  /** `SQS queue arn:…` / `SNS topic arn:…`, for errors. */
  readonly transport: string;
  /** Whether the transport honours a native delay (SQS does, up to 900 s; SNS does not). */
  readonly nativeDelay: boolean;
  send(message: WireMessage): Promise<Receipt>;
  sendBatch(messages: readonly WireMessage[]): Promise<BatchItemResult[]>;
}

/** Wire size of a message: body plus attributes. */
export function wireSize(message: WireMessage): number {
  return byteLength(message.body) + attributesSize(message.attributes);
}

/** The limits of one transport's batch sends. */
export interface BatchLimits {
  /** `SQS queue arn:…`, for errors. */
  readonly transport: string;
  /** Largest item, bytes. */
  readonly maxBytes: number;
  /** Most items per call. */
  readonly maxEntries: number;
  /** Most bytes per call. */
  readonly maxChunkBytes: number;
}

/** One attempt at a set of items: the receipt or error of each, by index. */
export type Attempt = (indexes: readonly number[]) => Promise<Map<number, BatchItemResult>>;

/**
 * Check each item's size (an oversized item fails alone, before anything is sent), split the rest
 * into chunks within the limits, run `attempt` on each, retry the failed items once, and return
 * one result per item, in order.
 */
export async function batchWithRetry(
  sizes: readonly number[],
  limits: BatchLimits,
  attempt: Attempt,
): Promise<BatchItemResult[]> {
  const { transport, maxBytes, maxEntries, maxChunkBytes } = limits;
  const results: (BatchItemResult | undefined)[] = sizes.map(() => undefined);
  let todo: number[] = [];
  sizes.forEach((size, index) => {
    try {
      checkSize(transport, size, maxBytes);
      todo.push(index);
    } catch (error) {
      results[index] = { ok: false, error: error as Error };
    }
  });
  for (let round = 0; round < 2 && todo.length > 0; round++) {
    const failed: number[] = [];
    for (const chunk of chunks(todo, sizes, maxEntries, maxChunkBytes)) {
      let outcome: Map<number, BatchItemResult>;
      try {
        outcome = await attempt(chunk);
      } catch (error) {
        outcome = new Map(chunk.map((index) => [index, { ok: false, error: error as Error }]));
      }
      for (const index of chunk) {
        const result = outcome.get(index) ?? {
          ok: false,
          error: new SystemError(`${transport} did not answer for a batch entry`),
        };
        results[index] = result;
        if (!result.ok) failed.push(index);
      }
    }
    todo = failed;
  }
  return results.map((result) => result ?? { ok: false, error: new SystemError(`${transport}: entry not sent`) });
}

function* chunks(indexes: readonly number[], sizes: readonly number[], maxEntries: number, maxBytes: number) {
  let chunk: number[] = [];
  let bytes = 0;
  for (const index of indexes) {
    const size = sizes[index] ?? 0;
    if (chunk.length > 0 && (chunk.length >= maxEntries || bytes + size > maxBytes)) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(index);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}

/** Sends to an SQS queue. */
export class SqsSender implements MessageSender {
  readonly transport: string;
  readonly nativeDelay = true;
  readonly #queue: SqsQueue;

  constructor(queue: SqsQueue) {
    this.#queue = queue;
    this.transport = `SQS queue ${queue.arn}`;
  }

  async send(message: WireMessage): Promise<Receipt> {
    checkSize(this.transport, wireSize(message), SQS_MAX_BYTES);
    const messageId = await this.#queue.send({
      MessageBody: message.body,
      MessageAttributes: message.attributes,
      ...delay(message),
    });
    return { MessageId: messageId };
  }

  sendBatch(messages: readonly WireMessage[]): Promise<BatchItemResult[]> {
    const limits = { transport: this.transport, maxBytes: SQS_MAX_BYTES, maxEntries: SQS_BATCH_ENTRIES, maxChunkBytes: SQS_MAX_BYTES };
    return batchWithRetry(messages.map(wireSize), limits, async (indexes) => {
      const answer = await this.#queue.sendBatch(
        indexes.map((index) => {
          const message = messages[index] as WireMessage;
          return { Id: String(index), MessageBody: message.body, MessageAttributes: message.attributes, ...delay(message) };
        }),
      );
      const outcome = new Map<number, BatchItemResult>();
      for (const ok of answer.Successful ?? []) outcome.set(Number(ok.Id), { ok: true, receipt: { MessageId: ok.MessageId } });
      for (const failed of answer.Failed ?? []) {
        const reason = `${failed.Code ?? "error"}: ${failed.Message ?? "no message"}`;
        outcome.set(Number(failed.Id), {
          ok: false,
          error: new SystemError(`SQS SendMessageBatch entry failed on queue ${this.#queue.arn}: ${errorReason(reason)}`),
        });
      }
      return outcome;
    });
  }
}

function delay(message: WireMessage): { DelaySeconds?: number } {
  const seconds = Math.min(SQS_MAX_DELAY_SECONDS, Math.max(0, Math.ceil(message.delaySeconds)));
  return seconds > 0 ? { DelaySeconds: seconds } : {};
}
