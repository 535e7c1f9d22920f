/**
 * Cost per transition (`switchyard cost`): runs a workload through dev-lambda — the deployed
 * handler, fed by the same transports — counts every AWS API call the backends make (the
 * {@link ApiCallObserver} hook of the AWS clients' SDK middleware), times each invocation, and
 * prices the counts with a region's price table (`prices.ts`).
 *
 * Calls are kept apart by phase: `start` (the client starting instances), `handler` (inside an
 * invocation) and `poll` (what dev-lambda does in place of Lambda's event source mapping: receive,
 * delete, hand back). Of the poll calls only SQS's are billed on AWS (the mapping's ReceiveMessage
 * and DeleteMessage are requests on your queue); a Kinesis mapping reads shards and keeps its
 * positions itself at no charge per call, so dev-lambda's GetRecords and shard leases are not.
 */
import type { Switchyard } from "../client/switchyard.js";
import type { Logger } from "../logger.js";
import type { ApiCall, ApiCallObserver } from "../ports.js";
import type { Settings } from "../settings/settings.js";
import { addUnits, type CallUnits, callUnits, noUnits } from "./cost-units.js";
import { DevLambda } from "./dev-lambda.js";
import { createHandler, type SwitchyardHandler } from "./handler.js";
import type { PriceKey, PriceTable } from "./prices.js";

/** Where a call was made. */
export type CallPhase = "start" | "handler" | "timer" | "poll";

/** The calls of one service and operation in one phase. */
export interface CallCount {
  readonly phase: CallPhase;
  readonly service: string;
  readonly operation: string;
  calls: number;
  failed: number;
  readonly units: CallUnits;
}

/** Counts the calls it sees, by phase, service and operation. */
export class ApiCallCounter implements ApiCallObserver {
  readonly consumedCapacity = true;
  /** The phase the next calls belong to. */
  phase: CallPhase = "start";
  readonly #counts = new Map<string, CallCount>();

  onCall(call: ApiCall): void {
    const key = `${this.phase}\0${call.service}\0${call.operation}`;
    let count = this.#counts.get(key);
    if (count === undefined) {
      count = { phase: this.phase, service: call.service, operation: call.operation, calls: 0, failed: 0, units: noUnits() };
      this.#counts.set(key, count);
    }
    count.calls++;
    if (call.output === undefined) count.failed++;
    addUnits(count.units, callUnits(call));
  }

  /** The counts so far, by phase, service and operation. */
  counts(): CallCount[] {
    const order: Record<CallPhase, number> = { start: 0, handler: 1, timer: 2, poll: 3 };
    return [...this.#counts.values()].sort((a, b) => order[a.phase] - order[b.phase] || a.service.localeCompare(b.service) || a.operation.localeCompare(b.operation));
  }

  /** Forget every count (after the resources were looked up, before the workload). */
  reset(): void {
    this.#counts.clear();
  }
}

/** What a cost run measured. */
export interface CostMeasurement {
  /** Messages the handler processed to completion (each one transition). */
  readonly transitions: number;
  readonly instances: number;
  /** Handler invocations with records (the timer's are not counted: see {@link measureCost}). */
  readonly invocations: number;
  /** Wall time of each invocation, in milliseconds. */
  readonly durationsMs: readonly number[];
  /** Records per invocation the event source mapping was given. */
  readonly batchSize: number;
  readonly calls: readonly CallCount[];
  /** What costs by the hour whatever the traffic: Kinesis streams, ElastiCache clusters. */
  readonly resources: { readonly kinesisStreams: number; readonly elastiCacheClusters: number };
}

/** Options of {@link measureCost}. */
export interface MeasureCostOptions {
  /** A Switchyard opened with `apiCalls: counter`. */
  readonly switchyard: Switchyard;
  readonly counter: ApiCallCounter;
  /** Run at least this many transitions. */
  readonly transitions: number;
  /** The machine to start (default: the first of the definitions). */
  readonly machine?: string | undefined;
  /** The start context of each instance. */
  readonly context?: Record<string, unknown> | undefined;
  /** Records per invocation (default 10, the SQS mapping's default). */
  readonly batchSize?: number | undefined;
  /** Instances started at once (default 100). */
  readonly startBatch?: number | undefined;
  readonly progress?: ((line: string) => void) | undefined;
  readonly logger?: Logger | undefined;
  /** Give up after this many seconds (default 600). */
  readonly timeoutSeconds?: number | undefined;
}

/**
 * Start instances and drive them through dev-lambda until at least `transitions` messages were
 * processed, counting the calls of each phase. The instances started first run alone to learn how
 * many transitions one takes. The scheduled timer runs every second, so retries and `after:` timers
 * in the retry table are drained; its invocations are timed apart and its calls counted under
 * `timer`, which is not billed per transition (on AWS it runs once a minute whatever the traffic):
 * a workload meant for pricing should not need it. The run gives up after `timeoutSeconds`.
 */
export async function measureCost(options: MeasureCostOptions): Promise<CostMeasurement> {
  const { switchyard: sy, counter } = options;
  const machine = options.machine ?? [...sy.definitions.machines.keys()][0];
  if (machine === undefined) throw new Error("the definitions hold no machine");
  sy.definitions.get(machine);
  const batchSize = options.batchSize ?? 10;
  const durationsMs: number[] = [];
  const timerMs: number[] = [];
  const handler = createHandler({ switchyard: sy, logger: options.logger });
  const timed = Object.assign(
    async (event: unknown, context?: Parameters<SwitchyardHandler>[1]) => {
      const timer = (event as { source?: unknown }).source === "aws.events";
      counter.phase = timer ? "timer" : "handler";
      const started = performance.now();
      try {
        return await handler(event, context);
      } finally {
        (timer ? timerMs : durationsMs).push(performance.now() - started);
        counter.phase = "poll";
      }
    },
    { close: () => handler.close() },
  ) as SwitchyardHandler;
  const dev = new DevLambda(sy, timed, { batchSize, timerIntervalSeconds: 1, progress: options.progress });
  // Look the queues and tables up and register the definition versions before counting: a
  // deployment does both once (a cold start, a deploy), not per transition.
  counter.phase = "poll";
  await sy.pending();
  await sy.engine.catalog.registerOnce().catch(() => 0);
  counter.reset();
  let instances = 0;
  let perInstance = 0;
  const done = () => dev.stats.records - dev.stats.failedRecords + dev.stats.timerProcessed;
  const deadline = Date.now() + (options.timeoutSeconds ?? 600) * 1000;
  while (done() < options.transitions) {
    const remaining = options.transitions - done();
    const count = perInstance === 0 ? 1 : Math.min(options.startBatch ?? 100, Math.ceil(remaining / perInstance));
    counter.phase = "start";
    const results = await sy.startMany(Array.from({ length: count }, () => ({ machineName: machine, context: options.context })));
    const failed = results.find((result) => "error" in result);
    if (failed !== undefined) throw new Error(`cannot start ${machine}: ${JSON.stringify(failed)}`);
    instances += count;
    counter.phase = "poll";
    await dev.run({ untilIdle: true, until: async () => Date.now() > deadline });
    if (Date.now() > deadline) throw new Error(`the workload did not finish within ${options.timeoutSeconds ?? 600} s: ${done()} of ${options.transitions} transitions`);
    perInstance = Math.max(1, done() / instances);
    options.progress?.(`${instances} instance(s), ${done()} transition(s)`);
  }
  const resources = countResources(sy.settings);
  return { transitions: done(), instances, invocations: durationsMs.length, durationsMs, batchSize, calls: counter.counts(), resources };
}

/** The Kinesis streams and ElastiCache clusters the settings name. */
export function countResources(settings: Settings): CostMeasurement["resources"] {
  const uris = new Set<string>();
  for (const binding of Object.values(settings.roles)) {
    if (binding === undefined) continue;
    uris.add(binding.primary);
    if (binding.secondary !== undefined) uris.add(binding.secondary);
  }
  if (settings.journal !== undefined) uris.add(settings.journal);
  const count = (pattern: RegExp) => [...uris].filter((uri) => pattern.test(uri)).length;
  return { kinesisStreams: count(/^arn:aws[a-z-]*:kinesis:/), elastiCacheClusters: count(/^arn:aws[a-z-]*:elasticache:/) };
}

/** How the fixed costs are spread and how Lambda is sized. */
export interface CostAssumptions {
  /** Lambda memory, MB. */
  readonly memoryMb: number;
  /** Sustained transitions per second the hourly costs are spread over. */
  readonly throughput: number;
  /** Shards per Kinesis stream. */
  readonly kinesisShards: number;
  /** Nodes per ElastiCache cluster (a primary and a replica: 2). */
  readonly elastiCacheNodes: number;
}

/** The defaults of {@link CostAssumptions}. */
export const DEFAULT_ASSUMPTIONS: CostAssumptions = { memoryMb: 512, throughput: 100, kinesisShards: 1, elastiCacheNodes: 2 };

/** One priced line: a quantity per transition and what a million transitions cost of it. */
export interface CostLine {
  readonly item: string;
  readonly price: PriceKey;
  readonly perTransition: number;
  readonly usdPerMillion: number;
}

/** One service and operation, per transition. */
export interface CallLine {
  readonly phase: CallPhase;
  readonly service: string;
  readonly operation: string;
  readonly perTransition: number;
  /** Whether AWS bills it (poll calls other than SQS's are the event source mapping's). */
  readonly billed: boolean;
  readonly unitsPerTransition: CallUnits;
}

/** The cost of a run, per transition and per million. */
export interface CostReport {
  readonly label: string;
  readonly region: string;
  readonly assumptions: CostAssumptions;
  readonly transitions: number;
  readonly instances: number;
  readonly invocations: number;
  readonly gbSecondsPerTransition: number;
  readonly msPerInvocation: number;
  readonly calls: readonly CallLine[];
  readonly lines: readonly CostLine[];
  readonly usdPerMillion: number;
  /** Step Functions for the same transitions: Standard per state transition, Express per execution and duration. */
  readonly stepFunctions: { readonly standard: number; readonly express: number };
  readonly dominant: readonly { readonly call: string; readonly usdPerMillion: number }[];
}

/**
 * The SQS calls an event source mapping makes on your queue, billed as requests; dev-lambda's other
 * poll calls (queue attributes for its idle check, Kinesis reads, shard leases) have no counterpart
 * a deployment pays per call.
 */
const MAPPING_SQS_CALLS = new Set(["ReceiveMessage", "DeleteMessage", "DeleteMessageBatch", "ChangeMessageVisibility", "ChangeMessageVisibilityBatch"]);

/**
 * A poll call's units as the mapping would incur them: dev-lambda deletes each record with its own
 * DeleteMessage, the mapping deletes a batch's records with one DeleteMessageBatch.
 */
function mappingUnits(count: CallCount, batchSize: number): CallUnits {
  if (count.phase !== "poll" || count.operation !== "DeleteMessage") return count.units;
  return { ...count.units, sqsRequests: count.units.sqsRequests / Math.max(1, batchSize) };
}

/** Price a measurement. Pure arithmetic: the counts divided by the transitions, times the prices. */
export function priceCost(measurement: CostMeasurement, prices: PriceTable, assumptions: CostAssumptions = DEFAULT_ASSUMPTIONS, label = "workload"): CostReport {
  const n = Math.max(1, measurement.transitions);
  const price = (key: PriceKey) => prices.prices[key].usd;
  const billed = (count: CallCount) => count.phase === "start" || count.phase === "handler" || (count.phase === "poll" && count.service === "SQS" && MAPPING_SQS_CALLS.has(count.operation));
  const total = noUnits();
  for (const count of measurement.calls) if (billed(count)) addUnits(total, mappingUnits(count, measurement.batchSize));
  const gbSeconds = measurement.durationsMs.reduce((sum, ms) => sum + Math.ceil(ms), 0) / 1000 * (assumptions.memoryMb / 1024);
  const transitionsPerHour = assumptions.throughput * 3600;
  const lines: CostLine[] = [];
  const line = (item: string, key: PriceKey, quantity: number) => {
    if (quantity > 0) lines.push({ item, price: key, perTransition: quantity / n, usdPerMillion: (quantity / n) * price(key) * 1e6 });
  };
  line("SQS requests (64 KiB chunks)", "sqsRequest", total.sqsRequests);
  line("SNS publishes (64 KiB chunks)", "snsPublish", total.snsPublishes);
  line("Kinesis PUT payload units (25 KB)", "kinesisPutPayloadUnit", total.kinesisPutUnits);
  line("DynamoDB write request units", "dynamodbWriteRequestUnit", total.wru);
  line("DynamoDB read request units", "dynamodbReadRequestUnit", total.rru);
  line("CloudWatch PutMetricData", "cloudwatchPutMetricData", total.putMetricData);
  line("Lambda requests", "lambdaRequest", measurement.invocations);
  line(`Lambda GB-seconds (${assumptions.memoryMb} MB)`, "lambdaGbSecond", gbSeconds);
  // Hourly resources, as hours per transition at the stated throughput.
  line(`Kinesis shard-hours (${assumptions.kinesisShards}/stream at ${assumptions.throughput}/s)`, "kinesisShardHour", (measurement.resources.kinesisStreams * assumptions.kinesisShards * n) / transitionsPerHour);
  line(`ElastiCache node-hours (${assumptions.elastiCacheNodes} nodes at ${assumptions.throughput}/s)`, "elasticacheNodeHour", (measurement.resources.elastiCacheClusters * assumptions.elastiCacheNodes * n) / transitionsPerHour);
  const usdPerMillion = lines.reduce((sum, l) => sum + l.usdPerMillion, 0);

  const calls: CallLine[] = measurement.calls.map((count) => {
    const units = noUnits();
    if (billed(count)) addUnits(units, mappingUnits(count, measurement.batchSize));
    for (const key of Object.keys(units) as Array<keyof CallUnits>) units[key] /= n;
    return { phase: count.phase, service: count.service, operation: count.operation, perTransition: count.calls / n, billed: billed(count), unitsPerTransition: units };
  });
  const callUsd = (line: CallLine) =>
    1e6 *
    (line.unitsPerTransition.wru * price("dynamodbWriteRequestUnit") +
      line.unitsPerTransition.rru * price("dynamodbReadRequestUnit") +
      line.unitsPerTransition.sqsRequests * price("sqsRequest") +
      line.unitsPerTransition.snsPublishes * price("snsPublish") +
      line.unitsPerTransition.kinesisPutUnits * price("kinesisPutPayloadUnit") +
      line.unitsPerTransition.putMetricData * price("cloudwatchPutMetricData"));
  const dominant = calls
    .filter((c) => c.billed)
    .map((c) => ({ call: `${c.phase} ${c.service} ${c.operation}`, usdPerMillion: callUsd(c) }))
    .filter((c) => c.usdPerMillion > 0)
    .sort((a, b) => b.usdPerMillion - a.usdPerMillion);

  const perInstance = n / Math.max(1, measurement.instances);
  const msPerInvocation = measurement.durationsMs.length === 0 ? 0 : measurement.durationsMs.reduce((a, b) => a + b, 0) / measurement.durationsMs.length;
  const msPerRecord = measurement.durationsMs.reduce((a, b) => a + b, 0) / n;
  // Express: one execution per instance, its duration the instance's states run back to back, in
  // 100 ms steps, at the 64 MB minimum.
  const expressSeconds = Math.max(0.1, Math.ceil((perInstance * msPerRecord) / 100) / 10);
  const express = (1e6 / perInstance) * (price("stepFunctionsExpressRequest") + expressSeconds * (64 / 1024) * price("stepFunctionsExpressGbSecond"));
  return {
    label,
    region: prices.region,
    assumptions,
    transitions: measurement.transitions,
    instances: measurement.instances,
    invocations: measurement.invocations,
    gbSecondsPerTransition: gbSeconds / n,
    msPerInvocation,
    calls,
    lines,
    usdPerMillion,
    stepFunctions: { standard: price("stepFunctionsStandardTransition") * 1e6, express },
    dominant,
  };
}

