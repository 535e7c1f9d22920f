/**
 * OpenTelemetry tracing of the engine, through `@opentelemetry/api` only: a no-op unless the
 * application registers an SDK (a global tracer provider).
 *
 * - One span per message processing, `switchyard.process` (kind CONSUMER), with the message's
 *   machine, state, event, steps, retries, role/side, correlation id and version, the fence token
 *   once the lease is taken, and the outcome at the end.
 * - One trace per instance: every processing of an instance has the same remote parent, derived
 *   from the correlation id ({@link instanceSpanContext}), and a link to it. The wire format carries
 *   no trace context, so the trace id is computed, not propagated: any worker, on any host, puts
 *   the processing of an instance's message in the same trace, and a sampler that decides by trace
 *   id (`TraceIdRatioBasedSampler`) keeps or drops whole instances.
 * - A child span per action run, `switchyard.action`, with its slot, reference and state; an action
 *   that throws records the exception and sets the status to ERROR. While it runs, the action span
 *   is the active span (with a context manager registered), so the user's own spans nest under it.
 * - Span events on the processing span: `failover`, `duplicate`, `retry`, `abort`, `paused`.
 *
 * Cost without an SDK: {@link tracingEnabled} is one look at the global provider, and the engine
 * starts no span, hashes nothing and builds no attributes. With an SDK, attributes are built only
 * for spans that record (the sampler kept them). Nothing here awaits.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import {
  type Attributes,
  type Context,
  ProxyTracerProvider,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  type SpanContext,
  SpanStatusCode,
  TraceFlags,
  type Tracer,
  context as otelContext,
  trace,
} from "@opentelemetry/api";
import type { PlannedAction } from "../core/transitions.js";
import type { WireMessage } from "../core/message.js";
import type { Delivery } from "../ports.js";
import { actionSite } from "../core/failure.js";

/** The tracer's name (the instrumentation scope of every Switchyard span). */
export const TRACER_NAME = "switchyard";
/** The span of one message processing. */
export const PROCESS_SPAN = "switchyard.process";
/** The span of one action run, a child of the processing's span. */
export const ACTION_SPAN = "switchyard.action";

/** The names of the spans' and span events' attributes. */
export const ATTR = {
  machine: "switchyard.machine",
  state: "switchyard.state",
  event: "switchyard.event",
  steps: "switchyard.steps",
  retries: "switchyard.retries",
  fenceToken: "switchyard.fence_token",
  role: "switchyard.role",
  side: "switchyard.side",
  correlationId: "switchyard.correlation_id",
  version: "switchyard.version",
  outcome: "switchyard.outcome",
  receiveCount: "switchyard.receive_count",
  /** On `failover`: the role that failed over (`cache` for the lease, `stream` or `retry` for a send). */
  failoverRole: "switchyard.failover.role",
  /** On `failover`: the side it moved to (a send to the other role counts too: its side is the one that took it). */
  failoverTo: "switchyard.failover.to",
  /** On `duplicate`: why the message was dropped. */
  duplicateWhy: "switchyard.duplicate.why",
  /** On `retry`: the backoff in seconds (with `switchyard.retries`, the retry's count). */
  retryDelay: "switchyard.retry.delay_seconds",
  /** On `abort`: the operator's reason. */
  abortReason: "switchyard.abort.reason",
  /** On `abort`: the abort was asked while the actions ran (their outcome is discarded). */
  abortWhileActionsRan: "switchyard.abort.while_actions_ran",
  actionSlot: "switchyard.action.slot",
  actionName: "switchyard.action.name",
  actionState: "switchyard.action.state",
} as const;

/** The processing span's events. */
export const EVENT = {
  failover: "failover",
  duplicate: "duplicate",
  retry: "retry",
  abort: "abort",
  paused: "paused",
} as const;

/** The package's version, for the tracer's scope; undefined where package.json is not beside the code (a bundle). */
const VERSION: string | undefined = (() => {
  try {
    return (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: string }).version;
  } catch {
    return undefined;
  }
})();

/** Got once: a proxy that follows whatever provider the application registers, before or after this import. */
const tracer: Tracer = trace.getTracer(TRACER_NAME, VERSION);

/** The provider behind an unregistered global: what `getDelegate()` returns while no SDK is set. */
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();

/**
 * Whether an SDK is registered: the global provider is not the API's no-op. The engine checks this
 * once per processing and does nothing else for tracing when it is false.
 */
export function tracingEnabled(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== NOOP_PROVIDER;
}

/**
 * The remote parent of every processing of an instance: trace id the first 32 hex digits of
 * SHA-256(correlation id), span id the next 16, sampled. Deterministic, so every worker derives
 * the same trace for the same instance without carrying a trace context in the message.
 */
export function instanceSpanContext(correlationId: string): SpanContext {
  const hex = createHash("sha256").update(correlationId).digest("hex");
  return { traceId: hex.slice(0, 32), spanId: hex.slice(32, 48), traceFlags: TraceFlags.SAMPLED, isRemote: true };
}

/**
 * The tracing of one {@link Engine.process} call. Created only when {@link tracingEnabled}; the
 * span starts once the message is decoded (its instance is known then), or at the end for a
 * delivery that never got that far (poison, malformed).
 */
export class ProcessTrace {
  readonly #delivery: Delivery;
  /** The processing span, once started. */
  span: Span | undefined;

  constructor(delivery: Delivery) {
    this.#delivery = delivery;
  }

  /** Start the processing span in the instance's trace, with the message's attributes. */
  start(message: WireMessage): Span {
    const system = message.system_context;
    const parent = instanceSpanContext(system.correlation_id);
    const span = tracer.startSpan(PROCESS_SPAN, { kind: SpanKind.CONSUMER, links: [{ context: parent }] }, trace.setSpanContext(ROOT_CONTEXT, parent));
    this.span = span;
    if (span.isRecording()) {
      const delivery = this.#delivery;
      const attributes: Attributes = {
        [ATTR.machine]: system.machine_name,
        [ATTR.state]: system.current_state,
        [ATTR.event]: system.current_event,
        [ATTR.steps]: system.steps,
        [ATTR.retries]: system.retries,
        [ATTR.role]: delivery.role,
        [ATTR.side]: delivery.side,
        [ATTR.correlationId]: system.correlation_id,
        [ATTR.receiveCount]: delivery.receiveCount,
      };
      if (system.machine_version !== undefined) attributes[ATTR.version] = system.machine_version;
      span.setAttributes(attributes);
    }
    return span;
  }

  /**
   * End with the outcome; poison and malformed set the status to ERROR with their reason (a failed
   * processing set it already, with why the instance failed: {@link failSpan}).
   */
  end(outcome: { readonly kind: string; readonly reason?: string }): void {
    const span = this.span ?? this.#startUnknown();
    if (span.isRecording()) {
      span.setAttribute(ATTR.outcome, outcome.kind);
      if (outcome.kind === "poison" || outcome.kind === "malformed") {
        span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.reason ?? outcome.kind });
      }
    }
    span.end();
  }

  /** End a processing that rejected (the message is not acknowledged and comes again). */
  reject(error: unknown): void {
    const span = this.span ?? this.#startUnknown();
    if (span.isRecording()) {
      span.setAttribute(ATTR.outcome, "rejected");
      recordError(span, error);
    }
    span.end();
  }

  /** A delivery whose instance is not known (it was not decoded): a span of its own trace. */
  #startUnknown(): Span {
    const span = tracer.startSpan(PROCESS_SPAN, { kind: SpanKind.CONSUMER }, ROOT_CONTEXT);
    if (span.isRecording()) {
      const delivery = this.#delivery;
      span.setAttributes({ [ATTR.role]: delivery.role, [ATTR.side]: delivery.side, [ATTR.receiveCount]: delivery.receiveCount });
    }
    this.span = span;
    return span;
  }
}

/** Start the span of one action run under the processing span. */
export function startActionSpan(processing: Span, planned: PlannedAction, event: string): Span {
  const span = tracer.startSpan(ACTION_SPAN, { kind: SpanKind.INTERNAL }, trace.setSpan(ROOT_CONTEXT, processing));
  if (span.isRecording()) {
    const site = actionSite(planned, event);
    span.setAttributes({ [ATTR.actionSlot]: site.slot, [ATTR.actionName]: site.action, [ATTR.actionState]: site.state });
  }
  return span;
}

/**
 * Call `run` with `span` as the active span (so spans the action starts are its children, where a
 * context manager is registered). Returns what `run` returns, as it is: no await is added.
 */
export function withSpan<T>(span: Span, run: () => T): T {
  const active: Context = trace.setSpan(otelContext.active(), span);
  return otelContext.with(active, run);
}

/** Record `error` on `span` as an exception and set the status to ERROR. */
export function recordError(span: Span, error: unknown): void {
  if (!span.isRecording()) return;
  if (error instanceof Error) span.recordException(error);
  else span.recordException(String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/** The instance failed at this processing: the error that ended it (if any) and status ERROR with `reason`. */
export function failSpan(span: Span, error: unknown, reason: string): void {
  if (!span.isRecording()) return;
  if (error instanceof Error) span.recordException(error);
  else if (error !== undefined) span.recordException(String(error));
  span.setStatus({ code: SpanStatusCode.ERROR, message: reason });
}
