/**
 * A self-hosted cluster: four worker processes share PostgreSQL (stream, retry, checkpoints,
 * metrics, journal) and Redis (leases and dispatched flags). One of them is killed with SIGKILL
 * mid-run; the others finish every instance, no step runs twice unless the kill interrupted it,
 * and fence tokens never go backwards.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Switchyard } from "../../src/client/switchyard.js";
import { silentLogger } from "../../src/logger.js";
import { finished, ROOT, spawnCli } from "../support/cli.js";
import { deleteRedisKeys, dropSchemas, lines, POSTGRES_URL, REDIS_URL, uniqueName, waitFor } from "../support/servers.js";

const FSM = path.join(ROOT, "test/fixtures/crash/fsm.yaml");
const INSTANCES = 1000;
const STEPS = 4;
const WORKERS = 4;

describe("distributed: 4 workers on PostgreSQL + Redis, one killed with SIGKILL", () => {
  const run = uniqueName("dist");
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "switchyard-distributed-"));
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await dropSchemas(run);
    await deleteRedisKeys(run);
  });

  it("every instance completes, each step once unless interrupted, fence tokens only grow", async () => {
    const effects = path.join(dir, "effects.log");
    writeFileSync(effects, "");
    const settingsFile = path.join(dir, "settings.yaml");
    const pgUri = `${POSTGRES_URL}?schema=${run}`;
    writeFileSync(
      settingsFile,
      [
        `stream: ${pgUri}`,
        `retry: ${pgUri}`,
        `cache: ${REDIS_URL}?prefix=${run}`,
        `checkpoint: ${pgUri}`,
        `metrics: ${pgUri}`,
        `journal: ${pgUri}`,
        // Short timeouts so the killed worker's claims and leases come back quickly.
        "visibility_timeout: 3",
        "lease_timeout: 3",
        "",
      ].join("\n"),
    );
    const open = () => Switchyard.open({ definitions: FSM, settings: settingsFile, logger: silentLogger });

    const sy = await open();
    const started = await sy.startMany(Array.from({ length: INSTANCES }, () => ({ machineName: "crash", context: { steps: STEPS } })));
    expect(started.filter((r) => !r.ok)).toEqual([]);
    const ids = started.map((r) => r.correlationId);
    await sy.close();

    const args = ["worker", "-d", FSM, "--settings", settingsFile, "--concurrency", "8", "--until-idle", "--quiet"];
    const workers = Array.from({ length: WORKERS }, () => spawnCli(args, { cwd: dir, env: { CRASH_EFFECTS: effects } }));
    const results = workers.map((child) => finished(child, 240_000));
    const victim = workers[0];
    if (victim?.pid === undefined) throw new Error("worker did not start");
    // Kill one worker once it has done a share of the work, well before the end.
    await waitFor(() => lines(effects).filter((line) => line.startsWith(`${victim.pid} `)).length >= 100, 120_000);
    victim.kill("SIGKILL");
    const outcomes = await Promise.all(results);
    expect(outcomes[0]?.signal).toBe("SIGKILL");
    for (const outcome of outcomes.slice(1)) expect(outcome.code, outcome.stderr).toBe(0);

    const check = await open();
    const statuses = await Promise.all(ids.map((id) => check.status(id)));
    await check.close();
    expect(statuses.filter((s) => s.status !== "completed" || s.userContext.count !== STEPS)).toEqual([]);

    const executions = lines(effects).map((line) => {
      const [pid, id, steps, _retries, fence] = line.split(" ");
      return { pid: Number(pid), key: `${id} ${steps}`, id: id as string, fence: Number(fence) };
    });
    // Every step ran; a step ran more than once only where the killed worker had been running it.
    const byKey = new Map<string, number[]>();
    for (const e of executions) byKey.set(e.key, [...(byKey.get(e.key) ?? []), e.pid]);
    expect(byKey.size).toBe(INSTANCES * STEPS);
    const repeated = [...byKey].filter(([, pids]) => pids.length > 1);
    const unexplained = repeated.filter(([, pids]) => pids.slice(0, -1).some((pid) => pid !== victim.pid));
    expect(unexplained).toEqual([]);
    // At most the victim's in-flight steps (its concurrency) were interrupted.
    expect(repeated.length).toBeLessThanOrEqual(8);
    // Fence tokens never go backwards within an instance.
    const lastFence = new Map<string, number>();
    for (const e of executions) {
      expect(e.fence).toBeGreaterThan(lastFence.get(e.id) ?? 0);
      lastFence.set(e.id, e.fence);
    }
    // The survivors did the rest of the work.
    expect(new Set(executions.map((e) => e.pid)).size).toBe(WORKERS);
  }, 300_000);
});
