/**
 * Starting a task step (docs/runtimes/containers.md): the task's environment goes to the
 * environment role under a fresh key, and a detached supervisor process (`switchyard task-run`,
 * cli/commands/task-run.ts) runs the command, so a worker SIGKILLed while the task runs does not
 * take the task with it. An `ecs:` task is started with RunTask instead (backends/aws/ecs-task.ts),
 * and a detached watcher stops it if its step is settled without it. The step then ends with the
 * instance waiting; the task's report (client/report-task.ts) is the next step's message.
 *
 * The token handed to the task is `<environment key>.<secret>`: the key finds the entry, whose
 * `token_sha256` proves the secret. The token itself is stored nowhere.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ActionContext } from "../core/action.js";
import type { EcsTaskDefinition, TaskDefinition, TaskLauncher, TaskSite } from "../core/task.js";
import { SwitchyardError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Clock, EnvironmentPort, Sided } from "../ports.js";
import { loadEcsTasks } from "../settings/backends.js";

/** The reason ECS records for a task stopped because its step was settled without its report. */
export const SETTLED_WITHOUT_REPORT = "its Switchyard step was settled without its report (timeout, abort or another event)";

/** The environment variables a task sees (beside its `env:` and the worker's environment). */
export const TASK_ENV = {
  token: "SWITCHYARD_TASK_TOKEN",
  key: "SWITCHYARD_TASK_ENV_KEY",
  settings: "SWITCHYARD_SETTINGS",
  /** The supervisor's instructions (the command, its folder, retries); not passed on to the task. */
  spec: "SWITCHYARD_TASK_SPEC",
} as const;

/** What the supervisor needs to run and retry the command (JSON in {@link TASK_ENV.spec}). */
export interface TaskSpec {
  readonly command: readonly string[];
  /** Absolute. */
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  /**
   * How often the supervisor asks whether the task's step is still open (seconds): a task whose
   * instance moved on without its report (its timeout fired, an operator aborted it) is stopped.
   */
  readonly pollSeconds: number;
}

/**
 * What the watcher of an ECS task needs (JSON in {@link TASK_ENV.spec}): the task to stop once its
 * step is settled without it, and how often to ask.
 */
export interface EcsWatchSpec {
  readonly ecs: {
    readonly cluster: string;
    readonly taskDefinition: string;
    readonly taskArn: string;
    /** The container whose exit code counts. */
    readonly container: string;
    /** The RunTask input (JSON), to start the task again after it stopped without reporting. */
    readonly input: Readonly<Record<string, unknown>>;
  };
  readonly pollSeconds: number;
}

/** A quarter of the timeout (half the heartbeat), between 1 s and 30 s; 30 s without either. */
function pollSeconds(task: TaskDefinition): number {
  const shortest = Math.min((task.timeoutSeconds ?? Infinity) / 4, (task.heartbeatSeconds ?? Infinity) / 2, 30);
  return Math.max(1, shortest);
}

/**
 * The environment entry of a task: everything a report needs to find and check the task, and the
 * context the task reads. Values are strings (the environment role stores string maps).
 */
export interface TaskEntry {
  readonly correlation_id: string;
  readonly machine: string;
  /** The version the instance is pinned to; empty for an unversioned instance. */
  readonly version: string;
  readonly state: string;
  /** The step the task belongs to: the step that started it (its report runs as step + 1). */
  readonly steps: string;
  /** The event that entered the state. */
  readonly event: string;
  /** The user context as JSON. */
  readonly user_context: string;
  readonly kind: string;
  readonly token_sha256: string;
  /** Milliseconds since the epoch. */
  readonly started_at: string;
  /** The task's id once it started (the key for a command or docker task, the task's ARN on ECS). */
  readonly task_id?: string | undefined;
}

/** What the launcher needs. */
export interface TaskLauncherOptions {
  readonly environment: Sided<EnvironmentPort> | undefined;
  /** The settings file the task's `switchyard report` reads (absolute), if any. */
  readonly settingsFile: string | undefined;
  /** The settings' `endpoints`: an `ecs:` task's RunTask goes to `endpoints.ecs` (or its cluster's entry). */
  readonly endpoints: Readonly<Record<string, string>>;
  /**
   * Start only tasks that need no local process (`ecs:`), and no watcher for them: the Lambda
   * handler and dev-lambda, where a process would not outlive the invocation.
   */
  readonly remoteOnly?: boolean | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** The entry under `key`: the primary's, else the secondary's (where a failover put it). */
export async function readTaskEntry(environment: Sided<EnvironmentPort>, key: string): Promise<Record<string, string> | undefined> {
  let failed: unknown;
  for (const port of [environment.primary, environment.secondary]) {
    if (port === undefined) continue;
    try {
      const entry = await port.get(key);
      if (entry !== undefined) return entry;
    } catch (error) {
      failed = error;
    }
  }
  if (failed !== undefined) throw failed;
  return undefined;
}

/**
 * The environment key of one launch of a step's task: the same whenever the same message runs
 * again (same step, retry count and carried fence token), another for a retry or a redrive.
 */
export function launchKey(context: Pick<ActionContext, "correlationId" | "steps" | "retries">, sentFence: number | undefined): string {
  const identity = `${context.correlationId}\0${context.steps}\0${context.retries}\0${sentFence ?? ""}`;
  return `task-${createHash("sha256").update(identity).digest("hex").slice(0, 32)}`;
}

/** sha256 of a token's secret, as the entry keeps it. */
export function tokenHash(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

/** The task launcher of a worker: command and docker tasks as detached processes, ecs tasks by RunTask. */
export class LocalTaskLauncher implements TaskLauncher {
  readonly #options: TaskLauncherOptions;

  constructor(options: TaskLauncherOptions) {
    this.#options = options;
  }

  async launch(task: TaskDefinition, context: ActionContext, site: TaskSite): Promise<string> {
    const environment = this.#options.environment;
    if (environment === undefined) {
      throw new SwitchyardError(
        "no_environment",
        `state "${context.currentState}" runs a task, which gets its context through the environment role, and that role is switched off (environment: false in the settings); give environment: a backend URI (sqlite:, postgres://, a DynamoDB table ARN)`,
      );
    }
    if (this.#options.remoteOnly === true && task.kind !== "ecs") {
      throw new SwitchyardError(
        "task_not_here",
        `state "${context.currentState}" runs a ${task.kind} task, but this runtime starts only ecs tasks (a process started by the Lambda handler or dev-lambda would not outlive its invocation); run the machine on a worker (switchyard worker), or make the task ecs:`,
      );
    }
    if (task.kind === "docker") await requireDockerEngine(context.currentState);
    // One launch per message: the same message run again — delivered again after its worker died
    // between starting the task and committing the step — finds its task started.
    const key = launchKey(context, site.sentFence);
    const started = await readTaskEntry(environment, key).catch(() => undefined);
    if (started?.task_id !== undefined && started.task_id !== "") {
      this.#options.logger.info(`task already started for this step and attempt: ${started.task_id} (environment key ${key}); not started again`, {
        correlationId: context.correlationId,
        state: context.currentState,
        steps: context.steps,
      });
      return started.task_id;
    }
    const secret = randomBytes(18).toString("base64url");
    const entry: TaskEntry = {
      correlation_id: context.correlationId,
      machine: context.machineName,
      version: site.version ?? "",
      state: context.currentState,
      steps: String(context.steps),
      event: context.currentEvent,
      user_context: JSON.stringify(context.data),
      kind: task.kind,
      token_sha256: tokenHash(secret),
      started_at: String(this.#options.clock.now()),
    };
    const store = async (value: TaskEntry) => {
      try {
        await environment.primary.put({ ...value }, key);
      } catch (error) {
        if (environment.secondary === undefined) throw error;
        this.#options.logger.warn(`could not store a task's environment on environment.primary: ${(error as Error).message}; storing it on the secondary`, { correlationId: context.correlationId });
        await environment.secondary.put({ ...value }, key);
      }
    };
    await store(entry);
    const token = `${key}.${secret}`;
    const id = await this.#start(task, context, token, key);
    // Marked started, so that a step run again does not start it twice. Best effort: the task runs.
    await store({ ...entry, task_id: id }).catch((error: Error) =>
      this.#options.logger.warn(`task ${id} started, but could not be marked started in its environment (${error.message}); if this step runs again, it starts the task again`, {
        correlationId: context.correlationId,
      }),
    );
    return id;
  }

  /** Start the task: a detached supervisor for a command or docker run, RunTask for ecs; its id. */
  async #start(task: TaskDefinition, context: ActionContext, token: string, key: string): Promise<string> {
    if (task.kind === "ecs") return this.#runEcs(task, context, token, key);
    const spec: TaskSpec =
      task.kind === "command"
        ? { command: task.command, cwd: path.resolve(task.baseDir, task.cwd ?? "."), env: task.env ?? {}, pollSeconds: pollSeconds(task) }
        : { command: dockerRun(task.image, task.args ?? [], task.env ?? {}), cwd: task.baseDir, env: task.env ?? {}, pollSeconds: pollSeconds(task) };
    const supervisor = await this.#supervise(token, key, spec);
    this.#options.logger.info(`task started: ${spec.command.join(" ")} (supervisor pid ${supervisor.pid}, environment key ${key})`, {
      correlationId: context.correlationId,
      state: context.currentState,
      steps: context.steps,
    });
    return key;
  }

  /** RunTask with the token and key in the container's environment; the task's ARN is its id. */
  async #runEcs(task: EcsTaskDefinition & TaskDefinition, context: ActionContext, token: string, key: string): Promise<string> {
    const ecs = await loadEcsTasks();
    const client = ecs.ecsClient(task, this.#options.endpoints);
    try {
      const input = ecs.runTaskInput(task, { [TASK_ENV.token]: token, [TASK_ENV.key]: key }, context.correlationId);
      const arn = await ecs.runEcsTask(client, input);
      this.#options.logger.info(`task started: ECS ${arn} (${task.taskDefinition} on ${task.cluster}, environment key ${key})`, {
        correlationId: context.correlationId,
        state: context.currentState,
        steps: context.steps,
      });
      if (this.#options.remoteOnly === true) return arn;
      const watch: EcsWatchSpec = {
        ecs: { cluster: task.cluster, taskDefinition: task.taskDefinition, taskArn: arn, container: task.container, input: input as unknown as Record<string, unknown> },
        pollSeconds: pollSeconds(task),
      };
      try {
        await this.#supervise(token, key, watch);
      } catch (error) {
        this.#options.logger.warn(`ECS task ${arn} runs, but its watcher did not start (${(error as Error).message}); it is not stopped if its step is settled without it`, { correlationId: context.correlationId });
      }
      return arn;
    } finally {
      client.destroy();
    }
  }

  /** The detached `switchyard task-run` for a task: the supervisor of a process, or the watcher of an ECS task. */
  async #supervise(token: string, key: string, spec: TaskSpec | EcsWatchSpec): Promise<ChildProcess> {
    const supervisor = spawn(process.execPath, [SWITCHYARD_BIN, "task-run"], {
      cwd: process.cwd(),
      detached: true,
      stdio: "ignore",
      env: {
        ...process.env,
        [TASK_ENV.token]: token,
        [TASK_ENV.key]: key,
        ...(this.#options.settingsFile === undefined ? {} : { [TASK_ENV.settings]: this.#options.settingsFile }),
        [TASK_ENV.spec]: JSON.stringify(spec),
      },
    });
    await new Promise<void>((resolve, reject) => {
      supervisor.once("spawn", resolve);
      supervisor.once("error", reject);
    });
    supervisor.unref();
    return supervisor;
  }
}

/**
 * `docker run --rm` of the image with its args; the task's variables (the token, the key, the
 * settings path and its `env:`) are passed by name from the supervisor's environment.
 */
function dockerRun(image: string, args: readonly string[], env: Readonly<Record<string, string>>): string[] {
  const names = [TASK_ENV.token, TASK_ENV.key, TASK_ENV.settings, ...Object.keys(env)];
  return ["docker", "run", "--rm", ...names.flatMap((name) => ["-e", name]), image, ...args];
}

/**
 * A docker task needs a Docker engine, not only the `docker` command: without one, `docker run`
 * would fail in the detached supervisor with exit 125. Asking the engine first makes that a failed
 * attempt of the step that names what is missing.
 */
async function requireDockerEngine(state: string): Promise<void> {
  const { code, stderr, startError } = await new Promise<{ code: number | null; stderr: string; startError?: string }>((resolve) => {
    const probe = spawn("docker", ["version", "--format", "{{.Server.Version}}"], { stdio: ["ignore", "ignore", "pipe"], timeout: 10_000 });
    let stderr = "";
    probe.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    probe.once("error", (error) => resolve({ code: null, stderr, startError: error.message }));
    probe.once("close", (code) => resolve({ code, stderr }));
  });
  if (startError !== undefined) {
    throw new SwitchyardError("no_docker", `state "${state}" runs a docker task, but this worker has no docker command (${startError}); install the Docker CLI and an engine, or run the step as command:`);
  }
  if (code !== 0) {
    const why = stderr.trim().split("\n").pop() ?? `docker version exited with code ${code}`;
    throw new SwitchyardError("no_docker_engine", `state "${state}" runs a docker task, but no Docker engine answers this worker: ${why}; start the engine, or point DOCKER_HOST at one`);
  }
}

/** bin/switchyard.js, two folders up from src/client/ and from dist/client/ alike. */
const SWITCHYARD_BIN = fileURLToPath(new URL("../../bin/switchyard.js", import.meta.url));
