/**
 * Events and timers survive a SIGKILL: a worker is killed while 50 instances wait on their timers
 * and 50 are receiving events; after a restart every instance ends where its event or its timer
 * says, and none ends in both places.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Switchyard } from "../../src/client/switchyard.js";
import { silentLogger } from "../../src/logger.js";
import { ROOT, finished, spawnCli } from "../support/cli.js";
import { lines, waitFor } from "../support/servers.js";

const FSM = path.join(ROOT, "test/fixtures/crash/operations.yaml");
const INSTANCES = 100;

describe("crash: SIGKILL while instances wait on timers and receive events", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "switchyard-crash-ops-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("after a restart, every instance ends where its event or its timer says", async () => {
    const effects = path.join(dir, "effects.log");
    writeFileSync(effects, "");
    const settingsFile = path.join(dir, "settings.yaml");
    const store = "sqlite:./ops.db";
    writeFileSync(
      settingsFile,
      `stream: ${store}\nretry: ${store}\ncache: ${store}\ncheckpoint: ${store}\nmetrics: ${store}\njournal: ${store}\nvisibility_timeout: 2\nlease_timeout: 2\n`,
    );
    const sy = await Switchyard.open({ definitions: FSM, settings: settingsFile, logger: silentLogger, cwd: dir });
    try {
      const started = await sy.startMany(Array.from({ length: INSTANCES }, (_, i) => ({ machineName: "ticket", correlationId: `t${i}` })));
      expect(started.every((r) => r.ok)).toBe(true);
      const ids = started.map((r) => r.correlationId);
      const [withEvent, onTimer] = [ids.slice(0, INSTANCES / 2), ids.slice(INSTANCES / 2)];

      const env = { CRASH_EFFECTS: effects };
      const args = ["worker", "-d", FSM, "--settings", settingsFile, "--concurrency", "8", "--quiet"];
      const first = spawnCli(args, { cwd: dir, env });
      const firstDone = finished(first, 120_000);
      for (const deadline = Date.now() + 60_000; (await sy.list({ status: "waiting" })).length < INSTANCES; ) {
        if (Date.now() > deadline) throw new Error("timed out waiting for every instance to wait");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // Every instance now waits, its 10 s timer scheduled. Half of them get their event, and the
      // worker is killed while it processes them.
      for (const id of withEvent) await sy.sendEvent(id, "close");
      await waitFor(() => lines(effects).length >= 5, 30_000);
      first.kill("SIGKILL");
      const killedAt = Date.now();
      expect((await firstDone).signal).toBe("SIGKILL");
      const closedAtKill = lines(effects).length;
      expect(closedAtKill).toBeLessThan(withEvent.length);

      // The restarted worker runs the events left, then the timers as they come due (`--until-idle`
      // would stop before them: a timer of a waiting instance is not work yet).
      const second = spawnCli(args, { cwd: dir, env });
      const secondDone = finished(second, 120_000);
      for (const deadline = Date.now() + 90_000; (await sy.list({ status: "completed" })).length < INSTANCES; ) {
        if (Date.now() > deadline) throw new Error("timed out waiting for every instance to end");
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      second.kill("SIGTERM");
      expect((await secondDone).code).toBe(0);

      for (const id of withEvent) {
        const status = await sy.status(id);
        if (status.state !== "closed") console.log(JSON.stringify({ status, history: await sy.history(id), attempts: await sy.attempts(id), errors: await sy.errors(id), killedAt, now: Date.now() }, null, 1));
        expect(status, id).toMatchObject({ status: "completed", state: "closed", steps: 1 });
      }
      for (const id of onTimer) expect(await sy.status(id), id).toMatchObject({ status: "completed", state: "expired", steps: 1 });
      // Each instance's end ran in one place only (twice at most where the kill cut its step short).
      const ends = new Map<string, Set<string>>();
      for (const line of lines(effects)) {
        const [, id, state] = line.split(" ");
        const set = ends.get(id as string) ?? new Set<string>();
        set.add(state as string);
        ends.set(id as string, set);
      }
      for (const id of withEvent) expect([...(ends.get(id) ?? [])], id).toEqual(["closed"]);
      for (const id of onTimer) expect([...(ends.get(id) ?? [])], id).toEqual(["expired"]);
      expect(await sy.pending()).toBe(0);
    } finally {
      await sy.close();
    }
  }, 180_000);
});
