/**
 * Several worker processes on one host share one SQLite file: every instance completes and every
 * step's action runs exactly once (nobody is killed here, so no step may repeat).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Switchyard } from "../../src/client/switchyard.js";
import { silentLogger } from "../../src/logger.js";
import { ROOT, finished, spawnCli } from "../support/cli.js";

const FSM = path.join(ROOT, "test/fixtures/crash/fsm.yaml");
const INSTANCES = 100;
const STEPS = 6;

describe("several workers on one SQLite file", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "switchyard-shared-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("three worker processes complete every instance, each step once", async () => {
    const effects = path.join(dir, "effects.log");
    writeFileSync(effects, "");
    const settingsFile = path.join(dir, "settings.yaml");
    writeFileSync(settingsFile, "stream: sqlite:./shared.db\nretry: sqlite:./shared.db\ncache: sqlite:./shared.db\ncheckpoint: sqlite:./shared.db\nmetrics: sqlite:./shared.db\n");
    const sy = await Switchyard.open({ definitions: FSM, settings: settingsFile, logger: silentLogger });
    const started = await sy.startMany(Array.from({ length: INSTANCES }, () => ({ machineName: "crash", context: { steps: STEPS } })));
    await sy.close();

    const args = ["worker", "-d", FSM, "--settings", settingsFile, "--concurrency", "4", "--until-idle", "--quiet"];
    const results = await Promise.all([1, 2, 3].map(() => finished(spawnCli(args, { cwd: dir, env: { CRASH_EFFECTS: effects } }), 120_000)));
    for (const result of results) expect(result.code, result.stderr).toBe(0);

    const lines = readFileSync(effects, "utf8").split("\n").filter(Boolean).map((line) => line.split(" "));
    const pids = new Set(lines.map(([pid]) => pid));
    expect(pids.size, "the work was shared").toBeGreaterThan(1);
    const steps = lines.map(([, id, step]) => `${id} ${step}`);
    expect(new Set(steps).size).toBe(steps.length);
    expect(steps.length).toBe(INSTANCES * STEPS);

    const check = await Switchyard.open({ definitions: FSM, settings: settingsFile, logger: silentLogger });
    for (const { correlationId } of started) {
      expect(await check.status(correlationId)).toMatchObject({ status: "completed", userContext: { count: STEPS } });
      expect(await check.errors(correlationId)).toEqual([]);
    }
    await check.close();
  }, 180_000);
});
