/**
 * `switchyard cost` on emulators: the calls of one instance of the three-state `simple` machine
 * (three transitions: the start message, start → middle, middle → end) through dev-lambda with SQS
 * as the stream and DynamoDB for retries, leases, checkpoints and the journal, counted exactly; the
 * dollars follow from those counts and the price table; and the command prints its table and JSON.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Switchyard } from "../../src/client/switchyard.js";
import { ApiCallCounter, type CostReport, measureCost, priceCost } from "../../src/lambda/cost.js";
import { US_EAST_1 } from "../../src/lambda/prices.js";
import { silentLogger } from "../../src/logger.js";
import { provisionAll } from "../../src/settings/provision.js";
import { loadSettings } from "../../src/settings/settings.js";
import { type RunningEmulator, startFauxqs } from "../support/aws-emulators.js";
import { runCli } from "../support/cli.js";
import { type RunningDynalite, startDynalite } from "../support/dynalite.js";
import { PROTOCOL_FSM } from "../support/protocol-harness.js";

const REGION = "us-east-1";
const ACCOUNT = "000000000000";
const name = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

/**
 * The calls of one instance, as the protocol (SPEC §3) makes them over the separate ports with a
 * DynamoDB cache, checkpoint and journal and an SQS stream. Each of the three processings:
 * acquireLease (UpdateItem), the dispatched check (GetItem), the controls read before and after
 * the actions (BatchGetItem each), the dispatched mark (UpdateItem), the journal's instance update
 * (UpdateItem) and the lease's release (UpdateItem). The first two also send the next message
 * (SendMessage), journal it (PutItem) and store its receipt as the checkpoint (PutItem); the third
 * ends the instance and sends nothing. The first processing also gives the instance its journal
 * record if the journal has none (a conditional PutItem, refused here: the start wrote it, but it
 * is billed all the same). The start writes the instance (PutItem), sends its first message
 * (SendMessageBatch) and journals it (PutItem); the event source mapping deletes each record.
 */
const EXPECTED: Record<string, number> = {
  "start DynamoDB PutItem": 2,
  "start SQS SendMessageBatch": 1,
  "handler DynamoDB UpdateItem": 3 * 4,
  "handler DynamoDB GetItem": 3,
  "handler DynamoDB BatchGetItem": 3 * 2,
  "handler DynamoDB PutItem": 2 + 2 + 1,
  "handler SQS SendMessage": 2,
  "poll SQS DeleteMessage": 3,
};

describe("switchyard cost on emulators", () => {
  let dir: string;
  let fauxqs: RunningEmulator;
  let dynalite: RunningDynalite;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "switchyard-cost-"));
    [fauxqs, dynalite] = await Promise.all([startFauxqs(), startDynalite()]);
  });
  afterAll(async () => {
    await Promise.all([fauxqs?.close(), dynalite?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  async function settingsFile(): Promise<string> {
    const family = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${name("cost")}`;
    const file = path.join(dir, `${name("settings")}.json`);
    const settings = {
      stream: `arn:aws:sqs:${REGION}:${ACCOUNT}:${name("stream")}`,
      retry: family,
      cache: family,
      checkpoint: family,
      metrics: false,
      environment: false,
      visibility_timeout: 30,
      endpoints: { sqs: fauxqs.endpoint, dynamodb: dynalite.endpoint },
    };
    writeFileSync(file, JSON.stringify(settings));
    await provisionAll(loadSettings({ file }));
    return file;
  }

  it("counts every call of a three-transition instance exactly, and prices the counts", async () => {
    const file = await settingsFile();
    const counter = new ApiCallCounter();
    const sy = await Switchyard.open({ definitions: PROTOCOL_FSM, settings: file, logger: silentLogger, cwd: dir, apiCalls: counter });
    let report: CostReport;
    try {
      const measurement = await measureCost({ switchyard: sy, counter, transitions: 3, machine: "simple", logger: silentLogger });
      expect(measurement).toMatchObject({ transitions: 3, instances: 1 });
      const counts = Object.fromEntries(measurement.calls.map((c) => [`${c.phase} ${c.service} ${c.operation}`, c.calls]));
      // The machine-wide pause rules are read at most once a second (a Query), and dev-lambda's
      // receives and idle checks depend on timing: those are not part of the exact count.
      // The scheduled timer (every second) polls the retry table: not part of it either.
      const exact = Object.fromEntries(Object.entries(counts).filter(([key]) => !/^timer | Query$| ReceiveMessage$| GetQueueAttributes$/.test(key)));
      expect(exact).toEqual(EXPECTED);
      expect(measurement.calls.filter((c) => c.failed > 0).map((c) => `${c.phase} ${c.operation} ${c.failed}`)).toEqual(["handler PutItem 1"]);
      // Every item is under 1 KB: one write unit per write; the strongly consistent reads of the
      // controls fetch two items each.
      const units = (key: string) => measurement.calls.find((c) => `${c.phase} ${c.service} ${c.operation}` === key)?.units;
      expect(units("handler DynamoDB UpdateItem")?.wru).toBe(12);
      expect(units("handler DynamoDB PutItem")?.wru).toBe(5);
      expect(units("handler DynamoDB GetItem")?.rru).toBe(3);
      expect(units("handler DynamoDB BatchGetItem")?.rru).toBe(12);
      expect(units("handler SQS SendMessage")?.sqsRequests).toBe(2);
      report = priceCost(measurement, US_EAST_1, { memoryMb: 1024, throughput: 100, kinesisShards: 1, elastiCacheNodes: 2 });
      // The dollars are the counts over the transitions times the prices.
      const wru = 2 + 12 + 5;
      const rru = 3 + 12 + ((units("handler DynamoDB Query")?.rru ?? 0) + (units("start DynamoDB Query")?.rru ?? 0));
      const receives = counts["poll SQS ReceiveMessage"] ?? 0;
      const sqs = 1 + 2 + receives + 3 / 10;
      const line = (price: string) => report.lines.find((l) => l.price === price)?.usdPerMillion;
      expect(line("dynamodbWriteRequestUnit")).toBeCloseTo((wru / 3) * 0.625, 10);
      expect(line("dynamodbReadRequestUnit")).toBeCloseTo((rru / 3) * 0.125, 10);
      expect(line("sqsRequest")).toBeCloseTo((sqs / 3) * 0.4, 10);
      expect(line("lambdaRequest")).toBeCloseTo((measurement.invocations / 3) * 0.2, 10);
      const gbSeconds = measurement.durationsMs.reduce((s, ms) => s + Math.ceil(ms), 0) / 1000;
      expect(line("lambdaGbSecond")).toBeCloseTo((gbSeconds / 3) * 0.0000166667 * 1e6, 8);
      expect(report.usdPerMillion).toBeCloseTo(report.lines.reduce((s, l) => s + l.usdPerMillion, 0), 10);
    } finally {
      await sy.close();
    }
  }, 60_000);

  it("drains a retry through the scheduled timer, whose calls are not billed per transition", async () => {
    const file = await settingsFile();
    const counter = new ApiCallCounter();
    const sy = await Switchyard.open({ definitions: PROTOCOL_FSM, settings: file, logger: silentLogger, cwd: dir, apiCalls: counter });
    try {
      const measurement = await measureCost({ switchyard: sy, counter, transitions: 4, machine: "simple", context: { fail: ["1:0"] }, logger: silentLogger, timeoutSeconds: 30 });
      // The failed attempt is a processed message too (Step Functions counts a retry as a transition).
      expect(measurement).toMatchObject({ transitions: 4, instances: 1 });
      expect(measurement.calls.some((c) => c.phase === "timer")).toBe(true);
      const report = priceCost(measurement, US_EAST_1);
      expect(report.calls.filter((c) => c.phase === "timer").every((c) => !c.billed)).toBe(true);
    } finally {
      await sy.close();
    }
  }, 60_000);

  it("prints the table and the JSON object", async () => {
    const file = await settingsFile();
    const text = await runCli(["cost", "-d", PROTOCOL_FSM, "-s", file, "--machine", "simple", "--transitions", "3"], { cwd: dir });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^handler +DynamoDB +UpdateItem +4\.00 +4\.00 WRU$/m);
    expect(text.stdout).toMatch(/^Step Functions Standard +1 state transition +\$25\.00$/m);
    const json = await runCli(["cost", "-d", PROTOCOL_FSM, "-s", file, "--machine", "simple", "--transitions", "3", "--json"], { cwd: dir });
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as CostReport;
    expect(report).toMatchObject({ transitions: 3, instances: 1, region: "us-east-1", stepFunctions: { standard: 25 } });
    expect(report.calls.find((c) => c.phase === "handler" && c.operation === "UpdateItem")?.perTransition).toBe(4);
  }, 90_000);
});
