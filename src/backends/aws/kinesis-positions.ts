/**
 * Where a Kinesis consumer resumes: the sequence number of the last acknowledged record of each
 * shard, in `<baseDir>/.switchyard/kinesis-positions.json` (`{ "<streamArn>": { "<shardId>":
 * "<sequenceNumber>" } }`), so dev-lambda and a worker on the same machine resume where either
 * stopped. Each save re-reads the file, merges this consumer's shards and replaces the file
 * atomically (write a temporary file, then rename).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { SystemError } from "../../errors.js";

type Positions = Record<string, Record<string, string>>;

/** The positions file of a base directory. */
export function positionsFile(baseDir: string): string {
  return join(baseDir, ".switchyard", "kinesis-positions.json");
}

function read(file: string): Positions {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return {};
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    return parsed !== null && typeof parsed === "object" ? (parsed as Positions) : {};
  } catch (error) {
    throw new SystemError(`Kinesis positions file ${file} is not JSON; fix or delete it (consumers then start at TRIM_HORIZON)`, {
      cause: error,
    });
  }
}

/** The stored positions of one stream. */
export class PositionStore {
  readonly #file: string;
  readonly #streamArn: string;

  constructor(baseDir: string, streamArn: string) {
    this.#file = positionsFile(baseDir);
    this.#streamArn = streamArn;
  }

  /** The last acknowledged sequence number of each shard. */
  load(): Record<string, string> {
    return { ...(read(this.#file)[this.#streamArn] ?? {}) };
  }

  /** Store `sequenceNumber` as the position of `shardId`. */
  save(shardId: string, sequenceNumber: string): void {
    try {
      const all = read(this.#file);
      all[this.#streamArn] = { ...(all[this.#streamArn] ?? {}), [shardId]: sequenceNumber };
      mkdirSync(dirname(this.#file), { recursive: true });
      const temporary = `${this.#file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
      writeFileSync(temporary, `${JSON.stringify(all, null, 2)}\n`);
      renameSync(temporary, this.#file);
    } catch (error) {
      if (error instanceof SystemError) throw error;
      throw new SystemError(`cannot write Kinesis positions file ${this.#file}: ${(error as Error).message}`, { cause: error });
    }
  }
}
