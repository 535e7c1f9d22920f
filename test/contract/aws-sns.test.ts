/**
 * The stream and retry contracts on SNS (publish to a topic, consume through its subscribed SQS
 * queue), and what only SNS promises, against fauxqs (in process).
 */
import { randomUUID } from "node:crypto";
import { ListSubscriptionsByTopicCommand } from "@aws-sdk/client-sns";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSnsBackend, type SnsBackend } from "../../src/backends/aws/sns.js";
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

function context(clock: Clock, endpoints: Record<string, string> = {}): BackendContext {
  return { clock, baseDir: process.cwd(), endpoints: { sqs: emulator.endpoint, sns: emulator.endpoint, ...endpoints }, logger: silentLogger };
}

/** A fresh, provisioned topic (and consumer queue) with a random name. */
async function openTopic(clock: Clock, endpoints?: Record<string, string>): Promise<SnsBackend> {
  const backend = await openSnsBackend(`arn:aws:sns:us-east-1:000000000000:t-${randomUUID()}`, context(clock, endpoints));
  await backend.provision();
  return backend;
}

/** A contract factory: a fresh topic's stream or retry source (consumed through its queue). */
function factory(role: "stream" | "retry") {
  return async (clock: TestClock) => {
    const backend = await openTopic(clock);
    const port = role === "stream" ? backend.stream("primary") : backend.retry("primary");
    return { port, cleanup: () => backend.close(), deadLetters: backend.deadLetters };
  };
}

// As on SQS, the consumer queue counts whole queues only: pending(correlationId) is refused.
streamContract("sns", factory("stream"), { byCorrelationId: false, countsOneInstance: false });
retryContract("sns", factory("retry"), { byCorrelationId: false, countsOneInstance: false });

describe("sns backend", () => {
  const receive = (source: MessageSource, max = 10) => source.receive({ max, visibilityTimeoutSeconds: 30 });

  it("provisions topic, queues and subscription idempotently", async () => {
    const backend = await openTopic(systemClock);
    const queue = `arn:aws:sqs:us-east-1:000000000000:${backend.uri.split(":").pop()}-switchyard`;
    expect(await backend.provision()).toEqual([
      `exists topic ${backend.uri}`,
      `exists queue ${queue}`,
      `exists queue ${queue}-dead-letters`,
      `exists subscription ${queue} to ${backend.uri}`,
    ]);
    await backend.close();
  });

  it("consumes through the queue the settings name", async () => {
    const name = `custom-${randomUUID()}`;
    const topic = `arn:aws:sns:us-east-1:000000000000:t-${randomUUID()}`;
    const queueArn = `arn:aws:sqs:us-east-1:000000000000:${name}`;
    const backend = await openSnsBackend(topic, context(new TestClock(), { [`${topic}#queue`]: queueArn }));
    expect((await backend.provision())[1]).toBe(`created queue ${queueArn}`);
    await backend.stream("primary").send(message("a", 1, { body: "via custom queue" }));
    expect((await receive(backend.stream("primary"))).map((d) => d.body)).toEqual(["via custom queue"]);
    await backend.close();
  });

  it("with the topic's consumer set to lambda: no consumer queue or subscription, nothing to poll", async () => {
    const topic = `arn:aws:sns:us-east-1:000000000000:t-${randomUUID()}`;
    const backend = await openSnsBackend(topic, context(new TestClock(), { [`${topic}#queue`]: "lambda" }));
    const dlq = `arn:aws:sqs:us-east-1:000000000000:${topic.split(":").pop()}-switchyard-dead-letters`;
    expect(await backend.provision()).toEqual([
      `created topic ${topic}`,
      `created queue ${dlq}`,
      `no consumer queue: the Lambda function subscribes to ${topic} itself`,
    ]);
    const subscriptions = await backend.client.send(new ListSubscriptionsByTopicCommand({ TopicArn: topic }));
    expect(subscriptions.Subscriptions ?? []).toEqual([]);
    await backend.stream("primary").send(message("a", 1, { body: "to lambda" }));
    expect(await receive(backend.stream("primary"))).toEqual([]);
    expect(await backend.stream("primary").pending()).toBe(0);
    await backend.close();
  });

  it("rejects a message over 256 KiB before publishing, naming the limit and the topic", async () => {
    const backend = await openTopic(systemClock);
    const big = message("big", 1, { body: "x".repeat(256 * 1024) });
    await expect(backend.stream("primary").send(big)).rejects.toThrow(/exceeds the 262144-byte limit of SNS topic arn:aws:sns:/);
    await backend.close();
  });

  it("names the missing topic and the command that creates it", async () => {
    const backend = await openSnsBackend(`arn:aws:sns:us-east-1:000000000000:missing-${randomUUID()}`, context(systemClock));
    await expect(backend.stream("primary").send(message("x"))).rejects.toThrow(
      /^SNS topic arn:aws:sns:us-east-1:000000000000:missing-.* does not exist; run switchyard resources create --settings FILE$/,
    );
    await backend.close();
  });

  it("shapes deliveries as an SNSEvent that its codec decodes back", async () => {
    const clock = new TestClock();
    const backend = await openTopic(clock);
    const stream = backend.stream("primary");
    await stream.send(message("a", 1, { body: "one", delaySeconds: 5 }));
    clock.advance(5_000);
    const deliveries = await receive(stream);
    const event = stream.lambdaEvent(deliveries) as { Records: unknown[] };
    expect(event.Records[0]).toMatchObject({
      EventSource: "aws:sns",
      Sns: { Type: "Notification", TopicArn: backend.uri, Message: "one", MessageAttributes: { "switchyard.due": { Type: "Number" } } },
    });
    const decoded = event.Records.map((record) => stream.codec.decode(record));
    expect(decoded.map((r) => [r.id, r.body, r.itemIdentifier, r.sourceArn])).toEqual(
      deliveries.map((d) => [d.id, d.body, stream.itemIdentifier(d), backend.uri]),
    );
    expect(decoded[0]?.handle).toEqual({ due: clock.now() });
    expect(() => stream.codec.decode({ EventSource: "aws:sns" })).toThrow(/SNS record/);
    await backend.close();
  });
});
