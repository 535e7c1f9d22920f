/** The stream and retry contracts, and what only SQS promises, against fauxqs (in process). */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSqsBackend, type SqsBackend } from "../../src/backends/aws/sqs.js";
import type { BackendContext } from "../../src/backends/backend.js";
import { silentLogger } from "../../src/logger.js";
import { type Clock, type MessageSource, systemClock } from "../../src/ports.js";
import { type RunningEmulator, startFauxqs } from "../support/aws-emulators.js";
import { TestClock } from "../support/clock.js";
import { message } from "./port-factory.js";
import { retryContract } from "./retry.contract.js";
import { streamContract } from "./stream.contract.js";

let emulator: RunningEmulator;
beforeAll(async () => {
  emulator = await startFauxqs();
});
afterAll(() => emulator.close());

const ACCOUNT = "000000000000";

function context(clock: Clock): BackendContext {
  return { clock, baseDir: process.cwd(), endpoints: { sqs: emulator.endpoint }, logger: silentLogger };
}

/** A fresh, provisioned queue with a random name. */
async function openQueue(clock: Clock): Promise<SqsBackend> {
  const backend = await openSqsBackend(`arn:aws:sqs:us-east-1:${ACCOUNT}:q-${randomUUID()}`, context(clock));
  await backend.provision();
  return backend;
}

/** A contract factory: a fresh queue's stream or retry source. */
function factory(role: "stream" | "retry") {
  return async (clock: TestClock) => {
    const backend = await openQueue(clock);
    const port = role === "stream" ? backend.stream("primary") : backend.retry("primary");
    return {
      port,
      cleanup: () => backend.close(),
      deadLetters: backend.deadLetters,
    };
  };
}

// SQS counts whole queues only: the contracts hold it to refusing pending(correlationId).
streamContract("sqs", factory("stream"), { byCorrelationId: false, countsOneInstance: false });
retryContract("sqs", factory("retry"), { byCorrelationId: false, countsOneInstance: false });

describe("sqs backend", () => {
  const receive = (source: MessageSource, max = 10) => source.receive({ max, visibilityTimeoutSeconds: 30 });

  it("counts the whole queue as pending: visible, in flight and delayed; refuses to count one instance's", async () => {
    const clock = new TestClock();
    const backend = await openQueue(clock);
    const stream = backend.stream("primary");
    await stream.send(message("a", 1));
    await stream.send(message("a", 2, { delaySeconds: 60 }));
    await stream.send(message("b", 1));
    expect(await stream.pending()).toBe(3);
    const deliveries = await receive(stream);
    expect(deliveries).toHaveLength(2);
    expect(await stream.pending()).toBe(3);
    for (const delivery of deliveries) await stream.ack(delivery);
    expect(await stream.pending()).toBe(1);
    await expect(stream.pending("a")).rejects.toThrow(
      `stream.primary (${backend.uri}) cannot count the messages of one instance (a): SQS counts whole queues only; count without a correlation id`,
    );
    await backend.close();
  });

  it("rejects a message over 256 KiB before sending, naming the limit and the queue", async () => {
    const backend = await openQueue(systemClock);
    const big = message("big", 1, { body: "x".repeat(256 * 1024) });
    await expect(backend.stream("primary").send(big)).rejects.toThrow(/exceeds the 262144-byte limit of SQS queue arn:aws:sqs:/);
    expect(await backend.stream("primary").pending()).toBe(0);
    await backend.close();
  });

  it("reports a bad batch entry as that item only", async () => {
    const clock = new TestClock();
    const backend = await openQueue(clock);
    const stream = backend.stream("primary");
    const batch = Array.from({ length: 12 }, (_, i) => message(`c${i}`, 1, { body: `b${i}` }));
    batch[3] = message("c3", 1, { body: "x".repeat(300 * 1024) });
    batch[10] = message("c10", 1, { body: "invalid \u0000 character" });
    const results = await stream.sendBatch(batch);
    expect(results.map((r) => r.ok)).toEqual(batch.map((_, i) => i !== 3 && i !== 10));
    expect(results[3]).toMatchObject({ ok: false, error: { message: expect.stringMatching(/262144-byte limit of SQS queue/) } });
    expect(results[10]).toMatchObject({ ok: false, error: { message: expect.stringMatching(/SendMessageBatch entry failed/) } });
    const bodies = [...(await receive(stream)), ...(await receive(stream))].map((d) => d.body).sort();
    expect(bodies).toHaveLength(10);
    await backend.close();
  });

  it("resolves the queue URL once", async () => {
    const backend = await openQueue(new TestClock());
    let calls = 0;
    backend.client.middlewareStack.add(
      (next, ctx) => async (args) => {
        if (ctx.commandName === "GetQueueUrlCommand") calls++;
        return next(args);
      },
      { step: "initialize", name: "countGetQueueUrl" },
    );
    const stream = backend.stream("primary");
    for (let i = 0; i < 3; i++) await stream.send(message(`c${i}`));
    for (const delivery of await receive(stream)) await stream.ack(delivery);
    await stream.pending();
    expect(calls).toBe(0);
    const fresh = await openSqsBackend(backend.uri, context(new TestClock()));
    fresh.client.middlewareStack.add(
      (next, ctx) => async (args) => {
        if (ctx.commandName === "GetQueueUrlCommand") calls++;
        return next(args);
      },
      { step: "initialize", name: "countGetQueueUrl" },
    );
    for (let i = 0; i < 3; i++) await fresh.stream("primary").send(message(`c${i}`));
    await receive(fresh.stream("primary"));
    expect(calls).toBe(1);
    await fresh.close();
    await backend.close();
  });

  it("does not deliver a delay over 900 s early", async () => {
    const clock = new TestClock();
    const backend = await openQueue(clock);
    const stream = backend.stream("primary");
    await stream.send(message("late", 1, { delaySeconds: 1_000 }));
    expect(await receive(stream)).toEqual([]);
    clock.advance(900_000);
    expect(await receive(stream)).toEqual([]);
    clock.advance(99_999);
    expect(await receive(stream)).toEqual([]);
    clock.advance(1);
    const [delivery] = await receive(stream);
    expect(delivery?.receiveCount).toBe(1);
    await backend.close();
  });

  it("under the system clock, caps the native delay at 900 s and holds the message", async () => {
    const backend = await openQueue(systemClock);
    const stream = backend.stream("primary");
    await stream.send(message("late", 1, { delaySeconds: 3_600 }));
    expect(await receive(stream)).toEqual([]);
    expect(await stream.pending()).toBe(1);
    await backend.close();
  });

  it("names the missing queue and the command that creates it", async () => {
    const backend = await openSqsBackend(`arn:aws:sqs:us-east-1:${ACCOUNT}:missing-${randomUUID()}`, context(systemClock));
    await expect(backend.stream("primary").send(message("x"))).rejects.toThrow(
      /^SQS queue arn:aws:sqs:us-east-1:000000000000:missing-.* does not exist; run switchyard resources create --settings FILE$/,
    );
    await backend.close();
  });

  it("fails fast when the endpoint is unreachable", async () => {
    const backend = await openSqsBackend(`arn:aws:sqs:us-east-1:${ACCOUNT}:q`, {
      ...context(systemClock),
      endpoints: { sqs: "http://127.0.0.1:9" },
    });
    await expect(backend.stream("primary").send(message("x"))).rejects.toThrow(/SQS GetQueueUrl on queue arn:aws:sqs:.* failed/);
    await backend.close();
  });

  it("provisions idempotently", async () => {
    const backend = await openQueue(systemClock);
    expect(await backend.provision()).toEqual([`exists queue ${backend.uri}`, `exists queue ${backend.uri}-dead-letters`]);
    await backend.close();
  });

  it("shapes deliveries as an SQSEvent that its codec decodes back", async () => {
    const clock = new TestClock();
    const backend = await openQueue(clock);
    const stream = backend.stream("primary");
    await stream.sendBatch([message("a", 1, { body: "one" }), message("b", 1, { body: "two" })]);
    const deliveries = await receive(stream);
    const event = stream.lambdaEvent(deliveries) as { Records: unknown[] };
    expect(event.Records).toHaveLength(2);
    expect(event.Records[0]).toMatchObject({ eventSource: "aws:sqs", eventSourceARN: backend.uri, awsRegion: "us-east-1" });
    const decoded = event.Records.map((record) => stream.codec.decode(record));
    expect(decoded.map((r) => [r.id, r.body, r.itemIdentifier, r.sourceArn, r.receiveCount])).toEqual(
      deliveries.map((d) => [d.id, d.body, stream.itemIdentifier(d), backend.uri, 1]),
    );
    expect(() => stream.codec.decode({ eventSource: "aws:sqs" })).toThrow(/SQS record/);
    await backend.close();
  });
});
