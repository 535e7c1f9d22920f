/**
 * The stream and retry contracts, and what only Kinesis promises, against kinesalite (in process).
 * Consumers keep their shard leases, positions and dead letters in the checkpoint role's store:
 * a SQLite file here, and DynamoDB (dynalite) where two consumers share a stream.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateStreamCommand } from "@aws-sdk/client-kinesis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDynamoDbBackend } from "../../src/backends/aws/dynamodb/backend.js";
import { openKinesisBackend } from "../../src/backends/aws/kinesis.js";
import { LEASE_MS, SYNC_MS, shardKey } from "../../src/backends/aws/kinesis-leases.js";
import type { BackendContext } from "../../src/backends/backend.js";
import { openSqliteBackend } from "../../src/backends/sqlite/index.js";
import { Switchyard } from "../../src/client/switchyard.js";
import { silentLogger } from "../../src/logger.js";
import { type Clock, type ConsumerStatePort, type Delivery, type MessageSource, systemClock } from "../../src/ports.js";
import { type RunningEmulator, startKinesalite } from "../support/aws-emulators.js";
import { TestClock } from "../support/clock.js";
import { type RunningDynalite, startDynalite } from "../support/dynalite.js";
import { PROTOCOL_FSM } from "../support/protocol-harness.js";
import { message } from "./port-factory.js";
import { retryContract } from "./retry.contract.js";
import { streamContract } from "./stream.contract.js";

let emulator: RunningEmulator;
let dynalite: RunningDynalite;
beforeAll(async () => {
  [emulator, dynalite] = await Promise.all([startKinesalite(), startDynalite()]);
});
afterAll(async () => {
  await Promise.all([emulator.close(), dynalite.close()]);
});

const streamArn = () => `arn:aws:kinesis:us-east-1:000000000000:stream/s-${randomUUID()}`;

/** A consumer-state store: a SQLite file in a scratch directory, as a `checkpoint: sqlite:` setting opens it. */
function sqliteState(clock: Clock) {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-kinesis-state-"));
  const backend = openSqliteBackend(`sqlite:${join(dir, "state.db")}`, { clock });
  return {
    state: backend.consumerState(),
    cleanup: async () => {
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A consumer-state store on a fresh, provisioned DynamoDB table family. */
async function dynamoState(clock: Clock) {
  const backend = await openDynamoDbBackend(`arn:aws:dynamodb:us-east-1:000000000000:table/k-${randomUUID().slice(0, 8)}`, {
    clock,
    baseDir: process.cwd(),
    endpoints: { dynamodb: dynalite.endpoint },
    logger: silentLogger,
  });
  await backend.provision();
  return { state: backend.consumerState(), cleanup: () => backend.close() };
}

function context(clock: Clock, baseDir: string, state?: ConsumerStatePort): BackendContext {
  return {
    clock,
    baseDir,
    endpoints: { kinesis: emulator.endpoint },
    logger: silentLogger,
    ...(state === undefined ? {} : { consumerState: async () => state }),
  };
}

/**
 * A provisioned stream (a fresh one with a random name unless `uri` is given) and a consumer of it
 * with its own scratch base directory, keeping its state in `state` (a fresh SQLite store if not given).
 */
async function openStream(clock: Clock, options: { uri?: string; state?: ConsumerStatePort } = {}) {
  const baseDir = mkdtempSync(join(tmpdir(), "switchyard-kinesis-"));
  const own = options.state === undefined ? sqliteState(clock) : undefined;
  const backend = await openKinesisBackend(options.uri ?? streamArn(), context(clock, baseDir, options.state ?? own?.state));
  await backend.provision();
  const cleanup = async () => {
    await backend.close();
    await own?.cleanup();
    rmSync(baseDir, { recursive: true, force: true });
  };
  return { backend, baseDir, state: options.state ?? (own?.state as ConsumerStatePort), cleanup };
}

/** Create a stream of `shards` shards directly (provisioning makes one). */
async function createStream(shards: number): Promise<string> {
  const uri = streamArn();
  const { backend, cleanup } = await openStream(systemClock, { uri: `${uri}-probe` });
  await backend.client.send(new CreateStreamCommand({ StreamName: uri.split("/")[1], ShardCount: shards }));
  await cleanup();
  return uri;
}

/** A contract factory: a fresh one-shard stream's stream or retry source. */
function factory(role: "stream" | "retry") {
  return async (clock: TestClock) => {
    const { backend, cleanup } = await openStream(clock);
    const port = role === "stream" ? backend.stream("primary") : backend.retry("primary");
    return { port, cleanup, deadLetters: backend.deadLetters };
  };
}

// A record not yet due holds its shard (delayHoldsLater): the contracts expect their "does not
// hold back" cases to fail here. pending() counts what this consumer read ahead, which in the
// contracts' scenarios is every record.
streamContract("kinesis", factory("stream"), { byCorrelationId: false, countsOneInstance: true, delayHoldsLater: true });
retryContract("kinesis", factory("retry"), { byCorrelationId: false, countsOneInstance: true, delayHoldsLater: true });

describe("kinesis backend", () => {
  const receive = (source: MessageSource, max = 10) => source.receive({ max, visibilityTimeoutSeconds: 30 });

  it("counts records read and not acknowledged, of one instance or all", async () => {
    const clock = new TestClock();
    const { backend, cleanup } = await openStream(clock);
    const stream = backend.stream("primary");
    await stream.send(message("a", 1));
    await stream.send(message("b", 1));
    await stream.send(message("a", 2, { delaySeconds: 60 }));
    expect(await stream.pending()).toBe(3);
    expect(await stream.pending("a")).toBe(2);
    const deliveries = await receive(stream);
    expect(deliveries.map((d) => d.body)).toEqual([message("a", 1).body, message("b", 1).body]);
    for (const delivery of deliveries) await stream.ack(delivery);
    expect(await stream.pending()).toBe(1);
    expect(await stream.pending("b")).toBe(0);
    await cleanup();
  });

  it("holds a shard behind a record that is not due yet", async () => {
    const clock = new TestClock();
    const { backend, cleanup } = await openStream(clock);
    const stream = backend.stream("primary");
    await stream.send(message("a", 1, { delaySeconds: 10, body: "later" }));
    await stream.send(message("b", 1, { body: "behind" }));
    expect(await receive(stream)).toEqual([]);
    clock.advance(10_000);
    expect((await receive(stream)).map((d) => d.body)).toEqual(["later", "behind"]);
    await cleanup();
  });

  it("resumes from the position stored in the checkpoint role's store after the consumer is reopened", async () => {
    const clock = new TestClock();
    const first = await openStream(clock);
    const uri = first.backend.uri;
    const stream = first.backend.stream("primary");
    await stream.sendBatch([0, 1, 2, 3].map((i) => message(`c${i}`, 1, { body: `m${i}` })));
    const [m0, m1, m2] = await receive(stream, 3);
    await stream.ack(m1!);
    await stream.ack(m0!);
    await stream.release(m2!, 0);
    const shardId = (m1!.handle as { shardId: string }).shardId;
    const lease = (await first.state.leases(uri)).find((l) => l.key === shardKey(shardId));
    expect(lease).toMatchObject({ position: stream.itemIdentifier(m1!), expiresAt: clock.now() + LEASE_MS });
    await first.backend.close();
    // Closing released the shard at its position: a new consumer (another process) takes it at once.
    expect((await first.state.leases(uri)).find((l) => l.key === shardKey(shardId))).toMatchObject({ owner: "", position: stream.itemIdentifier(m1!) });

    const again = await openStream(clock, { uri, state: first.state });
    const reopened = again.backend.stream("primary");
    expect((await receive(reopened)).map((d) => d.body)).toEqual(["m2", "m3"]);
    await again.cleanup();
    await first.cleanup();
  });

  it("keeps nothing on local disk: positions and dead letters go to the checkpoint role's store", async () => {
    const clock = new TestClock();
    const { backend, baseDir, state, cleanup } = await openStream(clock);
    const stream = backend.stream("primary");
    await stream.sendBatch([message("a", 1, { body: "{not json" }), message("b", 1, { body: "fine" })]);
    const [bad, good] = await receive(stream);
    await stream.deadLetter(bad!, "malformed message: not JSON");
    await stream.ack(good!);
    expect(readdirSync(baseDir)).toEqual([]);
    expect(await state.deadLettersOf(backend.uri)).toEqual([
      expect.objectContaining({ sourceUri: backend.uri, messageId: bad!.id, body: "{not json", reason: "malformed message: not JSON" }),
    ]);
    expect(await backend.deadLetters.list()).toEqual(await state.deadLettersOf(backend.uri));
    const [shard] = (await state.leases(backend.uri)).filter((lease) => lease.key.startsWith("shard/"));
    expect(shard?.position).toBe(stream.itemIdentifier(good!));
    await cleanup();
  });

  it("refuses to consume, in one line, when the settings keep no consumer state; sends still work", async () => {
    const baseDir = mkdtempSync(join(tmpdir(), "switchyard-kinesis-"));
    const uri = streamArn();
    const backend = await openKinesisBackend(uri, context(systemClock, baseDir));
    await backend.provision();
    await backend.stream("primary").send(message("a"));
    const expected = `Kinesis stream ${uri} keeps its consumers' shard leases, positions and dead letters in the checkpoint role's store, and the settings switch the checkpoint role off; set checkpoint to a dynamodb ARN, a sqlite: or a postgres:// URI`;
    await expect(receive(backend.stream("primary"))).rejects.toThrow(expected);
    await expect(backend.stream("primary").deadLetter({ id: "x", body: "b", receiveCount: 1, role: "stream", side: "primary", handle: {} }, "r")).rejects.toThrow(expected);
    expect(await backend.deadLetters.list()).toEqual([]);
    await backend.close();
    rmSync(baseDir, { recursive: true, force: true });
  });

  it("rejects a record over 1 MiB before sending, naming the limit and the stream", async () => {
    const { backend, cleanup } = await openStream(systemClock);
    const big = message("big", 1, { body: "x".repeat(1024 * 1024) });
    await expect(backend.stream("primary").send(big)).rejects.toThrow(/exceeds the 1048576-byte limit of Kinesis stream arn:aws:kinesis:/);
    const results = await backend.stream("primary").sendBatch([message("ok"), big, message("ok too")]);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    await cleanup();
  });

  it("names the missing stream and the command that creates it", async () => {
    const baseDir = mkdtempSync(join(tmpdir(), "switchyard-kinesis-"));
    const store = sqliteState(systemClock);
    const backend = await openKinesisBackend(`arn:aws:kinesis:us-east-1:000000000000:stream/missing-${randomUUID()}`, context(systemClock, baseDir, store.state));
    await expect(backend.stream("primary").send(message("x"))).rejects.toThrow(
      /^Kinesis stream arn:aws:kinesis:us-east-1:000000000000:stream\/missing-.* does not exist; run switchyard resources create --settings FILE$/,
    );
    await expect(receive(backend.stream("primary"))).rejects.toThrow(/does not exist/);
    await backend.close();
    await store.cleanup();
    rmSync(baseDir, { recursive: true, force: true });
  });

  it("provisions idempotently", async () => {
    const { backend, cleanup } = await openStream(systemClock);
    expect(await backend.provision()).toEqual([`exists stream ${backend.uri}`]);
    await cleanup();
  });

  it("shapes deliveries as a KinesisStreamEvent that its codec decodes back", async () => {
    const { backend, cleanup } = await openStream(new TestClock());
    const stream = backend.stream("primary");
    await stream.sendBatch([message("a", 1, { body: "one" }), message("b", 1, { body: "two" })]);
    const deliveries = await receive(stream);
    const event = stream.lambdaEvent(deliveries) as { Records: unknown[] };
    expect(event.Records[0]).toMatchObject({
      eventSource: "aws:kinesis",
      eventName: "aws:kinesis:record",
      eventSourceARN: backend.uri,
      awsRegion: "us-east-1",
      kinesis: { kinesisSchemaVersion: "1.0", partitionKey: "a" },
    });
    const decoded = event.Records.map((record) => stream.codec.decode(record));
    expect(decoded.map((r) => [r.id, r.body, r.itemIdentifier, r.sourceArn])).toEqual(
      deliveries.map((d) => [d.id, d.body, stream.itemIdentifier(d), backend.uri]),
    );
    expect(() => stream.codec.decode({})).toThrow(/Kinesis record/);
    await cleanup();
  });
});

/**
 * Two consumers (two processes, each with its own backend) on one two-shard stream, sharing their
 * state through the checkpoint role's store. Each test drives both on one test clock: a consumer
 * re-balances when it receives and {@link SYNC_MS} has passed.
 */
describe.each([
  ["dynamodb", dynamoState],
  ["sqlite", async (clock: Clock) => sqliteState(clock)],
] as const)("two kinesis consumers sharing their state in %s", (_name, makeState) => {
  const receive = (source: MessageSource, max = 100) => source.receive({ max, visibilityTimeoutSeconds: 30 });
  const shardOf = (delivery: Delivery) => (delivery.handle as { shardId: string }).shardId;

  async function setUp() {
    const clock = new TestClock();
    const uri = await createStream(2);
    const store = await makeState(clock);
    const a = await openStream(clock, { uri, state: store.state });
    const b = await openStream(clock, { uri, state: store.state });
    const cleanup = async () => {
      await a.cleanup();
      await b.cleanup();
      await store.cleanup();
    };
    return { clock, uri, state: store.state, a: a.backend.stream("primary"), b: b.backend.stream("primary"), close: { a: () => a.backend.close(), b: () => b.backend.close() }, cleanup };
  }

  /** Messages of `n` instances (spread over both shards by their partition keys), bodies `<prefix><i>`. */
  const batch = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => message(randomUUID(), 1, { body: `${prefix}${i}` }));

  /** Receive and acknowledge everything `source` hands out, until a round brings nothing. */
  async function drain(source: MessageSource): Promise<Delivery[]> {
    const got: Delivery[] = [];
    for (;;) {
      const round = await receive(source);
      if (round.length === 0) return got;
      for (const delivery of round) await source.ack(delivery);
      got.push(...round);
    }
  }

  it("splits the shards between the consumers by lease: no record lost, none delivered to both", async () => {
    const { clock, uri, state, a, b, cleanup } = await setUp();
    // a comes first and takes both shards; b finds none free.
    expect(await receive(a)).toEqual([]);
    expect(await receive(b)).toEqual([]);
    clock.advance(SYNC_MS);
    // a now counts two consumers and gives one shard up; b takes it on its next sync.
    expect(await receive(a)).toEqual([]);
    expect(await receive(b)).toEqual([]);
    const owners = (await state.leases(uri)).filter((lease) => lease.key.startsWith("shard/")).map((lease) => lease.owner);
    expect(owners).toHaveLength(2);
    expect(new Set(owners).size).toBe(2);

    const sent = batch("m", 40);
    await a.sendBatch(sent);
    const [byA, byB] = [await drain(a), await drain(b)];
    expect(byA.length).toBeGreaterThan(0);
    expect(byB.length).toBeGreaterThan(0);
    expect([...byA, ...byB].map((d) => d.body).sort()).toEqual(sent.map((m) => m.body).sort());
    const [shardsOfA, shardsOfB] = [new Set(byA.map(shardOf)), new Set(byB.map(shardOf))];
    expect(shardsOfA.size).toBe(1);
    expect(shardsOfB.size).toBe(1);
    expect([...shardsOfA][0]).not.toBe([...shardsOfB][0]);
    await cleanup();
  });

  it("hands a shard over once its records in flight are acknowledged, so the new owner starts right after them", async () => {
    const { clock, a, b, cleanup } = await setUp();
    const first = batch("first-", 20);
    await a.sendBatch(first);
    const inFlight = await receive(a);
    expect(inFlight.map((d) => d.body).sort()).toEqual(first.map((m) => m.body).sort());
    expect(new Set(inFlight.map(shardOf)).size).toBe(2);
    const second = batch("second-", 20);
    await a.sendBatch(second);
    expect(await receive(b)).toEqual([]);
    clock.advance(SYNC_MS);
    // a gives one shard up but hands out nothing new from it while its records are in flight.
    const more = await receive(a);
    expect(new Set(more.map(shardOf)).size).toBe(1);
    expect(await receive(b)).toEqual([]);
    for (const delivery of [...inFlight, ...more]) await a.ack(delivery);
    clock.advance(SYNC_MS);
    const byA = [...more, ...(await drain(a))];
    const byB = await drain(b);
    expect(byB.length).toBeGreaterThan(0);
    expect(new Set(byB.map(shardOf)).size).toBe(1);
    const delivered = [...inFlight, ...byA, ...byB].map((d) => d.body);
    expect(delivered.sort()).toEqual([...first, ...second].map((m) => m.body).sort());
    await cleanup();
  });

  it("takes over the shards of a consumer that stopped without releasing them once its leases expire, delivering its unacknowledged records again", async () => {
    const { clock, a, b, cleanup } = await setUp();
    const sent = batch("m", 20);
    await a.sendBatch(sent);
    const byA = await receive(a, 8);
    await a.ack(byA[0]!);
    await a.ack(byA[1]!);
    // a stops here (a crash: nothing released); b finds no free shard while a's leases last.
    expect(await receive(b)).toEqual([]);
    clock.advance(LEASE_MS);
    const byB = await drain(b);
    const acknowledged = [byA[0]!.body, byA[1]!.body];
    expect(byB.map((d) => d.body).sort()).toEqual(sent.map((m) => m.body).filter((body) => !acknowledged.includes(body)).sort());
    // a's late acknowledgement cannot move the position of a shard it lost.
    await a.ack(byA[2]!);
    expect(await receive(a)).toEqual([]);
    await cleanup();
  });

  it("lets a consumer that stops gracefully hand its shards over at once", async () => {
    const { clock, a, b, close, cleanup } = await setUp();
    const sent = batch("m", 10);
    await a.sendBatch(sent);
    const byA = await drain(a);
    expect(byA).toHaveLength(10);
    await close.a();
    const later = batch("later-", 10);
    await b.sendBatch(later);
    clock.advance(1);
    expect((await drain(b)).map((d) => d.body).sort()).toEqual(later.map((m) => m.body).sort());
    await cleanup();
  });
});

describe("kinesis through the settings", () => {
  it("keeps the consumers' state in the checkpoint role's SQLite file and lists each dead letter once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-kinesis-settings-"));
    const stream = streamArn();
    const settings = Switchyard.settings(
      {
        stream,
        retry: "sqlite:./state.db",
        cache: "sqlite:./state.db",
        checkpoint: "sqlite:./state.db",
        metrics: false,
        environment: false,
        journal: "sqlite:./state.db",
        endpoints: { kinesis: emulator.endpoint },
      },
      dir,
    );
    const sy = await Switchyard.open({ definitions: PROTOCOL_FSM, settings, logger: silentLogger, cwd: dir });
    try {
      const source = sy.sources.find((s) => s.role === "stream") as MessageSource & { send: (m: ReturnType<typeof message>) => Promise<unknown> };
      const backend = await openKinesisBackend(stream, context(systemClock, dir));
      await backend.provision();
      await backend.close();
      await source.send(message("a", 1, { body: "{broken" }));
      const [delivery] = await source.receive({ max: 1, visibilityTimeoutSeconds: 30 });
      await source.deadLetter(delivery!, "malformed message: not JSON");
      expect(await sy.deadLetters()).toEqual([expect.objectContaining({ sourceUri: stream, body: "{broken", reason: "malformed message: not JSON" })]);
      expect(readdirSync(dir).filter((name) => !name.startsWith("state.db"))).toEqual([]);
    } finally {
      await sy.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses to consume a Kinesis stream in one line when the settings switch the checkpoint role off", async () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-kinesis-settings-"));
    const stream = streamArn();
    const settings = Switchyard.settings(
      { stream, retry: "sqlite:./state.db", cache: "sqlite:./state.db", checkpoint: false, endpoints: { kinesis: emulator.endpoint } },
      dir,
    );
    const sy = await Switchyard.open({ definitions: PROTOCOL_FSM, settings, logger: silentLogger, cwd: dir });
    try {
      const source = sy.sources.find((s) => s.role === "stream") as MessageSource;
      await expect(source.receive({ max: 1, visibilityTimeoutSeconds: 30 })).rejects.toThrow(
        `Kinesis stream ${stream} keeps its consumers' shard leases, positions and dead letters in the checkpoint role's store, and the settings switch the checkpoint role off; set checkpoint to a dynamodb ARN, a sqlite: or a postgres:// URI`,
      );
    } finally {
      await sy.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
