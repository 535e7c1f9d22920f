/**
 * The pricing arithmetic of `switchyard cost`: the billed units of single calls, and a measurement
 * priced by hand with the us-east-1 table.
 */
import { describe, expect, it } from "vitest";
import { type CallCount, type CostMeasurement, priceCost } from "../../../src/lambda/cost.js";
import { callUnits, itemSize, noUnits } from "../../../src/lambda/cost-units.js";
import { mergePrices, US_EAST_1 } from "../../../src/lambda/prices.js";

const count = (phase: CallCount["phase"], service: string, operation: string, calls: number, units: Partial<ReturnType<typeof noUnits>>): CallCount => ({
  phase,
  service,
  operation,
  calls,
  failed: 0,
  units: { ...noUnits(), ...units },
});

describe("the units of a call", () => {
  it("bills SQS by 64 KiB chunks of the request's payload, and a receive by what it returned", () => {
    const body = "x".repeat(70 * 1024);
    expect(callUnits({ service: "SQS", operation: "SendMessage", input: { MessageBody: body }, output: {} }).sqsRequests).toBe(2);
    expect(callUnits({ service: "SQS", operation: "SendMessageBatch", input: { Entries: [{ MessageBody: "a" }, { MessageBody: "b" }] }, output: {} }).sqsRequests).toBe(1);
    expect(callUnits({ service: "SQS", operation: "ReceiveMessage", input: {}, output: { Messages: [{ Body: body }, { Body: body }] } }).sqsRequests).toBe(3);
    expect(callUnits({ service: "SQS", operation: "ReceiveMessage", input: {}, output: {} }).sqsRequests).toBe(1);
  });

  it("bills Kinesis by 25 KB PUT payload units per record, and SNS by 64 KiB per message", () => {
    const records = [{ Data: new Uint8Array(30 * 1024), PartitionKey: "a" }, { Data: new Uint8Array(1024), PartitionKey: "b" }];
    expect(callUnits({ service: "Kinesis", operation: "PutRecords", input: { Records: records }, output: {} }).kinesisPutUnits).toBe(3);
    expect(callUnits({ service: "Kinesis", operation: "GetRecords", input: {}, output: {} }).kinesisPutUnits).toBe(0);
    const entries = [{ Message: "a" }, { Message: "b".repeat(65 * 1024) }];
    expect(callUnits({ service: "SNS", operation: "PublishBatch", input: { PublishBatchRequestEntries: entries }, output: {} }).snsPublishes).toBe(3);
  });

  it("takes DynamoDB's consumed capacity when it answered with it, else the item sizes (transactions at twice the units)", () => {
    expect(callUnits({ service: "DynamoDB", operation: "UpdateItem", input: { Key: { pk: { S: "a" } } }, output: { ConsumedCapacity: { CapacityUnits: 3 } } }).wru).toBe(3);
    expect(callUnits({ service: "DynamoDB", operation: "BatchGetItem", input: {}, output: { ConsumedCapacity: [{ CapacityUnits: 1 }, { CapacityUnits: 2 }] } }).rru).toBe(3);
    // A failed conditional write is billed too: 1500 bytes of item → 2 units.
    const item = { pk: { S: "k" }, data: { S: "d".repeat(1500 - "pk".length - "k".length - "data".length) } };
    expect(itemSize(item)).toBe(1500);
    expect(callUnits({ service: "DynamoDB", operation: "PutItem", input: { Item: item }, output: undefined }).wru).toBe(2);
    const transact = { TransactItems: [{ Put: { Item: { pk: { S: "a" } } } }, { Update: { Key: { pk: { S: "b" } } } }] };
    expect(callUnits({ service: "DynamoDB", operation: "TransactWriteItems", input: transact, output: {} }).wru).toBe(4);
    expect(callUnits({ service: "DynamoDB", operation: "DescribeTable", input: {}, output: {} })).toEqual(noUnits());
  });

  it("sizes numbers, maps and lists as DynamoDB does", () => {
    expect(itemSize({ n: { N: "12345" } })).toBe(1 + 4);
    expect(itemSize({ m: { M: { a: { S: "xy" } } } })).toBe(1 + 3 + 1 + 1 + 2);
    expect(itemSize({ l: { L: [{ BOOL: true }, { NULL: true }] } })).toBe(1 + 3 + 2 + 2);
  });
});

describe("priceCost", () => {
  it("prices a measurement by hand: units per transition times the table's prices", () => {
    const measurement: CostMeasurement = {
      transitions: 4,
      instances: 2,
      invocations: 2,
      durationsMs: [100.2, 99.5],
      batchSize: 10,
      calls: [
        count("handler", "DynamoDB", "UpdateItem", 8, { wru: 8 }),
        count("handler", "DynamoDB", "BatchGetItem", 4, { rru: 8 }),
        count("handler", "SQS", "SendMessage", 2, { sqsRequests: 2 }),
        count("poll", "SQS", "ReceiveMessage", 2, { sqsRequests: 2 }),
        count("poll", "SQS", "DeleteMessage", 4, { sqsRequests: 4 }),
        count("poll", "SQS", "GetQueueAttributes", 1, { sqsRequests: 1 }),
        count("poll", "DynamoDB", "Query", 3, { rru: 1.5 }),
      ],
      resources: { kinesisStreams: 0, elastiCacheClusters: 0 },
    };
    const report = priceCost(measurement, US_EAST_1, { memoryMb: 512, throughput: 100, kinesisShards: 1, elastiCacheNodes: 2 });
    const byItem = Object.fromEntries(report.lines.map((line) => [line.item, line]));
    // 8 WRU / 4 = 2 WRU at $0.625 per million.
    expect(byItem["DynamoDB write request units"]?.usdPerMillion).toBeCloseTo(1.25, 10);
    // 8 RRU / 4 = 2 RRU at $0.125 (the poll's Query is dev-lambda's, not billed).
    expect(byItem["DynamoDB read request units"]?.usdPerMillion).toBeCloseTo(0.25, 10);
    // (2 sends + 2 receives + 4 deletes as one batch of 10 → 0.4) / 4 = 1.1 requests at $0.40.
    expect(byItem["SQS requests (64 KiB chunks)"]?.perTransition).toBeCloseTo(1.1, 10);
    expect(byItem["SQS requests (64 KiB chunks)"]?.usdPerMillion).toBeCloseTo(0.44, 10);
    // 2 invocations / 4 = 0.5 at $0.20.
    expect(byItem["Lambda requests"]?.usdPerMillion).toBeCloseTo(0.1, 10);
    // ceil(100.2) + ceil(99.5) = 201 ms → 0.201 s × 0.5 GB = 0.1005 GB-s; / 4 × $0.0000166667 × 1e6.
    expect(byItem["Lambda GB-seconds (512 MB)"]?.usdPerMillion).toBeCloseTo(0.025125 * 16.6667, 8);
    expect(report.usdPerMillion).toBeCloseTo(1.25 + 0.25 + 0.44 + 0.1 + 0.025125 * 16.6667, 8);
    expect(report.stepFunctions.standard).toBe(25);
    // Express: 2 transitions an execution, 49.925 ms each → 99.85 ms → 0.1 s at 64 MB;
    // 500,000 executions × ($1e-6 + 0.1 × 0.0625 × $0.00001667).
    expect(report.stepFunctions.express).toBeCloseTo(500_000 * (1e-6 + 0.1 * 0.0625 * 0.00001667), 10);
    expect(report.dominant[0]).toEqual({ call: "handler DynamoDB UpdateItem", usdPerMillion: expect.closeTo(1.25, 10) });
    expect(report.calls.find((c) => c.operation === "Query")?.billed).toBe(false);
  });

  it("spreads hourly resources over the stated throughput", () => {
    const measurement: CostMeasurement = { transitions: 10, instances: 5, invocations: 0, durationsMs: [], batchSize: 10, calls: [], resources: { kinesisStreams: 1, elastiCacheClusters: 1 } };
    const report = priceCost(measurement, US_EAST_1, { memoryMb: 512, throughput: 100, kinesisShards: 2, elastiCacheNodes: 2 });
    const byItem = Object.fromEntries(report.lines.map((line) => [line.price, line.usdPerMillion]));
    // A million transitions at 100/s take 10,000 s: 2 shards × 10,000/3600 h × $0.015.
    expect(byItem.kinesisShardHour).toBeCloseTo((2 * 10_000 * 0.015) / 3600, 10);
    expect(byItem.elasticacheNodeHour).toBeCloseTo((2 * 10_000 * 0.032) / 3600, 10);
  });
});

describe("price overrides", () => {
  it("replaces the prices a file names and keeps the rest", () => {
    const table = mergePrices(US_EAST_1, "us-east-1", { prices: { sqsRequest: 5e-7, lambdaGbSecond: { usd: 1e-5, source: "quote", date: "2026-01-01" } } });
    expect(table.prices.sqsRequest.usd).toBe(5e-7);
    expect(table.prices.lambdaGbSecond).toMatchObject({ usd: 1e-5, source: "quote", date: "2026-01-01" });
    expect(table.prices.dynamodbWriteRequestUnit).toBe(US_EAST_1.prices.dynamodbWriteRequestUnit);
    expect(() => mergePrices(US_EAST_1, "us-east-1", { prices: { sqs: 1 } })).toThrow(/unknown price "sqs"/);
    expect(() => mergePrices(undefined, "eu-west-1", { prices: { sqsRequest: 1 } })).toThrow(/no built-in prices for eu-west-1; it must give snsPublish/);
  });
});
