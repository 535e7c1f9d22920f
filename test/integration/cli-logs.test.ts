/**
 * `--log-format json --log-level debug` on the real CLI: every stderr line is one JSON object, the
 * records about a message carry its fields, and the user context appears only with `--log-context`.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Switchyard } from "../../src/client/switchyard.js";
import { silentLogger } from "../../src/logger.js";
import { runCli } from "../support/cli.js";
import { PROTOCOL_FSM } from "../support/protocol-harness.js";
import { uniqueName } from "../support/servers.js";

const JSON_LOGS = ["--log-format", "json", "--log-level", "debug"];

/** Every stderr line parsed as JSON (a line that is not fails the test with the line). */
function records(stderr: string): Array<Record<string, unknown>> {
  return stderr
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`stderr line is not JSON: ${line}`);
      }
    });
}

describe("structured logs", () => {
  let dir: string;
  let settings: string;
  let marker: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "switchyard-logs-"));
    settings = path.join(dir, "settings.yaml");
    writeFileSync(settings, `stream: sqlite:${dir}/s.db\nretry: sqlite:${dir}/s.db\ncache: sqlite:${dir}/s.db\n`);
    // Placed in the user context: it must reach stderr only with --log-context.
    marker = `personal-${uniqueName("marker")}`;
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Start an instance whose step 1 fails once, then run a worker until idle; the worker's result. */
  async function startAndWork(id: string, extra: string[]) {
    const context = JSON.stringify({ email: marker, fail: ["1:0"] });
    const started = await runCli(["start", "simple", "-d", PROTOCOL_FSM, "--settings", settings, "--context", context, "--correlation-id", id, ...JSON_LOGS, ...extra], { cwd: dir });
    expect(started.code, started.stderr).toBe(0);
    expect(started.stderr).not.toContain(marker);
    return runCli(["worker", "-d", PROTOCOL_FSM, "--settings", settings, "--until-idle", ...JSON_LOGS, ...extra], { cwd: dir });
  }

  it("writes one JSON object per line, with the message's fields and never its user context", async () => {
    const worker = await startAndWork("logs-1", []);
    expect(worker.code, worker.stderr).toBe(0);
    expect(worker.stderr).not.toContain(marker);
    const lines = records(worker.stderr);
    for (const record of lines) expect(record).toEqual(expect.objectContaining({ level: expect.any(String), time: expect.any(String), msg: expect.any(String) }));

    const about = lines.filter((record) => record.correlationId === "logs-1");
    expect(about.length).toBeGreaterThanOrEqual(7);
    for (const record of about) {
      expect(record).toEqual(
        expect.objectContaining({ machine: "simple", state: expect.any(String), event: expect.any(String), steps: expect.any(Number), retries: expect.any(Number), version: expect.any(String) }),
      );
      expect(record).not.toHaveProperty("context");
    }
    // Each processing at debug level: where the message is, where it came from, then its outcome.
    expect(about.filter((record) => record.msg === "processing message").map((r) => [r.state, r.event, r.steps, r.retries, r.role])).toEqual([
      ["pseudo_init", "pseudo_init", 0, 0, "stream"],
      ["start", "go", 1, 0, "stream"],
      ["start", "go", 1, 1, "retry"],
      ["middle", "go", 2, 0, "stream"],
    ]);
    expect(about.filter((record) => typeof record.outcome === "string").map((r) => r.outcome)).toEqual(["dispatched", "retrying", "dispatched", "completed"]);
    // The failed attempt, at warn level.
    expect(about).toContainEqual(expect.objectContaining({ level: "warn", msg: expect.stringMatching(/^attempt failed: /), state: "start", steps: 1, retries: 0 }));
    // The worker's summary is a record too.
    expect(lines.at(-1)).toEqual(expect.objectContaining({ level: "info", msg: expect.stringMatching(/^processed 4 message\(s\)/) }));
  }, 60_000);

  it("adds the user context to the records about a message with --log-context", async () => {
    const worker = await startAndWork("logs-2", ["--log-context"]);
    expect(worker.code, worker.stderr).toBe(0);
    expect(worker.stderr).toContain(marker);
    const about = records(worker.stderr).filter((record) => record.correlationId === "logs-2");
    expect(about.length).toBeGreaterThan(0);
    for (const record of about) expect(record.context).toEqual(expect.objectContaining({ email: marker }));
  }, 60_000);

  it("keeps the body of an undecodable message out of the log of its dead letter", async () => {
    // A body short enough for V8's parse error to quote it whole ("Unexpected token 'X', "…" is not valid JSON").
    const body = "Xsecretx!";
    const sy = await Switchyard.open({ definitions: PROTOCOL_FSM, settings, cwd: dir, logger: silentLogger });
    try {
      await sy.roles.stream.primary.send({ correlationId: "junk-1", steps: 0, retries: 0, body, delaySeconds: 0 });
    } finally {
      await sy.close();
    }
    const worker = await runCli(["worker", "-d", PROTOCOL_FSM, "--settings", settings, "--until-idle", ...JSON_LOGS], { cwd: dir });
    expect(worker.code, worker.stderr).toBe(0);
    expect(worker.stderr).not.toContain("secret");
    expect(records(worker.stderr)).toContainEqual(
      expect.objectContaining({ level: "error", msg: expect.stringMatching(/moved to dead letters: message is not valid JSON/), outcome: "malformed", role: "stream", side: "primary" }),
    );
  }, 60_000);
});
