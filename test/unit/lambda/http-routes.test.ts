/**
 * The Lambda handler's HTTP routes (SPEC §9 over API Gateway), driven through the real handler on a
 * SQLite store with a test clock: every route's status code and exact JSON body, and each refusal
 * mapped from its code (404, 409, 400, 413, 501).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Switchyard } from "../../../src/client/switchyard.js";
import { PayloadTooLargeError } from "../../../src/errors.js";
import { type SwitchyardHandler, createHandler } from "../../../src/lambda/handler.js";
import { type HttpResponse, MAX_BULK_START } from "../../../src/lambda/http.js";
import { silentLogger } from "../../../src/logger.js";
import type { OutgoingMessage, Receipt } from "../../../src/ports.js";
import { TestClock } from "../../support/clock.js";
import { PROTOCOL_FSM } from "../../support/protocol-harness.js";
import { fixture } from "./support.js";

const T0 = Date.UTC(2030, 0, 1);
const AT = new Date(T0).toISOString();
const HOURS_48 = 48 * 3600 * 1000;
const RULE = "use 1 to 128 characters from A-Z a-z 0-9 . _ : -";
const WAITING_EXPENSE = { next: { charging: "charged" } };
/** Its context once charging's action ran (`Next` counts). */
const CHARGED = { ...WAITING_EXPENSE, count: 1 };

describe("Lambda HTTP routes", () => {
  let dir: string;
  let clock: TestClock;
  let sy: Switchyard;
  let handler: SwitchyardHandler;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "switchyard-http-"));
    clock = new TestClock(T0);
    const store = `sqlite:${dir}/s.db`;
    const settings = Switchyard.settings({ stream: store, retry: store, cache: store, checkpoint: store, metrics: store, journal: store }, dir);
    sy = await Switchyard.open({ definitions: PROTOCOL_FSM, settings, clock, logger: silentLogger, cwd: dir });
    handler = createHandler({ switchyard: sy, logger: silentLogger, codecs: [] });
  });
  afterEach(async () => {
    await sy.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** An HTTP API (v2) request; answers [status, JSON body]. */
  async function call(method: string, rawPath: string, body?: unknown, to: SwitchyardHandler = handler) {
    const base = fixture("api-gateway-v2");
    const event = {
      ...base,
      routeKey: `${method} ${rawPath}`,
      rawPath,
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      requestContext: { ...(base.requestContext as object), http: { method, path: rawPath } },
    };
    const response = (await to(event)) as HttpResponse;
    expect(response.headers).toEqual({ "content-type": "application/json" });
    return [response.statusCode, JSON.parse(response.body) as unknown] as const;
  }

  /** Process every message that is due now. */
  const work = () => sy.worker({ stopWhenIdle: async () => true }).run();

  /** What GET /instances/{id} answers, for an instance that has not moved since T0. */
  /** An instance as the routes show it, pinned to the loaded version of its machine. */
  const instance = (fields: Record<string, unknown>) => ({ startedAt: AT, updatedAt: AT, version: sy.definitions.get(String(fields.machine)).version, ...fields });

  describe("POST /instances", () => {
    it("starts one instance: 202 {correlationId}; GET /instances/{id} reads it", async () => {
      expect(await call("POST", "/prod/instances", { machine: "expense", context: WAITING_EXPENSE, correlationId: "exp-1" })).toEqual([202, { correlationId: "exp-1" }]);
      expect(await call("GET", "/prod/instances/exp-1")).toEqual([
        200,
        instance({ correlationId: "exp-1", machine: "expense", status: "running", state: "pseudo_init", steps: 0, context: WAITING_EXPENSE }),
      ]);
      await work();
      expect(await call("GET", "/instances/exp-1")).toEqual([
        200,
        instance({ correlationId: "exp-1", machine: "expense", status: "waiting", state: "review", steps: 1, context: CHARGED }),
      ]);
      const [code, generated] = await call("POST", "/instances", { machine: "simple" });
      expect([code, generated]).toEqual([202, { correlationId: expect.stringMatching(/^[0-9a-f]{32}$/) }]);
    });

    it("refuses a bad single start with one line: 400, 404 unknown machine, 409 id in use", async () => {
      await call("POST", "/instances", { machine: "simple", correlationId: "taken" });
      expect(await call("POST", "/instances", {})).toEqual([400, { error: '"machine" must be a string naming a machine' }]);
      expect(await call("POST", "/instances", { machine: "simple", context: [1] })).toEqual([400, { error: '"context" must be a JSON object' }]);
      expect(await call("POST", "/instances", { machine: "simple", correlationId: 7 })).toEqual([400, { error: '"correlationId" must be a string' }]);
      expect(await call("POST", "/instances", { machine: "simple", correlationId: "a b" })).toEqual([400, { error: `correlation id "a b" contains " "; ${RULE}` }]);
      expect(await call("POST", "/instances", "{oops")).toEqual([400, { error: expect.stringMatching(/^request body is not valid JSON; send \{"machine"/) }]);
      expect(await call("POST", "/instances", { machine: "nope" })).toEqual([404, { error: expect.stringMatching(/^unknown machine "nope" in .*fsm\.yaml; known machines: simple, /) }]);
      expect(await call("POST", "/instances", { machine: "simple", correlationId: "taken" })).toEqual([
        409,
        { error: 'an instance with correlation id "taken" already exists (simple, running); choose another id' },
      ]);
    });

    it("starts many: 202 when every item started, 207 with per-item results when some did not", async () => {
      expect(await call("POST", "/instances", { instances: [{ machine: "simple", correlationId: "b-1" }, { machine: "approval", correlationId: "b-2", context: { n: 1 } }] })).toEqual([
        202,
        { started: 2, failed: 0, results: [{ ok: true, correlationId: "b-1" }, { ok: true, correlationId: "b-2" }] },
      ]);
      expect((await sy.status("b-2")).userContext).toEqual({ n: 1 });
      const [code, body] = await call("POST", "/instances", {
        instances: [
          { machine: "simple", correlationId: "b-3" },
          { machine: "nope", correlationId: "b-4" },
          { machine: "simple", correlationId: "b-1" },
          { machine: "simple", correlationId: "b 5" },
          { machine: "simple", correlationId: "b-3" },
        ],
      });
      expect([code, body]).toEqual([
        207,
        {
          started: 1,
          failed: 4,
          results: [
            { ok: true, correlationId: "b-3" },
            { ok: false, correlationId: "b-4", status: 404, error: expect.stringMatching(/^unknown machine "nope"/) },
            { ok: false, correlationId: "b-1", status: 409, error: 'an instance with correlation id "b-1" already exists (simple, running); choose another id' },
            { ok: false, correlationId: "b 5", status: 400, error: `correlation id "b 5" contains " "; ${RULE}` },
            { ok: false, correlationId: "b-3", status: 409, error: 'an instance with correlation id "b-3" already exists (started earlier in this batch); choose another id' },
          ],
        },
      ]);
      expect((await sy.list({})).map((r) => r.correlationId).sort()).toEqual(["b-1", "b-2", "b-3"]);
    });

    it("refuses a malformed bulk request as a whole, starting nothing", async () => {
      const shape = expect.stringContaining('{"instances": [{"machine": …}, …]}');
      expect(await call("POST", "/instances", { instances: [] })).toEqual([400, { error: expect.stringMatching(/^"instances" must be a non-empty array: /) }]);
      expect(await call("POST", "/instances", { instances: {} })).toEqual([400, { error: shape }]);
      expect(await call("POST", "/instances", { instances: [{ machine: "simple" }, 3] })).toEqual([400, { error: 'instances[1]: must be a JSON object {"machine": …}' }]);
      expect(await call("POST", "/instances", { instances: [{ machine: "simple" }, { context: {} }] })).toEqual([
        400,
        { error: 'instances[1]: "machine" must be a string naming a machine' },
      ]);
      expect(await call("POST", "/instances", { instances: [{ machine: "simple", context: "x" }] })).toEqual([400, { error: 'instances[0]: "context" must be a JSON object' }]);
      expect(await call("POST", "/instances", { machine: "simple", instances: [{ machine: "simple" }] })).toEqual([
        400,
        { error: expect.stringMatching(/^send either one instance or "instances", not both: /) },
      ]);
      const many = Array.from({ length: MAX_BULK_START + 1 }, () => ({ machine: "simple" }));
      expect(await call("POST", "/instances", { instances: many })).toEqual([400, { error: `at most 1000 instances per request, got 1001; split them` }]);
      expect(await sy.list({})).toEqual([]);
    });

    it("keeps POST /machines/{machine}/start", async () => {
      expect(await call("POST", "/machines/simple/start", { correlationId: "m-1", context: { n: 2 } })).toEqual([202, { correlationId: "m-1" }]);
      expect(await call("POST", "/machines/nope/start")).toEqual([404, { error: expect.stringMatching(/^unknown machine "nope"/) }]);
    });
  });

  it("GET /instances/{id}/history: the messages with their origin and due time, and the failed attempts", async () => {
    await call("POST", "/instances", { machine: "expense", context: WAITING_EXPENSE, correlationId: "exp-1" });
    await work();
    const message = (state: string, event: string, steps: number, role: string, extra: Record<string, unknown> = {}) => ({
      current_state: state,
      current_event: event,
      steps,
      retries: 0,
      user_context: steps === 0 ? WAITING_EXPENSE : CHARGED,
      role,
      side: "primary",
      at: T0,
      ...extra,
    });
    expect(await call("GET", "/instances/exp-1/history")).toEqual([
      200,
      {
        correlationId: "exp-1",
        messages: [
          message("pseudo_init", "pseudo_init", 0, "stream"),
          message("charging", "charged", 1, "stream"),
          message("review", "pseudo_timer", 2, "retry", { origin: "timer", due: T0 + HOURS_48 }),
        ],
        attempts: [],
      },
    ]);
    await call("POST", "/instances", { machine: "failures", context: { next: { start: "fatal" } }, correlationId: "f-1" });
    await work();
    const [code, failed] = (await call("GET", "/instances/f-1/history")) as [number, { attempts: unknown[] }];
    expect(code).toBe(200);
    expect(failed.attempts).toEqual([
      expect.objectContaining({ current_state: "start", current_event: "fatal", steps: 1, outcome: "fatal", where: "fatal.do_action ./actions.ts#Fatal", error: "the order is invalid" }),
    ]);
    expect(await call("GET", "/instances/nobody/history")).toEqual([404, { error: expect.stringMatching(/^no instance with correlation id "nobody" in sqlite:/) }]);
    expect(await call("POST", "/instances/exp-1/history")).toEqual([405, { error: "POST /instances/exp-1/history is not supported; use GET to read an instance's history" }]);
  });

  it("POST /instances/{id}/abort: 202, the abort shows on the instance, compensation runs; 409 finished, 404 unknown", async () => {
    await call("POST", "/instances", { machine: "expense", context: WAITING_EXPENSE, correlationId: "exp-1" });
    await work();
    expect(await call("POST", "/instances/exp-1/abort", { reason: "customer cancelled" })).toEqual([
      202,
      { correlationId: "exp-1", requested: true, reason: "customer cancelled", via: "abort-message" },
    ]);
    expect(await call("POST", "/instances/exp-1/abort")).toEqual([202, { correlationId: "exp-1", requested: false, reason: "customer cancelled", via: "in-flight" }]);
    expect(await call("GET", "/instances/exp-1")).toEqual([
      200,
      instance({
        correlationId: "exp-1",
        machine: "expense",
        status: "waiting",
        state: "review",
        steps: 1,
        context: CHARGED,
        abort: { reason: "customer cancelled", requestedAt: AT },
      }),
    ]);
    await work();
    expect(await call("GET", "/instances/exp-1")).toEqual([
      200,
      instance({
        correlationId: "exp-1",
        machine: "expense",
        status: "aborted",
        state: "refunded",
        steps: 3,
        context: { ...CHARGED, log: ["pseudo_abort:review", "pseudo_abort:refunding", "refund:refunding", "refunded:refunded"] },
        reason: "customer cancelled",
        abort: { reason: "customer cancelled", requestedAt: AT, step: 2 },
      }),
    ]);
    expect(await call("POST", "/instances/exp-1/abort", "")).toEqual([202, { correlationId: "exp-1", requested: false, reason: "customer cancelled", via: "done" }]);

    await call("POST", "/instances", { machine: "approval", correlationId: "ap-1" });
    await work();
    expect(await call("POST", "/instances/ap-1/abort", { reason: 42 })).toEqual([400, { error: '"reason" must be a string' }]);
    expect(await call("POST", "/instances/ap-1/abort")).toEqual([202, { correlationId: "ap-1", requested: true, reason: "aborted by an operator", via: "abort-message" }]);
    await call("POST", "/instances", { machine: "simple", correlationId: "done-1" });
    await work();
    expect(await call("POST", "/instances/done-1/abort")).toEqual([
      409,
      { error: 'instance done-1 is completed (state "end"); a finished instance cannot be aborted' },
    ]);
    expect(await call("POST", "/instances/nobody/abort")).toEqual([404, { error: expect.stringMatching(/^no instance with correlation id "nobody"/) }]);
    expect(await call("GET", "/instances/ap-1/abort")).toEqual([405, { error: "GET /instances/ap-1/abort is not supported; use POST to abort an instance" }]);
  });

  it("POST /instances/{id}/pause and /resume: 200 the paused instance, an event is parked, 202 resume sends it again", async () => {
    await call("POST", "/instances", { machine: "approval", correlationId: "ap-1" });
    await work();
    const paused = { correlationId: "ap-1", machine: "approval", status: "paused", state: "review", steps: 0, context: {}, pausedStatus: "waiting", paused: true };
    expect(await call("POST", "/instances/ap-1/pause")).toEqual([200, instance(paused)]);
    expect(await call("POST", "/instances/ap-1/events/approve", { data: "ok" })).toEqual([202, { correlationId: "ap-1", state: "review", event: "approve", steps: 1 }]);
    await work();
    expect(await call("GET", "/instances/ap-1")).toEqual([200, instance({ ...paused, parked: 1 })]);
    expect(await call("POST", "/instances/ap-1/resume")).toEqual([202, { correlationId: "ap-1", resent: 1, stillHeld: 0 }]);
    await work();
    expect(await call("GET", "/instances/ap-1")).toMatchObject([200, { status: "completed", state: "approved", context: { received: ["ok"] } }]);
    expect(await call("POST", "/instances/ap-1/pause")).toEqual([409, { error: 'instance ap-1 is completed (state "approved"); a finished instance cannot be paused' }]);
    expect(await call("POST", "/instances/nobody/resume")).toEqual([404, { error: expect.stringMatching(/^no instance with correlation id "nobody"/) }]);
  });

  it("POST /machines/{machine}/pause and /resume with an optional state: 200, then 202 with what was sent again", async () => {
    expect(await call("POST", "/machines/simple/pause", { state: "middle" })).toEqual([200, { machine: "simple", state: "middle" }]);
    expect(await sy.pauses()).toEqual([{ machineName: "simple", state: "middle" }]);
    await call("POST", "/instances", { machine: "simple", correlationId: "s-1" });
    await work();
    expect(await call("GET", "/instances/s-1")).toEqual([
      200,
      instance({ correlationId: "s-1", machine: "simple", status: "paused", state: "middle", steps: 1, context: { count: 2 }, pausedStatus: "running", parked: 1 }),
    ]);
    expect(await call("POST", "/machines/simple/resume", { state: "middle" })).toEqual([202, { machine: "simple", state: "middle", resent: 1, stillHeld: 0 }]);
    await work();
    expect((await sy.status("s-1")).status).toBe("completed");
    expect(await sy.pauses()).toEqual([]);

    expect(await call("POST", "/machines/approval/pause")).toEqual([200, { machine: "approval" }]);
    expect(await call("POST", "/machines/approval/resume", "")).toEqual([202, { machine: "approval", resent: 0, stillHeld: 0 }]);
    expect(await call("POST", "/machines/simple/pause", { state: "nope" })).toEqual([400, { error: 'machine "simple" has no state "nope"; its states: start, middle, end' }]);
    expect(await call("POST", "/machines/simple/pause", { state: 1 })).toEqual([400, { error: '"state" must be a string naming a state of the machine' }]);
    expect(await call("POST", "/machines/nope/resume")).toEqual([404, { error: expect.stringMatching(/^unknown machine "nope"/) }]);
  });

  it("POST /instances/{id}/redrive: 202 the failed step sent again; 409 when not failed", async () => {
    await call("POST", "/instances", { machine: "failures", context: { next: { start: "fatal" } }, correlationId: "f-1" });
    await work();
    expect(await call("POST", "/instances/f-1/redrive")).toEqual([202, { correlationId: "f-1", state: "start", event: "fatal", steps: 1 }]);
    expect(await call("GET", "/instances/f-1")).toMatchObject([200, { status: "running", state: "start", steps: 0 }]);
    expect(await call("POST", "/instances/f-1/redrive")).toEqual([409, { error: "instance f-1 is running, not failed; only failed instances can be redriven" }]);
    expect((await sy.history("f-1")).at(-1)).toMatchObject({ current_state: "start", current_event: "fatal", steps: 1, retries: 0, origin: "redrive" });
    expect(await call("POST", "/instances/nobody/redrive")).toEqual([404, { error: expect.stringMatching(/^no instance with correlation id "nobody"/) }]);
  });

  it("POST /instances/{id}/recover: 202 the last message sent again; 409 not stalled, paused or finished", async () => {
    await call("POST", "/instances", { machine: "simple", correlationId: "s-1" });
    // The start message vanishes from the transport.
    const stream = sy.sources.find((s) => s.role === "stream" && s.side === "primary");
    const [lost] = (await stream?.receive({ max: 1, visibilityTimeoutSeconds: 30 })) ?? [];
    if (stream === undefined || lost === undefined) throw new Error("the start message was not on the stream");
    await stream.ack(lost);
    expect(await call("POST", "/instances/s-1/recover")).toEqual([
      202,
      { correlationId: "s-1", resent: [{ state: "pseudo_init", event: "pseudo_init", steps: 0, retries: 0, delaySeconds: 0 }] },
    ]);
    await work();
    expect((await sy.status("s-1")).status).toBe("completed");
    expect(await call("POST", "/instances/s-1/recover")).toEqual([409, { error: 'instance s-1 is completed (state "end"); a finished instance cannot be recovered' }]);

    await call("POST", "/instances", { machine: "approval", correlationId: "ap-1" });
    await work();
    expect(await call("POST", "/instances/ap-1/recover")).toEqual([
      409,
      { error: 'instance ap-1 waits in state "review" for an event; nothing to recover (send it one: switchyard send ap-1 <event>)' },
    ]);
    await call("POST", "/instances/ap-1/pause");
    expect(await call("POST", "/instances/ap-1/recover")).toEqual([409, { error: "instance ap-1 is paused; resume it (switchyard resume ap-1) instead of recovering it" }]);
  });

  it("answers 404 for an unknown route, naming the routes, 405 for a wrong method, 400 for a bad path", async () => {
    expect(await call("DELETE", "/instances/x")).toEqual([405, { error: "DELETE /instances/x is not supported; use GET to read an instance's status" }]);
    expect(await call("GET", "/instances")).toEqual([405, { error: "GET /instances is not supported; use POST to start instances" }]);
    expect(await call("POST", "/machines/simple/pause/now")).toEqual([
      404,
      {
        error:
          "no route for POST /machines/simple/pause/now; the routes: POST /instances/{id}/events/{event}, GET /instances/{id}/history, POST /instances/{id}/abort, POST /instances/{id}/pause, POST /instances/{id}/resume, POST /instances/{id}/redrive, POST /instances/{id}/recover, POST /machines/{machine}/start, POST /machines/{machine}/pause, POST /machines/{machine}/resume, POST /tasks/report, POST /tasks/heartbeat, GET /instances/{id}, POST /instances",
      },
    ]);
    expect(await call("GET", "/instances/%E0%A4%A")).toEqual([400, { error: 'path segment "%E0%A4%A" is not valid percent-encoding' }]);
    await call("POST", "/instances", { machine: "simple", correlationId: "a:b" });
    expect(await call("GET", "/instances/a%3Ab")).toMatchObject([200, { correlationId: "a:b" }]);
  });

  it("answers 413 when the message is too large for the stream", async () => {
    await call("POST", "/instances", { machine: "approval", correlationId: "ap-1" });
    await work();
    const port = sy.roles.stream.primary as { send(message: OutgoingMessage): Promise<Receipt> };
    const send = port.send;
    port.send = async (message) => {
      throw new PayloadTooLargeError("SQS queue orders", message.body.length, 262_144);
    };
    try {
      expect(await call("POST", "/instances/ap-1/events/approve", { data: "x" })).toEqual([
        413,
        { error: expect.stringMatching(/^message of \d+ bytes exceeds the 262144-byte limit of SQS queue orders; keep large data outside the context/) },
      ]);
      expect(await call("POST", "/instances/ap-1/abort")).toEqual([413, { error: expect.stringMatching(/^message of \d+ bytes exceeds the 262144-byte limit/) }]);
    } finally {
      port.send = send;
    }
  });

  it("answers 501 on every journal route when the journal is switched off", async () => {
    const store = `sqlite:${dir}/off.db`;
    const settings = Switchyard.settings({ stream: store, retry: store, cache: store, checkpoint: store, journal: false }, dir);
    const off = await Switchyard.open({ definitions: PROTOCOL_FSM, settings, clock, logger: silentLogger, cwd: dir });
    try {
      const bare = createHandler({ switchyard: off, logger: silentLogger, codecs: [] });
      const refused = (needs: string) => [501, { error: `the instance journal is switched off (journal: false in the settings); ${needs}` }];
      expect(await call("POST", "/instances", { machine: "simple" }, bare)).toEqual([202, { correlationId: expect.any(String) }]);
      expect(await call("GET", "/instances/x", undefined, bare)).toEqual(refused("GET /instances/{id} reads the instance from it"));
      expect(await call("GET", "/instances/x/history", undefined, bare)).toEqual(refused("GET /instances/{id}/history reads it"));
      expect(await call("POST", "/instances/x/abort", undefined, bare)).toEqual(refused("abort needs it to record the abort"));
      expect(await call("POST", "/instances/x/pause", undefined, bare)).toEqual(refused("pause needs it to hold the instance's messages"));
      expect(await call("POST", "/instances/x/resume", undefined, bare)).toEqual(refused("resume needs it to find the parked messages"));
      expect(await call("POST", "/instances/x/redrive", undefined, bare)).toEqual(refused("redrive needs it to find the failed step"));
      expect(await call("POST", "/instances/x/recover", undefined, bare)).toEqual(refused("recover needs it to find the last message"));
      expect(await call("POST", "/machines/simple/pause", undefined, bare)).toEqual(refused("pause needs it to hold the machine's messages"));
      expect(await call("POST", "/instances/x/events/go", undefined, bare)).toEqual(refused("send needs it to know where an instance waits"));
    } finally {
      await off.close();
    }
  });
});
