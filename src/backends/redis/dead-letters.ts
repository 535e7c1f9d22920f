/**
 * The dead letters of a Redis backend's stream and retry store: one list per queue (each written
 * by that queue's scripts, atomically with the delete), read here newest first.
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

/** Read access to both dead-letter lists. Ids are even for the stream's, odd for the retry store's. */
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
      for (const item of items) {
        const stored = JSON.parse(item) as Stored;
        letters.push({
          id: stored.seq * 2 + parity,
          sourceUri: stored.sourceUri,
          messageId: stored.messageId,
          body: stored.body,
          reason: stored.reason,
          receiveCount: stored.receiveCount,
          deadAt: Number(stored.deadAt),
        });
      }
    }
    return letters.sort((a, b) => b.deadAt - a.deadAt || b.id - a.id).slice(0, limit);
  }
}
