/**
 * The Lambda handler's record path on recorded SQS, Kinesis, SNS and DynamoDB Streams events, with
 * SQLite behind it: each record is decoded by its transport's real codec, matched by ARN to a
 * source that is a SQLite source presented under that transport's ARN (support.ts,
 * `lambdaSource`), processed by the real engine, and failures are reported per item — never the
 * whole batch. What this pins is the handler's routing, partial batch responses and per-shard
 * ordering over each codec; the transports themselves (their sources, settle, dead letters) run
 * against the emulators in test/integration/dev-lambda.test.ts and test/contract/aws-*.test.ts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { dynamoDbCodec } from "../../../src/backends/aws/dynamodb/stream-record.js";
import { kinesisCodec } from "../../../src/backends/aws/kinesis-record.js";
import { snsCodec } from "../../../src/backends/aws/sns-record.js";
import { sqsCodec } from "../../../src/backends/aws/sqs-record.js";
import { Switchyard } from "../../../src/client/switchyard.js";
import type { LambdaRecordCodec } from "../../../src/lambda-port.js";
import { createHandler } from "../../../src/lambda/handler.js";
import type { BatchResponse } from "../../../src/lambda/records.js";
import { silentLogger } from "../../../src/logger.js";
import type { MessageSource } from "../../../src/ports.js";
import type { SettingsConfig } from "../../../src/settings/settings.js";
import { PROTOCOL_FSM } from "../../support/protocol-harness.js";
import { fixture, lambdaSource, withSources } from "./support.js";

interface Case {
  readonly fixture: string;
  /** The codec of its transport's source. */
  readonly codec: LambdaRecordCodec;
  /** The ARN as the settings name it (what the codec reports as the record's source). */
  readonly arn: string;
  /** The item identifiers of the three records, as the codec reports them. */
  readonly ids: readonly [string, string, string];
  /** Correlation ids of the first and third records. */
  readonly instances: readonly [string, string];
  /** Ordered per shard: after a failure the later records are reported too. */
  readonly ordered: boolean;
}

const CASES: readonly Case[] = [
  {
    fixture: "sqs",
    codec: sqsCodec,
    arn: "arn:aws:sqs:us-east-1:123456789012:switchyard-stream",
    ids: ["059f36b4-87a3-44ab-83d2-661975830a7d", "2e1424d4-f796-459a-8184-9c92662be6da", "7b270e59-b3ad-4b88-9a34-4e2f1ea5c1d7"],
    instances: ["lambda-sqs-1", "lambda-sqs-2"],
    ordered: false,
  },
  {
    fixture: "kinesis",
    codec: kinesisCodec,
    arn: "arn:aws:kinesis:us-east-1:123456789012:stream/switchyard-stream",
    ids: [
      "49590338271490256608559692538361571095921575989136588898",
      "49590338271490256608559692540925702759324208523137515618",
      "49590338271490256608559692541212345678901234567890123456",
    ],
    instances: ["lambda-kinesis-1", "lambda-kinesis-2"],
    ordered: true,
  },
  {
    fixture: "dynamodb",
    codec: dynamoDbCodec,
    arn: "arn:aws:dynamodb:us-east-1:123456789012:table/switchyard",
    ids: ["111100000000000000000001", "111200000000000000000002", "111300000000000000000003"],
    instances: ["lambda-dynamodb-1", "lambda-dynamodb-2"],
    ordered: true,
  },
];

describe("Lambda handler on recorded event records, over SQLite sources under AWS ARNs", () => {
  let dir: string;
  let sy: Switchyard;
  let stream: MessageSource;
  const open = async (extra: Partial<SettingsConfig> = {}) => {
    const settings = Switchyard.settings({ stream: `sqlite:${dir}/s.db`, retry: `sqlite:${dir}/s.db`, cache: `sqlite:${dir}/s.db`, ...extra }, dir);
    sy = await Switchyard.open({ definitions: PROTOCOL_FSM, settings, logger: silentLogger, cwd: dir });
    stream = sy.sources.find((source) => source.role === "stream") as MessageSource;
  };
  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "switchyard-lambda-records-"));
    await open();
  });
  afterEach(async () => {
    await sy.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("reads the records of the transports the settings name, and reports others with the reason", async () => {
    const [sqs, kinesis] = CASES as [Case, Case];
    const adapted = lambdaSource(stream, sqs.arn, { codec: sqs.codec });
    const lines: string[] = [];
    const handler = createHandler({ switchyard: withSources(sy, [adapted.source]), logger: { ...silentLogger, error: (line: string) => lines.push(line) } });
    const response = (await handler(fixture("kinesis"))) as BatchResponse;
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(kinesis.ids);
    expect(lines).toEqual([
      `record ${kinesis.ids[0]} comes from aws:kinesis, which no source in the settings reads (they read: aws:sqs); name its queue, stream, topic or table in the settings (SWITCHYARD_SETTINGS), or remove this trigger`,
    ]);
  });

  for (const c of CASES) {
    describe(c.fixture, () => {
      it("processes each record, dead-letters the malformed one, settles the rest, reports nothing", async () => {
        const adapted = lambdaSource(stream, c.arn, { codec: c.codec });
        const records: Array<[string, string, Record<string, unknown> | undefined]> = [];
        const capture = (level: string) => (message: string, fields?: Record<string, unknown>) => records.push([level, message, fields]);
        const logger = { debug: capture("debug"), info: capture("info"), warn: capture("warn"), error: capture("error") };
        const handler = createHandler({ switchyard: withSources(sy, [adapted.source]), logger });
        expect(await handler(fixture(c.fixture))).toEqual({ batchItemFailures: [] });
        expect(adapted.deadLetters).toEqual([{ id: expect.any(String), reason: expect.stringMatching(/^message is not valid JSON/) }]);
        // The dead letter's record says where it came from, and no more: its body is not a message.
        expect(records).toEqual([
          ["error", expect.stringMatching(/moved to dead letters: message is not valid JSON/), { messageId: expect.any(String), role: "stream", side: "primary", outcome: "malformed" }],
        ]);
        expect(adapted.settled).toEqual([c.ids[0], c.ids[2]]);
        for (const id of c.instances) {
          expect(await sy.status(id)).toMatchObject({ status: "running", state: "start" });
          // Started elsewhere: the journal's history begins with the record that introduced it.
          expect((await sy.history(id)).map((m) => [m.current_state, m.current_event, m.steps])).toEqual([
            ["pseudo_init", "pseudo_init", 0],
            ["start", "go", 1],
          ]);
        }
      });

      it(`reports a record that cannot be dead-lettered${c.ordered ? ", and the later records of its shard unprocessed" : ""}`, async () => {
        const adapted = lambdaSource(stream, c.arn, { codec: c.codec, deadLetterFails: true });
        const handler = createHandler({ switchyard: withSources(sy, [adapted.source]), logger: silentLogger });
        const response = (await handler(fixture(c.fixture))) as BatchResponse;
        if (c.ordered) {
          expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: c.ids[1] }, { itemIdentifier: c.ids[2] }] });
          expect(adapted.settled).toEqual([c.ids[0]]);
          await expect(sy.status(c.instances[1])).rejects.toThrow("no instance with correlation id");
        } else {
          expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: c.ids[1] }] });
          expect(adapted.settled).toEqual([c.ids[0], c.ids[2]]);
        }
      });

      it("reports every record of an ARN the settings do not name", async () => {
        const adapted = lambdaSource(stream, "arn:aws:sqs:us-east-1:123456789012:other", { codec: c.codec });
        const lines: string[] = [];
        const logger = { ...silentLogger, error: (line: string) => lines.push(line) };
        const handler = createHandler({ switchyard: withSources(sy, [adapted.source]), logger });
        const response = (await handler(fixture(c.fixture))) as BatchResponse;
        expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(c.ids);
        expect(lines[0]).toBe(
          `record ${c.ids[0]} comes from ${c.arn}, which the settings do not name; add it as stream.primary, stream.secondary, retry.primary or retry.secondary in the settings (SWITCHYARD_SETTINGS)`,
        );
      });
    });
  }

  it("skips DynamoDB Streams REMOVE records: they carry no message", async () => {
    const adapted = lambdaSource(stream, "arn:aws:dynamodb:us-east-1:123456789012:table/switchyard", { codec: dynamoDbCodec });
    const handler = createHandler({ switchyard: withSources(sy, [adapted.source]), logger: silentLogger });
    const event = fixture("dynamodb") as { Records: Array<Record<string, unknown>> };
    const [insert] = event.Records;
    const remove = { ...insert, eventName: "REMOVE", dynamodb: { ...(insert?.dynamodb as object), NewImage: undefined, SequenceNumber: "111400000000000000000004" } };
    expect(await handler({ Records: [remove, insert] })).toEqual({ batchItemFailures: [] });
    expect(adapted.settled).toEqual(["111100000000000000000001"]);
  });

  it("reports a record the engine could not finish (every backend down) for redelivery", async () => {
    await sy.close();
    await open({ chaos: { "stream.primary": 1, "retry.primary": 1 } });
    const adapted = lambdaSource(stream, CASES[0]?.arn as string, { codec: sqsCodec });
    const handler = createHandler({ switchyard: withSources(sy, [adapted.source]), logger: silentLogger });
    const response = (await handler(fixture("sqs"))) as BatchResponse;
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: CASES[0]?.ids[0] }, { itemIdentifier: CASES[0]?.ids[2] }] });
    expect(adapted.settled).toEqual([]);
  });

  describe("sns", () => {
    const topic = "arn:aws:sns:us-east-1:123456789012:switchyard-stream";
    it("processes the notification", async () => {
      const adapted = lambdaSource(stream, topic, { codec: snsCodec });
      const handler = createHandler({ switchyard: withSources(sy, [adapted.source]), logger: silentLogger });
      expect(await handler(fixture("sns"))).toEqual({ batchItemFailures: [] });
      expect(await sy.status("lambda-sns-1")).toMatchObject({ state: "start" });
    });

    it("fails the invocation when the notification fails (SNS has no partial batches)", async () => {
      const adapted = lambdaSource(stream, "arn:aws:sns:us-east-1:123456789012:other", { codec: snsCodec });
      const handler = createHandler({ switchyard: withSources(sy, [adapted.source]), logger: silentLogger });
      await expect(handler(fixture("sns"))).rejects.toThrow(
        "SNS message(s) 95df01b4-ee98-5cb9-9903-4c221d41eb5e could not be processed; Lambda will retry the invocation",
      );
    });
  });
});
