/**
 * The self-hosted cluster under chaos, run after run (CHAOS_RUNS, default 10): three worker
 * processes share PostgreSQL (stream and retry primaries, cache secondary, checkpoints, metrics,
 * journal) and Redis (cache primary, stream and retry secondaries). The stream and retry primaries
 * fail 20% of their calls and the cache primary 10%, so messages, retries and leases keep failing
 * over; one worker is killed with SIGKILL mid-run. Every run: every instance completes, its journal
 * history is in step order and its status final, fence tokens strictly grow within an instance
 * across cache failovers, and no step runs twice except the killed worker's in-flight ones.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Switchyard } from "../../src/client/switchyard.js";
import { silentLogger } from "../../src/logger.js";
import { ROOT } from "../support/cli.js";
import { checkExecutions, runWorkersKillingOne } from "../support/cluster.js";
import { deleteRedisKeys, dropSchemas, POSTGRES_URL, REDIS_URL, uniqueName } from "../support/servers.js";

const FSM = path.join(ROOT, "test/fixtures/crash/fsm.yaml");
const RUNS = Number(process.env.CHAOS_RUNS ?? 10);
const INSTANCES = 300;
const STEPS = 5;
const WORKERS = 3;
const CONCURRENCY = 8;

describe(`cluster chaos: ${WORKERS} workers, PostgreSQL + Redis failing over both ways, one SIGKILLed`, () => {
  const prefix = uniqueName("chaos");
  afterAll(async () => {
    await dropSchemas(prefix);
    await deleteRedisKeys(prefix);
  });

  for (let run = 1; run <= RUNS; run++) {
    it(`run ${run} of ${RUNS}`, async () => {
      const name = `${prefix}_${run}`;
      const dir = mkdtempSync(path.join(tmpdir(), "switchyard-chaos-"));
      try {
        await runOnce(name, dir);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

async function runOnce(name: string, dir: string): Promise<void> {
  const effects = path.join(dir, "effects.log");
  writeFileSync(effects, "");
  const settingsFile = path.join(dir, "settings.yaml");
  const pg = `${POSTGRES_URL}?schema=${name}`;
  const redis = `${REDIS_URL}?prefix=${name}`;
  writeFileSync(
    settingsFile,
    [
      `stream: { primary: "${pg}", secondary: "${redis}" }`,
      `retry: { primary: "${pg}", secondary: "${redis}" }`,
      `cache: { primary: "${redis}", secondary: "${pg}" }`,
      `checkpoint: "${pg}"`,
      `metrics: "${pg}"`,
      `journal: "${pg}"`,
      `chaos: { "stream.primary": 0.2, "retry.primary": 0.2, "cache.primary": 0.1 }`,
      // Short timeouts so the killed worker's claims and leases come back quickly.
      "visibility_timeout: 3",
      "lease_timeout: 3",
      "",
    ].join("\n"),
  );
  const open = () => Switchyard.open({ definitions: FSM, settings: settingsFile, logger: silentLogger });

  // Start without chaos in the way: the starts themselves are not under test. The short lease goes
  // into every message: a lease whose release chaos made fail is waited out in 3 s, not 300.
  const starter = await Switchyard.open({
    definitions: FSM,
    settings: Switchyard.settings({ stream: pg, retry: pg, cache: redis, checkpoint: pg, metrics: pg, journal: pg, lease_timeout: 3 }),
    logger: silentLogger,
  });
  const started = await starter.startMany(Array.from({ length: INSTANCES }, () => ({ machineName: "crash", context: { steps: STEPS } })));
  await starter.close();
  expect(started.filter((r) => !r.ok)).toEqual([]);
  const ids = started.map((r) => r.correlationId);

  const { victim } = await runWorkersKillingOne({ fsm: FSM, settingsFile, dir, effects, workers: WORKERS, concurrency: CONCURRENCY, killAfter: 60 });

  // The journal: every instance completed with its count, and its history in step order.
  const check = await open();
  try {
    const statuses = await Promise.all(ids.map((id) => check.status(id)));
    expect(statuses.filter((s) => s.status !== "completed" || s.userContext.count !== STEPS)).toEqual([]);
    const histories = await Promise.all(ids.map(async (id) => ({ id, steps: (await check.history(id)).map((m) => m.steps) })));
    const outOfOrder = histories.filter(({ steps }) => steps.some((s, i) => i > 0 && s < (steps[i - 1] as number)));
    expect(outOfOrder).toEqual([]);
  } finally {
    await check.close();
  }

  checkExecutions(effects, { instances: INSTANCES, steps: STEPS, victim, concurrency: CONCURRENCY });
}
