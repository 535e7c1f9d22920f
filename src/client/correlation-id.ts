/**
 * The correlation ids `start` accepts: ones every transport and store can carry unchanged, so an
 * instance never gets a key one backend truncates, hashes or rejects after it was started.
 *
 * | where the id goes | its limit |
 * | --- | --- |
 * | SQS message attribute; a FIFO queue's MessageGroupId / MessageDeduplicationId | 128 characters, alphanumerics and punctuation |
 * | Kinesis partition key | 256 Unicode characters |
 * | DynamoDB partition key / sort key | 2048 / 1024 bytes |
 * | Memcached key `PREFIX:dispatched:ID` (prefix at most 100) | 250 bytes, printable ASCII without spaces |
 * | Redis hash tag `{ID}` | no braces |
 * | Lambda HTTP route `/instances/{id}` | one path segment: no `/` |
 */
import { UsageError } from "../errors.js";

/** Longest correlation id: SQS's limit for group and deduplication ids, the tightest of all. */
export const MAX_CORRELATION_ID_LENGTH = 128;

/** The characters of a correlation id. */
const CHARACTERS = /^[A-Za-z0-9._:-]+$/;

const RULE = `use 1 to ${MAX_CORRELATION_ID_LENGTH} characters from A-Z a-z 0-9 . _ : -`;

/**
 * Throw a one-line {@link UsageError} (code `invalid_correlation_id`) unless `id` is 1 to 128
 * letters, digits, `.`, `_`, `:` or `-`.
 *
 * @example
 * ```ts
 * checkCorrelationId("order-42");  // fine
 * checkCorrelationId("");          // throws: correlation id is empty; use 1 to 128 characters from …
 * ```
 */
export function checkCorrelationId(id: string): void {
  const refuse = (problem: string): never => {
    throw new UsageError(`correlation id ${problem}; ${RULE}`, { code: "invalid_correlation_id" });
  };
  if (typeof id !== "string") refuse(`must be a string, got ${JSON.stringify(id)}`);
  if (id === "") refuse("is empty");
  if (id.length > MAX_CORRELATION_ID_LENGTH) refuse(`"${id.slice(0, 20)}…" is ${id.length} characters long`);
  if (!CHARACTERS.test(id)) {
    const bad = [...id].find((character) => !CHARACTERS.test(character)) ?? "";
    refuse(`${JSON.stringify(id)} contains ${JSON.stringify(bad)}`);
  }
}
