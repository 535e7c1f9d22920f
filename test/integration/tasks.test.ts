/**
 * Task steps with local commands, end to end: real task processes (each under its detached
 * supervisor, `switchyard task-run`) that report with `switchyard report`, fail, hang past their
 * timeout, or outlive a SIGKILLed worker.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { Switchyard } from "../../src/client/switchyard.js";
import type { Worker } from "../../src/client/worker.js";
import type { ActionContext } from "../../src/core/action.js";
import { createHandler } from "../../src/lambda/handler.js";
import type { HttpResponse } from "../../src/lambda/http.js";
import { silentLogger } from "../../src/logger.js";
import type { InstanceRecord } from "../../src/ports.js";
import { BIN, runCli, spawnCli } from "../support/cli.js";

/** The machine: `resizing` runs `script` and waits for `done` (or `task_timeout` after `timeout`). */
function definition(script: string, options: { timeout?: string; heartbeat?: string; maxRetries?: number } = {}): string {
  return `machines:
- name: resize
  max_retries: ${options.maxRetries ?? 1}
  states:
  - name: resizing
    initial: true
    task:
      command: [node, ${script}]
      env: {SY_BIN: ${JSON.stringify(BIN)}, SIZE: "800"}
${options.timeout === undefined ? "" : `      timeout: ${options.timeout}\n`}${options.heartbeat === undefined ? "" : `      heartbeat: ${options.heartbeat}\n`}    transitions:
    - event: done
      target: resized
    - event: task_timeout
      target: timed_out
  - name: resized
    final: true
  - name: timed_out
    final: true
`;
}

/** Task scripts; each writes its token to token.txt and appends a line to runs.txt per run. */
const SCRIPTS: Record<string, string> = {
  "common.mjs": `import { appendFileSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
export function begin() {
  writeFileSync("token.txt", process.env.SWITCHYARD_TASK_TOKEN);
  appendFileSync("runs.txt", process.env.SWITCHYARD_TASK_ENV_KEY + " " + process.env.SIZE + "\\n");
}
export function report(event, data) {
  execFileSync(process.execPath, [process.env.SY_BIN, "report", "--event", event, "--data", JSON.stringify(data)], { stdio: "inherit" });
}
`,
  "report.mjs": `import { begin, report } from "./common.mjs";
begin();
report("done", { width: Number(process.env.SIZE) });
`,
  "fail.mjs": `import { begin } from "./common.mjs";
begin();
console.error("loading image.png");
console.error("resize failed: no such image");
process.exit(3);
`,
  "quiet.mjs": `import { begin } from "./common.mjs";
begin();
`,
  "hang.mjs": `import { writeFileSync } from "node:fs";
import { begin } from "./common.mjs";
begin();
process.on("SIGTERM", () => {
  writeFileSync("terminated", "");
  process.exit(143);
});
setTimeout(() => {}, 60000);
`,
  "heartbeats.mjs": `import { execFileSync } from "node:child_process";
import { begin, report } from "./common.mjs";
begin();
// Each heartbeat is a CLI run of about a second here: four of them outlast the 3 s heartbeat.
for (let i = 0; i < 4; i++) {
  execFileSync(process.execPath, [process.env.SY_BIN, "heartbeat"], { stdio: "inherit" });
  await new Promise((resolve) => setTimeout(resolve, 400));
}
report("done", { beats: 4 });
`,
  "wait-for-go.mjs": `import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { begin, report } from "./common.mjs";
begin();
const started = Date.now();
const poll = setInterval(() => {
  if (existsSync("go")) {
    clearInterval(poll);
    report("done", { after: "kill" });
  } else if (Date.now() - started > 30000) process.exit(9);
}, 50);
`,
  "wait-then-exit.mjs": `import { existsSync } from "node:fs";
import { begin } from "./common.mjs";
begin();
const started = Date.now();
const poll = setInterval(() => {
  if (existsSync("exit") || Date.now() - started > 30000) process.exit(0);
}, 50);
`,
};

let dir: string;
let sy: Switchyard | undefined;
let worker: { worker: Worker; running: Promise<unknown> } | undefined;

async function setUp(script: string, options: { timeout?: string; heartbeat?: string; maxRetries?: number } = {}): Promise<Switchyard> {
  dir = await mkdtemp(path.join(tmpdir(), "sy-tasks-"));
  await writeFile(path.join(dir, "fsm.yaml"), definition(script, options));
  await writeFile(path.join(dir, "settings.yaml"), ["stream", "retry", "cache", "checkpoint", "environment"].map((role) => `${role}: sqlite:./sy.db`).join("\n"));
  for (const [name, text] of Object.entries(SCRIPTS)) await writeFile(path.join(dir, name), text);
  sy = await Switchyard.open({ definitions: path.join(dir, "fsm.yaml"), settings: path.join(dir, "settings.yaml"), logger: silentLogger, cwd: dir });
  return sy;
}

function startWorker(open: Switchyard): void {
  const w = open.worker({ concurrency: 2, maxPollIntervalMs: 50 });
  worker = { worker: w, running: w.run() };
}

/** Stop the worker this test started, if it started one (teardown of every test). */
async function stopWorker(): Promise<void> {
  const running = worker;
  worker = undefined;
  running?.worker.stop();
  await running?.running;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const settled = (open: Switchyard, id: string) =>
  until(`instance ${id} to end`, async () => {
    const record = await open.status(id);
    return ["completed", "failed"].includes(record.status) ? record : undefined;
  });

const file = (name: string) => readFile(path.join(dir, name), "utf8");
const cli = (args: string[]) => runCli([...args, "-s", "settings.yaml"], { cwd: dir });

afterEach(async () => {
  await stopWorker();
  await sy?.close();
  sy = undefined;
  // Give task processes still running (hang.mjs) their own end; the folder goes regardless.
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
});

describe("command tasks", () => {
  it("a task that reports done completes its step; its data reaches the context", async () => {
    const open = await setUp("report.mjs");
    startWorker(open);
    const { correlationId } = await open.start("resize");
    const record: InstanceRecord = await settled(open, correlationId);
    expect(record).toMatchObject({ status: "completed", state: "resized", userContext: { event_data: { width: 800 } } });
    const history = await open.history(correlationId);
    expect(history.map((m) => [m.current_state, m.current_event, m.steps, m.origin ?? null])).toEqual([
      ["pseudo_init", "pseudo_init", 0, null],
      ["resizing", "done", 1, "event"],
    ]);
    expect((await file("runs.txt")).trim().split("\n")).toHaveLength(1);
  }, 30_000);

  it("a task that exits 0 without reporting stands for done, where its state has that transition", async () => {
    const open = await setUp("quiet.mjs");
    startWorker(open);
    const { correlationId } = await open.start("resize");
    expect(await settled(open, correlationId)).toMatchObject({ status: "completed", state: "resized", userContext: {} });
    expect(await open.attempts(correlationId)).toEqual([]);
  }, 30_000);

  it("a task that exits 1 is a failed attempt with its exit code and stderr tail, run again per max_retries, then fails the instance", async () => {
    const open = await setUp("fail.mjs", { maxRetries: 1 });
    startWorker(open);
    const { correlationId } = await open.start("resize");
    const record = await settled(open, correlationId);
    expect(record).toMatchObject({ status: "failed", state: "resizing" });
    expect(record.reason).toBe('task "node fail.mjs" exited with code 3');
    const attempts = await open.attempts(correlationId);
    expect(attempts.map((a) => [a.steps, a.retries, a.outcome, a.where, a.error_name])).toEqual([
      [0, 0, "retry", "resizing.task node fail.mjs", "TaskExitError"],
      [0, 1, "fatal", "resizing.task node fail.mjs", "TaskExitError"],
    ]);
    expect(attempts[1]?.error).toBe('task "node fail.mjs" exited with code 3; stderr:\nloading image.png\nresize failed: no such image');
    expect((await file("runs.txt")).trim().split("\n")).toHaveLength(2);
  }, 30_000);

  it("a task that hangs past its timeout takes the task_timeout transition, is stopped, and its late report is refused", async () => {
    const open = await setUp("hang.mjs", { timeout: "1s" });
    startWorker(open);
    const { correlationId } = await open.start("resize");
    const record = await settled(open, correlationId);
    expect(record).toMatchObject({ status: "completed", state: "timed_out" });
    // The timeout may fire before the task's process is even up (its supervisor starts through tsx here).
    await until("the task to start", async () => (existsSync(path.join(dir, "token.txt")) ? true : undefined));
    // Its supervisor sees the step settled without the task, and stops it.
    await until("the task to be stopped", async () => (existsSync(path.join(dir, "terminated")) ? true : undefined));
    const late = await cli(["report", "--token", await file("token.txt"), "--event", "done"]);
    expect(late.code).toBe(1);
    expect(late.stderr).toBe(
      `switchyard: stale task token: the task of instance ${correlationId} in state "resizing" (step 0) is settled, the instance is completed in state "timed_out" at step 1\n`,
    );
  }, 30_000);

  it("heartbeats keep a task alive past its heartbeat deadline; silence after them would time it out", async () => {
    const open = await setUp("heartbeats.mjs", { timeout: "60s", heartbeat: "3s" });
    startWorker(open);
    const { correlationId } = await open.start("resize");
    const started = Date.now();
    const record = await settled(open, correlationId);
    expect(record).toMatchObject({ status: "completed", state: "resized", userContext: { event_data: { beats: 4 } } });
    expect(Date.now() - started).toBeGreaterThan(3_000);
  }, 40_000);

  it("refuses an unknown token, and a second report of the same task as a duplicate", async () => {
    const open = await setUp("report.mjs");
    startWorker(open);
    const { correlationId } = await open.start("resize");
    await until("the task to start", async () => (existsSync(path.join(dir, "token.txt")) ? true : undefined));
    await stopWorker();
    // While it waits, the record names its task (the environment key the task was given), never the token.
    const key = (await file("runs.txt")).split(" ")[0];
    expect(await open.status(correlationId)).toMatchObject({ status: "waiting", state: "resizing", reason: `for task command ${key}` });
    // The worker is gone: the task's report waits in the stream, and the instance waits at step 0.
    await until("the report", async () => ((await open.history(correlationId)).some((m) => m.origin === "event") ? true : undefined));
    const token = await file("token.txt");
    const again = await cli(["report", "--token", token, "--event", "done"]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`switchyard: the task of instance ${correlationId} in state "resizing" (step 0) already reported; a task reports once\n`);
    const forged = await cli(["report", "--token", `${token.split(".")[0]}.forged`, "--event", "done"]);
    expect(forged.code).toBe(1);
    expect(forged.stderr).toMatch(/^switchyard: unknown task token "[^"]+"; use the token the task was given in SWITCHYARD_TASK_TOKEN, with the same --settings\n$/);
    startWorker(open);
    expect(await settled(open, correlationId)).toMatchObject({ status: "completed", state: "resized" });
  }, 30_000);

  it("a task reports over the Lambda handler's HTTP routes with its token: heartbeat, report, and the refusals", async () => {
    const open = await setUp("wait-then-exit.mjs", { timeout: "10m", heartbeat: "5m" });
    startWorker(open);
    const { correlationId } = await open.start("resize");
    await until("the task to start", async () => (existsSync(path.join(dir, "token.txt")) ? true : undefined));
    await until("the instance to wait", async () => ((await open.status(correlationId)).status === "waiting" ? true : undefined));
    const token = await file("token.txt");
    const handler = createHandler({ switchyard: open, logger: silentLogger, codecs: [] });
    const post = async (rawPath: string, body: unknown) => {
      const event = { version: "2.0", routeKey: `POST ${rawPath}`, rawPath, body: JSON.stringify(body), requestContext: { http: { method: "POST", path: rawPath } } };
      const response = (await handler(event)) as HttpResponse;
      return [response.statusCode, JSON.parse(response.body) as unknown] as const;
    };
    const [beatCode, beat] = await post("/prod/tasks/heartbeat", { token });
    expect(beatCode).toBe(200);
    expect(beat).toEqual({ correlationId, due: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect(await post("/prod/tasks/report", { token, event: "done", data: { via: "http" } })).toEqual([202, { correlationId, state: "resizing", event: "done", steps: 1 }]);
    expect(await post("/prod/tasks/report", { token, event: "done" })).toEqual([
      409,
      { error: `the task of instance ${correlationId} in state "resizing" (step 0) already reported; a task reports once` },
    ]);
    const [unknownCode, unknown] = await post("/prod/tasks/report", { token: `${token.split(".")[0]}.forged`, event: "done" });
    expect([unknownCode, unknown]).toEqual([404, { error: expect.stringMatching(/^unknown task token "[^"]+"; use the token the task was given/) }]);
    expect(await post("/prod/tasks/report", { event: "done" })).toEqual([400, { error: expect.stringMatching(/^"token" must be a non-empty string: /) }]);
    expect(await settled(open, correlationId)).toMatchObject({ status: "completed", state: "resized", userContext: { event_data: { via: "http" } } });
    // Once its step is settled, a report is stale.
    expect((await post("/prod/tasks/heartbeat", { token }))[0]).toBe(409);
    await writeFile(path.join(dir, "exit"), "");
  }, 30_000);

  it("the same message run again (its worker died between starting the task and committing) does not start the task twice; a step sent again does", async () => {
    const open = await setUp("wait-then-exit.mjs");
    startWorker(open);
    const { correlationId } = await open.start("resize");
    await until("the instance to wait", async () => ((await open.status(correlationId)).status === "waiting" ? true : undefined));
    await until("the task to start", async () => (existsSync(path.join(dir, "runs.txt")) ? true : undefined));
    const key = (await file("runs.txt")).split(" ")[0];
    expect(await open.status(correlationId)).toMatchObject({ reason: `for task command ${key}` });
    await stopWorker();
    // What the step's do action hands the launcher when the same message runs again: the same
    // step, retry count and carried fence token (the start message carries none).
    const launcher = open.engine.tasks ?? expect.unreachable();
    const machine = open.definitions.get("resize");
    const task = machine.states.get("resizing")?.task ?? expect.unreachable();
    const context = { correlationId, machineName: "resize", currentState: "resizing", currentEvent: "pseudo_init", steps: 0, retries: 0, data: {} } as unknown as ActionContext;
    expect(await launcher.launch(task, context, { launcher, version: machine.version, sentFence: undefined })).toBe(key);
    await sleep(500);
    expect((await file("runs.txt")).trim().split("\n")).toHaveLength(1);
    // The step sent again by an operator (a redrive) carries the record's later fence token: a new launch.
    const again = await launcher.launch(task, context, { launcher, version: machine.version, sentFence: 1 });
    expect(again).not.toBe(key);
    await until("the second task to start", async () => ((await file("runs.txt")).trim().split("\n").length === 2 ? true : undefined));
    await writeFile(path.join(dir, "exit"), "");
  }, 30_000);

  it("a worker SIGKILLed while its task runs: the task still reports, and a new worker completes the instance", async () => {
    const open = await setUp("wait-for-go.mjs");
    const { correlationId } = await open.start("resize");
    const killed = spawnCli(["worker", "-d", "fsm.yaml", "-s", "settings.yaml", "-q"], { cwd: dir });
    await until("the task to start", async () => (existsSync(path.join(dir, "token.txt")) ? true : undefined));
    await until("the instance to wait", async () => ((await open.status(correlationId)).status === "waiting" ? true : undefined));
    killed.kill("SIGKILL");
    await new Promise((resolve) => killed.once("exit", resolve));
    await writeFile(path.join(dir, "go"), "");
    await until("the report", async () => ((await open.history(correlationId)).some((m) => m.origin === "event") ? true : undefined));
    startWorker(open);
    expect(await settled(open, correlationId)).toMatchObject({ status: "completed", state: "resized", userContext: { event_data: { after: "kill" } } });
    expect((await file("runs.txt")).trim().split("\n")).toHaveLength(1);
  }, 40_000);

  it("a runtime that starts no tasks fails a task state's step with a line saying where to run it", async () => {
    const first = await setUp("report.mjs", { maxRetries: 0 });
    await first.close();
    sy = await Switchyard.open({ definitions: path.join(dir, "fsm.yaml"), settings: path.join(dir, "settings.yaml"), logger: silentLogger, cwd: dir, tasks: false });
    startWorker(sy);
    const { correlationId } = await sy.start("resize");
    expect(await settled(sy, correlationId)).toMatchObject({ status: "failed" });
    const [attempt] = await sy.attempts(correlationId);
    expect(attempt?.error).toBe('state "resizing" runs a command task, but this runtime starts no tasks; run the machine on a worker (switchyard worker)');
    expect(existsSync(path.join(dir, "runs.txt"))).toBe(false);
  }, 30_000);

  it("a runtime that starts only ecs tasks (the Lambda handler, dev-lambda) fails a command task's step with a line saying where to run it", async () => {
    const first = await setUp("report.mjs", { maxRetries: 0 });
    await first.close();
    sy = await Switchyard.open({ definitions: path.join(dir, "fsm.yaml"), settings: path.join(dir, "settings.yaml"), logger: silentLogger, cwd: dir, tasks: "remote" });
    startWorker(sy);
    const { correlationId } = await sy.start("resize");
    expect(await settled(sy, correlationId)).toMatchObject({ status: "failed" });
    const [attempt] = await sy.attempts(correlationId);
    expect(attempt?.error).toBe(
      'state "resizing" runs a command task, but this runtime starts only ecs tasks (a process started by the Lambda handler or dev-lambda would not outlive its invocation); run the machine on a worker (switchyard worker), or make the task ecs:',
    );
    expect(existsSync(path.join(dir, "runs.txt"))).toBe(false);
  }, 30_000);

  // A docker client without an engine (this machine kind): the step fails with a line naming what is missing.
  const docker = spawnSync("docker", ["version", "--format", "{{.Server.Version}}"], { encoding: "utf8", timeout: 10_000 });
  const engineless = docker.error === undefined && docker.status !== 0;
  it.skipIf(!engineless)("a docker task without a Docker engine fails its step with a line naming the missing engine", async () => {
    const open = await setUp("report.mjs", { maxRetries: 0 });
    await writeFile(path.join(dir, "fsm.yaml"), (await file("fsm.yaml")).replace(/command: \[node, report.mjs\]/, 'docker: {image: "node:22", args: [node, -e, "1"]}'));
    await open.close();
    sy = await Switchyard.open({ definitions: path.join(dir, "fsm.yaml"), settings: path.join(dir, "settings.yaml"), logger: silentLogger, cwd: dir });
    startWorker(sy);
    const { correlationId } = await sy.start("resize");
    expect(await settled(sy, correlationId)).toMatchObject({ status: "failed", state: "pseudo_init" });
    const [attempt] = await sy.attempts(correlationId);
    expect(attempt?.where).toBe("resizing.do_action task:docker");
    expect(attempt?.error).toMatch(/^state "resizing" runs a docker task, but no Docker engine answers this worker: .*docker daemon.*; start the engine, or point DOCKER_HOST at one$/i);
  }, 30_000);
});
