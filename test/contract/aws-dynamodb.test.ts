/**
 * The port contracts (stream, retry, cache, checkpoint, environment, journal) and what only the
 * DynamoDB backend promises, against dynalite started in-process; every test gets its own table
 * family. dynalite has no transactions: the journal's TransactWriteItems (park, unpark) run through a
 * test-only stand-in (test/support/dynalite-transactions.ts), and dynalite has no UpdateTimeToLive.
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { type DynamoDbBackend, openDynamoDbBackend } from "../../src/backends/aws/dynamodb/backend.js";
import { DescribeTableCommand, DynamoDBClient, GetItemCommand, QueryCommand, TransactWriteItemsCommand } from "@aws-sdk/client-dynamodb";
import { MAX_ITEM_BYTES } from "../../src/backends/aws/dynamodb/item.js";
import type { DynamoDeadLetters } from "../../src/backends/aws/dynamodb/dead-letters.js";
import { DynamoStream, STREAM_LAYOUT } from "../../src/backends/aws/dynamodb/stream.js";
import { RETRY_PARTITIONS, seedPartition } from "../../src/backends/aws/dynamodb/retry-store.js";
import { startedKey } from "../../src/backends/aws/dynamodb/journal.js";
import { parseDynamoDbUri } from "../../src/backends/aws/dynamodb/uri.js";
import { decodeDynamoDbRecord, dynamoDbCodec, familyOf } from "../../src/backends/aws/dynamodb/stream-record.js";
import { silentLogger } from "../../src/logger.js";
import { type Clock, systemClock } from "../../src/ports.js";
import { TestClock } from "../support/clock.js";
import { startDynalite } from "../support/dynalite.js";
import { cacheContract } from "./cache.contract.js";
import { checkpointContract } from "./checkpoint.contract.js";
import { consumerStateContract } from "./consumer-state.contract.js";
import { environmentContract } from "./environment.contract.js";
import { journalContract } from "./journal.contract.js";
import { message } from "./port-factory.js";
import { describeProtocol } from "./protocol.contract.js";
import { registryContract } from "./registry.contract.js";
import { retryContract } from "./retry.contract.js";
import { streamContract } from "./stream.contract.js";

const server = startDynalite();
afterAll(async () => (await server).close());
const { endpoint: dynaliteEndpoint } = await server;

/** A client of dynalite, to look at items and tables as they are stored. */
const rawClient = () => new DynamoDBClient({ region: "us-east-1", endpoint: dynaliteEndpoint });

const uniqueArn = () => `arn:aws:dynamodb:us-east-1:123456789012:table/sy-${randomBytes(5).toString("hex")}`;

/** A backend on a fresh table family (provisioned unless told otherwise). */
async function openFresh(clock: Clock = systemClock, options: { provision?: boolean; arn?: string } = {}): Promise<DynamoDbBackend> {
  const { endpoint } = await server;
  const backend = await openDynamoDbBackend(options.arn ?? uniqueArn(), {
    clock,
    baseDir: process.cwd(),
    endpoints: { dynamodb: endpoint },
    logger: silentLogger,
  });
  if (options.provision !== false) await backend.provision();
  return backend;
}

/** A contract factory: one port of a fresh backend. */
function factory<P>(make: (backend: DynamoDbBackend) => P) {
  return async (clock: TestClock) => {
    const backend = await openFresh(clock);
    return { port: make(backend), backend, cleanup: () => backend.close() };
  };
}

const withDeadLetters = <P>(make: (backend: DynamoDbBackend) => P) => async (clock: TestClock) => {
  const fixture = await factory(make)(clock);
  return { ...fixture, deadLetters: fixture.backend.deadLetters };
};

describeProtocol({
  name: "dynamodb (a table family per side, the journal on the primary)",
  settings: (dir) => {
    const family = (side: string) =>
      `arn:aws:dynamodb:us-east-1:123456789012:table/p-${createHash("sha1").update(dir).digest("hex").slice(0, 10)}-${side}`;
    const [a, b] = [family("a"), family("b")];
    return {
      stream: { primary: a, secondary: b },
      retry: { primary: a, secondary: b },
      cache: { primary: a, secondary: b },
      checkpoint: a,
      metrics: `sqlite:${dir}/metrics.db`,
      // A pure AWS deployment: the journal on the primary family too.
      journal: a,
      endpoints: { dynamodb: dynaliteEndpoint },
    };
  },
  prepare: async (settings) => {
    const arns = new Set(
      Object.values(settings)
        .flatMap((value) => (typeof value === "string" ? [value] : Object.values(value ?? {})))
        .filter((value): value is string => typeof value === "string" && value.startsWith("arn:aws:dynamodb:")),
    );
    for (const arn of arns) {
      const backend = await openFresh(systemClock, { arn, provision: false });
      await backend.provision();
      await backend.close();
    }
  },
});

streamContract("dynamodb", withDeadLetters((b) => b.stream()), { byCorrelationId: true, countsOneInstance: true });
retryContract("dynamodb", withDeadLetters((b) => b.retry()), { byCorrelationId: true, countsOneInstance: true });
cacheContract("dynamodb", factory((b) => b.cache()));
checkpointContract("dynamodb", factory((b) => b.checkpoint()));
consumerStateContract("dynamodb", factory((b) => b.consumerState()));
environmentContract("dynamodb", factory((b) => b.environment()));
journalContract("dynamodb (park and unpark through a test-only TransactWriteItems: dynalite has none)", factory((b) => b.journal()));
registryContract("dynamodb (migrateInstance and deleteDefinition through the test-only TransactWriteItems)", factory((b) => b.journal()));

describe("dynamodb backend", () => {
  const opened: DynamoDbBackend[] = [];
  const open = async (...args: Parameters<typeof openFresh>) => {
    const backend = await openFresh(...args);
    opened.push(backend);
    return backend;
  };
  afterAll(async () => {
    for (const backend of opened) await backend.close();
  });

  it("provisions every table once, and is idempotent", async () => {
    const backend = await open(systemClock, { provision: false });
    const base = backend.tables.stream.name.replace(/-stream$/, "");
    const first = await backend.provision();
    const kinds = ["stream", "retry", "cache", "checkpoint", "environment", "dead-letters", "leases", "instances", "journal"];
    expect(first).toHaveLength(kinds.length);
    for (const [index, line] of first.entries()) expect(line).toMatch(new RegExp(`^created table ${base}-${kinds[index]}\\b`));
    expect(first[0]).toContain("DynamoDB stream NEW_IMAGE");
    // dynalite has no UpdateTimeToLive: provisioning says so instead of failing.
    expect(first[2]).toMatch(/TTL not set: this endpoint does not support UpdateTimeToLive/);
    // The journal's tables get TTL too (dynalite cannot: the line says so), and the instances table its index by machine.
    expect(first.slice(7)).toEqual([
      `created table ${base}-instances (TTL not set: this endpoint does not support UpdateTimeToLive; expired items stay until deleted)`,
      `created table ${base}-journal (TTL not set: this endpoint does not support UpdateTimeToLive; expired items stay until deleted)`,
    ]);
    const client = rawClient();
    const { Table } = await client.send(new DescribeTableCommand({ TableName: `${base}-instances` }));
    expect(Table?.GlobalSecondaryIndexes?.map((index) => [index.IndexName, index.KeySchema?.map((k) => k.AttributeName), index.Projection?.ProjectionType])).toEqual([
      ["by_machine", ["machine_name", "started_key"], "KEYS_ONLY"],
    ]);
    client.destroy();
    expect(await backend.provision()).toEqual(kinds.map((kind) => `exists table ${base}-${kind}`));
  });

  it("names the missing table and the command that creates it, in one line", async () => {
    const arn = uniqueArn();
    const backend = await open(systemClock, { provision: false, arn });
    const expected = `DynamoDB table ${arn}-stream does not exist; run switchyard resources create --settings FILE`;
    await expect(backend.stream().send(message("c1"))).rejects.toThrow(expected);
    await expect(backend.cache().acquireLease("c1", 1, 0, 60)).rejects.toThrow(`DynamoDB table ${arn}-cache does not exist`);
    const error = await backend.retry().receive({ max: 1, visibilityTimeoutSeconds: 30 }).catch((e: Error) => e);
    expect((error as Error).message).not.toContain("\n");
    expect((error as Error).name).toBe("SystemError");
  });

  it("rejects an item over 400 KiB before sending, naming the limit and the transport", async () => {
    const backend = await open();
    const big = message(randomUUID(), 1, { body: "x".repeat(MAX_ITEM_BYTES) });
    await expect(backend.stream().send(big)).rejects.toThrow(/exceeds the 409600-byte limit of DynamoDB \(an item of table .*-stream holds at most 400 KiB\)/);
    await expect(backend.retry().schedule(big)).rejects.toThrow(/409600-byte limit of DynamoDB/);
    const results = await backend.stream().sendBatch([message("small"), big, message("small too")]);
    expect(results.map((result) => result.ok)).toEqual([true, false, true]);
    expect(results[1]).toMatchObject({ ok: false, error: { name: "PayloadTooLargeError" } });
    // Just under the limit is fine.
    const fits = message(randomUUID(), 1, { body: "y".repeat(MAX_ITEM_BYTES - 1000) });
    await expect(backend.stream().send(fits)).resolves.toBeTypeOf("object");
  });

  it("sends a batch over 25 items in several requests, one result per item", async () => {
    const backend = await open();
    const batch = Array.from({ length: 60 }, (_, i) => message(randomUUID(), 1, { body: `b${i}` }));
    const results = await backend.stream().sendBatch(batch);
    expect(results).toHaveLength(60);
    expect(results.every((result) => result.ok)).toBe(true);
    expect(await backend.stream().pending()).toBe(60);
  });

  it("shapes deliveries as DynamoDB Streams records that its codec decodes back", async () => {
    const backend = await open();
    const stream = backend.stream();
    const sent = [message("c-1", 1, { body: '{"a":1}' }), message("c-2", 4, { body: '{"b":2}' })];
    for (const m of sent) await stream.send(m);
    const deliveries = await stream.receive({ max: 10, visibilityTimeoutSeconds: 30 });
    const event = stream.lambdaEvent(deliveries);
    expect(event.Records).toHaveLength(2);
    const [record] = event.Records;
    expect(record).toMatchObject({
      eventName: "INSERT",
      eventSource: "aws:dynamodb",
      eventVersion: "1.1",
      awsRegion: "us-east-1",
      eventSourceARN: expect.stringMatching(new RegExp(`^${backend.tables.stream.arn}/stream/\\d{4}-\\d\\d-\\d\\dT`)),
      dynamodb: {
        Keys: { pk: { S: deliveries[0]!.id } },
        NewImage: expect.objectContaining({ payload: { S: '{"a":1}' }, correlation_id: { S: "c-1" }, steps: { N: "1" } }),
        SequenceNumber: expect.stringMatching(/^\d{22}$/),
        StreamViewType: "NEW_IMAGE",
      },
    });
    expect([stream.codec, backend.retry().codec]).toEqual([dynamoDbCodec, dynamoDbCodec]);
    const decoded = event.Records.map((r) => stream.codec.decode(r));
    expect(decoded.map((d) => d.body)).toEqual(['{"a":1}', '{"b":2}']);
    expect(decoded.map((d) => d.id)).toEqual(deliveries.map((d) => d.id));
    expect(decoded.map((d) => d.itemIdentifier)).toEqual(deliveries.map((d) => stream.itemIdentifier(d)));
    expect(decoded.every((d) => d.sourceArn === backend.uri && d.receiveCount === 1)).toBe(true);
    // The handler settles a record: its item is deleted.
    await stream.settle(decoded[0]!);
    expect(await stream.pending()).toBe(1);
    // A record of another table is refused, in one line.
    await expect(backend.retry().settle(decoded[1]!)).rejects.toThrow(/is not from table .*-retry/);
  });

  it("dead-letters a record the handler got from Lambda, by the codec's handle", async () => {
    const backend = await open();
    const stream = backend.stream();
    await stream.send(message("c-dl", 1, { body: "not json" }));
    const deliveries = await stream.receive({ max: 10, visibilityTimeoutSeconds: 30 });
    const [record] = stream.lambdaEvent(deliveries).Records.map((r) => dynamoDbCodec.decode(r));
    const delivery = { id: record!.id, body: record!.body, receiveCount: 1, role: "stream" as const, side: "primary" as const, handle: record!.handle };
    await stream.deadLetter(delivery, "malformed message");
    expect(await stream.pending()).toBe(0);
    expect(await backend.deadLetters.list()).toEqual([
      expect.objectContaining({ sourceUri: backend.uri, messageId: record!.id, body: "not json", reason: "malformed message" }),
    ]);
  });

  it("sends unprocessed batch items again, then reports the rest failed, never dropping one", async () => {
    const sent: string[][] = [];
    // A client whose BatchWriteItem always leaves the item with payload "stuck" unprocessed.
    const client = {
      send: async (command: { input: { RequestItems: Record<string, Array<{ PutRequest: { Item: Record<string, { S?: string }> } }>> } }) => {
        const [[table, requests]] = Object.entries(command.input.RequestItems) as [[string, Array<{ PutRequest: { Item: Record<string, { S?: string }> } }>]];
        sent.push(requests.map((r) => r.PutRequest.Item.payload?.S ?? ""));
        const stuck = requests.filter((r) => r.PutRequest.Item.payload?.S === "stuck");
        return { UnprocessedItems: stuck.length ? { [table]: stuck } : {} };
      },
    } as unknown as DynamoDBClient;
    const stream = new DynamoStream({
      client,
      table: { name: "t-stream", arn: "arn:aws:dynamodb:us-east-1:1:table/t-stream" },
      uri: "arn:aws:dynamodb:us-east-1:1:table/t",
      region: "us-east-1",
      side: "primary",
      clock: systemClock,
      deadLetters: {} as DynamoDeadLetters,
      streamLabel: "2026-01-01T00:00:00.000",
      layout: async () => STREAM_LAYOUT,
    });
    const results = await stream.sendBatch([message("a", 1, { body: "ok" }), message("b", 1, { body: "stuck" }), message("c", 1, { body: "ok too" })]);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    expect(results[1]).toMatchObject({ ok: false, error: { message: expect.stringMatching(/left the item unprocessed after 3 retries/) } });
    expect(sent).toEqual([["ok", "stuck", "ok too"], ["stuck"], ["stuck"], ["stuck"]]);
  });

  it("decodes a record as AWS delivers it, and refuses what is not an INSERT", () => {
    const arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders-stream/stream/2026-01-01T00:00:00.000";
    const record = {
      eventID: "1",
      eventName: "INSERT",
      eventVersion: "1.1",
      eventSource: "aws:dynamodb",
      awsRegion: "eu-west-1",
      dynamodb: {
        Keys: { pk: { S: "m-1" } },
        NewImage: { pk: { S: "m-1" }, body: { S: "{}" }, receive_count: { N: "0" } },
        SequenceNumber: "111",
        SizeBytes: 10,
        StreamViewType: "NEW_IMAGE",
      },
      eventSourceARN: arn,
    };
    expect(decodeDynamoDbRecord(record)).toEqual({
      itemIdentifier: "111",
      sourceArn: "arn:aws:dynamodb:eu-west-1:123456789012:table/orders",
      id: "m-1",
      body: "{}",
      receiveCount: 1,
      handle: { table: "orders-stream", keys: { pk: "m-1" }, claimToken: undefined },
    });
    expect(() => decodeDynamoDbRecord({ ...record, eventName: "REMOVE" })).toThrow(/REMOVE, not an INSERT; filter the event source mapping/);
    expect([dynamoDbCodec.ignore({ ...record, eventName: "REMOVE" }), dynamoDbCodec.ignore({ ...record, eventName: "MODIFY" }), dynamoDbCodec.ignore(record)]).toEqual([true, true, false]);
    expect(() => decodeDynamoDbRecord({ ...record, dynamodb: { ...record.dynamodb, NewImage: undefined } })).toThrow(/NEW_IMAGE/);
    expect(familyOf("arn:aws:dynamodb:us-east-1:1:table/x-retry").familyArn).toBe("arn:aws:dynamodb:us-east-1:1:table/x");
  });

  it("receives only the given instance's messages when asked to", async () => {
    const backend = await open();
    const [stream, retry] = [backend.stream(), backend.retry()];
    for (const [steps, id] of ["a", "b", "a"].entries()) {
      await stream.send(message(id, steps, { body: id }));
      await retry.schedule(message(id, steps, { body: id }));
    }
    for (const source of [stream, retry]) {
      const deliveries = await source.receive({ max: 10, visibilityTimeoutSeconds: 30, correlationId: "a" });
      expect(deliveries.map((d) => d.body)).toEqual(["a", "a"]);
    }
  });

  it("spreads retry entries over the seed's 16 partitions (md5 of the correlation id), and is timer-polled", async () => {
    const partitions = new Set(Array.from({ length: 200 }, () => seedPartition(randomUUID())));
    expect([...partitions].sort((a, b) => a - b)).toEqual(Array.from({ length: RETRY_PARTITIONS }, (_, i) => i));
    // Python: int(hashlib.md5("abc").hexdigest(), 16) % 16 == 2 (md5 900150983cd24fb0d6963f7d28e17f72).
    expect(seedPartition("abc")).toBe(2);
    const backend = await open();
    expect(backend.retry().polledOnTimer).toBe(true);
  });

  it("never hands one message to two concurrent consumers", async () => {
    const backend = await open();
    await backend.stream().sendBatch(Array.from({ length: 40 }, (_, i) => message(`c${i}`)));
    const consumers = [backend.stream(), backend.stream(), backend.stream()];
    const claimed: string[] = [];
    for (let round = 0; round < 10; round++) {
      const batches = await Promise.all(consumers.map((c) => c.receive({ max: 5, visibilityTimeoutSeconds: 60 })));
      claimed.push(...batches.flat().map((d) => d.id));
    }
    expect(claimed).toHaveLength(40);
    expect(new Set(claimed).size).toBe(40);
  });

  it("fails fast with a one-line error when the endpoint is down", async () => {
    const backend = await openDynamoDbBackend(uniqueArn(), {
      clock: systemClock,
      baseDir: process.cwd(),
      endpoints: { dynamodb: "http://127.0.0.1:9" },
      logger: silentLogger,
    });
    opened.push(backend);
    const error = (await backend.cache().isDispatched("c", 1).catch((e: Error) => e)) as Error;
    expect(error.name).toBe("SystemError");
    expect(error.message).toMatch(/^DynamoDB GetItem on table arn:aws:dynamodb:us-east-1:123456789012:table\/sy-[0-9a-f]+-cache failed: \S/);
    expect(error.message).not.toContain("\n");
  });
});

describe("dynamodb journal", () => {
  const opened: DynamoDbBackend[] = [];
  const open = async (...args: Parameters<typeof openFresh>) => {
    const backend = await openFresh(...args);
    opened.push(backend);
    return backend;
  };
  const client = rawClient();
  afterAll(async () => {
    for (const backend of opened) await backend.close();
    client.destroy();
  });
  const update = (steps: number, userContext: Record<string, unknown> = {}) => ({
    machineName: "tracer",
    status: "running" as const,
    state: `s${steps}`,
    userContext,
    reason: undefined,
    steps,
  });

  it("takes journal_ttl_days from the URI query, and refuses what it cannot use in one line", () => {
    const arn = "arn:aws:dynamodb:us-east-1:123456789012:table/orders";
    expect(parseDynamoDbUri(arn)).toEqual({ arn });
    expect(parseDynamoDbUri(`${arn}?journal_ttl_days=30`)).toEqual({ arn, journalTtlDays: 30 });
    for (const [query, problem] of [
      ["journal_ttl_days=0", `journal_ttl_days must be a whole number of days from 1 to 36500 (about 100 years), got "0"`],
      ["journal_ttl_days=1.5", `got "1.5"`],
      ["journal_ttl_days=", `got ""`],
      ["journal_ttl_days=ten", `got "ten"`],
      ["ttl=3", `has unknown option "ttl"; known options: journal_ttl_days`],
    ] as const) {
      const error = (() => {
        try {
          parseDynamoDbUri(`${arn}?${query}`);
        } catch (caught) {
          return caught as Error;
        }
        return undefined;
      })();
      expect(error?.name).toBe("SettingsError");
      expect(error?.message).toContain(problem);
      expect(error?.message).toContain(`DynamoDB URI "${arn}?${query}"`);
      expect(error?.message).not.toContain("\n");
    }
  });

  it("serves every port under the ARN without its query, so Lambda finds a source by its ARN", async () => {
    const arn = uniqueArn();
    const backend = await open(systemClock, { arn: `${arn}?journal_ttl_days=7` });
    expect(backend.tables.instances.name).toBe(`${arn.split("/")[1]}-instances`);
    expect([backend.stream().uri, backend.stream().arn, backend.retry().uri, backend.journal().uri, backend.cache().uri]).toEqual([arn, arn, arn, arn, arn]);
  });

  it("stamps journal items with expires_ttl journal_ttl_days after their last write; a paused or parked record keeps none (dynalite cannot expire items: only the stamps are checked)", async () => {
    const clock = new TestClock();
    const backend = await open(clock, { arn: `${uniqueArn()}?journal_ttl_days=30` });
    const journal = backend.journal();
    const id = randomUUID();
    const ttlOf = async (table: string, key: Record<string, { S: string }>) =>
      (await client.send(new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }))).Item?.expires_ttl?.N;
    const day = 86_400;
    const at = (ms: number) => String(Math.floor(ms / 1000) + 30 * day);
    await journal.createInstances([
      { correlationId: id, machineName: "tracer", status: "running", state: "s0", userContext: {}, startedAt: clock.now(), updatedAt: clock.now() },
    ]);
    const instance = { correlation_id: { S: id } };
    expect(await ttlOf(backend.tables.instances.name, instance)).toBe(at(clock.now()));
    clock.advance(5 * day * 1000);
    await journal.updateInstance(id, update(1));
    expect(await ttlOf(backend.tables.instances.name, instance)).toBe(at(clock.now()));
    await journal.appendMessage(id, { current_state: "s1", current_event: "e", steps: 1, retries: 0, user_context: {}, role: "stream", side: "primary" });
    const { Items = [] } = await client.send(
      new QueryCommand({ TableName: backend.tables.journal.name, KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": { S: `i#${id}` } } }),
    );
    expect(Items.map((item) => item.expires_ttl?.N)).toEqual([at(clock.now())]);
    // A paused instance is kept; its parked message and the machine's pauses never expire.
    await journal.setPaused(id, true);
    expect(await ttlOf(backend.tables.instances.name, instance)).toBeUndefined();
    expect(await journal.park({ correlationId: id, machineName: "tracer", state: "s1", steps: 2, retries: 0, body: "{}", parkedAt: clock.now() })).toBe(true);
    await journal.addPause({ machineName: "tracer" });
    expect(await ttlOf(backend.tables.journal.name, { pk: { S: "p#tracer" }, sk: { S: `${id}#${"2".padStart(16, "0")}#${"0".padStart(10, "0")}` } })).toBeUndefined();
    expect(await ttlOf(backend.tables.journal.name, { pk: { S: "r" }, sk: { S: "tracer" } })).toBeUndefined();
    await journal.setPaused(id, false);
    expect(await ttlOf(backend.tables.instances.name, instance)).toBe(at(clock.now()));
    // Without the setting, nothing carries a stamp.
    const plain = (await open(clock)).journal();
    await plain.updateInstance(id, update(1));
    expect(await ttlOf(`${plain.uri.split("/")[1]}-instances`, instance)).toBeUndefined();
  });

  it("fails a record over 400 KiB before sending it, naming the limit (the engine logs it and goes on)", async () => {
    const journal = (await open()).journal();
    const id = randomUUID();
    const big = { blob: "x".repeat(MAX_ITEM_BYTES) };
    await expect(journal.updateInstance(id, update(1, big))).rejects.toThrow(/exceeds the 409600-byte limit of DynamoDB \(an item of table .*-instances holds at most 400 KiB\)/);
    await expect(
      journal.appendMessage(id, { current_state: "s", current_event: "e", steps: 1, retries: 0, user_context: big, role: "stream", side: "primary" }),
    ).rejects.toThrow(/an item of table .*-journal holds at most 400 KiB/);
    expect(await journal.getInstance(id)).toBeUndefined();
  });

  it("orders a machine's index newest started first, ties by id", () => {
    expect([startedKey(2, "b"), startedKey(1, "a"), startedKey(2, "a")].sort()).toEqual([startedKey(2, "a"), startedKey(2, "b"), startedKey(1, "a")]);
    expect(startedKey(Date.UTC(2030, 0, 1), "x")).toMatch(/^\d{15}#x$/);
  });

  it("keeps an instance's parked messages apart from those of an id it is a prefix of", async () => {
    const journal = (await open()).journal();
    const a = randomUUID();
    const ids = [a, `${a}#0000000000000001`];
    for (const id of ids) {
      await journal.updateInstance(id, update(1));
      await journal.setPaused(id, true);
      expect(await journal.park({ correlationId: id, machineName: "tracer", state: "s1", steps: 1, retries: 0, body: id, parkedAt: 1 })).toBe(true);
    }
    expect((await journal.parkedMessages({ correlationId: a })).map((m) => m.body)).toEqual([a]);
    await journal.deleteInstance(a);
    expect((await journal.parkedMessages({ machineName: "tracer" })).map((m) => m.body)).toEqual([ids[1]]);
  });

  it("parks a message of an instance it has no record of under a machine pause, as the SQL journals do, and unparks it by its id", async () => {
    const journal = (await open()).journal();
    const machine = `m-${randomUUID()}`;
    const id = randomUUID();
    const parked = { correlationId: id, machineName: machine, state: "charging", steps: 1, retries: 0, body: "{}", parkedAt: 5 };
    expect(await journal.park(parked)).toBe(false);
    await journal.addPause({ machineName: machine, state: "charging" });
    expect(await journal.park(parked)).toBe(true);
    expect(await journal.getInstance(id)).toBeUndefined();
    expect(await journal.parkedMessages({ correlationId: id })).toEqual([parked]);
    expect(await journal.parkedMessages({ machineName: machine, state: "charging" })).toEqual([parked]);
    await journal.unpark(id, 1, 0);
    expect(await journal.parkedMessages({ machineName: machine })).toEqual([]);
    expect(await journal.parkedMessages({ correlationId: id })).toEqual([]);
  });

  it("lists a machine's instances across index pages, and all of them with a Scan", async () => {
    const clock = new TestClock();
    const journal = (await open(clock)).journal();
    const machine = `m-${randomUUID()}`;
    const records = Array.from({ length: 230 }, (_, i) => ({
      correlationId: `c-${String(i).padStart(3, "0")}`,
      machineName: machine,
      status: "running" as const,
      state: "s0",
      userContext: {},
      startedAt: clock.now() + Math.floor(i / 2),
      updatedAt: clock.now(),
    }));
    expect((await journal.createInstances(records)).every(Boolean)).toBe(true);
    const expected = [...records].sort((x, y) => y.startedAt - x.startedAt || (x.correlationId < y.correlationId ? -1 : 1)).map((r) => r.correlationId);
    expect((await journal.list({ machineName: machine })).map((r) => r.correlationId)).toEqual(expected);
    expect((await journal.list({ machineName: machine, limit: 150 })).map((r) => r.correlationId)).toEqual(expected.slice(0, 150));
    expect((await journal.list({})).map((r) => r.correlationId)).toEqual(expected);
    expect(await journal.list({ machineName: machine, limit: 0 })).toEqual([]);
  });
});

describe("dynalite's test-only TransactWriteItems", () => {
  const client = rawClient();
  afterAll(() => client.destroy());

  it("writes nothing when a condition fails, with one cancellation reason per item, and refuses two operations on one item", async () => {
    const backend = await openFresh();
    const table = backend.tables.journal.name;
    const put = (sk: string) => ({ Put: { TableName: table, Item: { pk: { S: "t" }, sk: { S: sk } } } });
    const check = { ConditionCheck: { TableName: table, Key: { pk: { S: "t" }, sk: { S: "absent" } }, ConditionExpression: "attribute_exists(pk)" } };
    const error = (await client.send(new TransactWriteItemsCommand({ TransactItems: [put("a"), check] })).catch((e: unknown) => e)) as {
      name: string;
      CancellationReasons?: Array<{ Code?: string }>;
    };
    expect(error.name).toBe("TransactionCanceledException");
    expect(error.CancellationReasons?.map((r) => r.Code)).toEqual(["None", "ConditionalCheckFailed"]);
    const read = (sk: string) => client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: "t" }, sk: { S: sk } }, ConsistentRead: true }));
    expect((await read("a")).Item).toBeUndefined();
    await client.send(new TransactWriteItemsCommand({ TransactItems: [put("a"), put("b")] }));
    expect((await read("b")).Item).toBeDefined();
    await expect(client.send(new TransactWriteItemsCommand({ TransactItems: [put("a"), put("a")] }))).rejects.toThrow(/multiple operations on one item/);
    await backend.close();
  });
});
