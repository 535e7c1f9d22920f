/**
 * Durable timers (`after:`, SPEC §9) on AWS, through the Lambda handler that dev-lambda drives, on
 * emulators (fauxqs, kinesalite, dynalite):
 *
 * - a DynamoDB retry table keeps the timers and the scheduled timer invocation drains it: a 2 s
 *   timer moves a waiting instance on in real time; an instance that gets its event first (over the
 *   HTTP route, or `sendEvent`) ends by the event, and its timer entry is gone, never fired;
 * - an SQS retry queue keeps a 48 h timer (far beyond SQS's 900 s) until it is due, across a
 *   restart, under a test clock: not delivered to the engine a second early, delivered at its time
 *   with receive count 1 (never taken for a poison message);
 * - a Kinesis stream: a timer goes to the retry role, so it does not hold the shard; one that falls
 *   back to the stream (the retry role failing) holds its shard until due under dev-lambda and
 *   workers, and runs as soon as it arrives on Lambda. Both are documented limits
 *   (docs/runtimes/lambda.md#timers-on-aws).
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Switchyard } from "../../src/client/switchyard.js";
import { DevLambda } from "../../src/lambda/dev-lambda.js";
import { createHandler } from "../../src/lambda/handler.js";
import type { HttpResponse } from "../../src/lambda/http.js";
import type { LambdaEventSource } from "../../src/lambda-port.js";
import { silentLogger } from "../../src/logger.js";
import type { JournalMessage, MessageSource } from "../../src/ports.js";
import { provisionAll } from "../../src/settings/provision.js";
import { loadSettings } from "../../src/settings/settings.js";
import { type RunningEmulator, startFauxqs, startKinesalite } from "../support/aws-emulators.js";
import { TestClock } from "../support/clock.js";
import { type RunningDynalite, startDynalite } from "../support/dynalite.js";

const TIMERS_FSM = path.join(path.dirname(fileURLToPath(import.meta.url)), "../fixtures/aws-timers/fsm.yaml");
const REGION = "us-east-1";
const ACCOUNT = "000000000000";
const HOURS_48 = 48 * 3600;
const name = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;
const ARNS = {
  sqs: () => `arn:aws:sqs:${REGION}:${ACCOUNT}:${name("stream")}`,
  kinesis: () => `arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/${name("stream")}`,
  dynamodb: () => `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${name("stream")}`,
} as const;

/** The retry role's primary source, which counts its messages (DynamoDB: of one instance too). */
function retrySource(sy: Switchyard): MessageSource & { pending(correlationId?: string): Promise<number> } {
  const source = sy.sources.find((s) => s.role === "retry" && s.side === "primary");
  if (source?.pending === undefined) throw new Error("no retry source that counts its messages");
  return source as MessageSource & { pending(correlationId?: string): Promise<number> };
}

/** A history entry: [state, event, steps, role, origin]. */
const entry = (m: JournalMessage) => [m.current_state, m.current_event, m.steps, m.role, m.origin ?? "-"];

describe("durable timers on AWS, through the Lambda handler", () => {
  let dir: string;
  let fauxqs: RunningEmulator;
  let kinesalite: RunningEmulator;
  let dynalite: RunningDynalite;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "switchyard-aws-timers-"));
    [fauxqs, kinesalite, dynalite] = await Promise.all([startFauxqs(), startKinesalite(), startDynalite()]);
  });
  afterAll(async () => {
    await Promise.all([fauxqs?.close(), kinesalite?.close(), dynalite?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * A provisioned settings file: `roles` over a DynamoDB family for every role left out (retry,
   * cache, checkpoint and the journal, as on Lambda).
   */
  async function settingsFile(roles: Record<string, unknown>): Promise<string> {
    const family = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${name("sy")}`;
    const file = path.join(dir, `${name("settings")}.json`);
    const endpoints = { sqs: fauxqs.endpoint, kinesis: kinesalite.endpoint, dynamodb: dynalite.endpoint };
    const config = { retry: family, cache: family, checkpoint: family, journal: family, metrics: false, environment: false, visibility_timeout: 5, endpoints, ...roles };
    writeFileSync(file, JSON.stringify(config, null, 2));
    await provisionAll(loadSettings({ file }));
    return file;
  }

  /** A Switchyard, the handler on it and dev-lambda driving it. */
  async function open(file: string, clock?: TestClock) {
    const sy = await Switchyard.open({ definitions: TIMERS_FSM, settings: file, logger: silentLogger, cwd: dir, ...(clock ? { clock } : {}) });
    const handler = createHandler({ switchyard: sy, logger: silentLogger });
    const progress: string[] = [];
    const dev = new DevLambda(sy, handler, { timerIntervalSeconds: 0.25, progress: (line) => progress.push(line) });
    /** Run dev-lambda (real time) until `done`, at most 25 s. */
    const until = async (done: () => Promise<boolean>) => {
      const guard = setTimeout(() => dev.stop(), 25_000);
      await dev.run({ until: done });
      clearTimeout(guard);
    };
    const statuses = async (ids: readonly string[]) => Promise.all(ids.map(async (id) => (await sy.status(id)).status));
    /** An API Gateway (HTTP API) request to the handler. */
    const call = async (method: string, rawPath: string, body?: unknown) => {
      const event = { version: "2.0", rawPath, body: body === undefined ? undefined : JSON.stringify(body), isBase64Encoded: false, requestContext: { http: { method } } };
      const response = (await handler(event)) as HttpResponse;
      return [response.statusCode, JSON.parse(response.body) as Record<string, unknown>] as const;
    };
    return { sy, handler, dev, progress, until, statuses, call };
  }

  const STREAMS: ReadonlyArray<["sqs" | "dynamodb"]> = [["sqs"], ["dynamodb"]];
  it.each(STREAMS)(
    "DynamoDB retry table, %s stream: the scheduled timer fires a 2 s timer; an event that comes first ends the instance and its timer never fires",
    async (transport) => {
      const file = await settingsFile({ stream: ARNS[transport]() });
      const { sy, dev, progress, until, statuses, call } = await open(file);
      try {
        const run = name("run");
        const [byTimer, byHttp, bySend] = ["timer", "http", "send"].map((what) => `${run}-${what}`) as [string, string, string];
        const ids = [byTimer, byHttp, bySend];
        expect(await call("POST", "/prod/instances", { instances: ids.map((correlationId) => ({ machine: "reminder", correlationId })) })).toEqual([
          202,
          { started: 3, failed: 0, results: ids.map((correlationId) => ({ ok: true, correlationId })) },
        ]);
        await until(async () => (await statuses(ids)).every((status) => status === "waiting"));
        // Each waits in review with its timer: one entry in the retry table, due 2 s after it was scheduled.
        const retry = retrySource(sy);
        for (const id of ids) {
          expect(await retry.pending(id)).toBe(1);
          const timer = (await sy.history(id)).at(-1);
          expect(timer).toMatchObject({ current_state: "review", current_event: "pseudo_timer", steps: 1, role: "retry", side: "primary", origin: "timer" });
          // `at` is taken once the entry is stored, a moment after its due time was set.
          expect((timer?.due ?? 0) - (timer?.at ?? 0)).toBeGreaterThan(1900);
          expect((timer?.due ?? 0) - (timer?.at ?? 0)).toBeLessThanOrEqual(2000);
        }
        // Two get their event before the timer: over the handler's HTTP route, and with sendEvent.
        expect(await call("POST", `/prod/instances/${byHttp}/events/approve`)).toEqual([202, { correlationId: byHttp, state: "review", event: "approve", steps: 1 }]);
        await sy.sendEvent(bySend, "approve");
        await until(async () => (await statuses(ids)).every((status) => status === "completed"));
        // Keep the function running a while past every timer's due time.
        const lastDue = Math.max(...(await Promise.all(ids.map(async (id) => (await sy.history(id)).find((m) => m.origin === "timer")?.due ?? 0))));
        await until(async () => Date.now() > lastDue + 1500);

        expect(await sy.status(byTimer)).toMatchObject({ status: "completed", state: "expired", steps: 1, userContext: { log: ["pseudo_timer:review", "pseudo_timer:expired"] } });
        expect((await sy.history(byTimer)).map(entry)).toEqual([
          ["pseudo_init", "pseudo_init", 0, "stream", "-"],
          ["review", "pseudo_timer", 1, "retry", "timer"],
        ]);
        for (const id of [byHttp, bySend]) {
          expect(await sy.status(id)).toMatchObject({ status: "completed", state: "approved", steps: 1, userContext: { log: ["approve:review", "approve:approved"] } });
          expect((await sy.history(id)).map(entry)).toEqual([
            ["pseudo_init", "pseudo_init", 0, "stream", "-"],
            ["review", "pseudo_timer", 1, "retry", "timer"],
            ["review", "approve", 1, "stream", "event"],
          ]);
          // The event removed its timer's entry: it was never delivered, not even as a duplicate.
          expect(await retry.pending(id)).toBe(0);
        }
        for (const id of ids) expect(await sy.errors(id)).toEqual([]);
        expect(await retry.pending()).toBe(0);
        // Only the scheduled timer invocations drained the retry table: one entry, the timer that fired.
        expect(dev.stats.timerProcessed).toBe(1);
        expect(progress).toContainEqual(expect.stringMatching(/^timer: 1 message\(s\) from retry\.primary \(arn:aws:dynamodb:/));
      } finally {
        await sy.close();
      }
    },
    60_000,
  );

  it("SQS retry queue: a 48 h timer is handed back until due and fires at its time, once, across a restart (test clock)", async () => {
    const file = await settingsFile({ stream: ARNS.sqs(), retry: ARNS.sqs() });
    const clock = new TestClock();
    const start = clock.now();
    const at = async (seconds: number, dev: DevLambda) => {
      clock.advance(start + seconds * 1000 - clock.now());
      // One receive from every source, one handler invocation per batch: what Lambda does at that moment.
      while ((await dev.pass()) > 0) {}
    };
    let opened = await open(file, clock);
    const { correlationId: id } = await opened.sy.start("expense", { context: { next: { charging: "charged" } } });
    await at(0, opened.dev);
    expect(await opened.sy.status(id)).toMatchObject({ status: "waiting", state: "review", steps: 1 });
    expect((await opened.sy.history(id)).at(-1)).toMatchObject({ current_event: "pseudo_timer", role: "retry", origin: "timer", due: start + HOURS_48 * 1000 });
    // Lambda polls the queue; here every 15 minutes of the test clock.
    for (let t = 900; t <= 24 * 3600; t += 900) await at(t, opened.dev);
    expect((await opened.sy.status(id)).status).toBe("waiting");
    // A new container (or worker): nothing of the first one's memory survives.
    await opened.sy.close();
    opened = await open(file, clock);
    const { sy, dev } = opened;
    try {
      for (let t = 24 * 3600 + 900; t < HOURS_48; t += 900) await at(t, dev);
      await at(HOURS_48 - 1, dev);
      expect(await sy.status(id)).toMatchObject({ status: "waiting", state: "review" });
      await at(HOURS_48, dev);
      expect(await sy.status(id)).toMatchObject({ status: "completed", state: "expired", steps: 2, userContext: { log: ["pseudo_timer:review", "pseudo_timer:expired"] } });
      expect((await sy.history(id)).map(entry)).toEqual([
        ["pseudo_init", "pseudo_init", 0, "stream", "-"],
        ["charging", "charged", 1, "stream", "-"],
        ["review", "pseudo_timer", 2, "retry", "timer"],
      ]);
      // Delivered once, with receive count 1: no poison, no duplicate, no dead letter.
      expect(await sy.errors(id)).toEqual([]);
      expect(await sy.deadLetters()).toEqual([]);
      expect(dev.stats.failedRecords).toBe(0);
    } finally {
      await sy.close();
    }
  }, 60_000);

  it("Kinesis stream, DynamoDB retry: a waiting instance's 48 h timer is in the retry table, and an instance started after it runs on the same shard", async () => {
    const file = await settingsFile({ stream: ARNS.kinesis() });
    const { sy, until, statuses } = await open(file);
    try {
      const { correlationId: waiting } = await sy.start("expense", { context: { next: { charging: "charged" } } });
      await until(async () => (await sy.status(waiting)).status === "waiting");
      expect((await sy.history(waiting)).at(-1)).toMatchObject({ current_event: "pseudo_timer", role: "retry", side: "primary" });
      const { correlationId: later } = await sy.start("simple");
      await until(async () => (await statuses([later]))[0] === "completed");
      expect(await sy.status(waiting)).toMatchObject({ status: "waiting", state: "review" });
      expect(await retrySource(sy).pending(waiting)).toBe(1);
    } finally {
      await sy.close();
    }
  }, 60_000);

  it("Kinesis stream, retry role failing: the timer falls back to the stream and its record holds the shard until due (dev-lambda, workers)", async () => {
    const file = await settingsFile({ stream: ARNS.kinesis(), chaos: { "retry.primary": 1 } });
    const { sy, until } = await open(file);
    try {
      const { correlationId: waiting } = await sy.start("expense", { context: { next: { charging: "charged" } } });
      await until(async () => (await sy.status(waiting)).status === "waiting");
      // The retry role failed (`error`; there is no secondary): `dispatch`, and the timer went to the stream.
      expect((await sy.history(waiting)).at(-1)).toMatchObject({ current_event: "pseudo_timer", role: "stream", side: "primary", origin: "timer" });
      expect((await sy.errors(waiting)).map((e) => e.counters)).toEqual([{ error: 1, dispatch: 1 }]);
      const { correlationId: later } = await sy.start("simple");
      const stuckUntil = Date.now() + 3000;
      await until(async () => Date.now() > stuckUntil);
      // The instance started after it is behind the timer's record on the one shard: not even its first step ran.
      expect(await sy.status(later)).toMatchObject({ status: "running", steps: 0 });
      expect((await sy.history(later)).map(entry)).toEqual([["pseudo_init", "pseudo_init", 0, "stream", "-"]]);
    } finally {
      await sy.close();
    }
  }, 60_000);

  it("Kinesis stream, retry role failing: on Lambda the timer's record runs when it arrives, 48 h early (Kinesis cannot hold a record back)", async () => {
    const file = await settingsFile({ stream: ARNS.kinesis(), chaos: { "retry.primary": 1 } });
    const clock = new TestClock();
    const { sy, handler, dev } = await open(file, clock);
    try {
      const { correlationId: id } = await sy.start("expense", { context: { next: { charging: "charged" } } });
      while ((await dev.pass()) > 0) {}
      expect(await sy.status(id)).toMatchObject({ status: "waiting", state: "review" });
      // The timer's record as Lambda's Kinesis trigger delivers it: at once (read here 48 h on, since
      // a polling consumer holds it until due, and handed to the handler at the time it was put).
      const stream = sy.sources.find((s) => s.role === "stream") as MessageSource & LambdaEventSource;
      clock.advance(HOURS_48 * 1000);
      const deliveries = await stream.receive({ max: 10, visibilityTimeoutSeconds: 30 });
      expect(deliveries).toHaveLength(1);
      clock.advance(-HOURS_48 * 1000);
      expect(await handler(stream.lambdaEvent(deliveries))).toEqual({ batchItemFailures: [] });
      expect(await sy.status(id)).toMatchObject({ status: "completed", state: "expired" });
    } finally {
      await sy.close();
    }
  }, 60_000);
});
