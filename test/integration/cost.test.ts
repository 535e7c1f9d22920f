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
 * The calls of one instance on the DynamoDB cache's fused path (the default) with a DynamoDB
 * checkpoint and journal and an SQS stream. Each of the three processings: the lease
 * (UpdateItem, which returns the dispatched flag), the controls (BatchGetItem: the record and the
 * machine's pauses), the abort gate after the actions (GetItem of the record), the journal's
 * instance update (UpdateItem), and the dispatched mark with the release (one UpdateItem). The
 * first two also send the next message (SendMessage), journal it (PutItem) and store its receipt as
 * the checkpoint (PutItem); the third ends the instance and sends nothing. The start writes the
 * instance (PutItem), sends its first message (SendMessageBatch) and journals it (PutItem); the
 * event source mapping deletes each record.
 */
const FUSED: Record<string, number> = {
  "start DynamoDB PutItem": 2,
  "start SQS SendMessageBatch": 1,
  "handler DynamoDB UpdateItem": 3 * 3,
  "handler DynamoDB GetItem": 3,
  "handler DynamoDB BatchGetItem": 3,
  "handler DynamoDB PutItem": 2 + 2,
  "handler SQS SendMessage": 2,
  "poll SQS DeleteMessage": 3,
};

/**
 * The same over the separate ports (`fused_transitions: false`), one call per port: the lease
 * (UpdateItem), the dispatched check (GetItem), the controls before and after the actions
 * (BatchGetItem each), the dispatched mark, the instance update and the release (UpdateItem each).
 */
const SEPARATE: Record<string, number> = {
  ...FUSED,
  "handler DynamoDB UpdateItem": 3 * 4,
  "handler DynamoDB BatchGetItem": 3 * 2,
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

  async function settingsFile(extra: Record<string, unknown> = {}): Promise<string> {
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
      ...extra,
    };
    writeFileSync(file, JSON.stringify(settings));
    await provisionAll(loadSettings({ file }));
    return file;
  }

  it.each([
    { path: "the fused path", extra: {}, expected: FUSED },
    { path: "the separate ports", extra: { fused_transitions: false }, expected: SEPARATE },
  ])("counts every call of a three-transition instance exactly on $path, and prices the counts", async ({ extra, expected }) => {
    const file = await settingsFile(extra);
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
      expect(exact).toEqual(expected);
      // No write is refused: the controls read shows the journal has the instance's record, so
      // the first processing does not try to create it.
      expect(measurement.calls.filter((c) => c.failed > 0).map((c) => `${c.phase} ${c.operation} ${c.failed}`)).toEqual([]);
      // Every item is under 1 KB: one write unit per write, one read unit per strongly consistent
      // item read (the controls fetch two items).
      const units = (key: string) => measurement.calls.find((c) => `${c.phase} ${c.service} ${c.operation}` === key)?.units;
      const count = (key: string) => expected[key] ?? 0;
      expect(units("handler DynamoDB UpdateItem")?.wru).toBe(count("handler DynamoDB UpdateItem"));
      expect(units("handler DynamoDB PutItem")?.wru).toBe(count("handler DynamoDB PutItem"));
      expect(units("handler DynamoDB GetItem")?.rru).toBe(count("handler DynamoDB GetItem"));
      expect(units("handler DynamoDB BatchGetItem")?.rru).toBe(2 * count("handler DynamoDB BatchGetItem"));
      expect(units("handler SQS SendMessage")?.sqsRequests).toBe(2);
      report = priceCost(measurement, US_EAST_1, { memoryMb: 1024, throughput: 100, kinesisShards: 1, elastiCacheNodes: 2 });
      // The dollars are the counts over the transitions times the prices.
      const wru = 2 + count("handler DynamoDB UpdateItem") + count("handler DynamoDB PutItem");
      const rru =
        count("handler DynamoDB GetItem") +
        2 * count("handler DynamoDB BatchGetItem") +
        ((units("handler DynamoDB Query")?.rru ?? 0) + (units("start DynamoDB Query")?.rru ?? 0));
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
    expect(text.stdout).toMatch(/^handler +DynamoDB +UpdateItem +3\.00 +3\.00 WRU$/m);
    expect(text.stdout).toMatch(/^Step Functions Standard +1 state transition +\$25\.00$/m);
    const json = await runCli(["cost", "-d", PROTOCOL_FSM, "-s", file, "--machine", "simple", "--transitions", "3", "--json"], { cwd: dir });
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as CostReport;
    expect(report).toMatchObject({ transitions: 3, instances: 1, region: "us-east-1", stepFunctions: { standard: 25 } });
    expect(report.calls.find((c) => c.phase === "handler" && c.operation === "UpdateItem")?.perTransition).toBe(3);
  }, 90_000);
});
