/**
 * `switchyard dead-letters redrive` as an operator runs it: a message dead-lettered because the
 * worker lacked its machine is redriven once the worker has it, and the instance completes.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ROOT, runCli } from "../support/cli.js";

/** Holds machine `simple` (start → middle → end, one action each). */
const FULL = path.join(ROOT, "test/fixtures/protocol/fsm.yaml");
/**
 * A definition file without `simple`, and settings without the journal (so without the definition
 * registry it could fetch `simple` from): what a worker deployed too early would run.
 */
const PARTIAL = "machines:\n- name: other\n  states:\n  - name: a\n    initial: true\n    final: true\n";
const NO_JOURNAL = "stream: sqlite:.switchyard/switchyard.db\nretry: sqlite:.switchyard/switchyard.db\ncache: sqlite:.switchyard/switchyard.db\njournal: false\n";
const UNKNOWN =
  'unknown machine "simple" (this worker knows: other) and the journal is switched off, so no registered version can be fetched; start the worker with the definition file that holds it';

describe("switchyard dead-letters redrive", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "switchyard-redrive-"));
    writeFileSync(path.join(dir, "partial.yaml"), PARTIAL);
    writeFileSync(path.join(dir, "early.settings.yaml"), NO_JOURNAL);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const cli = (...args: string[]) => runCli(args, { cwd: dir });

  it("re-sends a message dead-lettered for an unknown machine; the worker that has it completes the instance", async () => {
    expect((await cli("start", "simple", "-d", FULL, "--correlation-id", "order-1")).stdout).toBe("order-1\n");
    const early = await cli("worker", "-d", "partial.yaml", "-s", "early.settings.yaml", "--until-idle", "--quiet");
    expect(early.code, early.stderr).toBe(0);
    expect(early.stderr).toContain(`message 1 from stream.primary moved to dead letters: ${UNKNOWN}`);

    const listed = await cli("dead-letters");
    expect(listed.stdout.split("\n")).toEqual([
      expect.stringMatching(/^id\s+dead_at\s+source\s+message\s+reason$/),
      expect.stringMatching(new RegExp(`^1\\s+\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\s+sqlite:\\.switchyard/switchyard\\.db\\s+1\\s+${literal(UNKNOWN)}$`)),
      "",
    ]);

    const redriven = await cli("dead-letters", "redrive", "--all");
    expect(redriven).toMatchObject({ code: 0, stderr: "" });
    expect(redriven.stdout).toBe("redriven 1 from sqlite:.switchyard/switchyard.db (instance order-1) to stream.primary\n1 redriven, 0 failed\n");
    expect((await cli("dead-letters", "--json")).stdout).toBe("[]\n");

    const worker = await cli("worker", "-d", FULL, "--until-idle", "--quiet");
    expect(worker.code, worker.stderr).toBe(0);
    const status = JSON.parse((await cli("status", "order-1", "--json")).stdout);
    expect(status).toMatchObject({ correlation_id: "order-1", status: "completed", state: "end" });
    const history = JSON.parse((await cli("history", "order-1", "--json")).stdout);
    expect(history.messages.map((m: { steps: number; origin?: string }) => [m.steps, m.origin ?? null])).toEqual([
      [0, null],
      [0, "dead-letter"],
      [1, null],
      [2, null],
    ]);
    expect((await cli("dead-letters")).stdout).toBe("id  dead_at  source  message  reason\n");
    expect((await cli("dead-letters", "redrive", "--all")).stdout).toBe("no dead letters to redrive\n");
  });

  it("needs --id or --all, names an unknown id, keeps a letter whose send failed, and prints --json results", async () => {
    expect(await cli("dead-letters", "redrive")).toMatchObject({ code: 1, stdout: "", stderr: "switchyard: dead-letters redrive needs --id N or --all\n" });
    expect(await cli("dead-letters", "redrive", "--id", "1", "--all")).toMatchObject({
      code: 1,
      stderr: "switchyard: dead-letters redrive takes --id or --all, not both\n",
    });
    expect(await cli("dead-letters", "redrive", "--id", "one")).toMatchObject({ code: 1, stderr: 'switchyard: --id must be a whole number, got "one"\n' });
    expect(await cli("dead-letters", "redrive", "--id", "9")).toMatchObject({
      code: 1,
      stderr: "switchyard: no dead letter 9; list them with switchyard dead-letters\n",
    });
    const help = await cli("dead-letters", "redrive", "--help");
    expect(help.code).toBe(0);
    expect(help.stdout).toContain(
      "Examples:\n  $ switchyard dead-letters redrive --all\n  $ switchyard dead-letters redrive --id 3 --source sqlite:.switchyard/switchyard.db --json\n",
    );

    await cli("start", "simple", "-d", FULL, "--correlation-id", "order-2");
    await cli("worker", "-d", "partial.yaml", "-s", "early.settings.yaml", "--until-idle", "--quiet");
    // Every stream and retry backend refuses the send: the letter stays, and the exit code says so.
    writeFileSync(path.join(dir, "down.settings.yaml"), 'chaos: { "stream.primary": 1, "retry.primary": 1 }\n');
    const down = await cli("dead-letters", "redrive", "--all", "-s", "down.settings.yaml");
    expect(down.code).toBe(1);
    expect(down.stdout).toBe(
      "failed 1 from sqlite:.switchyard/switchyard.db (instance order-2): could not send dead letter 1 of sqlite:.switchyard/switchyard.db: every stream and retry backend failed\n0 redriven, 1 failed (still dead letters)\n",
    );
    const downJson = await cli("dead-letters", "redrive", "--id", "1", "--json", "-s", "down.settings.yaml");
    expect(downJson.code).toBe(1);
    expect(JSON.parse(downJson.stdout)).toEqual([
      {
        id: 1,
        source_uri: "sqlite:.switchyard/switchyard.db",
        correlation_id: "order-2",
        ok: false,
        error: "could not send dead letter 1 of sqlite:.switchyard/switchyard.db: every stream and retry backend failed",
      },
    ]);
    const redriven = await cli("dead-letters", "redrive", "--id", "1", "--json");
    expect(redriven.code, redriven.stderr).toBe(0);
    expect(JSON.parse(redriven.stdout)).toEqual([
      { id: 1, source_uri: "sqlite:.switchyard/switchyard.db", correlation_id: "order-2", ok: true, role: "stream", side: "primary" },
    ]);
  });

  it("with several stores, names a letter by id and source; a body that is no wire message is sent again and dead-lettered again", async () => {
    writeFileSync(path.join(dir, "two.settings.yaml"), "stream: sqlite:./a.db\nretry: sqlite:./b.db\ncache: sqlite:./a.db\n");
    const settings = ["-s", "two.settings.yaml"];
    const { Switchyard } = await import("../../src/client/switchyard.js");
    const sy = await Switchyard.open({ definitions: FULL, settings: path.join(dir, "two.settings.yaml"), cwd: dir });
    await sy.roles.stream.primary.send({ correlationId: "x", steps: 0, retries: 0, body: '{"version":"0.1"}', delaySeconds: 0 });
    await sy.roles.retry.primary.schedule({ correlationId: "y", steps: 0, retries: 1, body: "not json", delaySeconds: 0 });
    await sy.close();
    expect((await cli("worker", "-d", "partial.yaml", "--until-idle", "--quiet", ...settings)).code).toBe(0);
    const letters = JSON.parse((await cli("dead-letters", "--json", ...settings)).stdout) as Array<{ id: number; source_uri: string }>;
    expect(letters.map((l) => [l.id, l.source_uri]).sort()).toEqual([
      [1, "sqlite:./a.db"],
      [1, "sqlite:./b.db"],
    ]);

    expect(await cli("dead-letters", "redrive", "--id", "1", ...settings)).toMatchObject({
      code: 1,
      stderr: "switchyard: dead letter ids are per store and these settings have 2; name the source too: --source sqlite:./a.db or --source sqlite:./b.db\n",
    });
    const one = await cli("dead-letters", "redrive", "--id", "1", "--source", "sqlite:./b.db", ...settings);
    expect(one).toMatchObject({ code: 0, stdout: "redriven 1 from sqlite:./b.db to stream.primary\n1 redriven, 0 failed\n" });
    const left = JSON.parse((await cli("dead-letters", "--json", ...settings)).stdout) as Array<{ id: number; source_uri: string; body: string }>;
    expect(left.map((l) => [l.id, l.source_uri, l.body])).toEqual([[1, "sqlite:./a.db", '{"version":"0.1"}']]);

    // The body went to the stream unchanged; the worker moves it aside again, with its reason.
    const again = await cli("worker", "-d", "partial.yaml", "--until-idle", "--quiet", ...settings);
    expect(again.stderr).toContain("moved to dead letters: message is not valid JSON");
    const now = JSON.parse((await cli("dead-letters", "--json", ...settings)).stdout) as Array<{ source_uri: string; body: string }>;
    expect(now.map((l) => [l.source_uri, l.body]).sort()).toEqual([
      ["sqlite:./a.db", "not json"],
      ["sqlite:./a.db", '{"version":"0.1"}'],
    ]);
  });
});

function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
