/**
 * Switchyard benchmark: durable transitions per second and per-transition latency of the engine on
 * the embedded SQLite backend, next to the raw-SQLite floor measured in the same run. The machine
 * is shared and noisy: compare the ratios, not the absolute figures, across runs.
 *
 *   npm run bench -- [--instances 1000] [--steps 10] [--concurrency 64] [--json]
 *   npm run bench -- --backend sqlite|postgres|redis [--workers 1,4,16] [--concurrency 16] [--json]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { CLUSTER_BACKENDS, type ClusterBackend, type ClusterResult, type FloorRun, runCluster, runPortFloor } from "./cluster.js";
import { LATENCY_DEFINITION, runEngine } from "./engine.js";
import { FLOOR_PRAGMAS, measureFloor, sqliteVersion } from "./floor.js";
import { type RoundTripFigures, roundTripFigures } from "./round-trips.js";

const USAGE = `usage: npm run bench -- [options]

Runs W instances × N steps of bench/fsm.yaml on a fresh embedded SQLite store, then the raw-SQLite
floor (better-sqlite3, same pragmas) for the same number of steps, and prints both with their ratio.

  --instances W     instances to start (default 1000)
  --steps N         durable transitions per instance (default 10)
  --concurrency C   worker concurrency (default 64)
  --json            print one JSON object with every figure on stdout
  --separate        every role's call separately: the fused transition path off (for comparison)
  --help            show this help

Cluster mode: with --backend, W instances are processed by 1, 4 and 16 worker processes sharing one
backend (PostgreSQL at SWITCHYARD_BENCH_POSTGRES, default postgres://postgres@127.0.0.1:5432/test;
Redis at SWITCHYARD_BENCH_REDIS, default redis://127.0.0.1:6379/0; or one SQLite file), and the
backend's floor (claim, send next, acknowledge through its stream port, no engine) runs in the same
run with as many concurrent loops as the workers have in flight.

  --backend B       sqlite, postgres or redis
  --workers LIST    worker process counts to run, comma-separated (default 1,4,16)
  --concurrency C   messages in flight per worker (default 16 in cluster mode)`;

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got "${value}"`);
  return n;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number;
}

const round = (x: number, digits = 2) => Number(x.toFixed(digits));
const fmt = (x: number, digits = 0) => x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      instances: { type: "string" },
      steps: { type: "string" },
      concurrency: { type: "string" },
      json: { type: "boolean", default: false },
      backend: { type: "string" },
      workers: { type: "string" },
      separate: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (values.backend !== undefined) {
    if (!(CLUSTER_BACKENDS as readonly string[]).includes(values.backend)) {
      throw new Error(`--backend must be one of ${CLUSTER_BACKENDS.join(", ")}, got "${values.backend}"`);
    }
    const workers = (values.workers ?? "1,4,16").split(",").map((w) => positiveInt("workers", w.trim(), 1));
    await clusterBench({
      backend: values.backend as ClusterBackend,
      workers,
      instances: positiveInt("instances", values.instances, 1000),
      steps: positiveInt("steps", values.steps, 10),
      concurrency: positiveInt("concurrency", values.concurrency, 16),
      json: values.json ?? false,
      fused: !values.separate,
    });
    return;
  }
  const instances = positiveInt("instances", values.instances, 1000);
  const steps = positiveInt("steps", values.steps, 10);
  const concurrency = positiveInt("concurrency", values.concurrency, 64);
  const transitions = instances * steps;
  const progress = process.stderr.isTTY ? (line: string) => process.stderr.write(`\r\x1b[K${line}`) : undefined;
  const endProgress = () => progress?.("");

  const dir = mkdtempSync(join(tmpdir(), "switchyard-bench-"));
  try {
    progress?.(`engine: ${instances} instances × ${steps} steps, concurrency ${concurrency} …`);
    const engine = await runEngine({
      dir,
      instances,
      steps,
      concurrency,
      fused: !values.separate,
      onWorker: progress && ((stats) => progress(`engine: ${fmt(stats.processed)} / ${fmt(transitions)} transitions, ${stats.inFlight} in flight`)),
    });
    // A message body of the engine's size, so the floor writes as many bytes per row.
    const body = JSON.stringify({ version: "0.1", system_context: sampleSystemContext(), user_context: { limit: steps, count: 0 } });
    progress?.(`floor: ${fmt(transitions)} steps, 1 step per transaction …`);
    const perStep = measureFloor(dir, instances, steps, 1, body);
    progress?.(`floor: ${fmt(transitions)} steps, 100 steps per transaction …`);
    const per100 = measureFloor(dir, instances, steps, 100, body);
    endProgress();

    const sorted = engine.latenciesMs.slice().sort();
    const handled = engine.handledMs.slice().sort();
    const tps = (transitions / engine.processingMs) * 1000;
    const result = {
      instances,
      steps,
      concurrency,
      fused: !values.separate,
      transitions,
      startup_ms: round(engine.startupMs),
      enqueue_ms: round(engine.enqueueMs),
      processing_ms: round(engine.processingMs),
      transitions_per_second: round(tps, 1),
      cpu_us_per_transition: round((engine.cpuMs * 1000) / transitions, 1),
      p50_ms: round(percentile(sorted, 0.5), 3),
      p99_ms: round(percentile(sorted, 0.99), 3),
      max_ms: round(sorted[sorted.length - 1] ?? Number.NaN, 3),
      latency_definition: LATENCY_DEFINITION,
      handled_p50_ms: round(percentile(handled, 0.5), 3),
      handled_p99_ms: round(percentile(handled, 0.99), 3),
      commits_during_processing: engine.commits,
      transitions_per_commit: round(transitions / Math.max(1, engine.commits), 1),
      longest_commit_gap_ms: round(engine.longestCommitGapMs),
      round_trips: roundTripFigures(engine.roundTrips, transitions),
      floor_per_step_tx_per_second: round(perStep.stepsPerSecond, 1),
      floor_100_per_tx_per_second: round(per100.stepsPerSecond, 1),
      ratios: {
        engine_over_floor_per_step_tx: round(tps / perStep.stepsPerSecond, 3),
        engine_over_floor_100_per_tx: round(tps / per100.stepsPerSecond, 3),
      },
      floor_pragmas: FLOOR_PRAGMAS,
      outcomes: engine.outcomes,
      node_version: process.version,
      sqlite_version: sqliteVersion(),
      cpus: availableParallelism(),
    };

    if (values.json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return;
    }
    const rows: Array<[string, string]> = [
      ["start-up (Switchyard.open)", `${fmt(result.startup_ms, 1)} ms`],
      ["enqueue (startMany)", `${fmt(result.enqueue_ms, 1)} ms`],
      ["processing (worker.run)", `${fmt(result.processing_ms, 1)} ms`],
      ["engine throughput", `${fmt(tps)} transitions/s`],
      ["  CPU per transition", `${fmt(result.cpu_us_per_transition, 1)} µs (user + system of this process; steadier than wall time)`],
      ["latency p50 / p99 / max", `${fmt(result.p50_ms, 2)} / ${fmt(result.p99_ms, 2)} / ${fmt(result.max_ms, 2)} ms`],
      ["  handled, p50 / p99", `${fmt(result.handled_p50_ms, 2)} / ${fmt(result.handled_p99_ms, 2)} ms (receive → ack returned, not yet committed)`],
      ["  SQLite commits", `${fmt(engine.commits)} (${fmt(result.transitions_per_commit, 1)} transitions/commit, longest gap ${fmt(result.longest_commit_gap_ms)} ms)`],
      [
        "  SQLite statements",
        `${fmt(result.round_trips.per_transition, 2)} per transition (${fmt(result.round_trips.statements)} statements; ${fmt(result.round_trips.explicit_commits)} COMMITs, ${fmt(result.round_trips.transactions - result.round_trips.explicit_commits)} statements outside a transaction)`,
      ],
      ["floor, 1 step per tx", `${fmt(perStep.stepsPerSecond)} steps/s`],
      ["floor, 100 steps per tx", `${fmt(per100.stepsPerSecond)} steps/s`],
      ["engine / floor (1 per tx)", `${fmt(result.ratios.engine_over_floor_per_step_tx, 3)}`],
      ["engine / floor (100 per tx)", `${fmt(result.ratios.engine_over_floor_100_per_tx, 3)}`],
    ];
    const width = Math.max(...rows.map(([label]) => label.length));
    const out = [
      `Switchyard bench: ${fmt(instances)} instances × ${steps} steps = ${fmt(transitions)} durable transitions, concurrency ${concurrency}`,
      `node ${result.node_version}, SQLite ${result.sqlite_version}, ${result.cpus} CPUs; floor: WAL, synchronous=${FLOOR_PRAGMAS.synchronous}, wal_autocheckpoint=${FLOOR_PRAGMAS.wal_autocheckpoint}, claim+insert+delete per step`,
      "",
      ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`),
      "",
      `latency = ${LATENCY_DEFINITION}.`,
      "A latency near the processing time, or few commits, means writes sat in one open transaction.",
      "Only ratios within one run are comparable across runs (shared, noisy machine).",
    ];
    process.stdout.write(`${out.join("\n")}\n`);
  } finally {
    endProgress();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function clusterBench(options: {
  backend: ClusterBackend;
  workers: number[];
  instances: number;
  steps: number;
  concurrency: number;
  json: boolean;
  fused: boolean;
}): Promise<void> {
  const { backend, instances, steps, concurrency } = options;
  const dir = mkdtempSync(join(tmpdir(), "switchyard-bench-"));
  const body = JSON.stringify({ version: "0.1", system_context: sampleSystemContext(), user_context: { limit: steps, count: 0 } });
  const rows: Array<{ engine: Omit<ClusterResult, "roundTrips"> | { workers: number; invalid: string }; round_trips?: RoundTripFigures; floor: FloorRun }> = [];
  try {
    for (const workers of options.workers) {
      process.stderr.write(`${backend}: ${workers} worker(s) × concurrency ${concurrency}, ${instances} × ${steps} …\n`);
      // An invalid run (an instance failed, a step missing) is reported in its row, not hidden.
      const result = await runCluster({ backend, dir, workers, instances, steps, concurrency, fused: options.fused }).catch((error: unknown) => ({
        workers,
        invalid: (error as Error).message.split("\n")[0] ?? "invalid",
      }));
      const loops = Math.min(256, workers * concurrency);
      process.stderr.write(`${backend}: floor with ${loops} concurrent loops …\n`);
      const floor = await runPortFloor({ backend, dir, loops, instances, steps, body });
      if ("invalid" in result) rows.push({ engine: result, floor });
      else {
        const { roundTrips, ...engine } = result;
        rows.push({ engine, round_trips: roundTrips, floor });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ backend, instances, steps, concurrency, fused: options.fused, node_version: process.version, cpus: availableParallelism(), runs: rows })}\n`);
    return;
  }
  const out = [
    `Switchyard cluster bench on ${backend}: ${fmt(instances)} instances × ${steps} steps, concurrency ${concurrency} per worker; node ${process.version}, ${availableParallelism()} CPUs`,
    "",
    "| workers | transitions/s | p50 / p99 ms | CPU µs/transition | round trips/transition | floor steps/s (loops) | engine / floor |",
    "|---:|---:|---:|---:|---:|---:|---:|",
    ...rows.map(({ engine, round_trips, floor }) =>
      "invalid" in engine
        ? `| ${engine.workers} | invalid run: ${engine.invalid} | | | | ${fmt(floor.stepsPerSecond)} (${floor.loops}) | |`
        : `| ${engine.workers} | ${fmt(engine.transitionsPerSecond)} | ${fmt(engine.p50Ms, 1)} / ${fmt(engine.p99Ms, 1)} | ${fmt(engine.cpuUsPerTransition)} | ${roundTripCell(backend, round_trips)} | ${fmt(floor.stepsPerSecond)} (${floor.loops}) | ${fmt(engine.transitionsPerSecond / floor.stepsPerSecond, 2)} |`,
    ),
    "",
    backend === "redis"
      ? "round trips = commands the workers sent (pipelined ones count once) per transition; the JSON has them per command, and the server's INFO commandstats."
      : `round trips = SQL statements the workers sent per transition, and the transactions (commits) among them${backend === "postgres" ? "; the JSON has them per kind, and pg_stat_database's xact_commit" : "; the JSON has them per kind"}.`,
    "latency = per message, from the worker's receive returning to its acknowledgement returning (every write of the transition done).",
    "floor = the same claim, send-next and acknowledge through the backend's stream port, no engine, in one process.",
  ];
  process.stdout.write(`${out.join("\n")}\n`);
}

/** The table cell of a run's round trips: per transition, and the commits among them on SQL stores. */
function roundTripCell(backend: ClusterBackend, figures: RoundTripFigures | undefined): string {
  if (figures === undefined) return "";
  if (backend === "redis") return fmt(figures.per_transition, 2);
  return `${fmt(figures.per_transition, 2)} (${fmt(figures.transactions_per_transition, 2)} tx)`;
}

/** A system context shaped like the engine's, for the floor's message bodies. */
function sampleSystemContext(): Record<string, unknown> {
  return {
    machine_name: "bench_loop",
    current_state: "looping",
    current_event: "again",
    correlation_id: "0123456789abcdef0123456789abcdef",
    steps: 1,
    retries: 0,
    max_retries: 0,
    started_at: Date.now() / 1000,
    lease_primary: true,
    additional_delay_seconds: 0,
    lease_timeout: 300,
  };
}

main().catch((error: unknown) => {
  process.stderr.write(`\nbench failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
