/**
 * The cluster benchmark: W instances × N steps of bench/fsm.yaml processed by 1, 4 or 16 worker
 * processes sharing one backend (SQLite file, PostgreSQL, Redis), and in the same run that
 * backend's floor: the same stream reads and writes a transition needs at minimum (claim the
 * message, send the next one, acknowledge) through the backend's own ports, with no engine.
 *
 * Round trips: each worker counts the statements or commands it sends (bench/counters.ts); the
 * driver sums them and reads the server's own count around the run as a cross-check
 * (`pg_stat_database.xact_commit`, Redis `INFO commandstats`).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import pg from "pg";
import { openBackend } from "../src/settings/backends.js";
import { Switchyard } from "../src/client/switchyard.js";
import { silentLogger } from "../src/logger.js";
import { systemClock, type MessageSource, type StreamPort } from "../src/ports.js";
import type { SettingsConfig } from "../src/settings/settings.js";
import { deleteRedisKeys, dropSchemas } from "../test/support/servers.js";
import type { WorkerReport } from "./cluster-worker.js";
import { DEFINITIONS, MACHINE } from "./engine.js";
import { parseCommandstats, type RoundTripFigures, roundTripFigures, type ServerCount, serverDelta, sumTallies } from "./round-trips.js";

export const CLUSTER_BACKENDS = ["sqlite", "postgres", "redis"] as const;
export type ClusterBackend = (typeof CLUSTER_BACKENDS)[number];

/** Where the servers are (override with SWITCHYARD_BENCH_POSTGRES / SWITCHYARD_BENCH_REDIS). */
const POSTGRES = process.env.SWITCHYARD_BENCH_POSTGRES ?? "postgres://postgres@127.0.0.1:5432/test";
const REDIS = process.env.SWITCHYARD_BENCH_REDIS ?? "redis://127.0.0.1:6379/0";

/** Connections a PostgreSQL bench may open in all (the server's default max_connections is 100). */
const POSTGRES_CONNECTIONS = 80;

/**
 * Settings for one run on `backend` with `workers` processes: every role it can serve, the others
 * switched off. PostgreSQL pools are sized so that all workers together (each with one more
 * connection for LISTEN) stay below the server's connection limit.
 */
export function clusterSettings(backend: ClusterBackend, dir: string, run: string, workers = 1, concurrency = 16, fused = true): SettingsConfig {
  return { ...backendSettings(backend, dir, run, workers, concurrency), fused_transitions: fused };
}

function backendSettings(backend: ClusterBackend, dir: string, run: string, workers: number, concurrency: number): SettingsConfig {
  switch (backend) {
    case "sqlite": {
      // group-durable: a port call resolves once its group committed, so "ack returned" is durable.
      const uri = `sqlite:${dir}/${run}.db?commit=group-durable`;
      return { stream: uri, retry: uri, cache: uri, checkpoint: uri, metrics: false, environment: false, journal: uri };
    }
    case "postgres": {
      const pool = Math.max(1, Math.min(concurrency, Math.floor(POSTGRES_CONNECTIONS / workers) - 1));
      const uri = withParam(withParam(POSTGRES, "schema", run), "pool", String(pool));
      return { stream: uri, retry: uri, cache: uri, checkpoint: uri, metrics: false, environment: false, journal: uri };
    }
    case "redis": {
      const uri = withParam(REDIS, "prefix", run);
      return { stream: uri, retry: uri, cache: uri, checkpoint: false, metrics: false, environment: false, journal: false };
    }
  }
}

function withParam(uri: string, name: string, value: string): string {
  return `${uri}${uri.includes("?") ? "&" : "?"}${name}=${value}`;
}

export interface ClusterResult {
  readonly workers: number;
  readonly transitions: number;
  readonly processingMs: number;
  readonly transitionsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuUsPerTransition: number;
  /** Statements or commands the workers sent, summed, with the server's own count beside them. */
  readonly roundTrips: RoundTripFigures;
}

/** Start the instances, run `workers` worker processes to the end, and check every step ran once. */
export async function runCluster(options: {
  backend: ClusterBackend;
  dir: string;
  workers: number;
  instances: number;
  steps: number;
  concurrency: number;
  /** The fused transition path where the roles allow it (false: every role's call separately). */
  fused: boolean;
}): Promise<ClusterResult> {
  const { backend, dir, workers, instances, steps, concurrency } = options;
  const run = `bench_${randomBytes(4).toString("hex")}`;
  const config = clusterSettings(backend, dir, run, workers, concurrency, options.fused);
  const settingsFile = join(dir, `${run}.settings.json`);
  writeFileSync(settingsFile, JSON.stringify(config));
  const sy = await Switchyard.open({ definitions: DEFINITIONS, settings: Switchyard.settings(config, dir), logger: silentLogger });
  const children: ChildProcess[] = [];
  const server = await serverCounter(backend);
  try {
    const started = await sy.startMany(Array.from({ length: instances }, () => ({ machineName: MACHINE, context: { limit: steps, count: 0 } })));
    const failed = started.find((r) => !r.ok);
    if (failed !== undefined && !failed.ok) throw new Error(`could not start an instance: ${failed.error.message}`);

    const script = join(import.meta.dirname, "cluster-worker.ts");
    const outputs: Array<Promise<string>> = [];
    const ready: Array<Promise<void>> = [];
    for (let i = 0; i < workers; i++) {
      // SWITCHYARD_BENCH_PROFILE_DIR=DIR writes a V8 CPU profile of each worker there.
      const profile = process.env.SWITCHYARD_BENCH_PROFILE_DIR;
      const flags = profile === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", profile];
      const child = spawn(process.execPath, [...flags, "--import", "tsx", script, settingsFile, String(concurrency)], { stdio: ["pipe", "pipe", "inherit"] });
      children.push(child);
      let out = "";
      let signalReady: () => void = () => {};
      ready.push(new Promise<void>((resolve) => (signalReady = resolve)));
      child.stdout?.on("data", (chunk) => {
        out += String(chunk);
        if (out.includes("ready\n")) signalReady();
      });
      outputs.push(
        new Promise((resolve, reject) => {
          child.on("error", reject);
          child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`bench worker ${i + 1} exited with code ${code}`))));
        }),
      );
    }
    await Promise.all(ready);
    const serverBefore = await server?.read();
    const t0 = Date.now();
    for (const child of children) child.stdin?.write("go\n");
    const reports = (await Promise.all(outputs)).map((out) => JSON.parse(out.slice(out.indexOf("ready\n") + 6).trim()) as WorkerReport);
    // The workers have exited, so their connections are closed and the server has their counts.
    const serverAfter = await server?.read();
    const end = Math.max(...reports.map((r) => r.endedAt));
    const transitions = instances * steps;
    const processed = reports.reduce((n, r) => n + r.processed, 0);
    const unexpected = reports.flatMap((r) => Object.entries(r.outcomes)).filter(([kind]) => kind !== "dispatched" && kind !== "completed");
    if (processed !== transitions || unexpected.length > 0 || reports.some((r) => r.unfinished > 0)) {
      throw new Error(`benchmark run is invalid: ${processed} of ${transitions} transitions processed, outcomes ${JSON.stringify(reports.map((r) => r.outcomes))}`);
    }
    const latencies = Float64Array.from(reports.flatMap((r) => r.latenciesMs)).sort();
    const processingMs = end - t0;
    return {
      workers,
      transitions,
      processingMs,
      transitionsPerSecond: (transitions / processingMs) * 1000,
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      cpuUsPerTransition: (reports.reduce((n, r) => n + r.cpuMs, 0) * 1000) / transitions,
      roundTrips: roundTripFigures(
        sumTallies(reports.map((r) => r.roundTrips)),
        transitions,
        serverBefore === undefined || serverAfter === undefined ? undefined : serverDelta(serverBefore, serverAfter),
      ),
    };
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
    await server?.close();
    await sy.close();
    await dropRun(backend, config);
  }
}

/**
 * A connection that reads what the server itself counts: PostgreSQL's committed transactions in
 * the bench's database, Redis's calls per command (without this connection's own INFO calls).
 * Both are server-wide: whatever else runs on the server at the same time adds to them.
 */
async function serverCounter(backend: ClusterBackend): Promise<{ read(): Promise<ServerCount>; close(): Promise<void> } | undefined> {
  if (backend === "postgres") {
    const client = new pg.Client({ connectionString: POSTGRES.split("?")[0], application_name: "switchyard-bench" });
    await client.connect();
    return {
      async read() {
        const { rows } = await client.query<{ n: string }>("SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()");
        return { kind: "postgres", xactCommit: Number(rows[0]?.n ?? 0) };
      },
      close: () => client.end(),
    };
  }
  if (backend === "redis") {
    const redis = new Redis(REDIS, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    return {
      async read() {
        const { info: _ownCalls, ...byCommand } = parseCommandstats(await redis.info("commandstats"));
        return { kind: "redis", byCommand };
      },
      close: async () => {
        redis.disconnect();
      },
    };
  }
  return undefined;
}

export interface FloorRun {
  readonly loops: number;
  readonly steps: number;
  readonly stepsPerSecond: number;
}

/**
 * The backend's floor: `loops` concurrent loops in this process, each claiming one message,
 * sending the instance's next one and acknowledging, for `instances × steps` steps in all.
 */
export async function runPortFloor(options: { backend: ClusterBackend; dir: string; loops: number; instances: number; steps: number; body: string }): Promise<FloorRun> {
  const { backend, dir, loops, instances, steps, body } = options;
  const run = `floor_${randomBytes(4).toString("hex")}`;
  const config = clusterSettings(backend, dir, run);
  const uri = config.stream as string;
  const store = await openBackend(uri, { clock: systemClock, baseDir: dir, endpoints: {}, logger: silentLogger });
  try {
    const stream = store.stream?.("primary") as (StreamPort & MessageSource) | undefined;
    if (stream === undefined) throw new Error(`${uri} has no stream`);
    const first = Array.from({ length: instances }, (_, i) => ({ correlationId: `f${i}`, steps: 1, retries: 0, body, delaySeconds: 0 }));
    for (let i = 0; i < first.length; i += 500) await stream.sendBatch(first.slice(i, i + 500));
    const total = instances * steps;
    let done = 0;
    let sent = instances;
    const t0 = performance.now();
    const loop = async () => {
      while (done < total) {
        const [delivery] = await stream.receive({ max: 1, visibilityTimeoutSeconds: 60 });
        if (delivery === undefined) {
          await new Promise((resolve) => setTimeout(resolve, 1));
          continue;
        }
        if (sent < total) {
          sent++;
          await stream.send({ correlationId: `f${sent % instances}`, steps: 2, retries: 0, body, delaySeconds: 0 });
        }
        await stream.ack(delivery);
        done++;
      }
    };
    await Promise.all(Array.from({ length: loops }, loop));
    const ms = performance.now() - t0;
    return { loops, steps: total, stepsPerSecond: (total / ms) * 1000 };
  } finally {
    await store.close();
    await dropRun(backend, config);
  }
}

/** Remove what a run left on a server (its PostgreSQL schema, its Redis keys). */
async function dropRun(backend: ClusterBackend, config: SettingsConfig): Promise<void> {
  const uri = config.stream as string;
  const name = new URL(uri.replace(/^sqlite:/, "sqlite://")).searchParams.get(backend === "postgres" ? "schema" : "prefix");
  if (name === null) return;
  if (backend === "postgres") await dropSchemas(name, POSTGRES.split("?")[0]);
  if (backend === "redis") await deleteRedisKeys(name, REDIS);
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number;
}
