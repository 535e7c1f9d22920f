/** The worker with real time: long steps, graceful stops (in-process and by signal). */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Switchyard } from "../../src/client/switchyard.js";
import { silentLogger } from "../../src/logger.js";
import { finished, spawnCli } from "../support/cli.js";
import { PROTOCOL_FSM, compact } from "../support/protocol-harness.js";
import { lines, waitFor } from "../support/servers.js";

describe("worker", () => {
  let dir: string;
  let sy: Switchyard;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "switchyard-worker-"));
    // A visibility timeout much shorter than the slow step.
    const settings = Switchyard.settings({ stream: `sqlite:${dir}/w.db`, visibility_timeout: 1 }, dir);
    sy = await Switchyard.open({ definitions: PROTOCOL_FSM, settings, logger: silentLogger, cwd: dir });
  });
  afterEach(async () => {
    await sy.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps a step longer than the visibility timeout claimed: no second delivery", async () => {
    const { correlationId } = await sy.start("slow", { context: { sleep_ms: 2_500 } });
    const stats = await sy.worker({ concurrency: 4, stopWhenIdle: async () => (await sy.pending()) === 0 }).run();
    expect(stats.received).toBe(2);
    expect((await sy.history(correlationId)).map(compact)).toEqual([
      ["pseudo_init", "pseudo_init", 0, 0, "stream", "primary"],
      ["sleeping", "go", 1, 0, "stream", "primary"],
    ]);
    expect(await sy.errors(correlationId)).toEqual([]);
    expect((await sy.status(correlationId)).status).toBe("completed");
  });

  it("run stops when the instance waits: its after: timer stays pending for a worker", async () => {
    const result = await sy.run("expense", { context: { next: { charging: "charged" } } });
    expect(result).toMatchObject({ status: "waiting", state: "review" });
    expect(result.messages.map(compact)).toEqual([
      ["pseudo_init", "pseudo_init", 0, 0, "stream", "primary"],
      ["charging", "charged", 1, 0, "stream", "primary"],
      ["review", "pseudo_timer", 2, 0, "retry", "primary"],
    ]);
    expect(await sy.pending(result.correlation_id)).toBe(1);
  });

  it("runs with the optional roles switched off", async () => {
    const settings = Switchyard.settings({ stream: `sqlite:${dir}/off.db`, checkpoint: false, metrics: false, environment: false }, dir);
    const off = await Switchyard.open({ definitions: PROTOCOL_FSM, settings, logger: silentLogger, cwd: dir });
    try {
      expect([off.roles.checkpoint, off.roles.metrics, off.roles.environment]).toEqual([undefined, undefined, undefined]);
      const result = await off.run("simple", { context: { fail: ["1:0"] } });
      expect(result.status).toBe("completed");
      expect(result.errors.map((e) => e.counters)).toEqual([{ retry: 1 }]);
    } finally {
      await off.close();
    }
  });

  it("stop() lets in-flight messages finish and takes no new work", async () => {
    const { correlationId } = await sy.start("slow", { context: { sleep_ms: 800 } });
    const worker = sy.worker({ concurrency: 4 });
    const running = worker.run();
    setTimeout(() => worker.stop(), 200);
    const stats = await running;
    expect(stats.processed).toBe(1);
    expect(stats.outcomes).toEqual({ dispatched: 1 });
    expect(await sy.pending(correlationId)).toBe(1);
    expect((await sy.status(correlationId)).state).toBe("sleeping");
  });

  it("past the shutdown timeout, in-flight messages are handed back for redelivery", async () => {
    // More in flight than an AbortSignal's default listener limit (10): they share the worker's one.
    const started = await sy.startMany(Array.from({ length: 12 }, () => ({ machineName: "slow", context: { sleep_ms: 3_000 } })));
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on("warning", onWarning);
    const worker = sy.worker({ concurrency: 16, shutdownTimeoutSeconds: 0.3 });
    const running = worker.run();
    setTimeout(() => worker.stop(), 200);
    const began = Date.now();
    const stats = await running;
    await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
    process.off("warning", onWarning);
    expect(Date.now() - began).toBeLessThan(2_000);
    expect(stats).toMatchObject({ received: 12, unfinished: 12, abandoned: 12 });
    expect(warnings).toEqual([]);
    // Handed back: deliverable again at once, although its visibility timeout has not run out.
    const correlationId = started[0]?.ok ? started[0].correlationId : "";
    const [again] = await sy.sources[0]!.receive({ max: 1, visibilityTimeoutSeconds: 30, correlationId });
    expect(again?.receiveCount).toBe(2);
  });

  it("SIGTERM: the CLI worker finishes its in-flight message and exits 0", async () => {
    const { correlationId } = await sy.start("slow", { context: { sleep_ms: 3_000 } });
    const settingsFile = path.join(dir, "settings.yaml");
    // The probe below (claimed) receives the message itself until the worker has it, and each
    // probe counts as a delivery: on a slow machine the worker would find it over the default
    // max_receive_count and dead-letter it instead of processing it.
    writeFileSync(settingsFile, `stream: sqlite:${dir}/w.db\nmax_receive_count: 1000\n`);
    const child = spawnCli(["worker", "-d", PROTOCOL_FSM, "--settings", settingsFile], { cwd: dir });
    const done = finished(child, 60_000);
    let stderr = "";
    child.stderr?.on("data", (chunk) => (stderr += chunk));
    // Wait until the worker has claimed the message (it is then invisible to others).
    for (let i = 0; i < 200 && (await sy.pending(correlationId)) > 0 && !(await claimed(correlationId)); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    child.kill("SIGTERM");
    const result = await done;
    expect(result.code, result.stderr).toBe(0);
    expect(stderr).toMatch(/SIGTERM: finishing 1 in-flight message\(s\) \(handing them back after 30 s\)/);
    expect((await sy.status(correlationId)).state).toBe("sleeping");
    expect(await sy.pending(correlationId)).toBe(1);
  });

  it("SIGINT during a long step: past --shutdown-timeout the CLI worker releases the lease, hands the message back and exits; a new worker runs it at once", async () => {
    const sleepLog = path.join(dir, "sleeps.log");
    writeFileSync(sleepLog, "");
    // The first execution would take ten minutes; the next one is quick.
    const { correlationId } = await sy.start("slow", { context: { first_sleep_ms: 600_000, sleep_ms: 10 } });
    const settingsFile = path.join(dir, "settings.yaml");
    writeFileSync(settingsFile, `stream: sqlite:${dir}/w.db\n`);
    const env = { SLEEP_LOG: sleepLog };
    const child = spawnCli(["worker", "-d", PROTOCOL_FSM, "--settings", settingsFile, "--shutdown-timeout", "0.5"], { cwd: dir, env });
    const stopped = finished(child, 20_000);
    await waitFor(() => lines(sleepLog).length === 1, 20_000);
    child.kill("SIGINT");
    const first = await stopped;
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/shutdown timeout: handing 1 in-flight message\(s\) back for redelivery/);
    expect(first.stderr).toMatch(/1 left for redelivery/);
    expect(first.stderr).not.toMatch(/after the database was closed/);

    const second = await finished(spawnCli(["worker", "-d", PROTOCOL_FSM, "--settings", settingsFile, "--until-idle"], { cwd: dir, env }), 20_000);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).not.toMatch(/lease/);
    // Ran again with a higher fence token (a redelivery starts 1,000 above: FENCE_REDELIVERY_GAP);
    // no lease was in the way (no cache error, no retry).
    expect(lines(sleepLog)).toEqual([`${correlationId} 1`, `${correlationId} 1001`]);
    expect(await sy.status(correlationId)).toMatchObject({ status: "completed", state: "end" });
    expect(await sy.errors(correlationId)).toEqual([]);
    expect((await sy.history(correlationId)).map(compact)).toEqual([
      ["pseudo_init", "pseudo_init", 0, 0, "stream", "primary"],
      ["sleeping", "go", 1, 0, "stream", "primary"],
    ]);
  });

  it("a worker that finds a lease held says once what it waits for and until when, then runs the step", async () => {
    const { correlationId } = await sy.start("simple");
    // Another worker holds the instance's lease for step 0 for a few seconds.
    await sy.roles.cache.primary.acquireLease(correlationId, 0, 0, 4);
    const held = await sy.roles.cache.primary.acquireLease(correlationId, 0, 0, 4);
    if (held.acquired || held.heldUntil === undefined) throw new Error("the lease should be held, with its expiry");
    const settingsFile = path.join(dir, "settings.yaml");
    writeFileSync(settingsFile, `stream: sqlite:${dir}/w.db\n`);
    const result = await finished(spawnCli(["worker", "-d", PROTOCOL_FSM, "--settings", settingsFile, "--until-idle"], { cwd: dir }), 30_000);
    expect(result.code, result.stderr).toBe(0);
    const waits = result.stderr.split("\n").filter((line) => line.includes("lease"));
    expect(waits).toEqual([
      expect.stringContaining(
        `switchyard warn: waiting for the lease of instance ${correlationId} (steps 0, retries 0): held until ${new Date(held.heldUntil).toISOString()} by another processing; its message is retried then`,
      ),
    ]);
    expect(await sy.status(correlationId)).toMatchObject({ status: "completed" });
  });

  async function claimed(correlationId: string): Promise<boolean> {
    // A claimed message is not delivered to another consumer.
    const [delivery] = await sy.sources[0]!.receive({ max: 1, visibilityTimeoutSeconds: 0.001, correlationId });
    return delivery === undefined;
  }
});
