/**
 * A worker killed with SIGKILL mid-run loses nothing: after a restart every instance completes, and
 * no step whose processing had completed (its next message durably sent) runs again.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Switchyard } from "../../src/client/switchyard.js";
import { silentLogger } from "../../src/logger.js";
import { ROOT, finished, spawnCli } from "../support/cli.js";
import { lines, waitFor } from "../support/servers.js";

const FSM = path.join(ROOT, "test/fixtures/crash/fsm.yaml");
const INSTANCES = 30;
const STEPS = 8;

// The roles share one file, so the worker takes the fused transition path; the second run keeps
// every role's call separate.
describe.each([
  ["fused transition path", ""],
  ["separate role calls", "fused_transitions: false\n"],
])("crash: SIGKILL of a worker mid-run (%s)", (_path, extraSettings) => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "switchyard-crash-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("every instance completes after restart, and no completed step runs again", async () => {
    const effects = path.join(dir, "effects.log");
    writeFileSync(effects, "");
    const settingsFile = path.join(dir, "settings.yaml");
    // A short visibility timeout so the killed worker's claimed messages come back quickly.
    writeFileSync(settingsFile, `stream: sqlite:./crash.db\nretry: sqlite:./crash.db\ncache: sqlite:./crash.db\ncheckpoint: sqlite:./crash.db\nmetrics: sqlite:./crash.db\nvisibility_timeout: 2\nlease_timeout: 2\n${extraSettings}`);
    const open = () => Switchyard.open({ definitions: FSM, settings: settingsFile, logger: silentLogger });

    const sy = await open();
    const started = await sy.startMany(Array.from({ length: INSTANCES }, () => ({ machineName: "crash", context: { steps: STEPS } })));
    expect(started.every((r) => r.ok)).toBe(true);
    const ids = started.map((r) => r.correlationId);
    await sy.close();

    const env = { CRASH_EFFECTS: effects };
    const args = ["worker", "-d", FSM, "--settings", settingsFile, "--concurrency", "8", "--quiet"];
    const first = spawnCli(args, { cwd: dir, env });
    const firstDone = finished(first, 120_000);
    // Kill it once it is well into the run, but long before the end.
    await waitFor(() => lines(effects).length >= (INSTANCES * STEPS) / 3, 60_000);
    first.kill("SIGKILL");
    const killed = await firstDone;
    expect(killed.signal).toBe("SIGKILL");

    // What had durably completed at the moment of the kill: step s of an instance is done when its
    // next message (steps s+1) was sent, or the instance completed.
    const snapshot = await open();
    const doneAtKill = new Set<string>();
    let completedAtKill = 0;
    for (const id of ids) {
      for (const m of await snapshot.history(id)) if (m.steps > 0) doneAtKill.add(`${id} ${m.steps - 1}`);
      const status = await snapshot.status(id);
      if (status.status === "completed") {
        completedAtKill++;
        doneAtKill.add(`${id} ${STEPS - 1}`);
      }
    }
    await snapshot.close();
    expect(completedAtKill).toBeLessThan(INSTANCES);

    const second = await finished(spawnCli([...args, "--until-idle"], { cwd: dir, env }), 120_000);
    expect(second.code, second.stderr).toBe(0);

    const check = await open();
    for (const id of ids) {
      expect(await check.status(id)).toMatchObject({ status: "completed", state: "finished", userContext: { count: STEPS } });
    }
    await check.close();

    const executions = lines(effects).map((line) => {
      const [pid, id, steps, retries, fence] = line.split(" ");
      return { pid: Number(pid), key: `${id} ${steps}`, id: id as string, retries: Number(retries), fence: Number(fence) };
    });
    const firstPid = first.pid;
    const rerunCompleted = executions.filter((e) => e.pid !== firstPid && doneAtKill.has(e.key));
    expect(rerunCompleted).toEqual([]);
    // Every step ran; a step ran twice only if the kill interrupted it.
    const byKey = new Map<string, number>();
    for (const e of executions) byKey.set(e.key, (byKey.get(e.key) ?? 0) + 1);
    expect(byKey.size).toBe(INSTANCES * STEPS);
    for (const [key, count] of byKey) if (count > 1) expect(doneAtKill.has(key), key).toBe(false);
    // Fence tokens never go backwards within an instance.
    const lastFence = new Map<string, number>();
    for (const e of executions) {
      expect(e.fence).toBeGreaterThan(lastFence.get(e.id) ?? 0);
      lastFence.set(e.id, e.fence);
    }
  }, 180_000);
});
