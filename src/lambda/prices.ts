/**
 * The price table `switchyard cost` turns call counts into dollars with: AWS on-demand list prices
 * for one region, each with the page it was read from and when. Prices change; `--prices FILE`
 * replaces any of them (a JSON object in the shape of {@link PriceTable}, every key optional).
 */
import { readFileSync } from "node:fs";
import { UsageError } from "../errors.js";

/** One price: dollars per `unit`, and where and when it was read. */
export interface Price {
  readonly usd: number;
  readonly unit: string;
  readonly source: string;
  readonly date: string;
}

/** The prices `switchyard cost` uses. */
export const PRICE_KEYS = [
  "sqsRequest",
  "snsPublish",
  "kinesisShardHour",
  "kinesisPutPayloadUnit",
  "dynamodbWriteRequestUnit",
  "dynamodbReadRequestUnit",
  "cloudwatchPutMetricData",
  "lambdaRequest",
  "lambdaGbSecond",
  "elasticacheNodeHour",
  "stepFunctionsStandardTransition",
  "stepFunctionsExpressRequest",
  "stepFunctionsExpressGbSecond",
] as const;

/** The name of one price. */
export type PriceKey = (typeof PRICE_KEYS)[number];

/** A region's prices. */
export interface PriceTable {
  readonly region: string;
  readonly prices: Readonly<Record<PriceKey, Price>>;
}

const SQS = "https://aws.amazon.com/sqs/pricing/";
const SNS = "https://aws.amazon.com/sns/pricing/";
const KINESIS = "https://aws.amazon.com/kinesis/data-streams/pricing/";
const DYNAMODB = "https://aws.amazon.com/dynamodb/pricing/on-demand/";
const CLOUDWATCH = "https://aws.amazon.com/cloudwatch/pricing/";
const LAMBDA = "https://aws.amazon.com/lambda/pricing/";
const ELASTICACHE = "https://aws.amazon.com/elasticache/pricing/";
const STEP_FUNCTIONS = "https://aws.amazon.com/step-functions/pricing/";
// The list prices as published through 2025. The DynamoDB and Step Functions figures were checked
// against copies of those pages for this table; the others were not re-read: check them before
// quoting a figure, and give current ones with --prices.
const READ = "2025";

/**
 * us-east-1, on demand, past the free tiers. DynamoDB's on-demand throughput is the price since
 * the cut of 1 November 2024 (half the former $1.25 and $0.25 per million). ElastiCache is one
 * cache.t4g.small node; Kinesis a provisioned shard.
 */
export const US_EAST_1: PriceTable = {
  region: "us-east-1",
  prices: {
    sqsRequest: { usd: 0.4e-6, unit: "request (64 KiB chunk), standard queue", source: SQS, date: READ },
    snsPublish: { usd: 0.5e-6, unit: "publish (64 KiB chunk), standard topic", source: SNS, date: READ },
    kinesisShardHour: { usd: 0.015, unit: "shard-hour, provisioned", source: KINESIS, date: READ },
    kinesisPutPayloadUnit: { usd: 0.014e-6, unit: "PUT payload unit (25 KB)", source: KINESIS, date: READ },
    dynamodbWriteRequestUnit: { usd: 0.625e-6, unit: "write request unit (1 KB), on demand", source: DYNAMODB, date: "2024-11-01" },
    dynamodbReadRequestUnit: { usd: 0.125e-6, unit: "read request unit (4 KB strongly consistent), on demand", source: DYNAMODB, date: "2024-11-01" },
    cloudwatchPutMetricData: { usd: 0.01e-3, unit: "PutMetricData request", source: CLOUDWATCH, date: READ },
    lambdaRequest: { usd: 0.2e-6, unit: "invocation", source: LAMBDA, date: READ },
    lambdaGbSecond: { usd: 0.0000166667, unit: "GB-second, x86", source: LAMBDA, date: READ },
    elasticacheNodeHour: { usd: 0.032, unit: "node-hour, cache.t4g.small, Redis OSS", source: ELASTICACHE, date: READ },
    stepFunctionsStandardTransition: { usd: 25e-6, unit: "state transition, Standard", source: STEP_FUNCTIONS, date: READ },
    stepFunctionsExpressRequest: { usd: 1e-6, unit: "execution, Express", source: STEP_FUNCTIONS, date: READ },
    stepFunctionsExpressGbSecond: { usd: 0.00001667, unit: "GB-second, Express (first 1,000 GB-hours)", source: STEP_FUNCTIONS, date: READ },
  },
};

/** The built-in tables, by region. */
export const PRICE_TABLES: Readonly<Record<string, PriceTable>> = { "us-east-1": US_EAST_1 };

/**
 * The prices for `region`, with those of `overrideFile` (JSON: `{"region": "…", "prices": {"sqsRequest":
 * {"usd": 4e-7, "source": "…", "date": "…"}, …}}`, or a bare number per key) in place of the
 * built-in ones. A region without a built-in table needs a file that gives every price.
 */
export function loadPrices(region: string, overrideFile?: string): PriceTable {
  const base = PRICE_TABLES[region];
  if (overrideFile === undefined) {
    if (base === undefined) throw new UsageError(`no built-in price table for ${region} (only ${Object.keys(PRICE_TABLES).join(", ")}); give one with --prices FILE`);
    return base;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(overrideFile, "utf8"));
  } catch (error) {
    throw new UsageError(`cannot read --prices ${overrideFile}: ${(error as Error).message.split("\n")[0]}`);
  }
  return mergePrices(base, region, parsed, overrideFile);
}

/** `base` with the prices `given` names replaced (see {@link loadPrices}). */
export function mergePrices(base: PriceTable | undefined, region: string, given: unknown, file = "--prices"): PriceTable {
  const object = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
  if (!object(given) || (given.prices !== undefined && !object(given.prices))) {
    throw new UsageError(`${file} must be a JSON object {"prices": {"sqsRequest": {"usd": 4e-7}, …}}`);
  }
  const entries = (given.prices ?? {}) as Record<string, unknown>;
  const prices: Partial<Record<PriceKey, Price>> = { ...base?.prices };
  for (const [key, value] of Object.entries(entries)) {
    if (!(PRICE_KEYS as readonly string[]).includes(key)) throw new UsageError(`${file}: unknown price "${key}"; the prices are ${PRICE_KEYS.join(", ")}`);
    const priceKey = key as PriceKey;
    const usd = typeof value === "number" ? value : object(value) ? value.usd : undefined;
    if (typeof usd !== "number" || !Number.isFinite(usd) || usd < 0) throw new UsageError(`${file}: ${key} needs a price in dollars ≥ 0 ("usd")`);
    const before = prices[priceKey];
    const text = (field: string, fallback: string) => (object(value) && typeof value[field] === "string" ? (value[field] as string) : fallback);
    prices[priceKey] = { usd, unit: text("unit", before?.unit ?? key), source: text("source", file), date: text("date", before?.date ?? "given") };
  }
  const missing = PRICE_KEYS.filter((key) => prices[key] === undefined);
  if (missing.length > 0) throw new UsageError(`${file}: no built-in prices for ${region}; it must give ${missing.join(", ")}`);
  return { region: typeof given.region === "string" ? given.region : region, prices: prices as Record<PriceKey, Price> };
}
