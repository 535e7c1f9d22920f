/**
 * `switchyard metrics` over a SQLite store: instances run in process (no backoff waits), then the
 * CLI as a user runs it reads the journal's activity and the error counters.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Switchyard } from "../../src/client/switchyard.js";
import { silentLogger } from "../../src/logger.js";
import { ROOT, runCli } from "../support/cli.js";

const FSM = path.join(ROOT, "test/fixtures/protocol/fsm.yaml");

describe("switchyard metrics", () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "switchyard-metrics-"));
    // random 0: retries run at once.
    const sy = await Switchyard.open({ definitions: FSM, cwd: dir, logger: silentLogger, random: () => 0 });
    try {
      expect((await sy.run("simple")).status).toBe("completed");
      expect((await sy.run("simple", { context: { fail: ["0:0", "0:1", "0:2"] } })).status).toBe("failed");
      // Started, never processed: running, its only message pending and not timed.
      await sy.start("simple");
    } finally {
      await sy.close();
    }
    writeFileSync(path.join(dir, "log.settings.yaml"), 'metrics: "log:"\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cli = (...args: string[]) => runCli(args, { cwd: dir });

  it("prints the activity as JSON: instances per machine, and every processing timed per state", async () => {
    const result = await cli("metrics", "--machine", "simple", "--since", "1h", "--activity", "--json");
    expect(result.code, result.stderr).toBe(0);
    const output = JSON.parse(result.stdout);
    expect(output.since).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(output.machines).toEqual([{ machine_name: "simple", completed: 1, failed: 1, aborted: 0, running: 1, waiting: 0, paused: 0 }]);
    // pseudo_init: the completed run's first step and the failed run's three attempts; start and
    // middle: the completed run's (middle timed to the instance's end).
    const states = output.states as Array<Record<string, number | string>>;
    expect(states.map((s) => [s.state, s.processed])).toEqual([
      ["middle", 1],
      ["pseudo_init", 4],
      ["start", 1],
    ]);
    for (const s of states) {
      expect(Object.keys(s)).toEqual(["machine_name", "state", "processed", "p50_ms", "p90_ms", "p99_ms", "max_ms"]);
      expect(0 <= Number(s.p50_ms) && s.p50_ms <= s.p90_ms && s.p90_ms <= s.p99_ms && s.p99_ms <= s.max_ms).toBe(true);
    }
  });

  it("shows the activity and says where the error counters live when the metrics backend keeps none; --errors alone fails", async () => {
    const [both, errors, json] = await Promise.all([
      cli("metrics", "-s", "log.settings.yaml", "--machine", "simple"),
      cli("metrics", "-s", "log.settings.yaml", "--errors"),
      cli("metrics", "--json", "--errors", "--activity"),
    ]);
    expect(both.code, both.stderr).toBe(0);
    const lines = both.stdout.split("\n");
    expect(lines[0]).toBe(
      "error counters: not kept here: log: writes them as JSON lines on the workers' stderr; use a sqlite: or postgres:// URI for metrics to see them here",
    );
    expect(lines).toContain("instances (completed, failed, aborted: ended ever; running, waiting, paused: now)");
    expect(both.stdout).toMatch(/^machine\s+completed\s+failed\s+aborted\s+running\s+waiting\s+paused\nsimple\s+1\s+1\s+0\s+1\s+0\s+0$/m);
    expect(both.stdout).toMatch(/^machine\s+state\s+processed\s+p50\s+p90\s+p99\s+max\n(simple\s+\S+\s+\d+(\s+\d+(\.\d)?(ms|s|m|h)){4}\n){3}/m);

    expect(errors.code).toBe(1);
    expect(errors.stderr).toBe("switchyard: the metrics backend log: does not keep emissions to query; use a sqlite: or postgres:// URI for metrics\n");
    expect(json.code).toBe(1);
    expect(json.stderr).toContain("switchyard: --json prints one document: choose --errors");
  });
});
