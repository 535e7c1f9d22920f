/**
 * Workers and versions (SPEC §10), on one SQLite file: a worker runs the instances of two versions
 * side by side, fetching from the definition registry the one it did not load; a running instance
 * moves to a new version at its next message once a migration is ordered; a machine no one
 * registered goes to the dead letters with its instance failed; and a version that cannot be had
 * is retried, then fails its instance with why.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Switchyard } from "../../src/client/switchyard.js";
import { silentLogger } from "../../src/logger.js";
import { ROOT } from "../support/cli.js";

const FIXTURES = path.join(ROOT, "test/fixtures/approval");

describe("workers and definition versions", () => {
  let dir: string;
  const opened: Switchyard[] = [];
  const open = async (file: string) => {
    const sy = await Switchyard.open({ definitions: path.join(dir, file), settings: path.join(dir, "settings.yaml"), logger: silentLogger, cwd: dir });
    opened.push(sy);
    return sy;
  };
  const drain = (sy: Switchyard) => sy.worker({ concurrency: 4, stopWhenIdle: async () => (await sy.pending()) === 0 }).run();

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "switchyard-versions-worker-"));
    for (const file of ["actions.mjs", "v1.yaml", "v2.yaml"]) copyFileSync(path.join(FIXTURES, file), path.join(dir, file));
    writeFileSync(path.join(dir, "settings.yaml"), "stream: sqlite:./store.db\nretry: sqlite:./store.db\ncache: sqlite:./store.db\ncheckpoint: sqlite:./store.db\nmetrics: sqlite:./store.db\njournal: sqlite:./store.db\n");
    writeFileSync(path.join(dir, "other.yaml"), "machines:\n  - name: other\n    states:\n      - name: only\n        initial: true\n        final: true\n");
  });
  afterEach(async () => {
    for (const sy of opened.splice(0)) await sy.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a worker runs two versions side by side, loading from the registry the one it lacks", async () => {
    const v1 = await open("v1.yaml");
    const old = await v1.start("approval", { correlationId: "old" });
    const v2 = await open("v2.yaml");
    const fresh = await v2.start("approval", { correlationId: "new" });
    await drain(v2);
    expect(await v2.status(old.correlationId)).toMatchObject({ version: v1.definitions.get("approval").version, state: "awaiting_approval", status: "waiting" });
    expect(await v2.status(fresh.correlationId)).toMatchObject({ version: v2.definitions.get("approval").version, state: "pending_review", status: "waiting" });
    await v2.sendEvent("old", "approve");
    await v2.sendEvent("new", "approve");
    await drain(v2);
    expect(await v2.status("old")).toMatchObject({ status: "completed", state: "approved", userContext: { rules: "2026-11" } });
    expect(await v2.status("new")).toMatchObject({ status: "completed", state: "approved", userContext: { rules: "2026-12" } });
  });

  it("a worker started with another definition file runs any registered machine", async () => {
    const v1 = await open("v1.yaml");
    await v1.start("approval", { correlationId: "a1" });
    const other = await open("other.yaml");
    await drain(other);
    expect(await other.status("a1")).toMatchObject({ status: "waiting", state: "awaiting_approval" });
  });

  it("a running instance moves to the new version at its next message", async () => {
    const v1 = await open("v1.yaml");
    await v1.start("approval", { correlationId: "r1" });
    const v2 = await open("v2.yaml");
    const result = await v2.migrate({ machine: "approval", from: "2026-11" });
    expect(result).toMatchObject({ moved: [], atNextMessage: 1, refused: [] });
    await drain(v2);
    const v2Version = v2.definitions.get("approval").version;
    expect(await v2.status("r1")).toMatchObject({ version: v2Version, state: "pending_review", status: "waiting", userContext: { submitted: true, queue: "reviewers" } });
    const history = await v2.history("r1");
    expect(history.map((m) => [m.current_state, m.current_event, m.origin])).toEqual([
      ["pseudo_init", "pseudo_init", undefined],
      ["pseudo_init", "pseudo_init", "migrate"],
    ]);
    expect(history[1]).toMatchObject({ version: v2Version, migrated_from: { version: v1.definitions.get("approval").version, state: "pseudo_init" } });
  });

  it("a message of a machine no one registered goes to the dead letters, its instance failed with why", async () => {
    const other = await open("other.yaml");
    const body = JSON.stringify({
      version: "0.1",
      system_context: { machine_name: "ghost", current_state: "pseudo_init", current_event: "pseudo_init", correlation_id: "g1", steps: 0, retries: 0 },
      user_context: {},
    });
    await other.roles.stream.primary.send({ correlationId: "g1", steps: 0, retries: 0, body, delaySeconds: 0 });
    await drain(other);
    const reason = `unknown machine "ghost": this worker knows other and the definition registry in ${other.roles.journal?.uri} has no version of it; deploy its definition (switchyard deploy -d <file>) or start the worker with it`;
    expect(await other.status("g1")).toMatchObject({ status: "failed", reason });
    expect((await other.deadLetters()).map((letter) => letter.reason)).toEqual([reason]);
  });

  it("a message pinned to a version that is not registered is retried, then fails its instance with why", async () => {
    const other = await open("other.yaml");
    const body = JSON.stringify({
      version: "0.1",
      system_context: { machine_name: "other", current_state: "pseudo_init", current_event: "pseudo_init", correlation_id: "p1", steps: 0, retries: 0, max_retries: 0, machine_version: "0123456789abcdef" },
      user_context: {},
    });
    await other.roles.stream.primary.send({ correlationId: "p1", steps: 0, retries: 0, body, delaySeconds: 0 });
    await drain(other);
    expect(await other.status("p1")).toMatchObject({
      status: "failed",
      reason: `gave up after 0 retries: version 0123456789abcdef of machine "other" is not in the definition registry in ${other.roles.journal?.uri}; deploy the definition that holds it (switchyard deploy -d <file>)`,
    });
  });
});
