/**
 * A task's side of a task step (docs/runtimes/containers.md): its report, its heartbeat, and its
 * process's exit as its supervisor sees it.
 *
 * A report is an external event (client/send-event.ts) whose token proves it comes from the task
 * of the step the instance waits at: it goes to the stream like any event, so it completes the step
 * whichever worker runs it, even after the worker that started the task was killed. A heartbeat
 * schedules the task's timer again (the retry role keeps one entry per step: the newer replaces
 * it). A process that exits without reporting is a failed attempt in the history, run again per
 * `max_retries` by its supervisor, and then fails the instance.
 */
import { retryBackoffSeconds } from "../core/backoff.js";
import { ATTEMPT_MESSAGE_LIMIT } from "../core/failure.js";
import { encodeMessage } from "../core/message.js";
import { TIMER_EVENT } from "../core/message.js";
import { parseDuration } from "../core/duration.js";
import type { MachineDocument, StateDocument } from "../core/machine.js";
import { RESERVED_PREFIX } from "../core/message.js";
import { TASK_DONE_EVENT } from "../core/task.js";
import { ErrorTally } from "../core/counters.js";
import { sendToRole, sidesOf } from "../engine/roles.js";
import { SystemError, UsageError } from "../errors.js";
import { silentLogger } from "../logger.js";
import type { InstanceRecord, JournalPort } from "../ports.js";
import { EVENT_DATA_KEY, type EventSenderDeps, type EventSent, instanceMessage, requireJournal, sendMessage } from "./send-event.js";
import { type TaskEntry, readTaskEntry, tokenHash } from "./task-launcher.js";

/** A task found by its token and checked against the instance. */
export interface CurrentTask {
  readonly key: string;
  readonly entry: TaskEntry;
  readonly steps: number;
  readonly record: InstanceRecord;
  /**
   * The machine's registered document (the version the instance is pinned to): a report needs its
   * transitions and task only, so the task's process loads no action module.
   */
  readonly machine: MachineDocument;
  readonly state: StateDocument & { readonly task: NonNullable<StateDocument["task"]> };
  readonly journal: JournalPort;
}

/** What the task reads of its context: `Switchyard.taskContext(token)`. */
export interface TaskContext {
  readonly correlationId: string;
  readonly machineName: string;
  readonly state: string;
  readonly steps: number;
  /** The user context when the task started. */
  readonly data: Record<string, unknown>;
}

/**
 * The task a token names, checked: an unknown token (`unknown_token`), one whose step the instance
 * has left (`stale_token`), or one whose task already reported (`already_reported`) is refused with
 * a one-line {@link UsageError}. `allowReported` skips the last check (the supervisor's exit).
 */
export async function currentTask(deps: EventSenderDeps, token: string, allowReported = false): Promise<CurrentTask & { readonly reported: boolean }> {
  const journal = requireJournal(deps, "a task's report needs it to know where its instance waits");
  const environment = deps.roles.environment;
  if (environment === undefined) {
    throw new UsageError("the environment role is switched off (environment: false in the settings), so no task can be found; give environment: the backend the workers use", { code: "no_environment" });
  }
  const dot = token.lastIndexOf(".");
  const unknown = () => new UsageError(`unknown task token ${JSON.stringify(abbreviate(token))}; use the token the task was given in SWITCHYARD_TASK_TOKEN, with the same --settings`, { code: "unknown_token" });
  if (dot <= 0) throw unknown();
  const key = token.slice(0, dot);
  const stored = await readTaskEntry(environment, key);
  if (stored === undefined || stored.token_sha256 !== tokenHash(token.slice(dot + 1))) throw unknown();
  const entry = stored as unknown as TaskEntry;
  const steps = Number(entry.steps);
  const record = await journal.getInstance(entry.correlation_id);
  const waiting = record !== undefined && (record.status === "waiting" || record.pausedStatus === "waiting");
  if (record === undefined || !waiting || record.steps !== steps || record.state !== entry.state) {
    const now = record === undefined ? "gone" : `${record.status} in state "${record.state}" at step ${record.steps ?? 0}`;
    throw new UsageError(`stale task token: the task of instance ${entry.correlation_id} in state "${entry.state}" (step ${steps}) is settled, the instance is ${now}`, { code: "stale_token" });
  }
  const reported = (await journal.history(entry.correlation_id)).some((message) => message.steps === steps + 1 && message.origin === "event");
  if (reported && !allowReported) {
    throw new UsageError(`the task of instance ${entry.correlation_id} in state "${entry.state}" (step ${steps}) already reported; a task reports once`, { code: "already_reported" });
  }
  const machine = await machineDocument(deps, journal, record);
  const state = machine?.states.find((candidate) => candidate.name === entry.state);
  if (machine === undefined || state?.task === undefined) throw unknown();
  return { key, entry, steps, record, machine, state: state as CurrentTask["state"], journal, reported };
}

/** The document of the version `record` is pinned to: the loaded one, else the registered one. */
async function machineDocument(deps: EventSenderDeps, journal: JournalPort, record: InstanceRecord): Promise<MachineDocument | undefined> {
  const loaded = deps.definitions.machines.get(record.machineName);
  if (loaded !== undefined && (record.version === undefined || loaded.version === record.version)) return loaded.document;
  if (record.version === undefined) return undefined;
  return (await journal.getDefinition(record.machineName, record.version))?.document;
}

/** Whether the state has a transition on `event` (an event a task may report). */
function hasTransition(state: StateDocument, event: string): boolean {
  return !event.startsWith(RESERVED_PREFIX) && (state.transitions ?? []).some((transition) => transition.event === event);
}

/** The event's message, to the stream like `sendEvent`'s. */
async function deliver(deps: EventSenderDeps, task: CurrentTask, event: string, data: unknown): Promise<EventSent> {
  if (!hasTransition(task.state, event)) {
    const events = (task.state.transitions ?? []).flatMap((transition) => (transition.event === undefined ? [] : [transition.event]));
    throw new UsageError(`state "${task.state.name}" of machine "${task.machine.name}" has no transition on event "${event}"; its events: ${events.join(", ")}`, { code: "no_transition" });
  }
  const userContext = { ...task.record.userContext };
  if (data === undefined) delete userContext[EVENT_DATA_KEY];
  else userContext[EVENT_DATA_KEY] = data;
  const message = instanceMessage(deps, { name: task.machine.name, maxRetries: task.machine.max_retries }, task.record, event, userContext);
  const sent = await sendMessage(deps, message, "event");
  return { correlationId: task.record.correlationId, steps: message.system_context.steps, state: task.record.state, event, sent };
}

/**
 * Deliver the task's outcome `event` (with `data`, seen as `ctx.data.event_data`) as the next step
 * of its instance. Refuses what {@link currentTask} refuses and what `sendEvent` refuses (an event
 * the state has no transition for).
 */
export async function reportTask(deps: EventSenderDeps, token: string, event: string, data?: unknown): Promise<EventSent> {
  return deliver(deps, await currentTask(deps, token), event, data);
}

/** A heartbeat's outcome: when the task's timer now fires (ms since the epoch), if it has one. */
export interface HeartbeatResult {
  readonly correlationId: string;
  readonly due: number | undefined;
}

/**
 * Record a heartbeat: the task's timer (its `timeout`/`heartbeat`) is scheduled again for the
 * earlier of now + `heartbeat` and its start + `timeout`. A task without `heartbeat` has nothing to
 * extend; its token is checked all the same.
 */
export async function heartbeatTask(deps: EventSenderDeps, token: string): Promise<HeartbeatResult> {
  const task = await currentTask(deps, token);
  const heartbeat = parseDuration(task.state.task.heartbeat).seconds;
  if (heartbeat === undefined) return { correlationId: task.entry.correlation_id, due: undefined };
  const timeout = task.state.task.timeout === undefined ? undefined : parseDuration(task.state.task.timeout).seconds;
  const now = deps.clock.now();
  const deadline = timeout === undefined ? Infinity : Number(task.entry.started_at) + timeout * 1000;
  const due = Math.min(now + heartbeat * 1000, deadline);
  const message = instanceMessage(deps, { name: task.machine.name, maxRetries: task.machine.max_retries }, task.record, TIMER_EVENT, task.record.userContext);
  const outgoing = {
    correlationId: task.entry.correlation_id,
    steps: message.system_context.steps,
    retries: 0,
    body: encodeMessage(message),
    delaySeconds: Math.max(0, Math.ceil((due - now) / 1000)),
    durable: true,
  };
  // The retry role, failing over as every send does (each failed side logged).
  const sent = await sendToRole(deps.roles, "retry", outgoing, new ErrorTally(), deps.logger ?? silentLogger, { wire: message });
  if (sent === undefined) throw new SystemError(`could not schedule the heartbeat of ${task.entry.correlation_id}: every retry backend failed`);
  return { correlationId: task.entry.correlation_id, due };
}

/** How a task's process ended, as its supervisor saw it (or an ECS task, as its watcher saw it). */
export interface TaskExit {
  /** The run that ended: 0 for the first, then one more per run started again. */
  readonly attempt: number;
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** The last lines of its stderr. */
  readonly stderrTail: string;
  /** Why it could not start (`spawn node ENOENT`), when it did not. */
  readonly startError?: string | undefined;
  /** An ECS task: why ECS says it stopped (`Essential container in task exited`); its exit code may be unknown. */
  readonly stoppedReason?: string | undefined;
}

/**
 * What the supervisor does next: nothing (`settled`: the task reported, or its step is over),
 * start the command again after `delaySeconds` (`retry`), or stop (`failed`: the instance failed).
 */
export type TaskExitOutcome = { readonly next: "settled" } | { readonly next: "retry"; readonly delaySeconds: number } | { readonly next: "failed" };

/**
 * The supervisor's report of its process's end. An exit without a report is a failed attempt in the
 * history (exit code and stderr tail); within `max_retries` the command runs again, then the
 * instance fails. An exit 0 without a report reports `done` when the state has that transition.
 */
export async function taskExited(deps: EventSenderDeps & { readonly random?: () => number }, token: string, exit: TaskExit): Promise<TaskExitOutcome> {
  let task: Awaited<ReturnType<typeof currentTask>>;
  try {
    task = await currentTask(deps, token, true);
  } catch (error) {
    if (error instanceof UsageError && error.code === "stale_token") return { next: "settled" };
    throw error;
  }
  if (task.reported) return { next: "settled" };
  if (exit.exitCode === 0 && exit.startError === undefined && hasTransition(task.state, TASK_DONE_EVENT)) {
    await deliver(deps, task, TASK_DONE_EVENT, undefined);
    return { next: "settled" };
  }
  const { command, docker, ecs } = task.state.task;
  const program = command?.join(" ") ?? (docker !== undefined ? `docker run ${docker.image}` : ecs !== undefined ? `ecs ${String(ecs.task_definition)}` : task.entry.kind);
  const how =
    exit.startError !== undefined
      ? `could not start: ${exit.startError}`
      : exit.exitCode === 0
        ? `exited with code 0 without reporting, and state "${task.entry.state}" has no "${TASK_DONE_EVENT}" transition to take for it`
        : exit.signal !== null
          ? `was killed by ${exit.signal}`
          : exit.exitCode !== null
            ? `exited with code ${exit.exitCode}`
            : "stopped without reporting";
  const stopped = exit.stoppedReason === undefined || exit.stoppedReason === "" ? "" : ` (ECS: ${exit.stoppedReason})`;
  const tail = exit.stderrTail.trim();
  const fatal = exit.attempt >= task.machine.max_retries;
  const summary = `task "${program}" ${how}${stopped}`;
  const error = `${summary}${tail === "" ? "" : `; stderr:\n${tail}`}`.slice(0, ATTEMPT_MESSAGE_LIMIT);
  await task.journal.appendAttempt(task.entry.correlation_id, {
    at: deps.clock.now(),
    current_state: task.entry.state,
    current_event: task.entry.event,
    steps: task.steps,
    retries: exit.attempt,
    outcome: fatal ? "fatal" : "retry",
    state: task.entry.state,
    slot: "do_action",
    event: task.entry.event,
    action: `task:${task.entry.kind}`,
    where: `${task.entry.state}.task ${program}`,
    error_name: "TaskExitError",
    error,
  });
  if (!fatal) return { next: "retry", delaySeconds: retryBackoffSeconds(exit.attempt + 1, deps.random ?? Math.random) };
  await task.journal.updateInstance(task.entry.correlation_id, {
    machineName: task.record.machineName,
    status: "failed",
    state: task.entry.state,
    userContext: task.record.userContext,
    steps: task.steps,
    reason: summary,
    leasePrimary: task.record.leasePrimary,
    fenceToken: task.record.fenceToken,
  });
  // The task's timer would find the instance failed and be dropped; removing it (on either side, a
  // heartbeat may have failed over) is only tidier.
  for (const [, port] of sidesOf(deps.roles.retry)) await port.remove(task.entry.correlation_id, task.steps + 1).catch(() => undefined);
  return { next: "failed" };
}

/**
 * Whether the task's step was settled without it: the instance left the step (its timeout fired,
 * an operator aborted or moved it) and no event was sent for the next step. Its supervisor then
 * stops the process. A task that reported, or whose token is unknown, is not abandoned.
 */
export async function taskAbandoned(deps: EventSenderDeps, token: string): Promise<boolean> {
  try {
    await currentTask(deps, token, true);
    return false;
  } catch (error) {
    if (!(error instanceof UsageError) || error.code !== "stale_token") return false;
  }
  const dot = token.lastIndexOf(".");
  const entry = deps.roles.environment === undefined ? undefined : await readTaskEntry(deps.roles.environment, token.slice(0, dot));
  if (entry === undefined || deps.roles.journal === undefined) return false;
  const steps = Number(entry.steps);
  const history = await deps.roles.journal.history(entry.correlation_id ?? "");
  return !history.some((message) => message.steps === steps + 1 && message.origin === "event");
}

/**
 * What the watcher of a task with no local process (an ECS task) does next: `watch` while its step
 * is open (or the journal cannot say), `stop` the task once its step is settled without it, `leave`
 * it once it reported (a task that reported is never stopped) or its token names nothing.
 */
export async function taskStanding(deps: EventSenderDeps, token: string): Promise<"watch" | "stop" | "leave"> {
  try {
    return (await currentTask(deps, token, true)).reported ? "leave" : "watch";
  } catch (error) {
    if (!(error instanceof UsageError)) return "watch";
    if (error.code !== "stale_token") return "leave";
  }
  return (await taskAbandoned(deps, token)) ? "stop" : "leave";
}

/** What a task reads of its context by its token: the instance, its state and step, the user context at its start. */
export async function taskContext(deps: EventSenderDeps, token: string): Promise<TaskContext> {
  const task = await currentTask(deps, token, true);
  return {
    correlationId: task.entry.correlation_id,
    machineName: task.entry.machine,
    state: task.entry.state,
    steps: task.steps,
    data: JSON.parse(task.entry.user_context) as Record<string, unknown>,
  };
}

/** A token in a refusal: enough to recognise, not enough to use. */
function abbreviate(token: string): string {
  return token.length > 12 ? `${token.slice(0, 8)}…` : token;
}
