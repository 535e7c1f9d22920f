/**
 * `ecs:` task steps against moto's ECS (moto_server on a free loopback port): a worker calls
 * RunTask, the instance waits, and the test plays the container — it reads the started task's
 * overrides back from ECS, takes the token from them and reports with `switchyard report`. A
 * RunTask that starts nothing is a failed attempt with ECS's reason. moto_server absent: the cases
 * skip with a printed reason (and fail with CI set).
 */
import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { CreateClusterCommand, DescribeTasksCommand, ECSClient, ListTasksCommand, RegisterTaskDefinitionCommand, RunTaskCommand, StopTaskCommand } from "@aws-sdk/client-ecs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { Switchyard } from "../../src/client/switchyard.js";
import { ApiCallCounter } from "../../src/lambda/cost.js";
import { DevLambda } from "../../src/lambda/dev-lambda.js";
import { generateTemplate } from "../../src/lambda/template.js";
import { createDefinitionSet } from "../../src/definition/definition-set.js";
import { createHandler } from "../../src/lambda/handler.js";
import { provisionAll } from "../../src/settings/provision.js";
import { loadSettings } from "../../src/settings/settings.js";
import { silentLogger } from "../../src/logger.js";
import { runCli, spawnCli } from "../support/cli.js";
import { type RunningMoto, startMotoServer, tool } from "../support/tools.js";

const REGION = "us-east-1";
const MOTO_SERVER = tool("moto_server", "MOTO_SERVER");




/** `resizing` runs the task definition `taskDefinition` on the cluster `jobs` and waits for `done`. */
function definition(taskDefinition: string, maxRetries = 1, timeout = "10m", heartbeat?: string): string {
  return `machines:
- name: resize
  max_retries: ${maxRetries}
  states:
  - name: resizing
    initial: true
    task:
      ecs:
        cluster: jobs
        task_definition: ${taskDefinition}
        container: main
        launch_type: FARGATE
        overrides:
          containerOverrides:
          - name: main
            environment:
            - {name: SIZE, value: "800"}
      timeout: ${timeout}${heartbeat === undefined ? "" : `\n      heartbeat: ${heartbeat}`}
    transitions:
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

// Without moto_server (tool() printed why) nothing here runs; with CI set it is required.
describe.skipIf(MOTO_SERVER === undefined)("ecs tasks on moto", () => {
let endpoint = "";
let moto: RunningMoto | undefined;
let ecs: ECSClient;

beforeAll(async () => {
  moto = await startMotoServer(MOTO_SERVER as string);
  endpoint = moto.endpoint;
  // The cluster is named, not an ARN: the worker's ECS client takes its region from the environment.
  process.env.AWS_REGION ??= REGION;
  // moto moves a task on towards STOPPED each time it is described: keep tasks running until stopped.
  await fetch(`${endpoint}/moto-api/state-manager/set-transition`, {
    method: "POST",
    body: JSON.stringify({ model_name: "ecs::task", transition: { progression: "manual", times: 1_000_000 } }),
  });
  ecs = new ECSClient({ region: REGION, endpoint });
  await ecs.send(new CreateClusterCommand({ clusterName: "jobs" }));
  // moto needs a container's memory to place a task; its FARGATE tasks need no instances.
  await ecs.send(new RegisterTaskDefinitionCommand({ family: "resize", containerDefinitions: [{ name: "main", image: "example/resize", memory: 512 }] }));
}, 30_000);

afterAll(() => {
  ecs?.destroy();
  moto?.stop();
});

let dir: string;
let sy: Switchyard | undefined;
let worker: ChildProcess | undefined;

async function setUp(taskDefinition: string, maxRetries?: number, timeout?: string): Promise<Switchyard> {
  dir = await mkdtemp(path.join(tmpdir(), "sy-ecs-tasks-"));
  await writeFile(path.join(dir, "fsm.yaml"), definition(taskDefinition, maxRetries, timeout));
  const roles = ["stream", "retry", "cache", "checkpoint", "environment"].map((role) => `${role}: sqlite:./sy.db`);
  await writeFile(path.join(dir, "settings.yaml"), [...roles, `endpoints: {ecs: "${endpoint}"}`].join("\n"));
  sy = await Switchyard.open({ definitions: path.join(dir, "fsm.yaml"), settings: path.join(dir, "settings.yaml"), logger: silentLogger, cwd: dir });
  return sy;
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

afterEach(async () => {
  if (worker !== undefined && worker.exitCode === null) {
    worker.kill("SIGTERM");
    await new Promise((resolve) => worker?.once("exit", resolve));
  }
  worker = undefined;
  await sy?.close();
  sy = undefined;
  if (dir !== undefined) await rm(dir, { recursive: true, force: true, maxRetries: 3 });
});

  /**
   * A fresh folder with `fsm`, and settings as the Lambda handler would have them, on moto: an SQS
   * stream, everything else on one DynamoDB table family (created); returns the settings file.
   */
  async function onLambdaEmulators(prefix: string, fsm: string): Promise<string> {
    dir = await mkdtemp(path.join(tmpdir(), prefix));
    await writeFile(path.join(dir, "fsm.yaml"), fsm);
    const run = Math.random().toString(36).slice(2, 8);
    const table = `arn:aws:dynamodb:${REGION}:123456789012:table/ecs${run}`;
    const settings = {
      stream: `arn:aws:sqs:${REGION}:123456789012:ecs${run}`,
      retry: table,
      cache: table,
      checkpoint: table,
      environment: table,
      metrics: false,
      journal: table,
      endpoints: { sqs: endpoint, dynamodb: endpoint, ecs: endpoint },
    };
    const file = path.join(dir, "settings.json");
    await writeFile(file, JSON.stringify(settings));
    await provisionAll(loadSettings({ file }));
    return file;
  }

  it("a worker runs the task with RunTask; the container's report with the token from its overrides completes the step", async () => {
    const open = await setUp("resize");
    const { correlationId } = await open.start("resize");
    worker = spawnCli(["worker", "-d", "fsm.yaml", "-s", "settings.yaml", "-q"], { cwd: dir });
    const record = await until("the instance to wait for its task", async () => {
      const status = await open.status(correlationId);
      return status.status === "waiting" ? status : undefined;
    });
    // The task's id is its ARN, as ECS named it.
    const listed = await ecs.send(new ListTasksCommand({ cluster: "jobs", startedBy: correlationId }));
    expect(listed.taskArns).toHaveLength(1);
    const taskArn = listed.taskArns?.[0] ?? "";
    expect(record).toMatchObject({ state: "resizing", reason: `for task ecs ${taskArn}` });

    // Play the container: what it would find in its environment is what RunTask's overrides added.
    const described = await ecs.send(new DescribeTasksCommand({ cluster: "jobs", tasks: [taskArn] }));
    const task = described.tasks?.[0];
    expect(task?.startedBy).toBe(correlationId);
    expect(task?.launchType).toBe("FARGATE");
    const overrides = task?.overrides?.containerOverrides ?? [];
    expect(overrides.map((entry) => entry.name)).toEqual(["main"]);
    const environment = Object.fromEntries((overrides[0]?.environment ?? []).map((pair) => [pair.name, pair.value]));
    expect(Object.keys(environment).sort()).toEqual(["SIZE", "SWITCHYARD_TASK_ENV_KEY", "SWITCHYARD_TASK_TOKEN"]);
    expect(environment.SIZE).toBe("800");
    const token = environment.SWITCHYARD_TASK_TOKEN ?? "";
    expect(token.startsWith(`${environment.SWITCHYARD_TASK_ENV_KEY}.`)).toBe(true);
    expect(await open.taskContext(token)).toMatchObject({ correlationId, machineName: "resize", state: "resizing", steps: 0 });

    const reported = await runCli(["report", "--token", token, "--event", "done", "--data", '{"width": 800}', "-s", "settings.yaml"], { cwd: dir });
    expect(reported.stderr).toBe("");
    expect(reported.code).toBe(0);
    const done = await until("the instance to complete", async () => {
      const status = await open.status(correlationId);
      return status.status === "completed" ? status : undefined;
    });
    expect(done).toMatchObject({ state: "resized", userContext: { event_data: { width: 800 } } });
    expect(await open.attempts(correlationId)).toEqual([]);
  }, 40_000);

  it("a RunTask that starts no task is a failed attempt with ECS's reason, retried per max_retries, then fails the instance", async () => {
    const open = await setUp("no-such-family", 1);
    const { correlationId } = await open.start("resize");
    const running = open.worker({ concurrency: 1, maxPollIntervalMs: 50 });
    const done = running.run();
    try {
      const record = await until("the instance to fail", async () => {
        const status = await open.status(correlationId);
        return status.status === "failed" ? status : undefined;
      });
      // The start of a task is the state's do step: its failure fails the step that entered the state, like an action's.
      const reason = "ECS RunTask of no-such-family on cluster jobs failed: Unable to describe task definition.";
      expect(record.reason).toBe(`gave up after 1 retries: resizing.do_action task:ecs threw: ${reason}`);
      const attempts = await open.attempts(correlationId);
      expect(attempts.map((a) => [a.steps, a.retries, a.outcome, a.where, a.error_name, a.error])).toEqual([
        [0, 0, "retry", "resizing.do_action task:ecs", "EcsRunTaskError", reason],
        [0, 1, "fatal", "resizing.do_action task:ecs", "EcsRunTaskError", reason],
      ]);
    } finally {
      running.stop();
      await done;
    }
  }, 40_000);

  it("a task ECS stops without a report is a failed attempt with ECS's reason: it runs again with the same token, then the instance fails", async () => {
    // The watcher looks every quarter of the timeout: 5 s.
    const open = await setUp("resize", 1, "20s");
    const { correlationId } = await open.start("resize");
    const running = open.worker({ concurrency: 1, maxPollIntervalMs: 50 });
    const done = running.run();
    const tasks = async (count: number) =>
      until(`${count} task(s) started`, async () => {
        const arns = (await ecs.send(new ListTasksCommand({ cluster: "jobs", startedBy: correlationId }))).taskArns ?? [];
        return arns.length >= count ? arns : undefined;
      });
    const tokenOf = async (arn: string) => {
      const task = (await ecs.send(new DescribeTasksCommand({ cluster: "jobs", tasks: [arn] }))).tasks?.[0];
      return task?.overrides?.containerOverrides?.[0]?.environment?.find((pair) => pair.name === "SWITCHYARD_TASK_TOKEN")?.value;
    };
    try {
      // ECS stops the container (it crashed, ran out of memory): no report came.
      const [first] = await tasks(1);
      await ecs.send(new StopTaskCommand({ cluster: "jobs", task: first, reason: "Essential container in task exited" }));
      const arns = await tasks(2);
      const second = arns.find((arn) => arn !== first) ?? expect.unreachable();
      // Started again with the same token: its report would complete the step.
      expect(await tokenOf(second)).toBe(await tokenOf(first ?? ""));
      expect(await open.status(correlationId)).toMatchObject({ status: "waiting", state: "resizing" });
      await ecs.send(new StopTaskCommand({ cluster: "jobs", task: second, reason: "Essential container in task exited" }));
      const record = await until("the instance to fail", async () => {
        const status = await open.status(correlationId);
        return status.status === "failed" ? status : undefined;
      });
      const why = 'task "ecs resize" stopped without reporting (ECS: Essential container in task exited)';
      expect(record).toMatchObject({ state: "resizing", reason: why });
      const attempts = await open.attempts(correlationId);
      expect(attempts.map((a) => [a.steps, a.retries, a.outcome, a.where, a.error_name, a.error])).toEqual([
        [0, 0, "retry", "resizing.task ecs resize", "TaskExitError", why],
        [0, 1, "fatal", "resizing.task ecs resize", "TaskExitError", why],
      ]);
    } finally {
      running.stop();
      await done;
    }
  }, 40_000);

  it("a task silent past its timeout takes task_timeout and is stopped with StopTask; its late report is refused", async () => {
    const open = await setUp("resize", 1, "1s");
    const { correlationId } = await open.start("resize");
    const running = open.worker({ concurrency: 1, maxPollIntervalMs: 50 });
    const done = running.run();
    try {
      const record = await until("the instance to time out", async () => {
        const status = await open.status(correlationId);
        return status.status === "completed" ? status : undefined;
      });
      expect(record.state).toBe("timed_out");
      const arns = (await ecs.send(new ListTasksCommand({ cluster: "jobs", startedBy: correlationId }))).taskArns ?? [];
      expect(arns).toHaveLength(1);
      // The task's watcher sees the step settled without it, and stops it.
      const stopped = await until("the task to be stopped", async () => {
        const task = (await ecs.send(new DescribeTasksCommand({ cluster: "jobs", tasks: arns }))).tasks?.[0];
        return task?.lastStatus === "STOPPED" ? task : undefined;
      });
      expect(stopped.stoppedReason).toBe("its Switchyard step was settled without its report (timeout, abort or another event)");
      const environment = Object.fromEntries((stopped.overrides?.containerOverrides?.[0]?.environment ?? []).map((pair) => [pair.name, pair.value]));
      const late = await runCli(["report", "--token", environment.SWITCHYARD_TASK_TOKEN ?? "", "--event", "done", "-s", "settings.yaml"], { cwd: dir });
      expect(late.code).toBe(1);
      expect(late.stderr).toMatch(/^switchyard: stale task token: /);
    } finally {
      running.stop();
      await done;
    }
  }, 40_000);

  it("on dev-lambda the scheduled timer stops a task whose step timed out without it, and leaves other tasks running", async () => {
    const file = await onLambdaEmulators("sy-ecs-sweep-", definition("resize", 1, "1s"));
    sy = await Switchyard.open({ definitions: path.join(dir, "fsm.yaml"), settings: file, logger: silentLogger, cwd: dir, tasks: "remote" });
    const open = sy;
    const dev = new DevLambda(open, createHandler({ switchyard: open, logger: silentLogger }), { timerIntervalSeconds: 0.25 });
    // A task of the same family that is not Switchyard's (no token in its overrides): never stopped.
    const other = (await ecs.send(new RunTaskCommand({ cluster: "jobs", taskDefinition: "resize", launchType: "FARGATE", count: 1 }))).tasks?.[0]?.taskArn ?? "";
    const { correlationId } = await open.start("resize");
    await dev.run({ until: async () => (await open.status(correlationId)).status === "completed" });
    expect(await open.status(correlationId)).toMatchObject({ state: "timed_out" });
    const [arn] = (await ecs.send(new ListTasksCommand({ cluster: "jobs", startedBy: correlationId }))).taskArns ?? [];
    const describe = async (task: string) => (await ecs.send(new DescribeTasksCommand({ cluster: "jobs", tasks: [task] }))).tasks?.[0];
    await dev.run({ until: async () => (await describe(arn ?? ""))?.lastStatus === "STOPPED" });
    expect((await describe(arn ?? ""))?.stoppedReason).toBe("its Switchyard step was settled without its report (timeout, abort or another event)");
    expect((await describe(other))?.lastStatus).not.toBe("STOPPED");
    await ecs.send(new StopTaskCommand({ cluster: "jobs", task: other }));
  }, 60_000);

  it("dev-lambda starts ecs tasks the same way, with SQS and DynamoDB on moto; the container's heartbeat and report, calling only what the stack's task role grants, complete the step there", async () => {
    const file = await onLambdaEmulators("sy-ecs-lambda-", definition("resize", 1, "10m", "5m"));
    // As the Lambda handler and dev-lambda open it: ecs tasks only, no local process.
    sy = await Switchyard.open({ definitions: path.join(dir, "fsm.yaml"), settings: file, logger: silentLogger, cwd: dir, tasks: "remote" });
    const open = sy;
    const dev = new DevLambda(open, createHandler({ switchyard: open, logger: silentLogger }), { timerIntervalSeconds: 0.25 });
    const { correlationId } = await open.start("resize");
    await dev.run({ until: async () => (await open.status(correlationId)).status === "waiting" });
    const arns = (await ecs.send(new ListTasksCommand({ cluster: "jobs", startedBy: correlationId }))).taskArns ?? [];
    expect(arns).toHaveLength(1);
    expect(await open.status(correlationId)).toMatchObject({ state: "resizing", reason: `for task ecs ${arns[0]}` });
    const task = (await ecs.send(new DescribeTasksCommand({ cluster: "jobs", tasks: arns }))).tasks?.[0];
    const environment = Object.fromEntries((task?.overrides?.containerOverrides?.[0]?.environment ?? []).map((pair) => [pair.name, pair.value]));
    // The container reports through the same backends: here the library, with the settings the
    // container would have, every AWS call it makes counted.
    const counter = new ApiCallCounter();
    const container = await Switchyard.open({ definitions: createDefinitionSet(new Map(), [], undefined), settings: file, logger: silentLogger, cwd: dir, apiCalls: counter });
    try {
      await container.heartbeatTask(environment.SWITCHYARD_TASK_TOKEN ?? "");
      await container.reportTask(environment.SWITCHYARD_TASK_TOKEN ?? "", "done", { width: 800 });
    } finally {
      await container.close();
    }
    // Each call is one the stack's task role grants (switchyard template's TaskReportPolicy).
    const stack = parse(await generateTemplate({ definitions: path.join(dir, "fsm.yaml"), settings: file })) as {
      Resources: Record<string, { Properties: { PolicyDocument: { Statement: Array<{ Action: string[] }> } } }>;
    };
    const granted = new Set(stack.Resources.TaskReportPolicy?.Properties.PolicyDocument.Statement.flatMap((statement) => statement.Action));
    const called = counter.counts().map((count) => `${count.service.toLowerCase()}:${count.operation}`);
    expect(called).toEqual(expect.arrayContaining(["sqs:SendMessage", "dynamodb:GetItem", "dynamodb:PutItem"]));
    expect(called.filter((action) => !granted.has(action))).toEqual([]);
    await dev.run({ until: async () => (await open.status(correlationId)).status === "completed" });
    expect(await open.status(correlationId)).toMatchObject({ state: "resized", userContext: { event_data: { width: 800 } } });
  }, 60_000);
});
