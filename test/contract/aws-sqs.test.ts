/** The stream and retry contracts, and what only SQS promises, against fauxqs (in process). */
import { randomUUID } from "node:crypto";
import type { Message } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSqsBackend, type SqsBackend } from "../../src/backends/aws/sqs.js";
import { holdsBeforeDue, holdsFor, lifeLeft, planEarly, SQS_MAX_HOLD_SECONDS, timerCost } from "../../src/backends/aws/sqs-early.js";
import type { BackendContext } from "../../src/backends/backend.js";
import { silentLogger } from "../../src/logger.js";
import { type Clock, type Delivery, type MessageSource, systemClock } from "../../src/ports.js";
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

/**
 * A delay far beyond SQS's 900 s, as a 48 h timer on a retry queue has. Under the system clock the
 * message goes out with `DelaySeconds: 900`; each receive before it is due holds it (visibility) for
 * at most 11 h 45 min, until 900 s are left, and then replaces it by a copy SQS delays until due.
 * Here the clock is a test clock, under which the consumer keeps SQS's delays and visibility by
 * that clock: polling every 15 minutes from 900 s on sees what a consumer on the system clock sees.
 */
describe("sqs: a 48 h delay (durable timers)", () => {
  const HOURS_48 = 48 * 3600;
  const POLL = 900;

  /** The SQS calls a backend makes, and at which clock second (since `start`) each receive returned which message. */
  function watch(backend: SqsBackend, clock: TestClock, start: number) {
    const calls: Record<string, number> = {};
    const received: Array<[number, string]> = [];
    backend.client.middlewareStack.add(
      (next, ctx) => async (args) => {
        const result = await next(args);
        const name = String(ctx.commandName).replace(/Command$/, "");
        calls[name] = (calls[name] ?? 0) + 1;
        const messages = (result.output as { Messages?: Message[] }).Messages ?? [];
        if (name === "ReceiveMessage") for (const m of messages) received.push([(clock.now() - start) / 1000, m.MessageId ?? ""]);
        return result;
      },
      { step: "initialize", name: "watchCalls" },
    );
    return { calls, received };
  }

  /** Poll `source` every 15 min from `from` to `to` (clock seconds since `start`); the deliveries, with the second each came. */
  async function poll(source: MessageSource, clock: TestClock, start: number, from: number, to: number) {
    const delivered: Array<[number, Delivery]> = [];
    for (let t = from; t <= to; t += POLL) {
      clock.advance(start + t * 1000 - clock.now());
      for (const delivery of await source.receive({ max: 10, visibilityTimeoutSeconds: 30 })) {
        delivered.push([t, delivery]);
        await source.ack(delivery);
      }
    }
    return delivered;
  }

  it("plans 5 holds of at most 11 h 45 min, then a copy delayed the last 900 s", () => {
    expect(SQS_MAX_HOLD_SECONDS).toBe(42_300);
    const plans = [];
    for (let remaining = HOURS_48 - 900; ; ) {
      const plan = planEarly(remaining);
      plans.push(plan);
      if (plan.kind === "replace") break;
      remaining -= plan.seconds;
    }
    expect(plans).toEqual([
      { kind: "hold", seconds: 42_300 },
      { kind: "hold", seconds: 42_300 },
      { kind: "hold", seconds: 42_300 },
      { kind: "hold", seconds: 42_300 },
      { kind: "hold", seconds: 1_800 },
      { kind: "replace", delaySeconds: 900 },
    ]);
    expect([1_000, 1_800, 1_801, HOURS_48, 7 * 86_400, 30 * 86_400].map(holdsFor)).toEqual([0, 0, 1, 5, 15, 62]);
    // A held message SQS would delete (retention counts from its first enqueue) is renewed: replaced by a copy.
    expect(lifeLeft(3 * 86_400_000, 0, 4 * 86_400)).toBe(86_400 - 3600);
    expect(planEarly(HOURS_48, 40_000)).toEqual({ kind: "replace", delaySeconds: 900 });
    expect(planEarly(HOURS_48, 42_300)).toEqual({ kind: "hold", seconds: 42_300 });
    // What a timer costs on a queue with SQS's default retention (4 days), and with 14 days.
    expect([900, 3600, HOURS_48, 7 * 86_400, 30 * 86_400].map((d) => timerCost(d))).toEqual([
      { holds: 0, copies: 0, receives: 1 },
      { holds: 1, copies: 1, receives: 3 },
      { holds: 5, copies: 1, receives: 7 },
      { holds: 15, copies: 2, receives: 18 },
      { holds: 62, copies: 8, receives: 71 },
    ]);
    expect(timerCost(30 * 86_400, 14 * 86_400)).toEqual({ holds: 62, copies: 3, receives: 66 });
    // What a due message's receive count may include, from its due time and SentTimestamp.
    const sent = Date.UTC(2030, 0, 1);
    expect(holdsBeforeDue(sent + HOURS_48 * 1000, sent)).toBe(5);
    expect(holdsBeforeDue(sent + 900_000, sent)).toBe(0);
    expect(holdsBeforeDue(sent, sent + 5_000)).toBe(0);
    expect(holdsBeforeDue(sent + 400 * 86_400_000, sent)).toBe(0);
  });

  it("hands a 48 h retry entry back until due and delivers it then, once, as a copy with receive count 1", async () => {
    const clock = new TestClock();
    const start = clock.now();
    const backend = await openQueue(clock);
    const { calls, received } = watch(backend, clock, start);
    const retry = backend.retry("primary");
    await retry.schedule(message("timer", 2, { delaySeconds: HOURS_48 }));
    const delivered = await poll(retry, clock, start, POLL, HOURS_48 + 2 * POLL);
    expect(delivered.map(([t, d]) => [t, d.receiveCount, d.body])).toEqual([[HOURS_48, 1, JSON.stringify({ correlationId: "timer", steps: 2 })]]);
    const [original, copy] = [...new Set(received.map(([, id]) => id))];
    // The original: received at 900 s and held 5 times (the last hold 1800 s), then replaced with 900 s left.
    expect(received.filter(([, id]) => id === original).map(([t]) => t)).toEqual([900, 43_200, 85_500, 127_800, 170_100, 171_900]);
    // The copy: received once, when due.
    expect(received.filter(([, id]) => id === copy).map(([t]) => t)).toEqual([HOURS_48]);
    expect(calls).toMatchObject({ SendMessage: 2, DeleteMessage: 2 });
    expect(await retry.pending()).toBe(0);
    await backend.close();
  }, 60_000);

  it("renews a 7-day retry entry before the queue's 4-day retention would delete it, and delivers it when due", async () => {
    const clock = new TestClock();
    const start = clock.now();
    const backend = await openQueue(clock);
    const { calls, received } = watch(backend, clock, start);
    const retry = backend.retry("primary");
    await retry.schedule(message("timer", 2, { delaySeconds: 7 * 86_400 }));
    const delivered = await poll(retry, clock, start, POLL, 7 * 86_400 + POLL);
    expect(delivered.map(([t, d]) => [t, d.receiveCount])).toEqual([[7 * 86_400, 1]]);
    const messages = [...new Set(received.map(([, id]) => id))];
    // The original, a renewal sent at 339 300 s (under 4 days less an hour after the original was
    // sent), and the copy of the last 900 s.
    expect(messages).toHaveLength(3);
    const first = (id: string) => received.find(([, each]) => each === id)?.[0];
    expect(messages.map(first)).toEqual([900, 340_200, 7 * 86_400]);
    expect(received).toHaveLength(timerCost(7 * 86_400).receives);
    expect(calls).toMatchObject({ SendMessage: 3, DeleteMessage: 3, GetQueueAttributes: 1 });
    await backend.close();
  }, 60_000);

  it("keeps its receive count at 1 across a consumer restart, however often it was handed back", async () => {
    const clock = new TestClock();
    const start = clock.now();
    const first = await openQueue(clock);
    await first.retry("primary").schedule(message("timer", 2, { delaySeconds: HOURS_48 }));
    expect(await poll(first.retry("primary"), clock, start, POLL, 24 * 3600)).toEqual([]);
    await first.close();
    // A new process: it knows nothing of the hand-backs before.
    const second = await openSqsBackend(first.uri, context(clock));
    const delivered = await poll(second.retry("primary"), clock, start, 24 * 3600 + POLL, HOURS_48 + POLL);
    expect(delivered.map(([t, d]) => [t, d.receiveCount])).toEqual([[HOURS_48, 1]]);
    await second.close();
  }, 60_000);

  it("on Lambda: holds an early record while more than 900 s are left, and replaces it by a copy due then", async () => {
    const clock = new TestClock();
    const start = clock.now();
    const backend = await openQueue(clock);
    const { calls } = watch(backend, clock, start);
    const retry = backend.retry("primary");
    await retry.schedule(message("timer", 2, { delaySeconds: HOURS_48 }));
    // Lambda's poller received it at 900 s; the handler decodes the record and asks the source.
    clock.advance(HOURS_48 * 1000);
    const [late] = await retry.receive({ max: 1, visibilityTimeoutSeconds: 30 });
    if (late === undefined) throw new Error("the entry did not arrive");
    const [record] = (retry.lambdaEvent([late]) as { Records: unknown[] }).Records;
    const decoded = retry.codec.decode(record);
    const early: Delivery = { id: decoded.id, body: decoded.body, receiveCount: decoded.receiveCount, role: "retry", side: "primary", handle: decoded.handle };
    expect(await retry.holdUntilDue?.(early, HOURS_48 - 900)).toBe(true);
    expect(calls.SendMessage).toBe(1);
    expect(await retry.holdUntilDue?.(early, 900)).toBe("replaced");
    expect(calls.SendMessage).toBe(2);
    // Lambda deletes the record the handler reported done; the copy comes when due, with every attribute.
    await retry.ack(late);
    const [copy] = await retry.receive({ max: 1, visibilityTimeoutSeconds: 30 });
    if (copy === undefined) throw new Error("the copy did not arrive");
    expect(copy.id).not.toBe(late.id);
    expect(copy.receiveCount).toBe(1);
    const attributes = (copy.handle as { message: Message }).message.MessageAttributes;
    expect(attributes).toEqual((late.handle as { message: Message }).message.MessageAttributes);
    await backend.close();
  });
});
