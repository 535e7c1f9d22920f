/**
 * Dev Lambda (SPEC §5): runs the Lambda handler locally against real or emulated AWS transports.
 * It polls each Lambda-triggered source (SQS, Kinesis, SNS, DynamoDB Streams), shapes what it
 * receives into the event Lambda itself would deliver (`source.lambdaEvent`), invokes the same
 * handler that is deployed, and then does what Lambda does with the answer: acknowledges the records
 * not named in `batchItemFailures` and hands the failed ones back. On a schedule it invokes the
 * handler with an EventBridge scheduled event, which drains the timer-polled sources.
 */
import { randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";
import type { Switchyard } from "../client/switchyard.js";
import { UsageError } from "../errors.js";
import type { Delivery } from "../ports.js";
import { Pause } from "../client/pause.js";
import type { HandlerResult, SwitchyardHandler } from "./handler.js";
import { type LambdaEventSource, isLambdaEventSource } from "../lambda-port.js";
import type { TimerSummary } from "./timer.js";

/** Options of {@link DevLambda}. */
export interface DevLambdaOptions {
  /** Records per invocation, as the event source mapping's BatchSize (default 10). */
  readonly batchSize?: number | undefined;
  /** Seconds between scheduled-event invocations (default 10; EventBridge's minimum is 60). */
  readonly timerIntervalSeconds?: number | undefined;
  /** Seconds a failed record waits before it is delivered again (default 1). */
  readonly redeliveryDelaySeconds?: number | undefined;
  /** The invocation timeout the Lambda-like context reports (default 60 s). */
  readonly timeoutSeconds?: number | undefined;
  /** Progress lines (default: none). */
  readonly progress?: ((line: string) => void) | undefined;
}

/** Running totals of a dev-lambda run. */
export interface DevLambdaStats {
  invocations: number;
  records: number;
  failedRecords: number;
  timerRuns: number;
  timerProcessed: number;
}

/** How long {@link DevLambda.run} goes on. */
export interface DevLambdaRunOptions {
  /** One pass over every source and one timer invocation, then return. */
  readonly once?: boolean | undefined;
  /** Return once a pass found nothing and the sources report nothing pending. */
  readonly untilIdle?: boolean | undefined;
  /** Checked after each pass; return when it resolves true. */
  readonly until?: (() => Promise<boolean>) | undefined;
}

const FUNCTION_NAME = "switchyard-dev";

/** A Lambda-like invocation context (what the handler reads: the remaining time). */
export function lambdaContext(timeoutMs = 60_000, functionName = FUNCTION_NAME): Context {
  const deadline = Date.now() + timeoutMs;
  const requestId = randomUUID();
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: "1024",
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `dev/[$LATEST]${requestId.replaceAll("-", "")}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** An EventBridge scheduled event, as a schedule rule delivers it. */
export function scheduledEvent(now = new Date()): Record<string, unknown> {
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": "Scheduled Event",
    source: "aws.events",
    account: "000000000000",
    time: now.toISOString().replace(/\.\d{3}Z$/, "Z"),
    region: "us-east-1",
    resources: ["arn:aws:events:us-east-1:000000000000:rule/switchyard-timer"],
    detail: {},
  };
}

/** Drives the Lambda handler from polled sources. */
export class DevLambda {
  readonly #sy: Switchyard;
  readonly #handler: SwitchyardHandler;
  readonly #triggered: readonly LambdaEventSource[];
  readonly #options: DevLambdaOptions;
  #stopping = false;
  readonly #pause = new Pause();
  #lastTimer = 0;
  readonly stats: DevLambdaStats = { invocations: 0, records: 0, failedRecords: 0, timerRuns: 0, timerProcessed: 0 };

  /** Throws a one-line UsageError when none of the Switchyard's sources is an AWS transport. */
  constructor(sy: Switchyard, handler: SwitchyardHandler, options: DevLambdaOptions = {}) {
    this.#sy = sy;
    this.#handler = handler;
    this.#options = options;
    const drivable = sy.sources.filter(isLambdaEventSource);
    const other = sy.sources.filter((source) => !isLambdaEventSource(source));
    if (drivable.length === 0) {
      const first = other[0];
      throw new UsageError(
        `${first === undefined ? "no stream or retry source" : `${first.role}.${first.side} (${first.uri}) is not an AWS transport`}; dev-lambda drives SQS, Kinesis, SNS and DynamoDB — set stream and retry to their ARNs in the settings, or run switchyard worker`,
      );
    }
    for (const source of other) {
      this.#progress(`${source.role}.${source.side} (${source.uri}) is not an AWS transport: dev-lambda does not drive it; run switchyard worker for it`);
    }
    this.#triggered = drivable.filter((source) => source.polledOnTimer !== true);
  }

  /** Stop after the current invocation. */
  stop(): void {
    this.#stopping = true;
    this.#pause.wake();
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  /** Poll and invoke until stopped (or as `options` say). */
  async run(options: DevLambdaRunOptions = {}): Promise<DevLambdaStats> {
    let pause = 25;
    this.#lastTimer = Date.now();
    while (!this.#stopping) {
      let received = await this.pass();
      const interval = (this.#options.timerIntervalSeconds ?? 10) * 1000;
      if (options.once || Date.now() - this.#lastTimer >= interval) received += (await this.tick()).sources.reduce((n, s) => n + s.processed + s.failed, 0);
      if (options.once) break;
      if (options.until !== undefined && (await options.until())) break;
      if (received > 0) {
        pause = 25;
        continue;
      }
      if (options.untilIdle && (await this.#sy.pending()) === 0) break;
      await this.#pause.for(pause);
      pause = Math.min(500, pause * 2);
    }
    return this.stats;
  }

  /** One receive from every Lambda-triggered source, one handler invocation per batch; returns the records received. */
  async pass(): Promise<number> {
    let total = 0;
    for (const source of this.#triggered) {
      if (this.#stopping) break;
      total += await this.#drive(source);
    }
    return total;
  }

  /** Invoke the handler with a scheduled event (the timer). */
  async tick(): Promise<TimerSummary> {
    this.#lastTimer = Date.now();
    this.stats.invocations++;
    this.stats.timerRuns++;
    let result: HandlerResult;
    try {
      result = await this.#handler(scheduledEvent(), lambdaContext(this.#timeoutMs()));
    } catch (error) {
      this.#progress(`timer invocation failed: ${(error as Error).message}`);
      return { timer: true, sources: [] };
    }
    const summary = result as TimerSummary;
    for (const source of summary.sources ?? []) {
      this.stats.timerProcessed += source.processed;
      if (source.processed + source.failed > 0) {
        this.#progress(`timer: ${source.processed} message(s) from ${source.role}.${source.side} (${source.uri})${source.failed ? `, ${source.failed} left for redelivery` : ""}`);
      }
    }
    return summary;
  }

  async #drive(source: LambdaEventSource): Promise<number> {
    let deliveries: Delivery[];
    try {
      deliveries = await source.receive({ max: this.#options.batchSize ?? 10, visibilityTimeoutSeconds: this.#sy.settings.visibilityTimeoutSeconds });
    } catch (error) {
      this.#progress(`cannot receive from ${source.role}.${source.side} (${source.uri}): ${(error as Error).message}`);
      return 0;
    }
    if (deliveries.length === 0) return 0;
    this.stats.invocations++;
    this.stats.records += deliveries.length;
    let failed: Set<string>;
    try {
      const result = (await this.#handler(source.lambdaEvent(deliveries), lambdaContext(this.#timeoutMs()))) as { batchItemFailures?: Array<{ itemIdentifier: string }> };
      failed = new Set((result.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
    } catch (error) {
      // A failed invocation fails the whole batch, as on Lambda.
      this.#progress(`invocation with ${deliveries.length} record(s) from ${source.role}.${source.side} failed: ${(error as Error).message}`);
      failed = new Set(deliveries.map((delivery) => source.itemIdentifier(delivery)));
    }
    const redeliver = deliveries.filter((delivery) => failed.has(source.itemIdentifier(delivery)));
    for (const delivery of deliveries) {
      if (failed.has(source.itemIdentifier(delivery))) continue;
      await source.ack(delivery).catch((error: Error) => this.#progress(`cannot acknowledge ${delivery.id} on ${source.uri}: ${error.message}`));
    }
    for (const delivery of redeliver) {
      await source
        .release(delivery, this.#options.redeliveryDelaySeconds ?? 1)
        .catch((error: Error) => this.#progress(`cannot hand ${delivery.id} back to ${source.uri}: ${error.message}; it returns after its visibility timeout`));
    }
    this.stats.failedRecords += redeliver.length;
    this.#progress(
      `invoked handler with ${deliveries.length} record(s) from ${source.role}.${source.side} (${source.uri})${redeliver.length ? `: ${redeliver.length} reported failed` : ""}`,
    );
    return deliveries.length;
  }

  #timeoutMs(): number {
    return (this.#options.timeoutSeconds ?? 60) * 1000;
  }

  #progress(line: string): void {
    this.#options.progress?.(line);
  }
}
