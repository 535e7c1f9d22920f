/**
 * One benchmark worker process: opens Switchyard on the given settings, prints `ready`, waits for
 * `go` on stdin (so every worker starts at once), processes until no work is left anywhere, and
 * prints its figures as one JSON line, with the statements or commands it sent its store from `go`
 * to the end (bench/counters.ts).
 *
 *   node --import tsx bench/cluster-worker.ts SETTINGS_JSON_FILE CONCURRENCY
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { Switchyard } from "../src/client/switchyard.js";
import { silentLogger } from "../src/logger.js";
import type { Delivery } from "../src/ports.js";
import { Worker } from "../src/client/worker.js";
import { countFor } from "./counters.js";
import { DEFINITIONS } from "./engine.js";
import type { ProcessOutcome } from "../src/engine/engine.js";
import { observed } from "./observed-source.js";
import type { Tally } from "./round-trips.js";

/** What a worker reports to the driver. */
export interface WorkerReport {
  readonly processed: number;
  readonly unfinished: number;
  readonly outcomes: Record<string, number>;
  /** Receive → ack returned, ms, one per acknowledged message. */
  readonly latenciesMs: number[];
  /** Wall-clock ms (epoch) when this worker finished. */
  readonly endedAt: number;
  readonly cpuMs: number;
  /** Statements (SQL) or commands (Redis) this worker sent from `go` to its end. */
  readonly roundTrips: Tally;
}

async function main(): Promise<void> {
  const [settingsFile, concurrency] = process.argv.slice(2);
  if (settingsFile === undefined || concurrency === undefined) {
    throw new Error("usage: cluster-worker.ts SETTINGS_JSON_FILE CONCURRENCY");
  }
  const config = JSON.parse(readFileSync(settingsFile, "utf8")) as Record<string, unknown>;
  const counter = countFor(String(config.stream));
  const sy = await Switchyard.open({
    definitions: DEFINITIONS,
    settings: Switchyard.settings(config, path.dirname(settingsFile)),
    logger: silentLogger,
  });
  try {
    const latencies: number[] = [];
    const receivedAt = new WeakMap<Delivery, number>();
    const observer = {
      received: (delivery: Delivery) => receivedAt.set(delivery, performance.now()),
      settled: (delivery: Delivery, outcome: ProcessOutcome) => {
        if ("next" in outcome && outcome.next !== undefined) receivedAt.set(outcome.next.delivery, performance.now());
        const start = receivedAt.get(delivery);
        if (start !== undefined) latencies.push(performance.now() - start);
      },
    };
    const sources = sy.sources.map((source) => observed(source, observer));
    const worker = new Worker(sy.engine, sources, {
      onSettled: observer.settled,
      concurrency: Number(concurrency),
      visibilityTimeoutSeconds: sy.settings.visibilityTimeoutSeconds,
      maxPollIntervalMs: 20,
      stopWhenIdle: async () => (await sy.pending()) === 0,
    });
    process.stdout.write("ready\n");
    await new Promise<void>((resolve) => {
      process.stdin.on("data", (chunk) => {
        if (String(chunk).includes("go")) resolve();
      });
    });
    process.stdin.pause();
    counter.reset();
    const cpu = process.cpuUsage();
    const stats = await worker.run();
    const used = process.cpuUsage(cpu);
    const roundTrips = counter.tally;
    const report: WorkerReport = {
      processed: stats.processed,
      unfinished: stats.unfinished,
      outcomes: { ...stats.outcomes },
      latenciesMs: latencies,
      endedAt: Date.now(),
      cpuMs: (used.user + used.system) / 1000,
      roundTrips,
    };
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } finally {
    await sy.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench worker failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
