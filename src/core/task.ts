/**
 * Task steps (SPEC §5 "Containers"): a state that runs a task — a local command, a container, an ECS
 * task — instead of a `do_action`. The instance waits in the state until the task reports an event
 * (`switchyard report`), its timeout fires (`task_timeout`), or its process fails.
 *
 * This file holds what both the definition layer and the engine need: the resolved task, the event
 * names, and the runtime hook the engine hands a task state's built-in do action. It starts nothing.
 */
import type { Action, ActionContext, ActionObj } from "./action.js";

/** The event a task's silence becomes: its `timeout` passed, or no heartbeat came for `heartbeat`. */
export const TASK_TIMEOUT_EVENT = "task_timeout";

/** The event a local process that exits with code 0 without reporting stands for, if its state has it. */
export const TASK_DONE_EVENT = "done";

/** The kinds of task a state may run (docs/runtimes/containers.md). */
export const TASK_KINDS = ["command", "docker", "ecs"] as const;

/** One of {@link TASK_KINDS}. */
export type TaskKind = (typeof TASK_KINDS)[number];

/** A local process: `command` (argv, no shell), run in `cwd` with `env` added to the worker's environment. */
export interface CommandTaskDefinition {
  readonly kind: "command";
  readonly command: readonly string[];
  /** As written; relative to the definition file's folder when resolved ({@link TaskDefinition.baseDir}). */
  readonly cwd?: string | undefined;
  readonly env?: Readonly<Record<string, string>> | undefined;
}

/** `docker run --rm` of `image` with `args` (docs/runtimes/containers.md). */
export interface DockerTaskDefinition {
  readonly kind: "docker";
  readonly image: string;
  readonly args?: readonly string[] | undefined;
  readonly env?: Readonly<Record<string, string>> | undefined;
}

/** ECS RunTask of `taskDefinition` on `cluster`, the task's variables added to `container`'s environment (docs/runtimes/containers.md). */
export interface EcsTaskDefinition {
  readonly kind: "ecs";
  readonly cluster: string;
  readonly taskDefinition: string;
  readonly container: string;
  readonly launchType?: "FARGATE" | "EC2" | "EXTERNAL" | undefined;
  /** The RunTask `networkConfiguration`, as written. */
  readonly networkConfiguration?: Readonly<Record<string, unknown>> | undefined;
  /** The RunTask `overrides`, as written. */
  readonly overrides?: Readonly<Record<string, unknown>> | undefined;
}

/** A resolved `task:` of a state. */
export type TaskDefinition = (CommandTaskDefinition | DockerTaskDefinition | EcsTaskDefinition) & {
  /** `timeout` in seconds: the task's silence past it becomes {@link TASK_TIMEOUT_EVENT}. */
  readonly timeoutSeconds?: number | undefined;
  /** `heartbeat` in seconds: no heartbeat for this long becomes {@link TASK_TIMEOUT_EVENT}. */
  readonly heartbeatSeconds?: number | undefined;
  /** The folder of the file that defines the machine: a relative `cwd` resolves against it. */
  readonly baseDir: string;
};

/** The task of a state as the definition registry stores it (its YAML form). */
export interface TaskDocument {
  readonly command?: readonly string[] | undefined;
  readonly cwd?: string | undefined;
  readonly env?: Readonly<Record<string, string>> | undefined;
  readonly docker?: { readonly image: string; readonly args?: readonly string[] | undefined } | undefined;
  readonly ecs?: Readonly<Record<string, unknown>> | undefined;
  readonly timeout?: string | undefined;
  readonly heartbeat?: string | undefined;
}

/**
 * What starts tasks for an engine (the client's task launcher). The built-in do action of a task
 * state finds it on the action's `obj` under {@link TASK_RUNTIME}, which the engine sets only for
 * machines that have task states.
 */
export interface TaskLauncher {
  /** Start the task of the state `context.currentState` and return its id; throwing fails the attempt like an action. */
  launch(task: TaskDefinition, context: ActionContext, at: TaskSite): Promise<string>;
}

/** What the launcher needs of the processing beyond the action context. */
export interface TaskSite {
  readonly launcher: TaskLauncher | undefined;
  /** The version the instance is pinned to. */
  readonly version: string | undefined;
  /**
   * The fence token the message carried as sent: the same when the message is delivered again
   * (its worker died before committing), higher when an operator sends the step again (redrive).
   * With the step and retry count it names one launch of the task.
   */
  readonly sentFence?: number | undefined;
  /** Set by the built-in do action once its task started: the instance record shows it while it waits. */
  started?: { readonly kind: TaskKind; readonly id: string } | undefined;
}

/** The key of the {@link TaskSite} on a task state's action `obj`. */
export const TASK_RUNTIME: unique symbol = Symbol.for("switchyard.task-runtime");

/**
 * The built-in do action of a task state: it starts the task through the launcher the engine hands
 * it and returns no event, so the instance waits for the task's report.
 */
export function taskAction(task: TaskDefinition): Action {
  return {
    name: `task:${task.kind}`,
    async execute(context, obj) {
      const site = (obj as ActionObj & { [TASK_RUNTIME]?: TaskSite })[TASK_RUNTIME];
      if (site?.launcher === undefined) {
        throw new Error(`state "${context.currentState}" runs a ${task.kind} task, but this runtime starts no tasks; run the machine on a worker (switchyard worker)`);
      }
      site.started = { kind: task.kind, id: await site.launcher.launch(task, context, site) };
      return undefined;
    },
  };
}

/** What an instance waiting for a task shows as its record's reason: `for task command <id>`. */
export function taskReason(started: NonNullable<TaskSite["started"]>): string {
  return `for task ${started.kind} ${started.id}`;
}
