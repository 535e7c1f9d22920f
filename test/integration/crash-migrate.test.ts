/**
 * A migration survives a SIGKILL (SPEC §10): `switchyard migrate` is killed while it moves 200
 * waiting instances from version "2026-11" to "2026-12". Every instance is then on exactly one
 * version, its state, context and history agreeing with it; running migrate again moves the rest,
 * and every instance completes under the new rules.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Switchyard } from "../../src/client/switchyard.js";
import { silentLogger } from "../../src/logger.js";
import type { InstanceRecord } from "../../src/ports.js";
import { ROOT, finished, runCli, spawnCli } from "../support/cli.js";

const FIXTURES = path.join(ROOT, "test/fixtures/approval");
const INSTANCES = 200;

describe("crash: SIGKILL during migrate", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "switchyard-crash-migrate-"));
    copyFileSync(path.join(FIXTURES, "actions.mjs"), path.join(dir, "actions.mjs"));
    copyFileSync(path.join(FIXTURES, "v1.yaml"), path.join(dir, "v1.yaml"));
    copyFileSync(path.join(FIXTURES, "v2.yaml"), path.join(dir, "v2.yaml"));
    writeFileSync(path.join(dir, "settings.yaml"), "stream: sqlite:./store.db\nretry: sqlite:./store.db\ncache: sqlite:./store.db\ncheckpoint: sqlite:./store.db\nmetrics: sqlite:./store.db\njournal: sqlite:./store.db\n");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("leaves every instance on exactly one version, and a second run moves the rest", { timeout: 180_000 }, async () => {
    const open = (file: string) => Switchyard.open({ definitions: path.join(dir, file), settings: path.join(dir, "settings.yaml"), logger: silentLogger, cwd: dir });
    const v1 = await open("v1.yaml");
    let v1Version: string;
    try {
      v1Version = v1.definitions.get("approval").version;
      const started = await v1.startMany(Array.from({ length: INSTANCES }, (_, i) => ({ machineName: "approval", correlationId: `a${i}` })));
      expect(started.every((r) => r.ok)).toBe(true);
      await v1.worker({ concurrency: 16, stopWhenIdle: async () => (await v1.pending()) === 0 }).run();
      expect(await v1.list({ status: "waiting" })).toHaveLength(INSTANCES);
    } finally {
      await v1.close();
    }

    const args = ["migrate", "-d", "v2.yaml", "-s", "settings.yaml", "-m", "approval", "--from", "2026-11", "--json"];
    const child = spawnCli(args, { cwd: dir, env: { APPROVAL_MIGRATE_DELAY_MS: "20" } });
    const done = finished(child, 120_000);
    const sy = await open("v2.yaml");
    try {
      const v2Version = sy.definitions.get("approval").version;
      for (const deadline = Date.now() + 60_000; (await sy.list({ version: v2Version })).length < 20; ) {
        if (Date.now() > deadline) throw new Error("timed out waiting for the migration to move 20 instances");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      child.kill("SIGKILL");
      expect((await done).signal).toBe("SIGKILL");

      const check = async (record: InstanceRecord) => {
        const moves = (await sy.history(record.correlationId)).filter((m) => m.origin === "migrate");
        if (record.version === v2Version) {
          expect(record).toMatchObject({ state: "pending_review", status: "waiting", userContext: { submitted: true, queue: "reviewers" } });
          expect(moves).toEqual([expect.objectContaining({ version: v2Version, migrated_from: { version: v1Version, state: "awaiting_approval" } })]);
          return "moved";
        }
        expect(record).toMatchObject({ version: v1Version, state: "awaiting_approval", status: "waiting", userContext: { submitted: true } });
        expect(record.userContext).not.toHaveProperty("queue");
        expect(moves).toEqual([]);
        return "stayed";
      };
      const all = await sy.list({ machineName: "approval" });
      expect(all).toHaveLength(INSTANCES);
      const outcomes = await Promise.all(all.map(check));
      const moved = outcomes.filter((o) => o === "moved").length;
      expect(moved).toBeGreaterThanOrEqual(20);
      expect(moved).toBeLessThan(INSTANCES);

      const again = await runCli(args, { cwd: dir });
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout).moved).toHaveLength(INSTANCES - moved);
      for (const record of await sy.list({ machineName: "approval" })) expect(await check(record)).toBe("moved");

      for (const record of all) await sy.sendEvent(record.correlationId, "approve");
      await sy.worker({ concurrency: 16, stopWhenIdle: async () => (await sy.pending()) === 0 }).run();
      const completed = await sy.list({ status: "completed" });
      expect(completed).toHaveLength(INSTANCES);
      for (const record of completed) expect(record).toMatchObject({ version: v2Version, state: "approved", userContext: { queue: "reviewers", rules: "2026-12" } });
    } finally {
      await sy.close();
    }
  });
});
