/**
 * The operator's commands (SPEC §9) as a user runs them: real processes in a fresh directory with a
 * small expense machine that charges a card (failing while the file `processor-down` exists), waits
 * for an approval with an `after: 48h` timer, and refunds on abort. Times in the output are
 * replaced by `<time>`; everything else is compared exactly.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ACTIONS, FSM } from "../fixtures/operations/expense.js";
import { runCli } from "../support/cli.js";

/** ISO times in output → `<time>`, machine versions (16 hex digits) → `<version>`. */
const timeless = (text: string) => text.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, "<time>").replace(/\b[0-9a-f]{16}\b/g, "<version>");
/** A table's cells, row by row (columns are two or more spaces apart), times as `<time>`. */
const cells = (text: string) =>
  text
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, "<time>")
    .replace(/\b[0-9a-f]{16}\b/g, "<version>")
    .trimEnd()
    .split("\n")
    .map((line) => line.split(/ {2,}/));

describe("switchyard operations from the CLI", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "switchyard-ops-"));
    writeFileSync(path.join(dir, "fsm.yaml"), FSM);
    writeFileSync(path.join(dir, "actions.mjs"), ACTIONS);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cli = (...args: string[]) => runCli(args, { cwd: dir });
  /** Run a command that must succeed; its stdout. */
  async function ok(...args: string[]): Promise<string> {
    const result = await cli(...args);
    expect(result.code, `${args.join(" ")}: ${result.stderr}`).toBe(0);
    return result.stdout;
  }
  /** Run a command that must fail with one line; that line. */
  async function refused(...args: string[]): Promise<string> {
    const result = await cli(...args);
    expect([result.code, result.stdout]).toEqual([1, ""]);
    return result.stderr;
  }
  const json = async (...args: string[]) => JSON.parse(await ok(...args, "--json"));
  const work = () => ok("worker", "-d", "fsm.yaml", "--until-idle", "-q");

  it("start, worker, status waiting; pause parks an event; resume runs it", async () => {
    expect(await ok("start", "expense", "-d", "fsm.yaml", "--correlation-id", "exp-1")).toBe("exp-1\n");
    // The 48 h timer of the state it waits in is pending, and --until-idle does not wait for it.
    await work();
    expect(timeless(await ok("status", "exp-1"))).toBe(
      [
        "correlation_id: exp-1",
        "machine:        expense",
        "status:         waiting",
        "state:          review",
        "steps:          1",
        "version:        <version>",
        "started:        <time>",
        "updated:        <time>",
        'user_context:   {"charged":true}',
        "",
      ].join("\n"),
    );

    expect(await ok("pause", "exp-1")).toBe('paused exp-1 in state "review" (waiting); its messages are parked until: switchyard resume exp-1\n');
    expect(await ok("send", "exp-1", "approve", "-d", "fsm.yaml", "--data", '{"by": "ana"}')).toBe("sent approve to exp-1 in state review as step 2\n");
    await work();
    expect(timeless(await ok("status", "exp-1"))).toBe(
      [
        "correlation_id: exp-1",
        "machine:        expense",
        "status:         paused (resumes waiting)",
        "paused:         by an operator (switchyard resume exp-1); 1 message parked",
        "state:          review",
        "steps:          1",
        "version:        <version>",
        "started:        <time>",
        "updated:        <time>",
        'user_context:   {"charged":true}',
        "",
      ].join("\n"),
    );
    expect(await json("status", "exp-1")).toEqual({
      correlation_id: "exp-1",
      machine_name: "expense",
      status: "paused",
      state: "review",
      steps: 1,
      version: expect.stringMatching(/^[0-9a-f]{16}$/),
      user_context: { charged: true },
      started_at: expect.any(String),
      updated_at: expect.any(String),
      paused_status: "waiting",
      paused: true,
      parked: 1,
    });
    expect(cells(await ok("list", "--status", "paused"))).toEqual([
      ["correlation_id", "machine", "version", "status", "state", "updated", "reason"],
      ["exp-1", "expense", "<version>", "paused (waiting, 1 parked)", "review", "<time>"],
    ]);

    expect(await json("resume", "exp-1")).toEqual({ correlation_id: "exp-1", resent: 1, still_held: 0 });
    expect(await ok("resume", "exp-1")).toBe("resumed exp-1: 0 parked messages sent again\n");
    await work();
    expect(await json("status", "exp-1")).toMatchObject({
      status: "completed",
      state: "approved",
      steps: 2,
      version: expect.stringMatching(/^[0-9a-f]{16}$/),
      user_context: { charged: true, event_data: { by: "ana" }, approved_by: "ana" },
    });
    expect((await json("history", "exp-1")).messages.map((m: { current_event: string; origin?: string }) => [m.current_event, m.origin ?? "-"])).toEqual([
      ["pseudo_init", "-"],
      ["charged", "-"],
      ["pseudo_timer", "timer"],
      ["approve", "event"],
      ["approve", "resume"],
    ]);
  }, 120_000);

  it("abort with --reason: the worker runs the compensation and the instance ends aborted", async () => {
    expect(await ok("start", "expense", "-d", "fsm.yaml", "--correlation-id", "exp-2")).toBe("exp-2\n");
    await work();
    expect(await ok("abort", "exp-2", "-d", "fsm.yaml", "--reason", "customer cancelled")).toBe(
      "abort of exp-2 requested (customer cancelled): it was waiting, so an abort message was sent; a worker takes it\n",
    );
    expect(timeless(await ok("status", "exp-2"))).toBe(
      [
        "correlation_id: exp-2",
        "machine:        expense",
        "status:         waiting",
        "abort:          requested <time> (customer cancelled); not taken yet: the instance's next step takes it",
        "state:          review",
        "steps:          1",
        "version:        <version>",
        "started:        <time>",
        "updated:        <time>",
        'user_context:   {"charged":true}',
        "",
      ].join("\n"),
    );
    expect(await ok("abort", "exp-2", "-d", "fsm.yaml")).toBe("the abort of exp-2 was already requested (customer cancelled); a worker takes it\n");
    await work();
    const status = await json("status", "exp-2");
    expect(status).toEqual({
      correlation_id: "exp-2",
      machine_name: "expense",
      status: "aborted",
      state: "refunded",
      steps: 3,
      version: expect.stringMatching(/^[0-9a-f]{16}$/),
      user_context: { charged: true, refunded: true },
      started_at: expect.any(String),
      updated_at: expect.any(String),
      reason: "customer cancelled",
      abort: { reason: "customer cancelled", requested_at: expect.any(String), step: 2 },
    });
    expect(timeless(await ok("status", "exp-2"))).toContain(
      "status:         aborted (customer cancelled)\nabort:          requested <time> (customer cancelled); step 2 took it into the on_abort state\nstate:          refunded\n",
    );
    expect(await json("abort", "exp-2", "-d", "fsm.yaml")).toEqual({ correlation_id: "exp-2", requested: false, reason: "customer cancelled", via: "done" });
    expect(cells(await ok("list", "--status", "aborted"))).toEqual([
      ["correlation_id", "machine", "version", "status", "state", "updated", "reason"],
      ["exp-2", "expense", "<version>", "aborted", "refunded", "<time>", "customer cancelled"],
    ]);
    expect(await refused("abort", "exp-1", "-d", "fsm.yaml")).toBe('switchyard: instance exp-1 is completed (state "approved"); a finished instance cannot be aborted\n');
    expect(await refused("abort", "nope", "-d", "fsm.yaml")).toBe(
      'switchyard: no instance with correlation id "nope" in sqlite:.switchyard/switchyard.db; check the id and --settings\n',
    );
  }, 120_000);

  it("redrive runs a failed instance's step again once its cause is fixed", async () => {
    writeFileSync(path.join(dir, "processor-down"), "");
    expect(await ok("start", "expense", "-d", "fsm.yaml", "--correlation-id", "exp-3")).toBe("exp-3\n");
    await work();
    const reason = "gave up after 0 retries: charging.do_action ./actions.mjs#Charge threw: card processor down";
    expect(await json("status", "exp-3")).toMatchObject({ status: "failed", state: "pseudo_init", reason });
    expect(cells(await ok("list", "--status", "failed"))).toEqual([
      ["correlation_id", "machine", "version", "status", "state", "updated", "reason"],
      ["exp-3", "expense", "<version>", "failed", "pseudo_init", "<time>", reason],
    ]);
    rmSync(path.join(dir, "processor-down"));
    expect(await refused("redrive", "exp-1", "-d", "fsm.yaml")).toBe("switchyard: instance exp-1 is completed, not failed; only failed instances can be redriven\n");
    expect(await json("redrive", "exp-3", "-d", "fsm.yaml")).toEqual({
      correlation_id: "exp-3",
      state: "pseudo_init",
      event: "pseudo_init",
      steps: 0,
      role: "stream",
      side: "primary",
    });
    expect(await refused("redrive", "exp-3", "-d", "fsm.yaml")).toBe("switchyard: instance exp-3 is running, not failed; only failed instances can be redriven\n");
    await work();
    expect(await json("status", "exp-3")).toMatchObject({ status: "waiting", state: "review", user_context: { charged: true } });
    expect((await json("history", "exp-3")).messages.map((m: { current_event: string; origin?: string }) => [m.current_event, m.origin ?? "-"])).toEqual([
      ["pseudo_init", "-"],
      ["pseudo_init", "redrive"],
      ["charged", "-"],
      ["pseudo_timer", "timer"],
    ]);
  }, 120_000);

  it("pause --machine at a state holds the next step of its instances there; pauses lists it; resume --machine lifts it", async () => {
    expect(await ok("pause", "--machine", "expense", "--state", "review", "-d", "fsm.yaml")).toBe(
      'paused machine expense at state "review": the next step of each of its instances in "review" is parked until: switchyard resume --machine expense --state review -d <file>\n',
    );
    expect(await ok("pauses")).toBe("machine  state\nexpense  review\n");
    expect(await json("pauses")).toEqual([{ machine: "expense", state: "review" }]);
    expect(await ok("send", "exp-3", "approve", "-d", "fsm.yaml", "--data", '{"by": "bo"}')).toBe("sent approve to exp-3 in state review as step 2\n");
    await work();
    expect(timeless(await ok("status", "exp-3"))).toContain(
      "status:         paused (resumes waiting)\npaused:         by a pause of its machine (switchyard pauses); 1 message parked\n",
    );
    expect(await ok("resume", "--machine", "expense", "--state", "review", "-d", "fsm.yaml")).toBe(
      'lifted the pause of machine expense at state "review": 1 parked message sent again\n',
    );
    await work();
    expect(await json("status", "exp-3")).toMatchObject({ status: "completed", state: "approved", user_context: { approved_by: "bo" } });
    expect(await json("pauses")).toEqual([]);
  }, 120_000);

  it("list --stalled finds an instance whose message was lost; recover sends it again", async () => {
    // Its stream and retries in a file of their own, which is then lost.
    writeFileSync(path.join(dir, "lossy.yaml"), "stream: sqlite:./queue.db\nretry: sqlite:./queue.db\n");
    expect(await ok("start", "expense", "-d", "fsm.yaml", "-s", "lossy.yaml", "--correlation-id", "exp-4")).toBe("exp-4\n");
    for (const file of ["queue.db", "queue.db-wal", "queue.db-shm"]) rmSync(path.join(dir, file), { force: true });
    const stalled = ["list", "--stalled", "--older-than", "0s", "-s", "lossy.yaml", "-d", "fsm.yaml"];
    expect(await ok("list", "--stalled", "-s", "lossy.yaml")).toBe("correlation_id  machine  status  state  why\n");
    expect(cells(await ok(...stalled))).toEqual([
      ["correlation_id", "machine", "status", "state", "why"],
      ["exp-4", "expense", "running", "pseudo_init", "running, no activity since <time>"],
    ]);
    expect(await json(...stalled)).toEqual([
      {
        correlation_id: "exp-4",
        machine_name: "expense",
        status: "running",
        state: "pseudo_init",
        steps: 0,
        version: expect.stringMatching(/^[0-9a-f]{16}$/),
        user_context: {},
        started_at: expect.any(String),
        updated_at: expect.any(String),
        why: expect.stringMatching(/^running, no activity since \d{4}-/),
        pending_checked: true,
      },
    ]);
    expect(await ok("recover", "exp-4", "-d", "fsm.yaml", "-s", "lossy.yaml")).toBe(
      "recovering exp-4: sent step 0 (pseudo_init/pseudo_init, retry 0) again; a worker runs it\n",
    );
    await ok("worker", "-d", "fsm.yaml", "-s", "lossy.yaml", "--until-idle", "-q");
    expect(await json("status", "exp-4", "-s", "lossy.yaml")).toMatchObject({ status: "waiting", state: "review" });
    expect(await ok(...stalled)).toBe("correlation_id  machine  status  state  why\n");
    expect(await refused("recover", "exp-1", "-d", "fsm.yaml")).toBe('switchyard: instance exp-1 is completed (state "approved"); a finished instance cannot be recovered\n');
  }, 120_000);

  it("refuses what does not add up, in one line", async () => {
    const usage = "e.g. switchyard pause order-7, or switchyard pause --machine order --state charging -d fsm.yaml";
    expect(await refused("pause", "exp-1", "--machine", "expense")).toBe(`switchyard: pause takes an instance id or --machine, not both; ${usage}\n`);
    expect(await refused("pause")).toBe(`switchyard: pause needs an instance id or --machine <name>; ${usage}\n`);
    expect(await refused("resume", "exp-1", "--state", "review")).toBe(
      "switchyard: --state goes with --machine (a pause of a machine at one state); e.g. switchyard resume order-7, or switchyard resume --machine order --state charging -d fsm.yaml\n",
    );
    expect(await refused("pause", "--machine", "expense")).toBe("switchyard: pause --machine needs the definitions to check the machine and its state; add -d <file>\n");
    expect(await refused("pause", "--machine", "expense", "--state", "nope", "-d", "fsm.yaml")).toBe(
      'switchyard: machine "expense" has no state "nope"; its states: charging, review, approved, expired, refunding, refunded\n',
    );
    expect(await refused("pause", "exp-1")).toBe('switchyard: instance exp-1 is completed (state "approved"); a finished instance cannot be paused\n');
    expect(await refused("list", "--older-than", "10m")).toBe("switchyard: --older-than goes with --stalled; e.g. switchyard list --stalled --older-than 10m\n");
    expect(await refused("list", "--stalled", "--older-than", "ten")).toBe('switchyard: --older-than must be a duration like 90s, 15m, 48h or 30d, got "ten"\n');
    expect(await refused("list", "--stalled", "--status", "running")).toBe(
      "switchyard: --stalled and --status do not go together: stalled instances are running, or waiting past their timer\n",
    );
    const missing = await cli("abort", "exp-1");
    expect([missing.code, missing.stderr]).toEqual([1, "error: required option '-d, --definitions <file>' not specified\n(run with --help for usage)\n"]);
  }, 120_000);
});
