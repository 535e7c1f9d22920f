/**
 * The DynamoDB backend's URI: a table ARN naming the family's prefix, with optional settings in a
 * query, `arn:aws:dynamodb:REGION:ACCOUNT:table/NAME?journal_ttl_days=30`. The ports and Lambda's
 * routing use the ARN without its query.
 */
import { type NumberRange, parseNumber, rangeProblem } from "../../../core/ranges.js";
import { SettingsError } from "../../../errors.js";

/** What the query may set. */
const OPTIONS = ["journal_ttl_days"] as const;

/** How long journal items live before DynamoDB's TTL may delete them. */
export const JOURNAL_TTL_DAYS_RANGE: NumberRange = { min: 1, max: 36_500, whole: true, unit: "days", why: "about 100 years" };

/** A parsed DynamoDB URI. */
export interface DynamoDbUri {
  /** The ARN without the query: `arn:aws:dynamodb:REGION:ACCOUNT:table/NAME`. */
  readonly arn: string;
  /** Days the journal's items are kept after their last write (a TTL stamp); undefined: kept for good. */
  readonly journalTtlDays?: number | undefined;
}

/**
 * Split the ARN from its query and check the query's settings; one line for an unknown or
 * out-of-range setting.
 *
 * @example
 * ```ts
 * parseDynamoDbUri("arn:aws:dynamodb:us-east-1:123456789012:table/orders?journal_ttl_days=30");
 * // {arn: "arn:aws:dynamodb:us-east-1:123456789012:table/orders", journalTtlDays: 30}
 * ```
 */
export function parseDynamoDbUri(uri: string): DynamoDbUri {
  const mark = uri.indexOf("?");
  if (mark < 0) return { arn: uri };
  const arn = uri.slice(0, mark);
  const params = new URLSearchParams(uri.slice(mark + 1));
  for (const key of params.keys()) {
    if (!(OPTIONS as readonly string[]).includes(key)) {
      throw new SettingsError(`DynamoDB URI "${uri}" has unknown option "${key}"; known options: ${OPTIONS.join(", ")}`);
    }
  }
  const text = params.get("journal_ttl_days");
  if (text === null) return { arn };
  const days = parseNumber(text);
  const problem = rangeProblem(days, JOURNAL_TTL_DAYS_RANGE, JSON.stringify(text));
  if (problem !== undefined) throw new SettingsError(`DynamoDB URI "${uri}": journal_ttl_days ${problem}`);
  return { arn, journalTtlDays: days };
}
