/** `switchyard worker --metrics-port`: a real worker process, scraped over HTTP as Prometheus does. */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { WorkerMetrics } from "../../src/client/prometheus.js";
import { Switchyard } from "../../src/client/switchyard.js";
import { silentLogger } from "../../src/logger.js";
import { type CliResult, finished, runCli, spawnCli } from "../support/cli.js";
import { PROTOCOL_FSM } from "../support/protocol-harness.js";
import { POSTGRES_URL, dropSchemas, nameFor, needs, uniqueName, waitFor } from "../support/servers.js";

/** The value of one sample line (`name{labels} value`) of a scrape, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("worker metrics", () => {
  let dir: string;
  let sy: Switchyard;
  let settingsFile: string;
  let worker: ChildProcess | undefined;
  let workerDone: Promise<CliResult> | undefined;
  let stderr: string;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "switchyard-metrics-"));
    settingsFile = path.join(dir, "settings.yaml");
    writeFileSync(settingsFile, `stream: sqlite:${dir}/w.db\nretry: sqlite:${dir}/w.db\ncache: sqlite:${dir}/w.db\n`);
    sy = await Switchyard.open({ definitions: PROTOCOL_FSM, settings: settingsFile, logger: silentLogger, cwd: dir });
    stderr = "";
  });
  afterEach(async () => {
    worker?.kill("SIGKILL");
    await workerDone;
    worker = undefined;
    workerDone = undefined;
    await sy.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Start a CLI worker with `--metrics-port 0`; resolves with the URL it printed. */
  async function startWorker(): Promise<string> {
    worker = spawnCli(["worker", "-d", PROTOCOL_FSM, "--settings", settingsFile, "--metrics-port", "0"], { cwd: dir });
    workerDone = finished(worker, 120_000);
    worker.stderr?.on("data", (chunk) => (stderr += chunk));
    await waitFor(() => /metrics on (http:\S+)/.test(stderr), 30_000);
    return (/metrics on (http:\S+)/.exec(stderr) as RegExpExecArray)[1] as string;
  }

  it("counts transitions by outcome, the engine's error counters, processing time and pending messages", async () => {
    await sy.start("simple", { context: {} });
    await sy.start("simple", { context: {} });
    // Its step 1 fails once: a retry, then it completes.
    await sy.start("simple", { context: { fail: ["1:0"] } });
    // Each instance: steps 0 and 1 dispatched, step 2 completed; plus the failed attempt of step 1
    // (retrying) and the one retry error the engine emits for it, under that message's state and event.
    const url = await startWorker();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);

    let text = "";
    const deadline = Date.now() + 60_000;
    while (sample(text, 'switchyard_transitions_total{machine="simple",outcome="completed"}') !== 3 && Date.now() < deadline) {
      const response = await fetch(url);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
      text = await response.text();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(sample(text, 'switchyard_transitions_total{machine="simple",outcome="completed"}'), stderr).toBe(3);
    expect(sample(text, 'switchyard_transitions_total{machine="simple",outcome="dispatched"}')).toBe(6);
    expect(sample(text, 'switchyard_transitions_total{machine="simple",outcome="retrying"}')).toBe(1);
    expect(sample(text, 'switchyard_errors_total{machine="simple",state="start",event="go",counter="retry"}')).toBe(1);
    expect(text.match(/^switchyard_errors_total\{.*$/gm)).toHaveLength(1);
    expect(sample(text, 'switchyard_processing_seconds_count{machine="simple"}')).toBe(10);
    expect(sample(text, "switchyard_in_flight")).toBe(0);
    expect(sample(text, 'switchyard_pending_messages{source="stream.primary"}')).toBe(0);
    expect(sample(text, 'switchyard_pending_messages{source="retry.primary"}')).toBe(0);
    expect(sample(text, 'switchyard_queue_lag_seconds{source="stream.primary"}')).toBe(0);
    expect(sample(text, 'switchyard_queue_lag_seconds{source="retry.primary"}')).toBe(0);
    expect(sample(text, "switchyard_lease_wait_seconds_total")).toBeGreaterThanOrEqual(0);
    // prom-client's default process metrics, on the worker's own registry.
    expect(sample(text, "process_cpu_user_seconds_total")).toBeGreaterThan(0);

    const other = await fetch(new URL("/other", url));
    expect(other.status).toBe(404);
    await other.text();
  });

  it("counts the lease hand-over wait and the cache error of a lease still held (a worker in code)", async () => {
    // Sleeps take no time: the hand-over waits its fixed schedule (2 + 4 + … + 512 ms) at once.
    const clock = { now: () => Date.now(), sleep: async () => {} };
    const held = await Switchyard.open({ definitions: PROTOCOL_FSM, settings: Switchyard.settings({ stream: `sqlite:${dir}/held.db` }, dir), logger: silentLogger, clock, cwd: dir });
    try {
      const { correlationId } = await held.start("simple", { context: {} });
      // Another processing of the instance holds its lease for a minute.
      expect((await held.roles.cache.primary.acquireLease(correlationId, 0, 5, 60)).acquired).toBe(true);
      const metrics = await WorkerMetrics.create({ defaultMetrics: false });
      const worker = held.worker({ metrics, stopWhenIdle: async () => worker.stats.processed >= 1 });
      await worker.run();
      const text = await metrics.registry.metrics();
      expect(sample(text, "switchyard_lease_wait_seconds_total")).toBe(1.022);
      expect(sample(text, 'switchyard_transitions_total{machine="simple",outcome="retrying"}')).toBe(1);
      expect(sample(text, 'switchyard_errors_total{machine="simple",state="pseudo_init",event="pseudo_init",counter="cache"}')).toBe(1);
      expect(sample(text, 'switchyard_processing_seconds_count{machine="simple"}')).toBe(1);
      expect(text).not.toMatch(/^process_/m);
    } finally {
      await held.close();
    }
  });

  it("a metrics port in use is one line naming the port and the remedy", async () => {
    const url = await startWorker();
    const port = new URL(url).port;
    const second = await runCli(["worker", "-d", PROTOCOL_FSM, "--settings", settingsFile, "--metrics-port", port], { cwd: dir });
    expect(second.code).toBe(1);
    expect(second.stderr.trim()).toBe(`switchyard: cannot serve metrics on 127.0.0.1:${port}: the port is in use; choose another port (0 picks a free one)`);
  });
});

const RUN = uniqueName("sy_metrics");

describe.each([
  ["sqlite", (dir: string) => `sqlite:${dir}/lag.db`],
  ["postgres", (dir: string) => `${POSTGRES_URL}?schema=${nameFor(RUN, dir, "lag")}`],
])("queue lag on %s", needs("postgres"), (_name, storeFor) => {
  let dir: string;
  let store: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "switchyard-lag-"));
    store = storeFor(dir);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  afterAll(() => dropSchemas(RUN));

  it("is the age of the oldest due message of a source, on the source's clock; a claimed one is not due", async () => {
    let now = 1_000_000;
    const clock = { now: () => now, sleep: async () => {} };
    const timed = await Switchyard.open({ definitions: PROTOCOL_FSM, settings: Switchyard.settings({ stream: store, retry: store, cache: store }, dir), logger: silentLogger, clock, cwd: dir });
    try {
      const stream = timed.sources.find((source) => source.role === "stream" && source.side === "primary");
      const retry = timed.sources.find((source) => source.role === "retry" && source.side === "primary");
      expect(await stream?.oldestDueAgeMs?.()).toBe(0);
      await timed.start("simple", { context: {} });
      now += 1_500;
      await timed.start("simple", { context: {} });
      now += 5_000;
      expect(await stream?.oldestDueAgeMs?.()).toBe(6_500);
      // A claimed message is not due: the other one is now the oldest.
      const [first] = (await stream?.receive({ max: 1, visibilityTimeoutSeconds: 30 })) ?? [];
      expect(first).toBeDefined();
      expect(await stream?.oldestDueAgeMs?.()).toBe(5_000);
      expect(await retry?.oldestDueAgeMs?.()).toBe(0);
    } finally {
      await timed.close();
    }
  });
});
