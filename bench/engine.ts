/**
 * The engine run: W instances of bench/fsm.yaml on the embedded SQLite backend (one file for every
 * role), processed by one worker, with per-message latency taken around the worker's handling.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { openSqliteDatabase } from "../src/backends/sqlite/database.js";
import { Switchyard } from "../src/client/switchyard.js";
import type { Delivery } from "../src/ports.js";
import { Worker, type WorkerStats } from "../src/client/worker.js";
import { longestGap } from "./commits.js";
import { countSqlite } from "./counters.js";
import { observed, type SourceObserver } from "./observed-source.js";
import type { Tally } from "./round-trips.js";

export const MACHINE = "bench_loop";
export const DEFINITIONS = fileURLToPath(new URL("./fsm.yaml", import.meta.url));

/** How per-transition latency is measured (printed with the results). */
export const LATENCY_DEFINITION =
  "per processed message: from the moment the worker's claim (receive) of it returned, through engine.process " +
  "and the ack, until the SQLite group commit holding its writes (lease, dispatched flag, next message, " +
  "checkpoint, journal, ack) has run — i.e. until the transition is durable";

export interface EngineOptions {
  readonly dir: string;
  readonly instances: number;
  readonly steps: number;
  readonly concurrency: number;
  /** The fused transition path (false: every role's call separately). */
  readonly fused: boolean;
  /** Called with the worker's running totals while it processes (for progress output). */
  readonly onWorker?: ((stats: WorkerStats) => void) | undefined;
}

export interface EngineResult {
  readonly startupMs: number;
  readonly enqueueMs: number;
  readonly processingMs: number;
  /** CPU time (user + system) of this process during processing: steadier than wall time on a busy machine. */
  readonly cpuMs: number;
  readonly transitions: number;
  /** One entry per processed message, in ms: receive → its group commit ran (durable). */
  readonly latenciesMs: Float64Array;
  /** One entry per processed message, in ms: receive → ack returned (written, maybe not committed). */
  readonly handledMs: Float64Array;
  /** SQLite commits during the processing phase, and the longest stretch without one (ms). */
  readonly commits: number;
  readonly longestCommitGapMs: number;
  readonly outcomes: Record<string, number>;
  /** SQLite statements and commits of this process during processing. */
  readonly roundTrips: Tally;
}

export async function runEngine(options: EngineOptions): Promise<EngineResult> {
  const { dir, instances, steps, concurrency } = options;
  const uri = `sqlite:${dir}/bench.db`;

  let t = performance.now();
  const sy = await Switchyard.open({
    definitions: DEFINITIONS,
    settings: Switchyard.settings(
      { stream: uri, retry: uri, cache: uri, checkpoint: uri, metrics: uri, environment: uri, journal: uri, fused_transitions: options.fused },
      dir,
    ),
    cwd: dir,
  });
  const startupMs = performance.now() - t;

  try {
    t = performance.now();
    const items = Array.from({ length: instances }, () => ({ machineName: MACHINE, context: { limit: steps, count: 0 } }));
    const started = await sy.startMany(items);
    await nextTurn(); // let the enqueue's group commit land
    const enqueueMs = performance.now() - t;
    const failedStart = started.find((r) => !r.ok);
    if (failedStart !== undefined && !failedStart.ok) throw new Error(`could not start an instance: ${failedStart.error.message}`);

    const times: Timings = { receivedAt: new WeakMap(), awaitingCommit: [], durable: [], handled: [] };
    const observer = timingObserver(times);
    const sources = sy.sources.map((source) => observed(source, observer));
    // The Switchyard's own connection to the file (one per file per process): its commits are ours.
    const db = openSqliteDatabase(path.join(dir, "bench.db"));
    const commitTimes: number[] = [];
    const stopWatching = db.onCommit(() => {
      const now = performance.now();
      commitTimes.push(now);
      for (const start of times.awaitingCommit) times.durable.push(now - start);
      times.awaitingCommit.length = 0;
    });
    const worker = new Worker(sy.engine, sources, {
      onSettled: observer.settled,
      concurrency,
      visibilityTimeoutSeconds: sy.settings.visibilityTimeoutSeconds,
      stopWhenIdle: async () => (await sy.pending()) === 0,
    });
    const progress = options.onWorker === undefined ? undefined : setInterval(() => options.onWorker?.(worker.stats), 250);
    const counter = countSqlite();
    const cpu = process.cpuUsage();
    t = performance.now();
    let stats: WorkerStats;
    let roundTrips: Tally;
    try {
      stats = await worker.run();
      await nextTurn(); // the last group commit is part of the work
    } finally {
      roundTrips = counter.tally;
      counter.uninstall();
      clearInterval(progress);
      stopWatching();
      await db.close();
    }
    const end = performance.now();
    const processingMs = end - t;
    const used = process.cpuUsage(cpu);
    const cpuMs = (used.user + used.system) / 1000;

    await verify(sy, instances, steps, stats, times.durable.length);
    return {
      startupMs,
      enqueueMs,
      processingMs,
      cpuMs,
      transitions: instances * steps,
      latenciesMs: Float64Array.from(times.durable),
      handledMs: Float64Array.from(times.handled),
      commits: commitTimes.length,
      longestCommitGapMs: longestGap(commitTimes, t, end),
      outcomes: { ...stats.outcomes },
      roundTrips,
    };
  } finally {
    await sy.close();
  }
}

/**
 * Per-message timings: a source stamps each delivery when its claim returns; its settling (the ack,
 * or the fused commit that acknowledged it) moves the stamp to `awaitingCommit`, and the next group
 * commit (see runEngine) turns it into a latency to durability. Recording does not hold up the worker.
 */
interface Timings {
  readonly receivedAt: WeakMap<Delivery, number>;
  readonly awaitingCommit: number[];
  readonly durable: number[];
  readonly handled: number[];
}

function timingObserver({ receivedAt, awaitingCommit, handled }: Timings): SourceObserver {
  return {
    received: (delivery) => receivedAt.set(delivery, performance.now()),
    settled: (delivery, outcome) => {
      if ("next" in outcome && outcome.next !== undefined) receivedAt.set(outcome.next.delivery, performance.now());
      const start = receivedAt.get(delivery);
      if (start === undefined) return;
      handled.push(performance.now() - start);
      awaitingCommit.push(start);
    },
  };
}

/** Fail loudly unless every instance completed with exactly `steps` steps and nothing else ran. */
async function verify(sy: Switchyard, instances: number, steps: number, stats: WorkerStats, timed: number): Promise<void> {
  const problems: string[] = [];
  const expected = instances * steps;
  const completed = await sy.list({ machineName: MACHINE, status: "completed", limit: instances + 1 });
  if (completed.length !== instances) problems.push(`${completed.length} of ${instances} instances completed`);
  const miscounted = completed.filter((record) => record.userContext.count !== steps);
  if (miscounted.length > 0) {
    problems.push(`${miscounted.length} instances ended with a step count other than ${steps} (e.g. ${JSON.stringify(miscounted[0]?.userContext)})`);
  }
  const failed = await sy.list({ machineName: MACHINE, status: "failed", limit: 3 });
  if (failed.length > 0) problems.push(`instances failed, e.g. ${failed[0]?.correlationId}: ${failed[0]?.reason}`);
  if (stats.processed !== expected) problems.push(`the worker processed ${stats.processed} messages, expected ${expected}`);
  if (stats.unfinished > 0) problems.push(`${stats.unfinished} messages were left unfinished`);
  const other = Object.entries(stats.outcomes).filter(([kind]) => kind !== "dispatched" && kind !== "completed");
  if (other.length > 0) problems.push(`unexpected outcomes: ${JSON.stringify(stats.outcomes)}`);
  if (timed !== expected) problems.push(`latency recorded for ${timed} messages, expected ${expected}`);
  const pending = await sy.pending();
  if (pending !== 0) problems.push(`${pending} messages still pending`);
  if (problems.length > 0) throw new Error(`benchmark run is invalid:\n  - ${problems.join("\n  - ")}`);
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
