/**
 * The worker as a service, as deploy/ ships it: the systemd unit's command line run as systemd
 * runs it (the bin itself, no shell, no npx) and stopped with SIGTERM; the same command behind a
 * shell wrapper that `exec`s it, stopped with SIGINT; the Dockerfile checked statically (there is
 * no container engine in CI): exec-form ENTRYPOINT and CMD with the bin, no npx, STOPSIGNAL.
 */
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Switchyard } from "../../src/client/switchyard.js";
import { silentLogger } from "../../src/logger.js";
import { BIN, finished, ROOT } from "../support/cli.js";
import { PROTOCOL_FSM } from "../support/protocol-harness.js";
import { lines, waitFor } from "../support/servers.js";

const UNIT = path.join(ROOT, "deploy/systemd/switchyard-worker.service");
const DOCKERFILE = path.join(ROOT, "deploy/docker/Dockerfile");

/** The `Key=Value` settings of a unit file, every value of a repeated key in order. */
function unitSettings(file: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (match) settings.set(match[1]!, [...(settings.get(match[1]!) ?? []), match[2]!]);
  }
  return settings;
}

/** The instructions of a Dockerfile (continuation lines joined, comments dropped), as [keyword, rest]. */
function dockerInstructions(file: string): [string, string][] {
  const text = readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => !line.trimStart().startsWith("#"))
    .join("\n")
    .replace(/\\\n/g, " ");
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const [keyword, ...rest] = line.split(/\s+/);
      return [keyword!.toUpperCase(), rest.join(" ")];
    });
}

/** The value following `option` in a command line. */
function optionValue(args: readonly string[], option: string): string | undefined {
  const index = args.indexOf(option);
  return index < 0 ? undefined : args[index + 1];
}

describe("the worker as a service", () => {
  const unit = unitSettings(UNIT);
  const [execStart] = unit.get("ExecStart") ?? [];
  const [workingDirectory] = unit.get("WorkingDirectory") ?? [];
  // systemd splits ExecStart on whitespace (the unit uses no quotes) and runs argv[0] itself.
  const command = (execStart ?? "").split(/\s+/);
  let dir: string;
  let sy: Switchyard;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "switchyard-service-"));
    // The application directory the unit expects: its definitions (the protocol fixture's
    // machines, imported) and settings, under the names the unit's command line gives.
    const definitions = optionValue(command, "-d");
    const settings = optionValue(command, "--settings");
    if (definitions === undefined || settings === undefined) throw new Error(`ExecStart names no -d or --settings: ${execStart}`);
    writeFileSync(path.join(dir, definitions), `machines:\n- import: ${path.relative(dir, PROTOCOL_FSM)}\n`);
    writeFileSync(path.join(dir, settings), "stream: sqlite:./w.db\n");
    sy = await Switchyard.open({ definitions: PROTOCOL_FSM, settings: path.join(dir, settings), logger: silentLogger, cwd: dir });
  });
  afterEach(async () => {
    await sy.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The unit's command line with this checkout in place of the install directory. */
  function installedCommand(): string[] {
    if (workingDirectory === undefined) throw new Error("the unit has no WorkingDirectory");
    const bin = path.join(workingDirectory, "node_modules/.bin/switchyard");
    expect(command[0]).toBe(bin);
    return [BIN, ...command.slice(1)];
  }

  it("the unit runs the installed bin directly, stops it with SIGTERM and waits longer than its shutdown timeout", () => {
    expect(execStart).toBeDefined();
    expect(readFileSync(UNIT, "utf8")).not.toMatch(/^[^#]*\bnpx\b/m);
    expect(path.isAbsolute(command[0]!)).toBe(true);
    expect(command.slice(1, 2)).toEqual(["worker"]);
    expect(unit.get("KillSignal")).toEqual(["SIGTERM"]);
    expect(unit.get("Restart")).toEqual(["on-failure"]);
    const shutdownTimeout = Number(optionValue(command, "--shutdown-timeout"));
    const [stopTimeout] = unit.get("TimeoutStopSec") ?? [];
    expect(shutdownTimeout).toBeGreaterThan(0);
    expect(Number(stopTimeout)).toBeGreaterThan(shutdownTimeout);
  });

  /** Run `argv` as a service manager would, stop it with `signal` once a step is in flight, return its outcome. */
  async function stopMidStep(argv: readonly string[], signal: NodeJS.Signals) {
    const sleepLog = path.join(dir, "sleeps.log");
    writeFileSync(sleepLog, "");
    const { correlationId } = await sy.start("slow", { context: { sleep_ms: 1_500 } });
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", SLEEP_LOG: sleepLog };
    for (const assignment of unit.get("Environment") ?? []) {
      const [name, ...value] = assignment.split("=");
      env[name!] = value.join("=");
    }
    const child = spawn(argv[0]!, argv.slice(1), { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
    const done = finished(child, 60_000);
    // The step has started: the worker holds it in flight.
    await waitFor(() => lines(sleepLog).length === 1, 30_000);
    child.kill(signal);
    const result = await done;
    return { result, correlationId };
  }

  it("SIGTERM to the unit's command line: the in-flight step finishes and the worker exits 0", async () => {
    const { result, correlationId } = await stopMidStep(installedCommand(), "SIGTERM");
    expect([result.code, result.signal], result.stderr).toEqual([0, null]);
    expect(result.stderr).toMatch(/SIGTERM: finishing 1 in-flight message\(s\) \(handing them back after 30 s\)/);
    // The step ran to its end: the instance moved on, its next message waits for a worker.
    expect(await sy.status(correlationId)).toMatchObject({ status: "running", state: "sleeping" });
    expect(await sy.pending(correlationId)).toBe(1);
    expect(result.stderr).not.toMatch(/left for redelivery/);
  });

  it("a shell wrapper that execs the command passes SIGINT on: the step finishes and the worker exits 0", async () => {
    const wrapper = path.join(dir, "switchyard-worker.sh");
    writeFileSync(wrapper, `#!/bin/sh\ncd "$(dirname "$0")" || exit 1\nexec ${installedCommand().join(" ")}\n`);
    chmodSync(wrapper, 0o755);
    const { result, correlationId } = await stopMidStep([wrapper], "SIGINT");
    expect([result.code, result.signal], result.stderr).toEqual([0, null]);
    expect(result.stderr).toMatch(/SIGINT: finishing 1 in-flight message\(s\)/);
    expect(await sy.pending(correlationId)).toBe(1);
    expect(await sy.status(correlationId)).toMatchObject({ state: "sleeping" });
  });
});

describe("the worker's Dockerfile", () => {
  const instructions = dockerInstructions(DOCKERFILE);
  const only = (keyword: string) => {
    const found = instructions.filter(([k]) => k === keyword).map(([, rest]) => rest);
    expect(found, keyword).toHaveLength(1);
    return found[0]!;
  };

  it("runs the installed bin as the main process, in exec form, without npx, stopped by SIGTERM", () => {
    expect(only("FROM")).toBe("node:20-slim");
    expect(instructions.filter(([k]) => k === "RUN").map(([, rest]) => rest)).toContainEqual(expect.stringContaining("npm ci --omit=dev"));
    expect(only("USER")).toBe("node");
    expect(only("STOPSIGNAL")).toBe("SIGTERM");
    // Exec form is a JSON array; a shell form would run under /bin/sh -c, which keeps the signal.
    const entrypoint = JSON.parse(only("ENTRYPOINT")) as string[];
    const cmd = JSON.parse(only("CMD")) as string[];
    expect(entrypoint).toEqual([`${only("WORKDIR")}/node_modules/.bin/switchyard`, "worker"]);
    expect(cmd).toEqual(expect.arrayContaining(["-d", "--settings", "--shutdown-timeout"]));
    expect(instructions.map(([, rest]) => rest).join("\n")).not.toMatch(/\bnpx\b/);
  });
});
