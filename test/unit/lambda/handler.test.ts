/** The Lambda handler on recorded AWS events: API Gateway, the scheduled timer, Step Functions tasks, bad events. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Switchyard } from "../../../src/client/switchyard.js";
import { type SwitchyardHandler, createHandler } from "../../../src/lambda/handler.js";
import type { HttpResponse } from "../../../src/lambda/http.js";
import type { StepOutput } from "../../../src/lambda/step.js";
import type { TimerSummary } from "../../../src/lambda/timer.js";
import { silentLogger } from "../../../src/logger.js";
import { PROTOCOL_FSM } from "../../support/protocol-harness.js";
import { fixture, lambdaSource, withSources } from "./support.js";

describe("Lambda handler", () => {
  let dir: string;
  let sy: Switchyard;
  let handler: SwitchyardHandler;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "switchyard-lambda-"));
    const settings = Switchyard.settings({ stream: `sqlite:${dir}/s.db`, retry: `sqlite:${dir}/s.db`, cache: `sqlite:${dir}/s.db` }, dir);
    sy = await Switchyard.open({ definitions: PROTOCOL_FSM, settings, logger: silentLogger, cwd: dir });
    handler = createHandler({ switchyard: sy, logger: silentLogger, codecs: [] });
  });
  afterEach(async () => {
    await sy.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe("API Gateway", () => {
    it("starts an instance from a REST (v1) request and reads it with an HTTP API (v2) request", async () => {
      const started = (await handler(fixture("api-gateway-v1"))) as HttpResponse;
      expect(started).toEqual({ statusCode: 202, headers: { "content-type": "application/json" }, body: JSON.stringify({ correlationId: "api-v1-order-1" }) });
      const status = (await handler(fixture("api-gateway-v2"))) as HttpResponse;
      expect(status.statusCode).toBe(200);
      expect(JSON.parse(status.body)).toMatchObject({ correlationId: "api-v1-order-1", machine: "simple", status: "running", state: "pseudo_init", context: { fail: [] } });
      expect((await sy.history("api-v1-order-1")).map((m) => m.current_state)).toEqual(["pseudo_init"]);
    });

    it("accepts a base64 body and answers 4xx JSON errors", async () => {
      const request = (change: Record<string, unknown>) => ({ ...fixture("api-gateway-v1"), ...change });
      const body = async (event: unknown) => {
        const response = (await handler(event)) as HttpResponse;
        return [response.statusCode, JSON.parse(response.body) as Record<string, string>] as const;
      };
      const encoded = Buffer.from(JSON.stringify({ context: { n: 1 } })).toString("base64");
      const [code, ok] = await body(request({ body: encoded, isBase64Encoded: true }));
      expect(code).toBe(202);
      expect((await sy.status(ok.correlationId as string)).userContext).toEqual({ n: 1 });

      expect(await body(request({ body: "{oops" }))).toEqual([400, { error: expect.stringMatching(/^request body is not valid JSON/) }]);
      expect(await body(request({ body: '{"context": [1]}' }))).toEqual([400, { error: '"context" must be a JSON object' }]);
      const rule = "use 1 to 128 characters from A-Z a-z 0-9 . _ : -";
      expect(await body(request({ body: '{"correlationId": ""}' }))).toEqual([400, { error: `correlation id is empty; ${rule}` }]);
      expect(await body(request({ body: '{"correlationId": "orders/42"}' }))).toEqual([400, { error: `correlation id "orders/42" contains "/"; ${rule}` }]);
      expect(await body(request({ body: '{"correlationId": 42}' }))).toEqual([400, { error: '"correlationId" must be a string' }]);
      expect(await body(request({ path: "/machines/nope/start" }))).toEqual([404, { error: expect.stringContaining('unknown machine "nope"') }]);
      expect(await body(request({ httpMethod: "GET" }))).toEqual([405, { error: expect.stringContaining("use POST") }]);
      expect(await body(request({ path: "/elsewhere" }))).toEqual([404, { error: expect.stringContaining("no route for POST /elsewhere") }]);
      await body(request({}));
      expect(await body(request({}))).toEqual([409, { error: expect.stringContaining('"api-v1-order-1" already exists') }]);
      const unknown = { ...fixture("api-gateway-v2"), rawPath: "/instances/nobody" };
      expect(await body(unknown)).toEqual([404, { error: expect.stringContaining('no instance with correlation id "nobody"') }]);
    });

    it("POST /instances/{id}/events/{event} sends an event to a waiting instance; refusals answer 4xx with one line", async () => {
      const post = async (rawPath: string, body?: string) => {
        const event = { ...fixture("api-gateway-v2"), rawPath, body, requestContext: { ...(fixture("api-gateway-v2").requestContext as object), http: { method: "POST" } } };
        const response = (await handler(event)) as HttpResponse;
        return [response.statusCode, JSON.parse(response.body) as Record<string, unknown>] as const;
      };
      const { correlationId: id } = await sy.start("approval");
      expect(await post(`/instances/${id}/events/approve`)).toEqual([409, { error: `instance ${id} is running (state "pseudo_init"), not waiting; events go to waiting instances only` }]);
      await sy.worker({ stopWhenIdle: async () => true }).run();
      expect(await post(`/instances/${id}/events/nope`)).toEqual([400, { error: 'state "review" of machine "approval" has no transition on event "nope"; its events: approve, hold' }]);
      expect(await post("/instances/nobody/events/approve")).toEqual([404, { error: expect.stringContaining('no instance with correlation id "nobody"') }]);
      expect(await post(`/instances/${id}/events/approve`, "{oops")).toEqual([400, { error: expect.stringMatching(/^request body is not valid JSON/) }]);
      expect(await post(`/prod/instances/${id}/events/approve`, JSON.stringify({ data: { by: "api" } }))).toEqual([
        202,
        { correlationId: id, state: "review", event: "approve", steps: 1 },
      ]);
      await sy.worker({ stopWhenIdle: async () => true }).run();
      expect(await sy.status(id)).toMatchObject({ status: "completed", state: "approved", userContext: { event_data: { by: "api" }, received: [{ by: "api" }] } });
      const get = { ...fixture("api-gateway-v2"), rawPath: `/instances/${id}/events/approve` };
      expect(((await handler(get)) as HttpResponse).statusCode).toBe(405);
    });
  });

  describe("scheduled timer", () => {
    it("drains the timer-polled sources and reports what it did", async () => {
      const { correlationId } = await sy.start("simple");
      const stream = sy.sources.find((s) => s.role === "stream") as (typeof sy.sources)[number];
      const table = lambdaSource(stream, "arn:aws:dynamodb:us-east-1:123456789012:table/switchyard-retry", { polledOnTimer: true });
      const timer = createHandler({ switchyard: withSources(sy, [table.source]), logger: silentLogger, codecs: [] });
      const summary = (await timer(fixture("scheduled"), { getRemainingTimeInMillis: () => 30_000 })) as TimerSummary;
      expect(summary).toEqual({
        timer: true,
        sources: [
          {
            uri: "arn:aws:dynamodb:us-east-1:123456789012:table/switchyard-retry",
            role: "stream",
            side: "primary",
            processed: 3,
            failed: 0,
            outcomes: { dispatched: 2, completed: 1 },
          },
        ],
      });
      expect((await sy.status(correlationId)).status).toBe("completed");
    });

    it("polls nothing when no source is timer-polled", async () => {
      await sy.start("simple");
      expect(await handler(fixture("scheduled"))).toEqual({ timer: true, sources: [] });
      expect(await sy.pending()).toBe(1);
    });
  });

  describe("Step Functions task", () => {
    it("runs exit, transition, entry and do actions of one transition and returns the next event", async () => {
      const out = (await handler(fixture("step-functions"))) as StepOutput;
      expect(out).toEqual({ state: "one", event: "go", context: { log: ["TraceEntry:one", "TraceDo:one"] }, steps: 1, final: false });
      const next = (await handler({ ...fixture("step-functions"), state: "two", from: out.state, event: out.event, context: out.context, steps: out.steps })) as StepOutput;
      expect(next).toEqual({
        state: "two",
        event: null,
        context: { log: ["TraceEntry:one", "TraceDo:one", "TraceExit:one", "TraceAction:one", "TraceEntry:two"] },
        steps: 2,
        final: true,
      });
      // Nothing went through the transports.
      expect(await sy.pending()).toBe(0);
    });

    it("lets action errors through for the Task's Retry, and refuses a transition to another state", async () => {
      const step = { switchyard: "step", machine: "simple", state: "start", context: { fail: ["0:0"] }, steps: 0, retries: 0 };
      await expect(handler(step)).rejects.toThrow("injected failure at steps 0, retries 0");
      expect(await handler({ ...step, retries: 1 })).toMatchObject({ event: "go", context: { count: 1 } });
      await expect(handler({ ...step, state: "end" })).rejects.toThrow('event "pseudo_init" from "pseudo_init" leads to "start", not "end"');
      await expect(handler({ ...step, context: undefined })).rejects.toThrow('has no "context" object');
    });

    it("runs actions registered in code in place of the YAML's modules", async () => {
      const registered = createHandler({
        definitions: PROTOCOL_FSM,
        actions: {
          "./actions.ts#Go": (ctx) => {
            ctx.data.bundled = true;
            return "go";
          },
        },
        logger: silentLogger,
      });
      const step = { switchyard: "step", machine: "simple", state: "start", context: {} };
      expect(await registered(step)).toMatchObject({ event: "go", context: { bundled: true } });
    });

    it("needs no settings or transports: definitions alone", async () => {
      const bare = createHandler({ definitions: PROTOCOL_FSM, settings: { stream: "arn:aws:sqs:us-east-1:1:never-opened" }, logger: silentLogger });
      expect(await bare(fixture("step-functions"))).toMatchObject({ event: "go" });
      await bare.close();
    });
  });

  it("rejects an event it does not know with one line naming what it takes", async () => {
    await expect(handler({ hello: "world" })).rejects.toThrow(
      /^unsupported Lambda event with keys \{hello\}; the Switchyard handler takes SQS, Kinesis, SNS and DynamoDB Streams records, EventBridge scheduled events, API Gateway proxy requests and Step Functions task input/,
    );
    await expect(handler("text")).rejects.toThrow("unsupported Lambda event (string)");
  });

  it("opens one Switchyard per container, lazily, from settings and definitions", async () => {
    const store = `sqlite:${dir}/lazy.db`;
    const settings = { stream: store, retry: store, cache: store, checkpoint: store, metrics: store, environment: store, journal: store };
    const lazy = createHandler({ definitions: PROTOCOL_FSM, settings, logger: silentLogger });
    const first = (await lazy({ ...fixture("api-gateway-v1"), body: "{}" })) as HttpResponse;
    const second = (await lazy({ ...fixture("api-gateway-v1"), body: "{}" })) as HttpResponse;
    expect([first.statusCode, second.statusCode]).toEqual([202, 202]);
    const id = (JSON.parse(first.body) as { correlationId: string }).correlationId;
    expect(((await lazy({ ...fixture("api-gateway-v2"), rawPath: `/instances/${id}` })) as HttpResponse).statusCode).toBe(200);
    await lazy.close();
  });

  it("switchyard/lambda exports a handler configured from the environment", async () => {
    const saved = process.env.SWITCHYARD_DEFINITIONS;
    process.env.SWITCHYARD_DEFINITIONS = PROTOCOL_FSM;
    try {
      const { handler: fromEnv } = await import("../../../src/lambda/index.js");
      expect(await fromEnv(fixture("step-functions"))).toMatchObject({ state: "one", event: "go" });
    } finally {
      if (saved === undefined) delete process.env.SWITCHYARD_DEFINITIONS;
      else process.env.SWITCHYARD_DEFINITIONS = saved;
    }
  });

  it("reports missing definitions in one line", async () => {
    const saved = process.env.SWITCHYARD_DEFINITIONS;
    delete process.env.SWITCHYARD_DEFINITIONS;
    try {
      await expect(createHandler({ logger: silentLogger })(fixture("step-functions"))).rejects.toThrow(
        "the Lambda handler has no definitions; pass createHandler({definitions}) or set SWITCHYARD_DEFINITIONS to the definition file (YAML or a module)",
      );
    } finally {
      if (saved !== undefined) process.env.SWITCHYARD_DEFINITIONS = saved;
    }
  });
});
