/**
 * The examples stay valid and runnable: their definitions validate, the TypeScript one runs, and
 * expense-approval's README walk-through works as a user runs it, with real CLI processes.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it, vi } from "vitest";
import { Switchyard } from "../../src/client/switchyard.js";
import { silentLogger } from "../../src/logger.js";
import { validateDefinitionFile } from "../../src/definition/validate.js";
import { ROOT, runCli } from "../support/cli.js";

const run = promisify(execFile);

describe("examples", () => {
  it.each(["tracer", "local-transitions", "order-pipeline", "expense-approval"])("%s/fsm.yaml validates", async (name) => {
    expect(await validateDefinitionFile(path.join(ROOT, "examples", name, "fsm.yaml"))).toEqual([]);
  });

  it.each([
    ["tracer", "tracer", { failure_rate: 0, loops: 3 }, "completed", "final"],
    ["local-transitions", "normalize", {}, "completed", "done"],
    ["order-pipeline", "order", {}, "completed", "rejected"],
  ])("%s runs to its end", async (dir, machine, context, status, state) => {
    const scratch = mkdtempSync(path.join(tmpdir(), "switchyard-example-"));
    const log = vi.spyOn(console, "error").mockImplementation(() => {}); // the examples narrate on stderr
    const sy = await Switchyard.open({ definitions: path.join(ROOT, "examples", dir, "fsm.yaml"), cwd: scratch, logger: silentLogger });
    try {
      expect(await sy.run(machine, { context })).toMatchObject({ status, state });
    } finally {
      await sy.close();
      log.mockRestore();
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it("expense-approval: start, worker, send, abort with its compensation, pause and resume, from the CLI", async () => {
    const scratch = mkdtempSync(path.join(tmpdir(), "switchyard-example-"));
    const fsm = path.join(ROOT, "examples/expense-approval/fsm.yaml");
    /** Run a command in the scratch directory (where holds.json is written); it must succeed. */
    const ok = async (...args: string[]) => {
      const result = await runCli(args, { cwd: scratch });
      expect(result.code, `${args.join(" ")}: ${result.stderr}`).toBe(0);
      return result;
    };
    const status = async (id: string) => JSON.parse((await ok("status", id, "--json")).stdout);
    const holds = () => JSON.parse(readFileSync(path.join(scratch, "holds.json"), "utf8"));
    const work = async () => (await ok("worker", "-d", fsm, "--until-idle", "-q")).stderr;
    try {
      expect((await ok("validate", fsm)).stdout).toMatch(/fsm\.yaml: ok\n$/);
      const expenses = { "exp-1": { employee: "joe", amount: 320 }, "exp-2": { employee: "mia", amount: 1250 }, "exp-3": { employee: "sam", amount: 89.9 } };
      await Promise.all(Object.entries(expenses).map(([id, context]) => ok("start", "expense", "-d", fsm, "--correlation-id", id, "--context", JSON.stringify(context))));
      expect(await work()).toContain("[expense exp-2] holding: 1250.00 EUR held on the card\n");
      for (const id of Object.keys(expenses)) expect(await status(id)).toMatchObject({ status: "waiting", state: "awaiting_approval", steps: 2 });
      expect(holds()).toEqual({
        "exp-1": { employee: "joe", amount: 320, status: "held" },
        "exp-2": { employee: "mia", amount: 1250, status: "held" },
        "exp-3": { employee: "sam", amount: 89.9, status: "held" },
      });

      // An approval, an abort, and an approval for a paused instance, then one worker run.
      expect((await ok("send", "exp-1", "approve", "-d", fsm, "--data", '{"by": "ana"}')).stdout).toBe("sent approve to exp-1 in state awaiting_approval as step 3\n");
      expect((await ok("abort", "exp-2", "-d", fsm, "--reason", "conference cancelled")).stdout).toBe(
        "abort of exp-2 requested (conference cancelled): it was waiting, so an abort message was sent; a worker takes it\n",
      );
      await ok("pause", "exp-3");
      await ok("send", "exp-3", "approve", "-d", fsm, "--data", '{"by": "bo"}');
      const log = await work();
      expect(log).toContain("[expense exp-1] paying: 320.00 EUR captured and paid out to joe\n");
      expect(log).toContain("[expense exp-2] cancelling: hold of 1250.00 EUR released\n");
      expect(log).not.toContain("exp-3");
      expect(await status("exp-1")).toMatchObject({ status: "completed", state: "paid", user_context: { decided_by: "ana" } });
      expect(await status("exp-2")).toMatchObject({ status: "aborted", state: "cancelled", reason: "conference cancelled", abort: { step: 3 } });
      expect(await status("exp-3")).toMatchObject({ status: "paused", paused_status: "waiting", paused: true, parked: 1, state: "awaiting_approval" });
      expect(holds()).toMatchObject({
        "exp-1": { status: "captured", by: "ana" },
        "exp-2": { status: "released" },
        "exp-3": { status: "held" },
      });

      expect((await ok("resume", "exp-3")).stdout).toBe("resumed exp-3: 1 parked message sent again\n");
      expect(await work()).toContain("[expense exp-3] paying: 89.90 EUR captured and paid out to sam\n");
      expect(await status("exp-3")).toMatchObject({ status: "completed", state: "paid", user_context: { decided_by: "bo" } });
      expect(holds()["exp-3"]).toEqual({ employee: "sam", amount: 89.9, status: "captured", by: "bo" });

      // history's origin column: the timer shows when it is due (48 h after it was scheduled).
      const rows = (await ok("history", "exp-3")).stdout.trimEnd().split("\n").map((line) => line.split(/ {2,}/));
      expect(rows.map((row) => [row[2], row[3], row[6]?.replace(/\d{4}-\S+Z/, "<time>")])).toEqual([
        ["state", "event", "origin"],
        ["pseudo_init", "pseudo_init", "start"],
        ["submitted", "valid", "-"],
        ["holding", "held", "-"],
        ["awaiting_approval", "pseudo_timer", "timer, due <time>"],
        ["awaiting_approval", "approve", "event"],
        ["awaiting_approval", "approve", "resume"],
        ["paying", "paid", "-"],
      ]);
      const timer = rows[4] as string[];
      // Due and sent times come from two readings of the clock, a moment apart.
      const delay = Date.parse((timer[6] as string).slice("timer, due ".length)) - Date.parse(timer[1] as string);
      expect(delay).toBeGreaterThan(48 * 3600 * 1000 - 1000);
      expect(delay).toBeLessThanOrEqual(48 * 3600 * 1000);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }, 60_000);

  it("typescript-api/main.ts drives its machine to the end", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "switchyard-example-"));
    try {
      const env = { ...process.env, SWITCHYARD_STORE: `sqlite:${dir}/example.db` };
      const script = path.join(ROOT, "examples/typescript-api/main.ts");
      const { stdout } = await run(process.execPath, ["--import", "tsx", script, "https://example.com/a"], { cwd: ROOT, env });
      expect(stdout).toMatch(/^[0-9a-f]{32}: completed in state indexed\n\{"url":"https:\/\/example.com\/a","words":5\}\n/);
      const skipped = await run(process.execPath, ["--import", "tsx", script, "https://example.com/empty"], { cwd: ROOT, env });
      expect(skipped.stdout).toMatch(/completed in state skipped/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
