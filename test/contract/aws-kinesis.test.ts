/** The stream and retry contracts, and what only Kinesis promises, against kinesalite (in process). */
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openKinesisBackend } from "../../src/backends/aws/kinesis.js";
import type { BackendContext } from "../../src/backends/backend.js";
import { silentLogger } from "../../src/logger.js";
import { type Clock, type MessageSource, systemClock } from "../../src/ports.js";
import { type RunningEmulator, startKinesalite } from "../support/aws-emulators.js";
import { TestClock } from "../support/clock.js";
import { message, withoutPending } from "./port-factory.js";
import { retryContract } from "./retry.contract.js";
import { streamContract } from "./stream.contract.js";

let emulator: RunningEmulator;
beforeAll(async () => {
  emulator = await startKinesalite();
});
afterAll(() => emulator.close());

function context(clock: Clock, baseDir: string): BackendContext {
  return { clock, baseDir, endpoints: { kinesis: emulator.endpoint }, logger: silentLogger };
}

/** A fresh, provisioned stream with a random name, and a scratch base directory. */
async function openStream(clock: Clock, uri = `arn:aws:kinesis:us-east-1:000000000000:stream/s-${randomUUID()}`, dir?: string) {
  const baseDir = dir ?? mkdtempSync(join(tmpdir(), "switchyard-kinesis-"));
  const backend = await openKinesisBackend(uri, context(clock, baseDir));
  await backend.provision();
  const cleanup = async () => {
    await backend.close();
    if (dir === undefined) rmSync(baseDir, { recursive: true, force: true });
  };
  return { backend, baseDir, cleanup };
}

/**
 * The contracts' `pending` case sends a delayed message of instance a before one of instance b on
 * the same shard: on Kinesis the not-yet-due record holds its shard, so b's message cannot be
 * delivered before it and the count after the acks is 2, not 1. The contracts therefore see the
 * source without `pending`; the count is tested below.
 */
function factory(role: "stream" | "retry") {
  return async (clock: TestClock) => {
    const { backend, cleanup } = await openStream(clock);
    const port = withoutPending(role === "stream" ? backend.stream("primary") : backend.retry("primary"));
    return { port, cleanup, deadLetters: () => backend.deadLetters.list() };
  };
}

streamContract("kinesis", factory("stream"), { byCorrelationId: false });
retryContract("kinesis", factory("retry"), { byCorrelationId: false });

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

  it("resumes from the stored position after the source is reopened", async () => {
    const clock = new TestClock();
    const first = await openStream(clock);
    const uri = first.backend.uri;
    const stream = first.backend.stream("primary");
    await stream.sendBatch([0, 1, 2, 3].map((i) => message(`c${i}`, 1, { body: `m${i}` })));
    const [m0, m1, m2] = await receive(stream, 3);
    await stream.ack(m1!);
    await stream.ack(m0!);
    await stream.release(m2!, 0);
    const stored = JSON.parse(readFileSync(join(first.baseDir, ".switchyard", "kinesis-positions.json"), "utf8"));
    expect(stored[uri]).toEqual({ [(m1!.handle as { shardId: string }).shardId]: stream.itemIdentifier(m1!) });
    await first.backend.close();

    const again = await openStream(clock, uri, first.baseDir);
    const reopened = again.backend.stream("primary");
    expect((await receive(reopened)).map((d) => d.body)).toEqual(["m2", "m3"]);
    await again.cleanup();
    rmSync(first.baseDir, { recursive: true, force: true });
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
    const backend = await openKinesisBackend(`arn:aws:kinesis:us-east-1:000000000000:stream/missing-${randomUUID()}`, context(systemClock, baseDir));
    await expect(backend.stream("primary").send(message("x"))).rejects.toThrow(
      /^Kinesis stream arn:aws:kinesis:us-east-1:000000000000:stream\/missing-.* does not exist; run switchyard resources create --settings FILE$/,
    );
    await expect(receive(backend.stream("primary"))).rejects.toThrow(/does not exist/);
    await backend.close();
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
