/**
 * A self-hosted cluster: four worker processes share PostgreSQL (stream, retry, checkpoints,
 * metrics, journal) and Redis (leases and dispatched flags) — each role over its own port — or
 * PostgreSQL alone, where they take the fused transition path. One of them is killed with SIGKILL
 * mid-run; the others finish every instance, no step runs twice unless the kill interrupted it,
 * and fence tokens never go backwards.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Switchyard } from "../../src/client/switchyard.js";
import { silentLogger } from "../../src/logger.js";
import { ROOT } from "../support/cli.js";
import { checkExecutions, runWorkersKillingOne } from "../support/cluster.js";
import { deleteRedisKeys, dropSchemas, needs, POSTGRES_URL, REDIS_URL, uniqueName } from "../support/servers.js";

const FSM = path.join(ROOT, "test/fixtures/crash/fsm.yaml");
const INSTANCES = 1000;
const STEPS = 4;
const WORKERS = 4;

describe.each([
  ["PostgreSQL + Redis, separate role calls", "redis"],
  ["PostgreSQL alone, fused transition path", "postgres"],
] as const)("distributed: 4 workers on %s, one killed with SIGKILL", (_name, cacheOn) => {
  describe("with the servers", needs("postgres", "redis"), () => cluster(cacheOn));
});

function cluster(cacheOn: "redis" | "postgres"): void {
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
        `cache: ${cacheOn === "redis" ? `${REDIS_URL}?prefix=${run}` : pgUri}`,
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

    const { victim } = await runWorkersKillingOne({ fsm: FSM, settingsFile, dir, effects, workers: WORKERS, concurrency: 8, killAfter: 100 });

    const check = await open();
    const statuses = await Promise.all(ids.map((id) => check.status(id)));
    await check.close();
    expect(statuses.filter((s) => s.status !== "completed" || s.userContext.count !== STEPS)).toEqual([]);

    const pids = checkExecutions(effects, { instances: INSTANCES, steps: STEPS, victim, concurrency: 8 });
    // The survivors did the rest of the work.
    expect(pids.size).toBe(WORKERS);
  }, 300_000);
}
