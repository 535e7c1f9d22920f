/**
 * OpenTelemetry tracing of the engine (src/engine/tracing.ts), recorded by the SDK's in-memory
 * exporter over a real Switchyard on temp SQLite files: the processing spans of an instance in one
 * trace, its action spans as their children, and the span events of retries and duplicates.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, type Sampler, SamplingDecision, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { instanceSpanContext, tracingEnabled } from "../../../src/engine/tracing.js";
import type { Delivery } from "../../../src/ports.js";
import type { SettingsConfig } from "../../../src/settings/settings.js";
import { ProtocolHarness } from "../../support/protocol-harness.js";
import { sqliteTwoFiles } from "../../support/protocol-settings.js";

const exporter = new InMemorySpanExporter();
/** Instances whose processing spans the sampler drops (their action spans it would keep). */
const SAMPLED_OUT = new Set([instanceSpanContext("sampled-out").traceId]);
const sampler: Sampler = {
  shouldSample: (_context, traceId, spanName) => ({
    decision: spanName === "switchyard.process" && SAMPLED_OUT.has(traceId) ? SamplingDecision.NOT_RECORD : SamplingDecision.RECORD_AND_SAMPLED,
  }),
  toString: () => "drops the processing spans of SAMPLED_OUT",
};
const provider = new BasicTracerProvider({ sampler, spanProcessors: [new SimpleSpanProcessor(exporter)] });

let dir: string | undefined;
let harness: ProtocolHarness | undefined;

beforeAll(() => {
  trace.setGlobalTracerProvider(provider);
});

afterAll(async () => {
  trace.disable();
  await provider.shutdown();
});

beforeEach(() => exporter.reset());

afterEach(async () => {
  await harness?.close();
  harness = undefined;
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

async function open(extra: Partial<SettingsConfig> = {}): Promise<ProtocolHarness> {
  dir = mkdtempSync(path.join(tmpdir(), "switchyard-tracing-"));
  harness = await ProtocolHarness.open({ name: "sqlite", settings: sqliteTwoFiles }, dir, extra);
  return harness;
}

/** The spans of one instance, in the order they ended. */
function spansOf(correlationId: string): ReadableSpan[] {
  const traceId = instanceSpanContext(correlationId).traceId;
  return exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
}

const processings = (spans: ReadableSpan[]) => spans.filter((s) => s.name === "switchyard.process");
const actions = (spans: ReadableSpan[]) => spans.filter((s) => s.name === "switchyard.action");

/** What a test compares of a span: name, kind, attributes, events (name and attributes), status. */
function shape(span: ReadableSpan) {
  return {
    name: span.name,
    kind: span.kind,
    attributes: span.attributes,
    events: span.events.map((e) => ({ name: e.name, attributes: e.attributes })),
    status: span.status,
  };
}

/** The attributes of a processing span of the protocol fixture's machines. */
function processing(correlationId: string, version: string | undefined, fields: Record<string, unknown>) {
  return {
    "switchyard.role": "stream",
    "switchyard.side": "primary",
    "switchyard.retries": 0,
    "switchyard.receive_count": 1,
    "switchyard.correlation_id": correlationId,
    "switchyard.version": version,
    ...fields,
  };
}

const action = (slot: string, name: string, state: string) => ({
  name: "switchyard.action",
  kind: SpanKind.INTERNAL,
  attributes: { "switchyard.action.slot": slot, "switchyard.action.name": `./actions.ts#${name}`, "switchyard.action.state": state },
  events: [],
  status: { code: SpanStatusCode.UNSET },
});

describe("a completed instance", () => {
  it("one trace: a processing span per message, the action spans as their children, in protocol order", async () => {
    const h = await open();
    const { correlationId } = await h.sy.start("phases");
    await h.drain();
    const { version } = await h.sy.status(correlationId);
    const spans = spansOf(correlationId);
    // Every span the run produced belongs to the instance's trace.
    expect(spans).toHaveLength(exporter.getFinishedSpans().length);
    const [first, second] = processings(spans);
    expect(processings(spans).map(shape)).toEqual([
      {
        name: "switchyard.process",
        kind: SpanKind.CONSUMER,
        attributes: processing(correlationId, version, {
          "switchyard.machine": "phases",
          "switchyard.state": "pseudo_init",
          "switchyard.event": "pseudo_init",
          "switchyard.steps": 0,
          "switchyard.fence_token": 1,
          "switchyard.outcome": "dispatched",
        }),
        events: [],
        status: { code: SpanStatusCode.UNSET },
      },
      {
        name: "switchyard.process",
        kind: SpanKind.CONSUMER,
        attributes: processing(correlationId, version, {
          "switchyard.machine": "phases",
          "switchyard.state": "one",
          "switchyard.event": "go",
          "switchyard.steps": 1,
          "switchyard.fence_token": 2,
          "switchyard.outcome": "completed",
        }),
        events: [],
        status: { code: SpanStatusCode.UNSET },
      },
    ]);
    const childrenOf = (parent: ReadableSpan | undefined) =>
      actions(spans)
        .filter((s) => s.parentSpanContext?.spanId === parent?.spanContext().spanId)
        .map(shape);
    expect(childrenOf(first)).toEqual([action("entry_action", "TraceEntry", "one"), action("do_action", "TraceDo", "one")]);
    expect(childrenOf(second)).toEqual([
      action("exit_action", "TraceExit", "one"),
      action("action", "TraceAction", "one"),
      action("entry_action", "TraceEntry", "two"),
    ]);
    expect(actions(spans)).toHaveLength(5);
  });

  it("the trace id and the remote parent come from the correlation id; each processing links to that parent", async () => {
    const h = await open();
    const { correlationId } = await h.sy.start("simple");
    await h.drain();
    const hex = createHash("sha256").update(correlationId).digest("hex");
    const parent = { traceId: hex.slice(0, 32), spanId: hex.slice(32, 48), traceFlags: 1, isRemote: true };
    expect(instanceSpanContext(correlationId)).toEqual(parent);
    const spans = processings(spansOf(correlationId));
    expect(spans.map((s) => s.attributes["switchyard.steps"])).toEqual([0, 1, 2]);
    for (const span of spans) {
      expect(span.spanContext().traceId).toBe(parent.traceId);
      expect(span.parentSpanContext).toEqual(parent);
      expect(span.links.map((l) => l.context)).toEqual([parent]);
    }
    // Two instances, two traces.
    const other = await h.sy.start("simple");
    await h.drain();
    expect(processings(spansOf(other.correlationId))).toHaveLength(3);
    expect(instanceSpanContext(other.correlationId).traceId).not.toBe(parent.traceId);
  });
});

describe("span events and errors", () => {
  it("a retry: the action span records the exception with ERROR, the processing span a retry event; the retry runs from the retry store", async () => {
    const h = await open();
    const { correlationId } = await h.sy.start("simple", { context: { fail: ["1:0"] } });
    await h.drain();
    const spans = spansOf(correlationId);
    const runs = processings(spans);
    expect(runs.map((s) => [s.attributes["switchyard.steps"], s.attributes["switchyard.retries"], s.attributes["switchyard.role"], s.attributes["switchyard.outcome"]])).toEqual([
      [0, 0, "stream", "dispatched"],
      [1, 0, "stream", "retrying"],
      [1, 1, "retry", "dispatched"],
      [2, 0, "stream", "completed"],
    ]);
    const failing = runs[1] as ReadableSpan;
    expect(failing.events.map((e) => ({ name: e.name, attributes: e.attributes }))).toEqual([
      { name: "retry", attributes: { "switchyard.retries": 1, "switchyard.retry.delay_seconds": expect.any(Number) } },
    ]);
    expect(failing.status).toEqual({ code: SpanStatusCode.UNSET });
    const [thrown] = actions(spans).filter((s) => s.parentSpanContext?.spanId === failing.spanContext().spanId);
    expect(thrown?.status).toEqual({ code: SpanStatusCode.ERROR, message: "injected failure at steps 1, retries 0" });
    expect(thrown?.events.map((e) => [e.name, e.attributes?.["exception.message"]])).toEqual([["exception", "injected failure at steps 1, retries 0"]]);
    expect(actions(spans).filter((s) => s.status.code === SpanStatusCode.ERROR)).toHaveLength(1);
  });

  it("an instance that fails: status ERROR on the processing span with why, and the exception", async () => {
    const h = await open();
    const { correlationId } = await h.sy.start("failures", { context: { next: { start: "fatal" } } });
    await h.drain();
    const last = processings(spansOf(correlationId)).at(-1) as ReadableSpan;
    expect(last.attributes["switchyard.outcome"]).toBe("failed");
    expect(last.status).toEqual({ code: SpanStatusCode.ERROR, message: "action failed fatally: fatal.do_action ./actions.ts#Fatal threw: the order is invalid" });
    expect(last.events.map((e) => [e.name, e.attributes?.["exception.message"]])).toEqual([["exception", "the order is invalid"]]);
  });

  it("a duplicate delivery: a duplicate event with why, and no action span", async () => {
    const h = await open();
    const { correlationId } = await h.sy.start("simple");
    await h.drain();
    const [, second] = await h.sy.history(correlationId);
    const replay = {
      version: "0.1",
      system_context: {
        machine_name: "simple",
        current_state: second?.current_state,
        current_event: second?.current_event,
        correlation_id: correlationId,
        steps: 1,
        retries: 0,
        max_retries: 2,
      },
      user_context: second?.user_context,
    };
    exporter.reset();
    await h.sy.roles.stream.primary.send({ correlationId, steps: 1, retries: 0, body: JSON.stringify(replay), delaySeconds: 0 });
    await h.drain();
    const spans = spansOf(correlationId);
    expect(spans.map(shape)).toEqual([
      {
        name: "switchyard.process",
        kind: SpanKind.CONSUMER,
        attributes: {
          "switchyard.machine": "simple",
          "switchyard.state": "start",
          "switchyard.event": "go",
          "switchyard.steps": 1,
          "switchyard.retries": 0,
          "switchyard.role": "stream",
          "switchyard.side": "primary",
          "switchyard.receive_count": 1,
          "switchyard.correlation_id": correlationId,
          "switchyard.fence_token": expect.any(Number),
          "switchyard.outcome": "duplicate",
        },
        events: [{ name: "duplicate", attributes: { "switchyard.duplicate.why": "duplicate delivery dropped" } }],
        status: { code: SpanStatusCode.UNSET },
      },
    ]);
  });

  it("the lease and a send failing over to the secondary side: failover events", async () => {
    const h = await open({ chaos: { "cache.primary": 1, "stream.primary": 1 } });
    const { correlationId } = await h.sy.start("simple");
    await h.drain();
    const runs = processings(spansOf(correlationId));
    expect(runs.map((s) => s.attributes["switchyard.outcome"])).toEqual(["dispatched", "dispatched", "completed"]);
    expect(runs.map((s) => s.events.map((e) => ({ name: e.name, attributes: e.attributes })))).toEqual([
      [
        { name: "failover", attributes: { "switchyard.failover.role": "cache", "switchyard.failover.to": "secondary" } },
        { name: "failover", attributes: { "switchyard.failover.role": "stream", "switchyard.failover.to": "secondary" } },
      ],
      [{ name: "failover", attributes: { "switchyard.failover.role": "stream", "switchyard.failover.to": "secondary" } }],
      [],
    ]);
  });

  it("an operator's pause and abort: a paused event where the message is parked, an abort event with the reason", async () => {
    const h = await open();
    const { correlationId } = await h.sy.start("approval");
    await h.drain();
    await h.sy.pause(correlationId);
    await h.sy.sendEvent(correlationId, "approve", { data: "ok" });
    await h.drain();
    await h.sy.abort(correlationId, { reason: "customer cancelled" });
    await h.drain();
    const runs = processings(spansOf(correlationId));
    expect(runs.map((s) => [s.attributes["switchyard.event"], s.attributes["switchyard.outcome"], s.events.map((e) => ({ name: e.name, attributes: e.attributes }))])).toEqual([
      ["pseudo_init", "waiting", []],
      ["approve", "paused", [{ name: "paused", attributes: {} }]],
      // The abort of a paused instance sends its parked message again, which takes the abort path.
      ["approve", "aborted", [{ name: "abort", attributes: { "switchyard.abort.reason": "customer cancelled" } }]],
    ]);
  });

  it("a malformed message: a span of its own (no instance), outcome malformed, status ERROR", async () => {
    const h = await open();
    await h.sy.roles.stream.primary.send({ correlationId: "x", steps: 0, retries: 0, body: "not json", delaySeconds: 0 });
    await h.drain();
    const spans = exporter.getFinishedSpans();
    expect(spans.map(shape)).toEqual([
      {
        name: "switchyard.process",
        kind: SpanKind.CONSUMER,
        attributes: { "switchyard.role": "stream", "switchyard.side": "primary", "switchyard.receive_count": 1, "switchyard.outcome": "malformed" },
        events: [],
        status: { code: SpanStatusCode.ERROR, message: expect.stringMatching(/^message is not valid JSON: /) },
      },
    ]);
    expect(spans[0]?.parentSpanContext).toBeUndefined();
  });
});

describe("deliveries handed to the engine directly", () => {
  /** A delivery of the first message of a `simple` instance. */
  const delivery = (correlationId: string, receiveCount: number): Delivery => ({
    id: `m-${correlationId}`,
    body: JSON.stringify({
      version: "0.1",
      system_context: { machine_name: "simple", current_state: "pseudo_init", current_event: "pseudo_init", correlation_id: correlationId, steps: 0, retries: 0, max_retries: 2 },
      user_context: {},
    }),
    receiveCount,
    role: "stream",
    side: "primary",
    handle: undefined,
  });

  it("a poison message: a span of its own, outcome poison, status ERROR with the reason", async () => {
    const h = await open();
    const outcome = await h.sy.engine.process(delivery("poisoned", 11));
    expect(outcome).toMatchObject({ kind: "poison" });
    expect(exporter.getFinishedSpans().map(shape)).toEqual([
      {
        name: "switchyard.process",
        kind: SpanKind.CONSUMER,
        attributes: { "switchyard.role": "stream", "switchyard.side": "primary", "switchyard.receive_count": 11, "switchyard.outcome": "poison" },
        events: [],
        status: { code: SpanStatusCode.ERROR, message: (outcome as { reason: string }).reason },
      },
    ]);
  });

  it("a processing span the sampler drops: the processing runs as usual, and no action span is started under it", async () => {
    const h = await open();
    expect(await h.sy.engine.process(delivery("sampled-out", 1))).toEqual({ kind: "dispatched", correlationId: "sampled-out" });
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it("a processing that rejects (no stream or retry store takes its next message, nor then its retry): outcome rejected, status ERROR", async () => {
    const h = await open({ chaos: { "stream.primary": 1, "stream.secondary": 1, "retry.primary": 1, "retry.secondary": 1 } });
    await expect(h.sy.engine.process(delivery("stranded", 1))).rejects.toThrow(/every stream and retry backend failed/);
    const [span] = processings(spansOf("stranded"));
    expect(span?.attributes["switchyard.outcome"]).toBe("rejected");
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: "could not send stranded step 0: every stream and retry backend failed" });
    expect(span?.events.map((e) => e.name)).toEqual(["retry", "exception"]);
  });
});

describe("without an SDK", () => {
  it("the engine starts no span", async () => {
    trace.disable();
    try {
      expect(tracingEnabled()).toBe(false);
      const h = await open();
      const { correlationId } = await h.sy.start("phases");
      await h.drain();
      expect((await h.sy.status(correlationId)).status).toBe("completed");
      expect(exporter.getFinishedSpans()).toEqual([]);
    } finally {
      trace.setGlobalTracerProvider(provider);
    }
  });
});
