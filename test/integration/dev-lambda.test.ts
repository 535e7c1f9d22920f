/**
 * dev-lambda end to end on emulators: `switchyard resources create` provisions what the settings
 * name (twice: the second run creates nothing), then an instance runs to completion through the
 * Lambda handler fed by dev-lambda, with each AWS transport as the stream primary, and once with
 * failover (chaos on the primary, the secondary on another transport). Retries go through the
 * DynamoDB retry table, which the scheduled timer drains. Also: the CLI (`dev-lambda --until-idle`
 * with `--actions`, SIGTERM, the one-line refusals) and `asl -o`. And the operator's HTTP routes
 * through the handler dev-lambda drives, with the journal on DynamoDB.
 */
import { randomUUID } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { provisionAll } from "../../src/settings/provision.js";
import { Switchyard } from "../../src/client/switchyard.js";
import { DevLambda } from "../../src/lambda/dev-lambda.js";
import { createHandler } from "../../src/lambda/handler.js";
import type { HttpResponse } from "../../src/lambda/http.js";
import type { LambdaEventSource } from "../../src/lambda-port.js";
import { silentLogger } from "../../src/logger.js";
import type { Clock, JournalMessage, MessageSource, StreamPort } from "../../src/ports.js";
import { loadSettings } from "../../src/settings/settings.js";
import { type RunningEmulator, startFauxqs, startKinesalite } from "../support/aws-emulators.js";
import { finished, ROOT, runCli, spawnCli } from "../support/cli.js";
import { type RunningDynalite, startDynalite } from "../support/dynalite.js";
import { PROTOCOL_FSM, compact } from "../support/protocol-harness.js";
import { setProtocolHook } from "../fixtures/protocol/actions.js";
import { FatalActionError } from "../../src/errors.js";

const REGION = "us-east-1";
const ACCOUNT = "000000000000";
const name = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;
const ARNS = {
  sqs: () => `arn:aws:sqs:${REGION}:${ACCOUNT}:${name("stream")}`,
  sns: () => `arn:aws:sns:${REGION}:${ACCOUNT}:${name("stream")}`,
  kinesis: () => `arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/${name("stream")}`,
  dynamodb: () => `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${name("stream")}`,
} as const;
type Transport = keyof typeof ARNS;

describe("dev-lambda on emulators", () => {
  let dir: string;
  let fauxqs: RunningEmulator;
  let kinesalite: RunningEmulator;
  let dynalite: RunningDynalite;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "switchyard-dev-lambda-"));
    [fauxqs, kinesalite, dynalite] = await Promise.all([startFauxqs(), startKinesalite(), startDynalite()]);
  });
  afterAll(async () => {
    await Promise.all([fauxqs?.close(), kinesalite?.close(), dynalite?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  /** A settings file: the given stream, retries/cache/checkpoints on DynamoDB, the journal in SQLite. */
  function settingsFile(stream: string | { primary: string; secondary: string }, chaos: Record<string, number> = {}): string {
    const family = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${name("sy")}`;
    const file = path.join(dir, `${name("settings")}.json`);
    const settings = {
      stream,
      retry: family,
      cache: family,
      checkpoint: family,
      metrics: false,
      environment: false,
      journal: `sqlite:./${name("journal")}.db`,
      visibility_timeout: 5,
      chaos,
      endpoints: { sqs: fauxqs.endpoint, sns: fauxqs.endpoint, kinesis: kinesalite.endpoint, dynamodb: dynalite.endpoint },
    };
    writeFileSync(file, JSON.stringify(settings, null, 2));
    return file;
  }

  /** `resources create` twice: the first creates, the second finds everything in place. */
  async function provision(file: string): Promise<void> {
    const first = await runCli(["resources", "create", "--settings", file], { cwd: dir });
    expect(first.stderr).not.toMatch(/switchyard:/);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/created/);
    // The second run (in-process, to keep the test fast) finds everything in place.
    const second = (await provisionAll(loadSettings({ file }))).flatMap((report) => report.lines.map((line) => `${report.uri}: ${line}`));
    expect(second.length).toBeGreaterThan(1);
    expect(second.filter((line) => /created/.test(line))).toEqual([]);
    expect(second).toContainEqual(expect.stringMatching(/^sqlite:.*: nothing to create$/));
  }

  /** Start `simple` with a failing first attempt of step 1 and drive it through dev-lambda. */
  async function runThroughDevLambda(file: string) {
    const sy = await Switchyard.open({ definitions: PROTOCOL_FSM, settings: file, logger: silentLogger, cwd: dir });
    try {
      const handler = createHandler({ switchyard: sy, logger: silentLogger });
      const progress: string[] = [];
      const dev = new DevLambda(sy, handler, { timerIntervalSeconds: 0.25, progress: (line) => progress.push(line) });
      const { correlationId } = await sy.start("simple", { context: { fail: ["1:0"] } });
      const guard = setTimeout(() => dev.stop(), 25_000);
      const stats = await dev.run({ until: async () => (await sy.status(correlationId)).status !== "running" });
      clearTimeout(guard);
      return { status: await sy.status(correlationId), history: (await sy.history(correlationId)).map(compact), stats, progress };
    } finally {
      await sy.close();
    }
  }

  const CASES: ReadonlyArray<[Transport]> = [["sqs"], ["kinesis"], ["sns"], ["dynamodb"]];
  it.each(CASES)("runs an instance to completion with %s as the stream", async (transport) => {
    const file = settingsFile(ARNS[transport]());
    await provision(file);
    const { status, history, stats } = await runThroughDevLambda(file);
    expect(status).toMatchObject({ status: "completed", state: "end", userContext: { fail: ["1:0"], count: 2 } });
    expect(history).toEqual([
      ["pseudo_init", "pseudo_init", 0, 0, "stream", "primary"],
      ["start", "go", 1, 0, "stream", "primary"],
      ["start", "go", 1, 1, "retry", "primary"],
      ["middle", "go", 2, 0, "stream", "primary"],
    ]);
    expect(stats.invocations).toBeGreaterThanOrEqual(3);
    expect(stats.timerProcessed).toBe(1);
  }, 60_000);

  it("operates instances over the HTTP routes on DynamoDB and SQS: bulk start, an event, an abort with compensation, pause/resume of an instance and a machine, redrive", async () => {
    // No journal key: the journal lives in the DynamoDB checkpoint store.
    const family = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${name("ops")}`;
    const file = path.join(dir, `${name("settings")}.json`);
    const endpoints = { sqs: fauxqs.endpoint, dynamodb: dynalite.endpoint };
    const config = { stream: ARNS.sqs(), retry: family, cache: family, checkpoint: family, metrics: false, environment: false, visibility_timeout: 5, endpoints };
    writeFileSync(file, JSON.stringify(config));
    const created = await runCli(["resources", "create", "--settings", file], { cwd: dir });
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/: created table ops-\w+-instances\b/);
    const sy = await Switchyard.open({ definitions: PROTOCOL_FSM, settings: file, logger: silentLogger, cwd: dir });
    try {
      expect(sy.settings.journal).toBe(family);
      const handler = createHandler({ switchyard: sy, logger: silentLogger });
      const call = async (method: string, rawPath: string, body?: unknown) => {
        const event = { version: "2.0", rawPath, body: body === undefined ? undefined : JSON.stringify(body), isBase64Encoded: false, requestContext: { http: { method } } };
        const response = (await handler(event)) as HttpResponse;
        return [response.statusCode, JSON.parse(response.body) as Record<string, unknown>] as const;
      };
      const dev = new DevLambda(sy, handler, { timerIntervalSeconds: 0.25 });
      const until = async (wanted: Record<string, string>) => {
        const guard = setTimeout(() => dev.stop(), 25_000);
        await dev.run({ until: async () => (await Promise.all(Object.entries(wanted).map(async ([id, status]) => (await sy.status(id)).status === status))).every(Boolean) });
        clearTimeout(guard);
      };
      const context = { next: { charging: "charged" } };
      expect(await call("POST", "/prod/instances", { instances: [{ machine: "expense", correlationId: "exp-a", context }, { machine: "expense", correlationId: "exp-b", context }] })).toEqual([
        202,
        { started: 2, failed: 0, results: [{ ok: true, correlationId: "exp-a" }, { ok: true, correlationId: "exp-b" }] },
      ]);
      await until({ "exp-a": "waiting", "exp-b": "waiting" });
      expect(await call("GET", "/prod/instances/exp-a")).toEqual([200, expect.objectContaining({ status: "waiting", state: "review", steps: 1 })]);

      expect(await call("POST", "/prod/instances/exp-a/events/approve", { data: { by: "ana" } })).toEqual([202, { correlationId: "exp-a", state: "review", event: "approve", steps: 2 }]);
      expect(await call("POST", "/prod/instances/exp-b/abort", { reason: "customer cancelled" })).toEqual([
        202,
        { correlationId: "exp-b", requested: true, reason: "customer cancelled", via: "abort-message" },
      ]);
      await until({ "exp-a": "completed", "exp-b": "aborted" });

      const [, approved] = await call("GET", "/prod/instances/exp-a");
      expect(approved).toMatchObject({ status: "completed", state: "approved", steps: 2, context: { event_data: { by: "ana" }, log: ["approve:review", "approve:approved"] } });
      const [, aborted] = await call("GET", "/prod/instances/exp-b");
      expect(aborted).toMatchObject({
        status: "aborted",
        state: "refunded",
        steps: 3,
        reason: "customer cancelled",
        abort: { reason: "customer cancelled", step: 2 },
        context: { log: ["pseudo_abort:review", "pseudo_abort:refunding", "refund:refunding", "refunded:refunded"] },
      });
      const [code, history] = await call("GET", "/prod/instances/exp-b/history");
      expect(code).toBe(200);
      expect((history.messages as JournalMessage[]).map((m) => [m.current_state, m.current_event, m.steps, m.origin ?? "-"])).toEqual([
        ["pseudo_init", "pseudo_init", 0, "-"],
        ["charging", "charged", 1, "-"],
        ["review", "pseudo_timer", 2, "timer"],
        ["review", "pseudo_abort", 2, "abort"],
        ["refunding", "refunded", 3, "-"],
      ]);
      expect(await call("POST", "/prod/instances/exp-a/abort")).toEqual([409, { error: 'instance exp-a is completed (state "approved"); a finished instance cannot be aborted' }]);

      const untilTrue = async (done: () => Promise<boolean>) => {
        const guard = setTimeout(() => dev.stop(), 25_000);
        await dev.run({ until: done });
        clearTimeout(guard);
        expect(await done()).toBe(true);
      };
      // Pause an instance: the event sent meanwhile is parked; resume runs it.
      expect(await call("POST", "/prod/instances", { machine: "expense", correlationId: "exp-c", context })).toEqual([202, { correlationId: "exp-c" }]);
      await until({ "exp-c": "waiting" });
      expect(await call("POST", "/prod/instances/exp-c/pause")).toEqual([200, expect.objectContaining({ status: "paused", pausedStatus: "waiting" })]);
      await call("POST", "/prod/instances/exp-c/events/approve", { data: { by: "bo" } });
      await untilTrue(async () => (await sy.status("exp-c")).parked === 1);
      expect(await call("POST", "/prod/instances/exp-c/resume")).toEqual([202, { correlationId: "exp-c", resent: 1, stillHeld: 0 }]);
      await until({ "exp-c": "completed" });

      // Pause a machine at a state: the instance that reaches it is held there until resume.
      expect(await call("POST", "/prod/machines/simple/pause", { state: "middle" })).toEqual([200, { machine: "simple", state: "middle" }]);
      await call("POST", "/prod/instances", { machine: "simple", correlationId: "simple-d" });
      await untilTrue(async () => (await sy.status("simple-d")).parked === 1);
      expect(await sy.status("simple-d")).toMatchObject({ status: "paused", state: "middle" });
      expect(await call("POST", "/prod/machines/simple/resume", { state: "middle" })).toEqual([202, { machine: "simple", state: "middle", resent: 1, stillHeld: 0 }]);
      await until({ "simple-d": "completed" });

      // Redrive a failed instance once its cause is fixed.
      setProtocolHook(() => {
        throw new FatalActionError("card processor down");
      });
      await call("POST", "/prod/instances", { machine: "expense", correlationId: "exp-e", context });
      await until({ "exp-e": "failed" });
      setProtocolHook(undefined);
      expect(await call("POST", "/prod/instances/exp-e/redrive")).toEqual([202, { correlationId: "exp-e", state: "pseudo_init", event: "pseudo_init", steps: 0 }]);
      await until({ "exp-e": "waiting" });
      expect(await call("POST", "/prod/instances/exp-e/redrive")).toEqual([409, { error: "instance exp-e is waiting, not failed; only failed instances can be redriven" }]);
    } finally {
      setProtocolHook(undefined);
      await sy.close();
    }
  }, 120_000);

  it("hides an SQS record that reaches Lambda before it is due (a delay over 900 s) and runs it only once due", async () => {
    const file = settingsFile(ARNS.sqs());
    await provision(file);
    let now = Date.now();
    // Moved back and forth by hand; waits take no real time.
    const clock: Clock = {
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    };
    const sy = await Switchyard.open({ definitions: PROTOCOL_FSM, settings: file, logger: silentLogger, cwd: dir, clock });
    try {
      const handler = createHandler({ switchyard: sy, logger: silentLogger });
      const source = sy.sources.find((s) => s.role === "stream") as MessageSource & StreamPort & LambdaEventSource;
      const { correlationId } = await sy.start("simple");
      const [first] = await source.receive({ max: 1, visibilityTimeoutSeconds: 30 });
      if (first === undefined) throw new Error("the start message did not arrive");
      await source.ack(first);
      // The same message again, due in 1000 s: more than SQS can hold back.
      await source.send({ correlationId, steps: 0, retries: 0, body: first.body, delaySeconds: 1000 });
      now += 1_001_000;
      const [late] = await source.receive({ max: 1, visibilityTimeoutSeconds: 30 });
      if (late === undefined) throw new Error("the delayed message did not arrive");
      const event = source.lambdaEvent([late]);
      now -= 1_001_000; // Lambda gets it before it is due
      expect(await handler(event)).toEqual({ batchItemFailures: [{ itemIdentifier: source.itemIdentifier(late) }] });
      expect((await sy.history(correlationId)).map(compact)).toEqual([["pseudo_init", "pseudo_init", 0, 0, "stream", "primary"]]);
      now += 1_001_000; // delivered again once due: it runs
      expect(await handler(event)).toEqual({ batchItemFailures: [] });
      expect((await sy.history(correlationId)).map(compact)).toEqual([
        ["pseudo_init", "pseudo_init", 0, 0, "stream", "primary"],
        ["start", "go", 1, 0, "stream", "primary"],
      ]);
    } finally {
      await sy.close();
    }
  }, 60_000);

  it("fails over to the secondary stream on another transport when the primary always fails", async () => {
    const file = settingsFile({ primary: ARNS.sqs(), secondary: ARNS.kinesis() }, { "stream.primary": 1 });
    await provision(file);
    const { status, history } = await runThroughDevLambda(file);
    expect(status).toMatchObject({ status: "completed", state: "end" });
    expect(history).toEqual([
      ["pseudo_init", "pseudo_init", 0, 0, "stream", "secondary"],
      ["start", "go", 1, 0, "stream", "secondary"],
      ["start", "go", 1, 1, "retry", "primary"],
      ["middle", "go", 2, 0, "stream", "secondary"],
    ]);
  }, 60_000);

  it("runs from the command line: start, then dev-lambda --until-idle", async () => {
    const file = settingsFile(ARNS.dynamodb());
    expect((await runCli(["resources", "create", "-s", file], { cwd: dir })).stdout).toMatch(/: created table /);
    const again = await runCli(["resources", "create", "-s", file], { cwd: dir });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/: exists table /);
    expect(again.stdout).not.toMatch(/created/);
    const started = await runCli(["start", "simple", "-d", PROTOCOL_FSM, "-s", file, "--correlation-id", "cli-1"], { cwd: dir });
    expect(started.stdout).toBe("cli-1\n");
    // Actions registered in code (as a bundled Lambda does) replace the YAML's module references.
    const actions = path.join(dir, "registered-actions.mjs");
    writeFileSync(actions, 'export default { "./actions.ts#Go": (ctx) => { ctx.data.via = "registered"; return "go"; } };\n');
    const run = await runCli(["dev-lambda", "-d", PROTOCOL_FSM, "-s", file, "--actions", actions, "--until-idle", "--timer-interval", "0.5"], { cwd: dir });
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/dev-lambda: invoked handler with 1 record\(s\) from stream\.primary/);
    const status = await runCli(["status", "cli-1", "-s", file, "--json"], { cwd: dir });
    expect(JSON.parse(status.stdout)).toMatchObject({ status: "completed", state: "end", user_context: { via: "registered" } });
  }, 60_000);

  it("runs definition versions with the journal and its registry on DynamoDB: a v2 handler runs v1 instances, migrate moves them, they complete under v2", async () => {
    // No journal key: the journal, and the definition registry in it, live in the DynamoDB checkpoint store.
    const family = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${name("versions")}`;
    const file = path.join(dir, `${name("versions")}.json`);
    const endpoints = { sqs: fauxqs.endpoint, sns: fauxqs.endpoint, kinesis: kinesalite.endpoint, dynamodb: dynalite.endpoint };
    writeFileSync(file, JSON.stringify({ stream: ARNS.sqs(), retry: family, cache: family, checkpoint: family, metrics: false, environment: false, visibility_timeout: 5, endpoints }));
    const fixtures = path.join(ROOT, "test/fixtures/approval");
    for (const fixture of ["v1.yaml", "v2.yaml", "actions.mjs"]) copyFileSync(path.join(fixtures, fixture), path.join(dir, fixture));
    const cli = async (...args: string[]) => {
      const result = await runCli([...args, "-s", file], { cwd: dir });
      expect(result.code, `${args.join(" ")}: ${result.stderr}`).toBe(0);
      return result.stdout;
    };
    await cli("resources", "create");
    await cli("start", "approval", "-d", "v1.yaml", "--count", "3");
    // The handler loads v2 only: it fetches v1, which the instances are pinned to, from the registry.
    await cli("dev-lambda", "-d", "v2.yaml", "--until-idle", "--timer-interval", "0.5");
    const waiting = JSON.parse(await cli("list", "--json")) as Array<{ correlation_id: string; status: string; state: string; version: string }>;
    expect(waiting.map((r) => [r.status, r.state])).toEqual(Array(3).fill(["waiting", "awaiting_approval"]));
    const migrated = JSON.parse(await cli("migrate", "-d", "v2.yaml", "-m", "approval", "--from", "2026-11", "--json"));
    expect(migrated).toMatchObject({ from: { version: waiting[0]?.version, label: "2026-11" }, to: { label: "2026-12" }, refused: [] });
    expect(migrated.moved).toHaveLength(3);
    writeFileSync(path.join(dir, "approve.jsonl"), waiting.map((r) => JSON.stringify({ correlation_id: r.correlation_id, event: "approve" })).join("\n"));
    await cli("send", "-d", "v2.yaml", "--from", "approve.jsonl");
    await cli("dev-lambda", "-d", "v2.yaml", "--until-idle", "--timer-interval", "0.5");
    const done = JSON.parse(await cli("list", "--json")) as Array<Record<string, unknown>>;
    for (const record of done) {
      expect(record).toMatchObject({ status: "completed", state: "approved", version: migrated.to.version, user_context: { queue: "reviewers", rules: "2026-12" } });
    }
    const versions = JSON.parse(await cli("versions", "--json")) as Array<{ label: string; counts: Record<string, number> }>;
    expect(versions.map((v) => [v.label, v.counts])).toEqual([
      ["2026-12", { completed: 3 }],
      ["2026-11", {}],
    ]);
  }, 120_000);

  it("stops cleanly on SIGTERM", async () => {
    const file = settingsFile(ARNS.dynamodb());
    expect((await runCli(["resources", "create", "-s", file], { cwd: dir })).code).toBe(0);
    const child = spawnCli(["dev-lambda", "-d", PROTOCOL_FSM, "-s", file, "--timer-interval", "0.2"], { cwd: dir });
    let stderr = "";
    await new Promise<void>((resolve) => {
      child.stderr?.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes("timer")) resolve();
      });
      // The first timer run prints nothing when idle: give it a moment instead.
      setTimeout(resolve, 3_000);
    });
    child.kill("SIGTERM");
    const result = await finished(child, 20_000);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/SIGTERM: finishing the current invocation/);
    expect(result.stderr).toMatch(/dev-lambda: \d+ invocation\(s\)/);
  }, 60_000);

  it("resources create fails in one line when a backend cannot be reached", async () => {
    const file = path.join(dir, "unreachable.json");
    writeFileSync(file, JSON.stringify({ stream: ARNS.sqs(), journal: false, endpoints: { sqs: "http://127.0.0.1:9" } }));
    const run = await runCli(["resources", "create", "-s", file], { cwd: dir, env: { NODE_NO_WARNINGS: "1" } });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^switchyard: cannot create the resources of arn:aws:sqs:[^\n]*ECONNREFUSED[^\n]*; check the endpoint and credentials\n$/);
  });

  it("asl writes the Step Functions document of a machine", async () => {
    const out = path.join(dir, "tracer.asl.json");
    const tracer = path.join(path.dirname(PROTOCOL_FSM), "../../../examples/tracer/fsm.yaml");
    const run = await runCli(["asl", "tracer", "-d", tracer, "--lambda-arn", "arn:aws:lambda:us-east-1:123456789012:function:sy", "-o", out], { cwd: dir });
    expect(run.code).toBe(0);
    expect(run.stderr).toBe(`wrote ${out}\n`);
    const asl = JSON.parse(readFileSync(out, "utf8")) as { StartAt: string; States: Record<string, { Type: string }> };
    expect(asl.StartAt).toBe("pseudo_init");
    expect(asl.States.state1?.Type).toBe("Task");
  });

  it("refuses settings with no AWS transport, in one line", async () => {
    const file = path.join(dir, "sqlite.json");
    writeFileSync(file, JSON.stringify({ stream: "sqlite:./plain.db" }));
    const run = await runCli(["dev-lambda", "-d", PROTOCOL_FSM, "-s", file, "--once"], { cwd: dir });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^switchyard: stream\.primary \(sqlite:\.\/plain\.db\) is not an AWS transport; dev-lambda drives SQS, Kinesis, SNS and DynamoDB — set stream and retry to their ARNs in the settings, or run switchyard worker\n$/,
    );
  });
});
