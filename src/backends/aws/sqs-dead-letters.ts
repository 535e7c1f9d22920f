/**
 * The dead letters of an SQS-fed source: the `<name>-dead-letters` queue. Listing peeks at it
 * (ReceiveMessage with visibility 0, so nothing is consumed); SQS returns messages in no set order
 * and may not return every one in a few calls, so `list` is a best-effort sample of the newest
 * (see docs/backends/sqs.md). Operators consume or redrive the queue with the usual SQS tools.
 */
import type { DeadLetter, DeadLetterStore } from "../../ports.js";
import { ATTR, numberAttribute, stringAttribute } from "./sqs-attributes.js";
import type { SqsQueue } from "./sqs-queue.js";

/** The ARN of the dead-letter queue of queue `arn`. */
export function deadLetterQueueArn(arn: string): string {
  return `${arn}-dead-letters`;
}

/** Peeks at a dead-letter queue. */
export class SqsDeadLetters implements DeadLetterStore {
  readonly #queue: SqsQueue;
  readonly #sourceUri: string;

  constructor(queue: SqsQueue, sourceUri: string) {
    this.#queue = queue;
    this.#sourceUri = sourceUri;
  }

  /** Up to `limit` dead letters, newest first (a sample: see the file comment). */
  async list(limit = 100): Promise<DeadLetter[]> {
    const seen = new Map<string, DeadLetter>();
    const rounds = Math.ceil(limit / 10) + 2;
    for (let round = 0; round < rounds && seen.size < limit; round++) {
      const messages = await this.#queue.receive(10, 0);
      let fresh = 0;
      for (const message of messages) {
        const id = message.MessageId ?? "";
        if (seen.has(id)) continue;
        fresh++;
        const attributes = message.MessageAttributes;
        seen.set(id, {
          id: 0,
          sourceUri: stringAttribute(attributes, ATTR.source) ?? this.#sourceUri,
          messageId: stringAttribute(attributes, ATTR.messageId) ?? id,
          body: message.Body ?? "",
          reason: stringAttribute(attributes, ATTR.reason) ?? "",
          receiveCount: numberAttribute(attributes, ATTR.receiveCount) ?? 0,
          deadAt: numberAttribute(attributes, ATTR.deadAt) ?? Number(message.Attributes?.SentTimestamp ?? 0),
        });
      }
      if (fresh === 0) break;
    }
    return [...seen.values()]
      .sort((a, b) => b.deadAt - a.deadAt)
      .slice(0, limit)
      .map((letter, index) => ({ ...letter, id: index + 1 }));
  }
}
