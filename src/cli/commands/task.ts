/**
 * A task's commands (docs/runtimes/containers.md): `switchyard report` and `switchyard heartbeat`,
 * which a task runs with the token it was given, and `switchyard task-run`, the hidden supervisor a
 * worker starts detached for a command task: it runs the command, and reports its exit when the
 * command did not report itself.
 */
import { spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import type { Command } from "commander";
import type { TaskExit } from "../../client/report-task.js";
import { type EcsWatchSpec, SETTLED_WITHOUT_REPORT, TASK_ENV, type TaskSpec } from "../../client/task-launcher.js";
import { UsageError } from "../../errors.js";
import { loadEcsTasks } from "../../settings/backends.js";
import { examples, printJson, settingsOption, withSwitchyard } from "../common.js";

/** How many of the last stderr lines of a failed task go to the history. */
const STDERR_TAIL_LINES = 20;

interface TokenFlags {
  token?: string;
  settings?: string;
  json?: boolean;
}

function tokenOf(flags: TokenFlags): string {
  const token = flags.token ?? process.env[TASK_ENV.token];
  if (token === undefined || token === "") {
    throw new UsageError(`give the task's token: --token <token>, or run inside the task, where ${TASK_ENV.token} holds it`);
  }
  return token;
}

/** `switchyard report --token T --event done [--data JSON]`. */
export function reportCommand(program: Command): void {
  const command = program
    .command("report")
    .description(
      "report a task's outcome: the event becomes its instance's next step (a worker runs it); a stale or unknown token, or a second report of the same task, is refused",
    )
    .option("--token <token>", `the task's token (default: ${TASK_ENV.token})`)
    .requiredOption("--event <event>", "an event the task's state has a transition on")
    .option("--data <json>", "the event's data, any JSON value (the actions see it as ctx.data.event_data)")
    .addOption(settingsOption())
    .option("--json", "print {correlation_id, state, event, steps, role, side} as JSON")
    .action(async (flags: TokenFlags & { event: string; data?: string }) => {
      const token = tokenOf(flags);
      const data = parseData(flags.data);
      const sent = await withSwitchyard(flags, (sy) => sy.reportTask(token, flags.event, data), { existingStore: true });
      if (flags.json) {
        printJson({ correlation_id: sent.correlationId, state: sent.state, event: sent.event, steps: sent.steps, role: sent.sent.role, side: sent.sent.side });
      } else {
        process.stdout.write(`reported ${sent.event} for ${sent.correlationId} in state ${sent.state} as step ${sent.steps}\n`);
      }
    });
  examples(command, ["report --event done", `report --token "$SWITCHYARD_TASK_TOKEN" --event done --data '{"width": 800}'`]);
}

/** `switchyard heartbeat --token T`. */
export function heartbeatCommand(program: Command): void {
  const command = program
    .command("heartbeat")
    .description("keep a task alive: its heartbeat deadline moves to now + its heartbeat: (never past its timeout:)")
    .option("--token <token>", `the task's token (default: ${TASK_ENV.token})`)
    .addOption(settingsOption())
    .option("--json", "print {correlation_id, due} as JSON (due: when the task times out now, ISO 8601, or null)")
    .action(async (flags: TokenFlags) => {
      const token = tokenOf(flags);
      const beat = await withSwitchyard(flags, (sy) => sy.heartbeatTask(token), { existingStore: true });
      const due = beat.due === undefined ? null : new Date(beat.due).toISOString();
      if (flags.json) printJson({ correlation_id: beat.correlationId, due });
      else process.stdout.write(due === null ? `heartbeat for ${beat.correlationId}: its task has no heartbeat deadline\n` : `heartbeat for ${beat.correlationId}: times out at ${due} without another\n`);
    });
  examples(command, ["heartbeat", `heartbeat --token "$SWITCHYARD_TASK_TOKEN"`]);
}

/** `switchyard task-run`: the supervisor of one command task, or the watcher of one ECS task (started by a worker, not by hand). */
export function taskRunCommand(program: Command): void {
  const command = program
    .command("task-run", { hidden: true })
    .description("run the command task named by the environment (started by a worker)")
    .action(async () => {
      const token = process.env[TASK_ENV.token];
      const spec = process.env[TASK_ENV.spec];
      if (token === undefined || spec === undefined) throw new UsageError(`task-run is started by a worker for a task step, with ${TASK_ENV.token} and ${TASK_ENV.spec} set`);
      const parsed = JSON.parse(spec) as TaskSpec | EcsWatchSpec;
      if ("ecs" in parsed) await watchEcs(token, parsed);
      else await supervise(token, parsed);
    });
  examples(command, ["task-run", "task-run --log-level info"]);
}

/** How long a stopped task has between SIGTERM and SIGKILL. */
const STOP_GRACE_MS = 10_000;

async function supervise(token: string, spec: TaskSpec): Promise<void> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...spec.env };
  delete env[TASK_ENV.spec];
  await withSwitchyard(
    {},
    async (sy) => {
      for (let attempt = 0; ; attempt++) {
        const exit = await runOnce(spec, env, () => sy.taskAbandoned(token));
        const outcome = await sy.taskExited(token, { ...exit, attempt });
        if (outcome.next !== "retry") return;
        await sleep(outcome.delaySeconds * 1000);
      }
    },
    { existingStore: true },
  );
}

/**
 * Watch an ECS task: every `pollSeconds`, ask whether its step is still open. Settled without it
 * (its timeout fired, an operator aborted or moved the instance), the task is stopped with StopTask,
 * best effort; reported, it is left alone. Stopped by ECS without a report, it is a failed attempt
 * as a command's exit is (its exit code and ECS's reason in the history): it runs again with the
 * same token within `max_retries`, then the instance fails.
 */
async function watchEcs(token: string, spec: EcsWatchSpec): Promise<void> {
  await withSwitchyard(
    {},
    async (sy) => {
      const ecs = await loadEcsTasks();
      const client = ecs.ecsClient(spec.ecs, sy.settings.endpoints);
      const { cluster, container } = spec.ecs;
      let taskArn = spec.ecs.taskArn;
      try {
        for (let attempt = 0; ; ) {
          await sleep(spec.pollSeconds * 1000);
          const standing = await sy.taskStanding(token);
          if (standing === "leave") return;
          if (standing === "stop") {
            const failed = await ecs.stopEcsTask(client, cluster, taskArn, SETTLED_WITHOUT_REPORT);
            if (failed !== undefined) process.stderr.write(`switchyard: could not stop ECS task ${taskArn}: ${failed}\n`);
            return;
          }
          const end = await ecs.ecsTaskEnd(client, cluster, taskArn, container);
          if (end === undefined) continue;
          // Stopped without a report: a failed attempt; start it again while retries last.
          let exit: Omit<TaskExit, "attempt"> = { exitCode: end.exitCode, signal: null, stderrTail: "", stoppedReason: end.reason };
          for (;;) {
            const outcome = await sy.taskExited(token, { ...exit, attempt });
            if (outcome.next !== "retry") return;
            await sleep(outcome.delaySeconds * 1000);
            if ((await sy.taskStanding(token)) !== "watch") return;
            attempt++;
            try {
              taskArn = await ecs.runEcsTask(client, spec.ecs.input as unknown as Parameters<typeof ecs.runEcsTask>[1]);
              break;
            } catch (error) {
              exit = { exitCode: null, signal: null, stderrTail: "", startError: (error as Error).message };
            }
          }
        }
      } finally {
        client.destroy();
      }
    },
    { existingStore: true },
  );
}

/**
 * Run the command once; its exit code or signal, and the last lines of its stderr. Every
 * `pollSeconds` it asks `abandoned`; once its step is settled without it, the process is stopped
 * (SIGTERM, then SIGKILL after {@link STOP_GRACE_MS}).
 */
function runOnce(spec: TaskSpec, env: NodeJS.ProcessEnv, abandoned: () => Promise<boolean>): Promise<Omit<TaskExit, "attempt">> {
  return new Promise((resolve) => {
    const [program, ...args] = spec.command;
    const child = spawn(program as string, args, { cwd: spec.cwd, env, stdio: ["ignore", "ignore", "pipe"] });
    const poll = setInterval(() => {
      abandoned().then(
        (stop) => {
          if (!stop) return;
          clearInterval(poll);
          child.kill("SIGTERM");
          setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS).unref();
        },
        () => undefined,
      );
    }, spec.pollSeconds * 1000);
    child.once("close", () => clearInterval(poll));
    let tail = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      tail = lastLines(tail + chunk, STDERR_TAIL_LINES + 1).slice(-8_192);
    });
    child.once("error", (error) => resolve({ exitCode: null, signal: null, stderrTail: tail, startError: error.message }));
    child.once("close", (code, signal) => resolve({ exitCode: code, signal, stderrTail: lastLines(tail, STDERR_TAIL_LINES) }));
  });
}

function lastLines(text: string, count: number): string {
  const lines = text.split("\n");
  return lines.slice(Math.max(0, lines.length - count)).join("\n");
}

function parseData(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`--data is not valid JSON (${(error as Error).message}); pass e.g. '{"width": 800}'`);
  }
}
