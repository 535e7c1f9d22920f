/**
 * The dead letters of an SQS-fed source: the `<name>-dead-letters` queue. A queue has no keys to
 * read one message by, so every call searches it with ReceiveMessage, and SQS returns messages in
 * no set order and may not return every one in a few calls (see docs/backends/sqs.md):
 *
 * - `list` and `get` peek (visibility 0, so nothing is consumed): `list` is a best-effort sample of
 *   the newest.
 * - A letter's id is 48 bits of the SHA-1 of its message id in the dead-letter queue: the same id
 *   in every call and every process, so an id that `list` printed names that message later.
 * - `remove(id)` claims the messages it receives while it searches (so each round sees new ones),
 *   deletes the one with that id by its receipt handle, and hands every other back at once. A
 *   message another consumer holds in flight, or one SQS does not hand out within the search, is
 *   not found: `remove` answers false and the message stays.
 *
 * SQS's own redrive (StartMessageMoveTask) is not used: it moves messages only out of a queue that
 * is configured as another queue's dead-letter queue, which this one is not (the port moves dead
 * letters itself, with the reason), and it cannot pick one message.
 */
import { createHash } from "node:crypto";
import type { Message } from "@aws-sdk/client-sqs";
import type { DeadLetter, DeadLetterStore } from "../../ports.js";
import { ATTR, numberAttribute, stringAttribute } from "./sqs-attributes.js";
import type { SqsQueue } from "./sqs-queue.js";

export { deadLetterQueueArn } from "./shapes.js";

/** How long `remove` keeps the messages it searched through invisible, at most (it hands them back sooner). */
const SEARCH_VISIBILITY_SECONDS = 30;
/** How many receive rounds (of up to 10 messages) `remove` makes at most. */
const SEARCH_ROUNDS = 100;
/** Empty receives in a row after which the search ends (SQS may answer a small queue with none). */
const EMPTY_ROUNDS = 3;

/** The stable numeric id of a dead-letter queue message: 48 bits of the SHA-1 of its message id. */
export function deadLetterId(messageId: string): number {
  return createHash("sha1").update(messageId).digest().readUIntBE(0, 6);
}

/** Peeks at, and removes from, a dead-letter queue. */
export class SqsDeadLetters implements DeadLetterStore {
  readonly #queue: SqsQueue;
  readonly #sourceUri: string;

  constructor(queue: SqsQueue, sourceUri: string) {
    this.#queue = queue;
    this.#sourceUri = sourceUri;
  }

  /** Up to `limit` dead letters, newest first (a sample: see the file comment). */
  async list(limit = 100): Promise<DeadLetter[]> {
    const seen = await this.#peek(limit, () => false);
    return [...seen.values()].sort((a, b) => b.deadAt - a.deadAt || b.id - a.id).slice(0, limit);
  }

  /** Dead letter `id`, if a peek at the queue finds it. */
  async get(id: number): Promise<DeadLetter | undefined> {
    return (await this.#peek(Number.POSITIVE_INFINITY, (letter) => letter.id === id)).get(id);
  }

  /** Delete dead letter `id`, if a search of the queue finds it (see the file comment). */
  async remove(id: number): Promise<boolean> {
    const held: string[] = [];
    let found: string | undefined;
    try {
      for (let round = 0, empty = 0; round < SEARCH_ROUNDS && empty < EMPTY_ROUNDS && found === undefined; round++) {
        const messages = await this.#queue.receive(10, SEARCH_VISIBILITY_SECONDS);
        empty = messages.length === 0 ? empty + 1 : 0;
        for (const message of messages) {
          if (message.ReceiptHandle === undefined) continue;
          if (found === undefined && deadLetterId(message.MessageId ?? "") === id) found = message.ReceiptHandle;
          else held.push(message.ReceiptHandle);
        }
      }
      if (found !== undefined) await this.#queue.delete(found);
      return found !== undefined;
    } finally {
      // Hand back what the search claimed; one that fails comes back by itself after the timeout.
      await Promise.allSettled(held.map((handle) => this.#queue.changeVisibility(handle, 0)));
    }
  }

  /** Peek at up to `limit` distinct messages, until `enough` says so or a round brings nothing new. */
  async #peek(limit: number, enough: (letter: DeadLetter) => boolean): Promise<Map<number, DeadLetter>> {
    const seen = new Map<number, DeadLetter>();
    const rounds = Number.isFinite(limit) ? Math.ceil(limit / 10) + 2 : SEARCH_ROUNDS;
    for (let round = 0; round < rounds && seen.size < limit; round++) {
      const messages = await this.#queue.receive(10, 0);
      let fresh = 0;
      for (const message of messages) {
        const letter = this.#letterOf(message);
        if (seen.has(letter.id)) continue;
        fresh++;
        seen.set(letter.id, letter);
        if (enough(letter)) return seen;
      }
      if (fresh === 0) break;
    }
    return seen;
  }

  #letterOf(message: Message): DeadLetter {
    const id = message.MessageId ?? "";
    const attributes = message.MessageAttributes;
    return {
      id: deadLetterId(id),
      sourceUri: stringAttribute(attributes, ATTR.source) ?? this.#sourceUri,
      messageId: stringAttribute(attributes, ATTR.messageId) ?? id,
      body: message.Body ?? "",
      reason: stringAttribute(attributes, ATTR.reason) ?? "",
      receiveCount: numberAttribute(attributes, ATTR.receiveCount) ?? 0,
      deadAt: numberAttribute(attributes, ATTR.deadAt) ?? Number(message.Attributes?.SentTimestamp ?? 0),
    };
  }
}
