/**
 * What the SQLite backend's group commit promises, in real processes: a start that resolved is on
 * disk, even if the process is killed at once; a COMMIT that fails after writes were reported done
 * ends the process (the crash the protocol survives) instead of letting it live on.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { finished, ROOT } from "../support/cli.js";

const FIXTURES = path.join(ROOT, "test/fixtures/durability");
const script = (name: string, ...args: string[]) =>
  finished(spawn(process.execPath, ["--import", "tsx", path.join(FIXTURES, name), ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] }));

describe("SQLite group commit in real processes", () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "switchyard-durability-"));
    file = path.join(dir, "state.db");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const rows = (sql: string, ...params: unknown[]) => {
    const db = new Database(file, { readonly: true });
    try {
      return db.prepare(sql).all(...params);
    } finally {
      db.close();
    }
  };

  it("a start that resolved survives a SIGKILL right after it: message and record are on disk", async () => {
    const result = await script("start-then-kill.ts", file, "durable-1");
    expect(result.signal, result.stderr).toBe("SIGKILL");
    expect(rows("SELECT correlation_id, steps, retries FROM stream_messages")).toEqual([{ correlation_id: "durable-1", steps: 0, retries: 0 }]);
    expect(rows("SELECT correlation_id, status, state FROM instances")).toEqual([{ correlation_id: "durable-1", status: "running", state: "pseudo_init" }]);
  });

  it("a failed COMMIT after writes were reported done ends the process with one line", async () => {
    const result = await script("lost-commit.ts", file);
    expect(result.code).toBe(74);
    expect(result.stdout).toBe("told done\n");
    const lines = result.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^switchyard error: SQLite ${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: commit failed, the writes of one event-loop turn were rolled back: FOREIGN KEY constraint failed; exiting, since their callers were told they succeeded \\(restart: the protocol recovers as after a crash; commit=group-durable reports such failures to the callers instead\\)$`,
      ),
    );
    expect(rows("SELECT key FROM environments")).toEqual([]);
  });
});
