/**
 * What the sources that cannot receive one instance's messages apart from the others' (Redis,
 * SQS, SNS, Kinesis) answer when asked to: a one-line refusal, never the other instances' work.
 */
import { UsageError } from "../errors.js";
import type { MessageSource, ReceiveOptions } from "../ports.js";

/** Throw when a receive names an instance: `source` cannot filter by correlation id. */
export function refuseInstanceFilter(source: Pick<MessageSource, "uri" | "role" | "side">, options: ReceiveOptions): void {
  if (options.correlationId === undefined) return;
  throw new UsageError(
    `${source.role}.${source.side} (${source.uri}) cannot receive the messages of one instance (${options.correlationId}) apart from other instances'; receive without a correlation id, or use a backend that filters: sqlite, postgres, dynamodb`,
    { code: "unfiltered_source" },
  );
}
