/**
 * Wire compatibility with the seed system, on every transport both use, against the emulators
 * (kinesalite, fauxqs, dynalite): what the seed writes (byte-level fixtures in test/fixtures/seed,
 * made with its serializer) is read by Switchyard, and what Switchyard writes is read by the seed's
 * consumers (test/support/seed.ts reads each transport exactly as aws_lambda_fsm/handler.py does),
 * so a fleet can move from the seed system to Switchyard one consumer at a time.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type AttributeValue,
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
} from "@aws-sdk/client-dynamodb";
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, PutRecordCommand } from "@aws-sdk/client-kinesis";
import { PublishCommand } from "@aws-sdk/client-sns";
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DynamoDbBackend, openDynamoDbBackend } from "../../src/backends/aws/dynamodb/backend.js";
import { insertRecord } from "../../src/backends/aws/dynamodb/stream-record.js";
import { seedPartition } from "../../src/backends/aws/dynamodb/retry-store.js";
import { openKinesisBackend } from "../../src/backends/aws/kinesis.js";
import { kinesisCodec } from "../../src/backends/aws/kinesis-record.js";
import { openSnsBackend } from "../../src/backends/aws/sns.js";
import { snsCodec } from "../../src/backends/aws/sns-record.js";
import { openSqsBackend } from "../../src/backends/aws/sqs.js";
import type { BackendContext } from "../../src/backends/backend.js";
import { openSqliteBackend } from "../../src/backends/sqlite/index.js";
import { Switchyard } from "../../src/client/switchyard.js";
import { decodeMessage } from "../../src/core/message.js";
import { silentLogger } from "../../src/logger.js";
import { type Clock, type MessageSource, systemClock } from "../../src/ports.js";
import { type RunningEmulator, startFauxqs, startKinesalite } from "../support/aws-emulators.js";
import { TestClock } from "../support/clock.js";
import { type RunningDynalite, startDynalite } from "../support/dynalite.js";
import { PROTOCOL_FSM } from "../support/protocol-harness.js";
import { seedDynamoDbPayload, seedFixture, seedItem, seedKinesisPayload, seedProcessPayload, seedRetryPayload } from "../support/seed.js";
import { message } from "./port-factory.js";

let kinesalite: RunningEmulator;
let fauxqs: RunningEmulator;
let dynalite: RunningDynalite;
beforeAll(async () => {
  [kinesalite, fauxqs, dynalite] = await Promise.all([startKinesalite(), startFauxqs(), startDynalite()]);
});
afterAll(async () => {
  await Promise.all([kinesalite.close(), fauxqs.close(), dynalite.close()]);
});

const ACCOUNT = "000000000000";
const receive = (source: MessageSource, max = 10) => source.receive({ max, visibilityTimeoutSeconds: 30 });

/** A wire message as Switchyard's engine writes it (compact JSON, its key order). */
function wireMessage(correlationId: string, steps = 1, retries = 0): string {
  return JSON.stringify({
    version: "0.1",
    system_context: {
      machine_name: "simple",
      current_state: "start",
      current_event: "go",
      correlation_id: correlationId,
      steps,
      retries,
      max_retries: 2,
      started_at: 1767225600.5,
      lease_primary: true,
      additional_delay_seconds: 0,
      lease_timeout: 300,
    },
    user_context: { customer: "Zoë", count: 1 },
  });
}

function context(clock: Clock, extra: Partial<BackendContext> = {}): BackendContext {
  return {
    clock,
    baseDir: process.cwd(),
    endpoints: { kinesis: kinesalite.endpoint, sqs: fauxqs.endpoint, sns: fauxqs.endpoint, dynamodb: dynalite.endpoint },
    logger: silentLogger,
    ...extra,
  };
}

describe("Kinesis in the seed system's layout", () => {
  /** A provisioned stream and a consumer keeping its state in a scratch SQLite file. */
  async function openStream(clock: Clock) {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-seed-kinesis-"));
    const state = openSqliteBackend(`sqlite:${join(dir, "state.db")}`, { clock });
    const uri = `arn:aws:kinesis:us-east-1:${ACCOUNT}:stream/seed-${randomUUID()}`;
    const backend = await openKinesisBackend(uri, context(clock, { consumerState: async () => state.consumerState() }));
    await backend.provision();
    const name = uri.split("/")[1] as string;
    const put = (data: string, partitionKey: string) =>
      backend.client.send(new PutRecordCommand({ StreamName: name, Data: Buffer.from(data, "utf8"), PartitionKey: partitionKey }));
    /** Every record's data, as the seed's consumer (any Kinesis reader) gets it. */
    const records = async () => {
      const [shard] = (await backend.client.send(new ListShardsCommand({ StreamName: name }))).Shards ?? [];
      const { ShardIterator } = await backend.client.send(
        new GetShardIteratorCommand({ StreamName: name, ShardId: shard?.ShardId, ShardIteratorType: "TRIM_HORIZON" }),
      );
      return (await backend.client.send(new GetRecordsCommand({ ShardIterator }))).Records ?? [];
    };
    const cleanup = async () => {
      await backend.close();
      await state.close();
      rmSync(dir, { recursive: true, force: true });
    };
    return { uri, backend, stream: backend.stream("primary"), put, records, cleanup };
  }

  it("reads a record exactly as the seed writes it: the payload, byte for byte, due at once", async () => {
    const data = seedFixture("kinesis-record-data.json");
    const { uri, stream, put, cleanup } = await openStream(new TestClock());
    const { SequenceNumber } = await put(data, "seed-kinesis-1");
    const [delivery, ...rest] = await receive(stream);
    expect(rest).toEqual([]);
    expect(delivery?.body).toBe(data);
    expect(decodeMessage(delivery!.body).system_context).toMatchObject({ correlation_id: "seed-kinesis-1", steps: 0, started_at: 1767225600 });
    expect(decodeMessage(delivery!.body).user_context).toEqual({ customer: "Zoë" });
    // The same record as Lambda's Kinesis trigger hands it to the handler.
    const record = {
      kinesis: { kinesisSchemaVersion: "1.0", partitionKey: "seed-kinesis-1", sequenceNumber: SequenceNumber, data: Buffer.from(data).toString("base64") },
      eventSource: "aws:kinesis",
      eventID: `shardId-000000000000:${SequenceNumber}`,
      eventSourceARN: uri,
    };
    expect(kinesisCodec.decode(record)).toMatchObject({ body: data, handle: { due: 0 } });
    await cleanup();
  });

  it("writes the seed's payload, with its own metadata under one top-level key the seed does not read", async () => {
    const clock = new TestClock();
    const { stream, records, cleanup } = await openStream(clock);
    const body = wireMessage("sy-1", 3);
    await stream.send({ correlationId: "sy-1", steps: 3, retries: 0, body, delaySeconds: 5 });
    await stream.schedule({ correlationId: "sy-2", steps: 1, retries: 1, body: wireMessage("sy-2", 1, 1), delaySeconds: 0 });
    const [sent, scheduled] = await records();
    const data = seedKinesisPayload(sent!.Data!);
    expect(seedProcessPayload(data)).toEqual({ system_context: JSON.parse(body).system_context, user_context: JSON.parse(body).user_context });
    const parsed = JSON.parse(data) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(["version", "system_context", "user_context", "switchyard"]);
    expect(parsed.switchyard).toEqual({ due: clock.now() + 5000, correlation_id: "sy-1", steps: 3, retries: 0 });
    // The message's own bytes come first, unchanged.
    expect(data.startsWith(body.slice(0, -1))).toBe(true);
    const retry = JSON.parse(seedKinesisPayload(scheduled!.Data!)) as { switchyard: Record<string, unknown> };
    expect(retry.switchyard).toEqual({ due: clock.now(), correlation_id: "sy-2", steps: 1, retries: 1, token: expect.any(String), scheduled_at: clock.now() });
    await cleanup();
  });

  it("still reads the envelope earlier Switchyard versions wrote, keeping its due time", async () => {
    const clock = new TestClock();
    const { stream, put, cleanup } = await openStream(clock);
    const body = wireMessage("old-1");
    await put(JSON.stringify({ switchyard: 1, body, due: clock.now() + 10_000, correlationId: "old-1", steps: 1, retries: 0 }), "old-1");
    expect(await receive(stream)).toEqual([]);
    clock.advance(10_000);
    expect((await receive(stream)).map((d) => d.body)).toEqual([body]);
    await cleanup();
  });

  it("ignores metadata that a seed retry copied into a message with other retries", async () => {
    const clock = new TestClock();
    const { stream, put, cleanup } = await openStream(clock);
    // The seed retries by re-serializing the original record's keys with retries + 1.
    const original = JSON.parse(wireMessage("mixed-1", 2, 0)) as { system_context: Record<string, unknown> };
    const retried = { ...original, system_context: { ...original.system_context, retries: 1 } };
    const stale = { due: clock.now() + 3_600_000, correlation_id: "mixed-1", steps: 2, retries: 0 };
    await put(JSON.stringify({ ...retried, switchyard: stale }), "mixed-1");
    const [delivery] = await receive(stream);
    expect(JSON.parse(delivery!.body)).toEqual(retried);
    await cleanup();
  });

  it("runs an instance the seed started to completion, every message it writes readable by the seed", async () => {
    const { uri, put, records, cleanup } = await openStream(systemClock);
    const dir = mkdtempSync(join(tmpdir(), "switchyard-seed-e2e-"));
    const store = `sqlite:${join(dir, "state.db")}`;
    const settings = Switchyard.settings(
      { stream: uri, retry: store, cache: store, checkpoint: store, journal: store, metrics: false, environment: false, endpoints: context(systemClock).endpoints },
      dir,
    );
    const sy = await Switchyard.open({ definitions: PROTOCOL_FSM, settings, logger: silentLogger, cwd: dir });
    try {
      await put(seedFixture("kinesis-record-data.json"), "seed-kinesis-1");
      const done = async () => (await sy.status("seed-kinesis-1").catch(() => undefined))?.status === "completed";
      const worker = sy.worker({ stopWhenIdle: done });
      const guard = setTimeout(() => worker.stop(), 20_000);
      await worker.run();
      clearTimeout(guard);
      expect(await sy.status("seed-kinesis-1")).toMatchObject({ status: "completed", state: "end", userContext: { customer: "Zoë", count: 2 } });
      const written = (await records()).slice(1).map((record) => seedProcessPayload(seedKinesisPayload(record.Data!)));
      expect(written.map((m) => [m.system_context.current_state, m.system_context.current_event, m.system_context.steps])).toEqual([
        ["start", "go", 1],
        ["middle", "go", 2],
      ]);
    } finally {
      await sy.close();
      rmSync(dir, { recursive: true, force: true });
      await cleanup();
    }
  });
});

describe("SQS in the seed system's layout", () => {
  async function openQueue(clock: Clock) {
    const backend = await openSqsBackend(`arn:aws:sqs:us-east-1:${ACCOUNT}:seed-${randomUUID()}`, context(clock));
    await backend.provision();
    return { backend, client: backend.client, url: await backend.queue.url() };
  }

  it("reads a message exactly as the seed sends it (the payload as the body, no attributes)", async () => {
    const body = seedFixture("sqs-message-body.json");
    const { backend, client, url } = await openQueue(new TestClock());
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body, DelaySeconds: 0 }));
    const [delivery] = await receive(backend.stream("primary"));
    expect(delivery).toMatchObject({ body, receiveCount: 1 });
    await backend.close();
  });

  it("sends the payload as the body, its own metadata only in message attributes", async () => {
    const { backend, client, url } = await openQueue(new TestClock());
    const body = wireMessage("sy-sqs-1");
    await backend.stream("primary").send({ correlationId: "sy-sqs-1", steps: 1, retries: 0, body, delaySeconds: 0 });
    const { Messages = [] } = await client.send(new ReceiveMessageCommand({ QueueUrl: url, MessageAttributeNames: ["All"], MaxNumberOfMessages: 10 }));
    expect(Messages[0]?.Body).toBe(body);
    expect(seedProcessPayload(Messages[0]!.Body!).system_context).toMatchObject({ correlation_id: "sy-sqs-1", steps: 1 });
    expect(Object.keys(Messages[0]?.MessageAttributes ?? {}).every((name) => name.startsWith("switchyard."))).toBe(true);
    await backend.close();
  });
});

describe("SNS in the seed system's layout", () => {
  it("reads a notification as the seed publishes it, and the {\"default\": …} wrapper of older seed versions", () => {
    const record = (message: string) => ({ EventSource: "aws:sns", Sns: { MessageId: randomUUID(), Message: message, TopicArn: "arn:aws:sns:us-east-1:1:t" } });
    const plain = seedFixture("sns-message.json");
    expect(snsCodec.decode(record(plain)).body).toBe(plain);
    const wrapped = seedFixture("sns-message-default-wrapper.json");
    const inner = (JSON.parse(wrapped) as { default: string }).default;
    expect(snsCodec.decode(record(wrapped)).body).toBe(inner);
    expect(decodeMessage(inner).system_context.correlation_id).toBe("seed-sns-2");
  });

  it("publishes the payload as the message, and reads the older wrapper from its queue", async () => {
    const topic = `arn:aws:sns:us-east-1:${ACCOUNT}:seed-${randomUUID()}`;
    const backend = await openSnsBackend(topic, context(new TestClock()));
    await backend.provision();
    const body = wireMessage("sy-sns-1");
    await backend.stream("primary").send({ correlationId: "sy-sns-1", steps: 1, retries: 0, body, delaySeconds: 0 });
    const sqs = new SQSClient({ region: "us-east-1", endpoint: fauxqs.endpoint });
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: await backend.queue.url(), MaxNumberOfMessages: 10 }));
    expect(Messages.map((m) => m.Body)).toEqual([body]);
    const wrapped = seedFixture("sns-message-default-wrapper.json");
    await backend.client.send(new PublishCommand({ TopicArn: topic, Message: wrapped }));
    expect((await receive(backend.stream("primary"))).map((d) => d.body)).toEqual([(JSON.parse(wrapped) as { default: string }).default]);
    sqs.destroy();
    await backend.close();
  });
});

describe("DynamoDB tables in the seed system's layout", () => {
  const client = () => new DynamoDBClient({ region: "us-east-1", endpoint: dynalite.endpoint });

  async function openFamily(clock: Clock, before?: (base: string, raw: DynamoDBClient) => Promise<void>): Promise<{ backend: DynamoDbBackend; raw: DynamoDBClient; base: string }> {
    const base = `seed-${randomUUID().slice(0, 8)}`;
    const raw = client();
    await before?.(base, raw);
    const backend = await openDynamoDbBackend(`arn:aws:dynamodb:us-east-1:${ACCOUNT}:table/${base}`, context(clock));
    await backend.provision();
    return { backend, raw, base };
  }

  /** The seed's own stream table, as its create_dynamodb_table.py makes it: keyed on correlation_id. */
  const seedStreamTable = (name: string) =>
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: "correlation_id", AttributeType: "S" }],
      KeySchema: [{ AttributeName: "correlation_id", KeyType: "HASH" }],
      BillingMode: "PAY_PER_REQUEST",
      StreamSpecification: { StreamEnabled: true, StreamViewType: "NEW_IMAGE" },
    });

  it("reads a stream item exactly as the seed writes it, from the DynamoDB stream, and leaves the seed's item in place", async () => {
    const item = seedItem("dynamodb-stream-item.json");
    const { backend, raw, base } = await openFamily(systemClock, (name, raw) => raw.send(seedStreamTable(`${name}-stream`)).then(() => undefined));
    await raw.send(new PutItemCommand({ TableName: `${base}-stream`, Item: item }));
    const record = insertRecord({
      tableArn: backend.tables.stream.arn,
      streamLabel: "2026-01-01T00:00:00.000",
      region: "us-east-1",
      keys: { correlation_id: item.correlation_id as AttributeValue },
      item,
      sequenceNumber: "100000000000000000001",
      createdAt: Date.now(),
    });
    const decoded = backend.stream().codec.decode(record);
    expect(decoded).toMatchObject({ body: (item.payload as { S: string }).S, sourceArn: backend.uri });
    expect(decodeMessage(decoded.body).system_context.correlation_id).toBe("seed-dynamodb-1");
    await backend.stream().settle(decoded);
    const { Item } = await raw.send(new GetItemCommand({ TableName: `${base}-stream`, Key: { correlation_id: item.correlation_id as AttributeValue } }));
    expect(Item).toEqual(item);
    raw.destroy();
    await backend.close();
  });

  it("writes stream items with the seed's attributes, of the seed's types, into its own table and into the seed's", async () => {
    const seed = seedItem("dynamodb-stream-item.json");
    const types = (item: Record<string, AttributeValue>) => Object.fromEntries(Object.keys(seed).map((name) => [name, Object.keys(item[name] ?? {})]));
    const body = wireMessage("sy-ddb-1");
    // Switchyard's own stream table.
    const own = await openFamily(systemClock);
    await own.backend.stream().send({ correlationId: "sy-ddb-1", steps: 1, retries: 0, body, delaySeconds: 0 });
    const { Items = [] } = await own.raw.send(new ScanCommand({ TableName: `${own.base}-stream` }));
    expect(types(Items[0]!)).toEqual(types(seed));
    expect(seedProcessPayload(seedDynamoDbPayload(Items[0]!)).system_context).toMatchObject({ correlation_id: "sy-ddb-1" });
    expect(Items[0]).not.toHaveProperty("body");
    // A table the seed created (keyed on correlation_id) takes Switchyard's items as they are.
    const shared = await openFamily(systemClock, (name, raw) => raw.send(seedStreamTable(`${name}-stream`)).then(() => undefined));
    await shared.backend.stream().send({ correlationId: "sy-ddb-2", steps: 1, retries: 0, body: wireMessage("sy-ddb-2"), delaySeconds: 0 });
    const { Item } = await shared.raw.send(new GetItemCommand({ TableName: `${shared.base}-stream`, Key: { correlation_id: { S: "sy-ddb-2" } } }));
    expect(types(Item!)).toEqual(types(seed));
    expect(seedProcessPayload(seedDynamoDbPayload(Item!)).system_context.correlation_id).toBe("sy-ddb-2");
    for (const each of [own, shared]) {
      each.raw.destroy();
      await each.backend.close();
    }
  });

  it("creates the retry table the seed's create_dynamodb_table.py creates", async () => {
    const { backend, raw, base } = await openFamily(systemClock);
    const { Table } = await raw.send(new DescribeTableCommand({ TableName: `${base}-retry` }));
    expect(Table?.KeySchema).toEqual([
      { AttributeName: "partition", KeyType: "HASH" },
      { AttributeName: "correlation_id_steps", KeyType: "RANGE" },
    ]);
    expect(Table?.AttributeDefinitions).toEqual(
      expect.arrayContaining([
        { AttributeName: "partition", AttributeType: "N" },
        { AttributeName: "correlation_id_steps", AttributeType: "S" },
        { AttributeName: "run_at", AttributeType: "N" },
      ]),
    );
    expect(Table?.LocalSecondaryIndexes?.map((index) => [index.IndexName, index.KeySchema, index.Projection?.ProjectionType])).toEqual([
      ["retries", [{ AttributeName: "partition", KeyType: "HASH" }, { AttributeName: "run_at", KeyType: "RANGE" }], "ALL"],
    ]);
    raw.destroy();
    await backend.close();
  });

  it("runs a retry entry exactly as the seed writes it once due, and deletes it by the seed's key", async () => {
    const item = seedItem("dynamodb-retry-item.json");
    const clock = new TestClock(1_767_225_600_000);
    const { backend, raw, base } = await openFamily(clock);
    await raw.send(new PutItemCommand({ TableName: `${base}-retry`, Item: item }));
    const retry = backend.retry();
    expect(await retry.pending()).toBe(1);
    expect(await retry.pending("seed-retry-1")).toBe(1);
    expect(await receive(retry)).toEqual([]);
    clock.advance(1_250);
    const [delivery] = await receive(retry);
    expect(delivery).toMatchObject({ id: "seed-retry-1:1", body: (item.payload as { S: string }).S, receiveCount: 1 });
    expect(decodeMessage(delivery!.body).system_context).toMatchObject({ steps: 1, retries: 1, lease_primary: true });
    await retry.remove("seed-retry-1", 1);
    expect(await retry.pending()).toBe(0);
    raw.destroy();
    await backend.close();
  });

  it("schedules retries the seed's timer finds, runs and stops; a claimed entry is hidden from that timer", async () => {
    const clock = new TestClock(1_767_225_600_000);
    const { backend, raw, base } = await openFamily(clock);
    const table = `${base}-retry`;
    /** `retriable_entities`: each partition's entries on the `retries` index with run_at < now. */
    const seedTimer = async (nowMs: number) => {
      const found: Array<Record<string, AttributeValue>> = [];
      for (let partition = 0; partition < 16; partition++) {
        const { Items = [] } = await raw.send(
          new QueryCommand({
            TableName: table,
            ConsistentRead: true,
            IndexName: "retries",
            KeyConditions: {
              partition: { ComparisonOperator: "EQ", AttributeValueList: [{ N: String(partition) }] },
              run_at: { ComparisonOperator: "LT", AttributeValueList: [{ N: String(nowMs / 1000) }] },
            },
            Limit: 100,
          }),
        );
        found.push(...Items);
      }
      return found;
    };
    const body = wireMessage("sy-retry-1", 4, 2);
    await backend.retry().schedule({ correlationId: "sy-retry-1", steps: 4, retries: 2, body, delaySeconds: 4 });
    expect(await seedTimer(clock.now() + 3_999)).toEqual([]);
    const [entry, ...others] = await seedTimer(clock.now() + 4_001);
    expect(others).toEqual([]);
    expect(entry).toMatchObject({
      partition: { N: String(seedPartition("sy-retry-1")) },
      correlation_id_steps: { S: "sy-retry-1-4" },
      run_at: { N: String((clock.now() + 4_000) / 1000) },
    });
    expect(seedProcessPayload(seedRetryPayload(entry!)).system_context).toMatchObject({ steps: 4, retries: 2 });
    // Claimed by a Switchyard consumer: the seed's timer skips it until the claim ends.
    clock.advance(4_000);
    expect(await receive(backend.retry())).toHaveLength(1);
    expect(await seedTimer(clock.now() + 1)).toEqual([]);
    // The seed's stop_retries deletes by its key, and the entry is gone for Switchyard too.
    await raw.send(new DeleteItemCommand({ TableName: table, Key: { partition: entry!.partition!, correlation_id_steps: entry!.correlation_id_steps! } }));
    clock.advance(60_000);
    expect(await receive(backend.retry())).toEqual([]);
    raw.destroy();
    await backend.close();
  });

  it("keeps using a retry table made by an earlier Switchyard version, and reads its items", async () => {
    const clock = new TestClock(1_767_225_600_000);
    const legacyTable = (name: string) =>
      new CreateTableCommand({
        TableName: name,
        AttributeDefinitions: [
          { AttributeName: "pk", AttributeType: "S" },
          { AttributeName: "sk", AttributeType: "S" },
          { AttributeName: "gsi_pk", AttributeType: "S" },
          { AttributeName: "visible_at", AttributeType: "N" },
        ],
        KeySchema: [
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: "due",
            KeySchema: [
              { AttributeName: "gsi_pk", KeyType: "HASH" },
              { AttributeName: "visible_at", KeyType: "RANGE" },
            ],
            Projection: { ProjectionType: "KEYS_ONLY" },
          },
        ],
        BillingMode: "PAY_PER_REQUEST",
      });
    const { backend, raw, base } = await openFamily(clock, (name, raw) => raw.send(legacyTable(`${name}-retry`)).then(() => undefined));
    const old = wireMessage("old-retry-1");
    await raw.send(
      new PutItemCommand({
        TableName: `${base}-retry`,
        Item: {
          pk: { S: "p#07" },
          sk: { S: "old-retry-1#1" },
          gsi_pk: { S: "due" },
          visible_at: { N: String(clock.now()) },
          correlation_id: { S: "old-retry-1" },
          steps: { N: "1" },
          retries: { N: "1" },
          body: { S: old },
          receive_count: { N: "0" },
          seq: { N: "1" },
        },
      }),
    );
    const retry = backend.retry();
    const [delivery] = await receive(retry);
    expect(delivery).toMatchObject({ id: "old-retry-1:1", body: old });
    await retry.ack(delivery!);
    await retry.schedule(message("new-1", 2, { body: "scheduled", delaySeconds: 1 }));
    clock.advance(1_000);
    expect((await receive(retry)).map((d) => d.body)).toEqual(["scheduled"]);
    await retry.remove("new-1", 2);
    expect(await retry.pending()).toBe(0);
    raw.destroy();
    await backend.close();
  });
});
