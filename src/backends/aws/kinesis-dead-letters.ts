/**
 * Dead letters of Kinesis sources: Kinesis cannot set a record aside, so a dead-lettered record is
 * appended as one JSON line to `<baseDir>/.switchyard/kinesis-dead-letters.jsonl` (and its shard
 * moves past it). {@link KinesisDeadLetters} lists that file, newest first.
 */
import { appendFileSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { SystemError } from "../../errors.js";
import type { DeadLetter, DeadLetterStore } from "../../ports.js";

/** The dead-letter file of a base directory. */
export function deadLettersFile(baseDir: string): string {
  return join(baseDir, ".switchyard", "kinesis-dead-letters.jsonl");
}

/** The dead-letter file, optionally only the letters of one stream. */
export class KinesisDeadLetters implements DeadLetterStore {
  readonly #file: string;
  readonly #sourceUri: string | undefined;

  constructor(baseDir: string, sourceUri?: string) {
    this.#file = deadLettersFile(baseDir);
    this.#sourceUri = sourceUri;
  }

  /** Append a dead letter. */
  append(letter: Omit<DeadLetter, "id">): void {
    try {
      mkdirSync(dirname(this.#file), { recursive: true });
      appendFileSync(this.#file, `${JSON.stringify(letter)}\n`);
    } catch (error) {
      throw new SystemError(`cannot append to Kinesis dead-letter file ${this.#file}: ${(error as Error).message}`, { cause: error });
    }
  }

  /** The latest `limit` dead letters (of this stream, when one was given), newest first. */
  async list(limit = 100): Promise<DeadLetter[]> {
    let text: string;
    try {
      text = readFileSync(this.#file, "utf8");
    } catch {
      return [];
    }
    const letters: DeadLetter[] = [];
    text.split("\n").forEach((line, index) => {
      if (line.trim() === "") return;
      try {
        const letter = JSON.parse(line) as Omit<DeadLetter, "id">;
        if (this.#sourceUri === undefined || letter.sourceUri === this.#sourceUri) letters.push({ ...letter, id: index + 1 });
      } catch {
        // a torn last line: skip it
      }
    });
    return letters.reverse().slice(0, limit);
  }
}
