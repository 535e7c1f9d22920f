/**
 * The dead letters of a Redis backend's stream and retry store: one list per queue (each written
 * by that queue's scripts, atomically with the delete), read here newest first. A letter's id is
 * its sequence number in its list × 2, + 1 for the retry store's, so one id names one letter of
 * either list; `remove` is one script that deletes exactly that entry.
 */
import type { DeadLetter, DeadLetterStore } from "../../ports.js";
import type { RedisConnection } from "./connection.js";
import { DEAD_LETTERS, retryKeys, streamKeys } from "./keys.js";

interface Stored {
  readonly seq: number;
  readonly sourceUri: string;
  readonly messageId: string;
  readonly body: string;
  readonly reason: string;
  readonly receiveCount: number;
  readonly deadAt: string;
}

function letterOf(stored: Stored, parity: number): DeadLetter {
  return {
    id: stored.seq * 2 + parity,
    sourceUri: stored.sourceUri,
    messageId: stored.messageId,
    body: stored.body,
    reason: stored.reason,
    receiveCount: stored.receiveCount,
    deadAt: Number(stored.deadAt),
  };
}

/** Both dead-letter lists. Ids are even for the stream's, odd for the retry store's. */
export class RedisDeadLetters implements DeadLetterStore {
  readonly #connection: RedisConnection;
  readonly #lists: readonly (readonly [string, number])[];

  constructor(connection: RedisConnection) {
    this.#connection = connection;
    const prefix = connection.location.prefix;
    this.#lists = [
      [streamKeys(prefix)[DEAD_LETTERS.stream] as string, 0],
      [retryKeys(prefix)[DEAD_LETTERS.retry] as string, 1],
    ];
  }

  /** The latest `limit` dead letters, newest first. */
  async list(limit = 100): Promise<DeadLetter[]> {
    const letters: DeadLetter[] = [];
    if (limit <= 0) return letters;
    for (const [key, parity] of this.#lists) {
      const items = await this.#connection.run("read dead letters", (redis) => redis.lrange(key, 0, limit - 1));
      for (const item of items) letters.push(letterOf(JSON.parse(item) as Stored, parity));
    }
    return letters.sort((a, b) => b.deadAt - a.deadAt || b.id - a.id).slice(0, limit);
  }

  async get(id: number): Promise<DeadLetter | undefined> {
    const [key, parity, seq] = this.#locate(id);
    const items = await this.#connection.run("read dead letters", (redis) => redis.lrange(key, 0, -1));
    for (const item of items) {
      const stored = JSON.parse(item) as Stored;
      if (stored.seq === seq) return letterOf(stored, parity);
    }
    return undefined;
  }

  async remove(id: number): Promise<boolean> {
    const [key, , seq] = this.#locate(id);
    return (await this.#connection.run("remove dead letter", (redis) => redis.syDeadLetterRemove(key, seq))) === 1;
  }

  /** The list an id is in, its parity and its sequence number there. */
  #locate(id: number): readonly [string, number, number] {
    const parity = id % 2;
    const [key] = this.#lists[parity] as readonly [string, number];
    return [key, parity, (id - parity) / 2];
  }
}
