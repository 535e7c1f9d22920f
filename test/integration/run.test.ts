/**
 * `run` drives one instance in a store other instances share: only its own messages where the
 * sources filter by instance (SQLite here; the stream and retry contracts hold every backend to
 * what it declares), and a one-line refusal, before anything starts, where they cannot (Redis):
 * never another instance's work.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { Switchyard } from "../../src/client/switchyard.js";
import { silentLogger } from "../../src/logger.js";
import { runCli } from "../support/cli.js";
import { PROTOCOL_FSM } from "../support/protocol-harness.js";
import { deleteRedisKeys, needs, REDIS_URL, uniqueName } from "../support/servers.js";

const prefixes = uniqueName("run_filter");
afterAll(() => deleteRedisKeys(prefixes));

describe("run in a shared store", () => {
  let dir: string;
  let settingsFile: string;
  const open = () => Switchyard.open({ definitions: PROTOCOL_FSM, settings: settingsFile, logger: silentLogger, cwd: dir });
  const settings = (lines: string[]) => writeFileSync(settingsFile, `${lines.join("\n")}\n`);
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "switchyard-run-"));
    settingsFile = path.join(dir, "settings.yaml");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("drives only its own instance where the sources filter by instance (sqlite)", async () => {
    settings(["stream: sqlite:./shared.db", "retry: sqlite:./shared.db", "cache: sqlite:./shared.db", "checkpoint: sqlite:./shared.db"]);
    const other = await open();
    const { correlationId: waiting } = await other.start("simple");
    await other.close();

    const result = await runCli(["run", "simple", "-d", PROTOCOL_FSM, "--settings", settingsFile, "--json", "--correlation-id", "mine"], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ correlation_id: "mine", status: "completed", state: "end" });

    const sy = await open();
    expect(await sy.status(waiting)).toMatchObject({ status: "running", state: "pseudo_init" });
    expect(await sy.pending(waiting)).toBe(1);
    await sy.close();
  });

  describe("where the sources cannot filter (redis)", () => {
    let prefix: string;
    beforeEach(() => {
      prefix = `${prefixes}_${path.basename(dir).slice(-6)}`;
      const redis = `${REDIS_URL}?prefix=${prefix}`;
      settings([`stream: ${redis}`, `retry: ${redis}`, "cache: sqlite:./s.db", "checkpoint: sqlite:./s.db"]);
    });

    it("the library refuses before starting anything, naming the sources and the remedy", needs("redis"), async () => {
      const sy = await open();
      try {
        const { correlationId: waiting } = await sy.start("simple");
        const uri = `${REDIS_URL}?prefix=${prefix}`;
        const refusal = `run drives one instance, but stream.primary (${uri}) and retry.primary (${uri}) cannot receive one instance's messages apart from other instances' (they would process those too); use start and worker instead, or stream and retry backends that filter by instance: sqlite, postgres, dynamodb`;
        await expect(sy.run("simple", { correlationId: "mine" })).rejects.toMatchObject({ name: "UsageError", code: "unfiltered_source", message: refusal });
        expect((await sy.list()).map((record) => record.correlationId)).toEqual([waiting]);
        expect(await sy.pending(waiting)).toBe(1);
        expect(() => sy.worker({ correlationId: waiting })).toThrow(
          `a worker with a correlation id drives one instance, but stream.primary (${uri}) and retry.primary (${uri}) cannot receive`,
        );
      } finally {
        await sy.close();
      }
    });

    it("switchyard run exits 1 with that one line, and the other instance's message stays where it was", needs("redis"), async () => {
      const sy = await open();
      const { correlationId: waiting } = await sy.start("simple");
      await sy.close();

      const result = await runCli(["run", "simple", "-d", PROTOCOL_FSM, "--settings", settingsFile], { cwd: dir });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe("");
      const lines = result.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^switchyard: run drives one instance, but stream\.primary \(redis:\/\/.*\) and retry\.primary \(redis:\/\/.*\) cannot receive one instance's messages apart from other instances' .*; use start and worker instead, or stream and retry backends that filter by instance: sqlite, postgres, dynamodb$/);

      const after = await open();
      expect(await after.status(waiting)).toMatchObject({ status: "running", state: "pseudo_init" });
      expect(await after.pending(waiting)).toBe(1);
      expect(await after.list()).toHaveLength(1);
      await after.close();
    });
  });
});
