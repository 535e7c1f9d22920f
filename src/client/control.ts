/**
 * The operator's controls over running instances (SPEC §9): abort, pause and resume (an instance,
 * or a machine at one state or all), recover, redrive, and the stalled-instance listing.
 *
 * Each writes its control to the journal and, where the instance has no message in flight, sends
 * the message that lets a worker act on it; the engine reads the controls before every step
 * (`Engine` in engine/engine.ts). Every operation is idempotent and refuses, with a one-line
 * {@link UsageError} carrying a code, what it cannot do.
 */
import { ABORT_EVENT, type WireMessage, decodeMessage } from "../core/message.js";
import { timerOf } from "../core/transitions.js";
import type { SentMessage } from "../engine/roles.js";
import { UsageError } from "../errors.js";
import { FINAL_STATUSES, type InstanceRecord, type JournalPort, type MessageOrigin, type MessageSource, type ParkedMessage } from "../ports.js";
import { type EventSenderDeps, instanceMachine, instanceMessage, requireInstance, requireJournal, sendMessage } from "./send-event.js";
import { sendWithFailover } from "./send-message.js";
import { journalMessage } from "../engine/engine.js";
import { silentLogger } from "../logger.js";

/** What the controls need: what sending an event needs, and the sources (to tell what is pending). */
export interface ControlDeps extends EventSenderDeps {
  readonly sources?: readonly MessageSource[] | undefined;
}

/** The default reason of an abort. */
export const DEFAULT_ABORT_REASON = "aborted by an operator";

/** What {@link abortInstance} did. */
export interface AbortResult {
  readonly correlationId: string;
  /** False when the abort had been asked before (aborting twice is a no-op) or the instance is already aborted. */
  readonly requested: boolean;
  readonly reason: string;
  /**
   * How the abort reaches the instance: `in-flight` (its pending message takes the abort path),
   * `abort-message` (it waited: a `pseudo_abort` message was sent), `parked` (its parked messages
   * were sent again to take the abort path), `done` (already aborted).
   */
  readonly via: "in-flight" | "abort-message" | "parked" | "done";
}

/**
 * Abort an instance: no action of it starts after this returns (one already running finishes, and
 * its outcome is discarded); with the machine's `on_abort` state it runs that compensation first.
 * Refuses a completed or failed instance (`finished`); aborting again is a no-op.
 */
export async function abortInstance(deps: ControlDeps, correlationId: string, options: { reason?: string | undefined } = {}): Promise<AbortResult> {
  const journal = requireJournal(deps, "abort needs it to record the abort");
  const reason = options.reason ?? DEFAULT_ABORT_REASON;
  let record = await requireInstance(journal, correlationId);
  if (record.status === "aborted") return { correlationId, requested: false, reason: record.reason ?? record.abort?.reason ?? reason, via: "done" };
  refuseFinished(record, "aborted");
  if (!(await journal.requestAbort(correlationId, reason, deps.clock.now()))) {
    record = await requireInstance(journal, correlationId);
    if (record.abort !== undefined) return { correlationId, requested: false, reason: record.abort.reason, via: record.status === "aborted" ? "done" : "in-flight" };
    refuseFinished(record, "aborted");
  }
  // Parked messages take the abort path once sent again (an abort goes before a pause).
  if ((await resendParked(deps, journal, await journal.parkedMessages({ correlationId }), "abort")) > 0) {
    return { correlationId, requested: true, reason, via: "parked" };
  }
  const resting = record.pausedStatus ?? record.status;
  if (resting !== "waiting") return { correlationId, requested: true, reason, via: "in-flight" };
  const machine = await instanceMachine(deps, record);
  await sendMessage(deps, instanceMessage(deps, machine, record, ABORT_EVENT, record.userContext), "abort");
  return { correlationId, requested: true, reason, via: "abort-message" };
}

/** Pause an instance: its messages are parked, not processed and not lost, until {@link resumeInstance}. */
export async function pauseInstance(deps: ControlDeps, correlationId: string): Promise<InstanceRecord> {
  const journal = requireJournal(deps, "pause needs it to hold the instance's messages");
  refuseFinished(await requireInstance(journal, correlationId), "paused");
  await journal.setPaused(correlationId, true);
  return requireInstance(journal, correlationId);
}

/** What a resume did. */
export interface ResumeResult {
  /** The parked messages sent again. */
  readonly resent: number;
  /** Parked messages left where they are: their instance is paused itself. */
  readonly stillHeld: number;
}

/** Resume an instance: its parked messages are sent again as they were (no retry used up). */
export async function resumeInstance(deps: ControlDeps, correlationId: string): Promise<ResumeResult> {
  const journal = requireJournal(deps, "resume needs it to find the parked messages");
  await requireInstance(journal, correlationId);
  await journal.setPaused(correlationId, false);
  return { resent: await resendParked(deps, journal, await journal.parkedMessages({ correlationId }), "resume"), stillHeld: 0 };
}

/** A pause of a machine's instances: at one state (`state`), or at every state. */
export interface MachinePause {
  readonly machine: string;
  readonly state?: string | undefined;
}

/** Hold every instance of a machine (at one state): the next message of each is parked. */
export async function pauseMachine(deps: ControlDeps, pause: MachinePause): Promise<void> {
  const journal = requireJournal(deps, "pause needs it to hold the machine's messages");
  checkPause(deps, pause);
  await journal.addPause({ machineName: pause.machine, state: pause.state });
}

/**
 * Lift a machine pause and send its parked messages again (not those of instances paused
 * themselves; a message that another pause still holds is parked again).
 */
export async function resumeMachine(deps: ControlDeps, pause: MachinePause): Promise<ResumeResult> {
  const journal = requireJournal(deps, "resume needs it to find the parked messages");
  checkPause(deps, pause);
  await journal.removePause({ machineName: pause.machine, state: pause.state });
  const parked = await journal.parkedMessages({ machineName: pause.machine, state: pause.state });
  const held = new Map<string, boolean>();
  const free: ParkedMessage[] = [];
  for (const message of parked) {
    let paused = held.get(message.correlationId);
    if (paused === undefined) {
      paused = (await journal.getInstance(message.correlationId))?.paused === true;
      held.set(message.correlationId, paused);
    }
    if (!paused) free.push(message);
  }
  return { resent: await resendParked(deps, journal, free, "resume"), stillHeld: parked.length - free.length };
}

/** What {@link recoverInstance} sent. */
export interface RecoverResult {
  readonly correlationId: string;
  /** The messages sent again: the last one journaled, or the parked ones of an instance no longer paused. */
  readonly resent: ReadonlyArray<{ readonly state: string; readonly event: string; readonly steps: number; readonly retries: number; readonly delaySeconds: number }>;
}

/**
 * Send a stalled instance's last message again, from the journal: a copy that turns out to be a
 * duplicate of a step already taken is dropped by the engine. A timer is sent with what remains of
 * its delay. Refuses finished and paused instances, and a waiting one without a timer (it waits
 * for an event: `not_stalled`).
 */
export async function recoverInstance(deps: ControlDeps, correlationId: string): Promise<RecoverResult> {
  const journal = requireJournal(deps, "recover needs it to find the last message");
  const record = await requireInstance(journal, correlationId);
  refuseFinished(record, "recovered");
  if (record.paused === true) {
    throw new UsageError(`instance ${correlationId} is paused; resume it (switchyard resume ${correlationId}) instead of recovering it`, { code: "paused" });
  }
  const parked = await journal.parkedMessages({ correlationId });
  if (parked.length > 0) {
    await resendParked(deps, journal, parked, "recover");
    return {
      correlationId,
      resent: parked.map((m) => ({ state: m.state, event: decodeParked(m.body)?.system_context.current_event ?? "", steps: m.steps, retries: m.retries, delaySeconds: 0 })),
    };
  }
  const machine = await instanceMachine(deps, record);
  const history = await journal.history(correlationId);
  const last = history.at(-1);
  if (record.status === "waiting" && (last === undefined || last.origin !== "timer" || last.steps !== (record.steps ?? 0) + 1 || timerOf(machine, record.state) === undefined)) {
    throw new UsageError(`instance ${correlationId} waits in state "${record.state}" for an event; nothing to recover (send it one: switchyard send ${correlationId} <event>)`, {
      code: "not_stalled",
    });
  }
  if (last === undefined) throw new UsageError(`instance ${correlationId} has no message in its history to send again`, { code: "not_stalled" });
  const message = instanceMessage(deps, machine, record, last.current_event, last.user_context, { state: last.current_state, steps: last.steps, retries: last.retries });
  const delaySeconds = last.due === undefined ? 0 : Math.max(0, (last.due - deps.clock.now()) / 1000);
  await sendMessage(deps, message, "recover", delaySeconds);
  return { correlationId, resent: [{ state: last.current_state, event: last.current_event, steps: last.steps, retries: last.retries, delaySeconds }] };
}

/** What {@link redriveInstance} sent. */
export interface RedriveResult {
  readonly correlationId: string;
  readonly state: string;
  readonly event: string;
  readonly steps: number;
  readonly sent: SentMessage;
}

/**
 * Run a failed instance's failed step again, with its retries reset: the record goes back to
 * `running` and the history shows the message with origin `redrive`. Refuses any other status
 * (`not_failed`).
 */
export async function redriveInstance(deps: ControlDeps, correlationId: string): Promise<RedriveResult> {
  const journal = requireJournal(deps, "redrive needs it to find the failed step");
  const record = await requireInstance(journal, correlationId);
  if (record.status !== "failed") {
    throw new UsageError(`instance ${correlationId} is ${record.status}, not failed; only failed instances can be redriven`, { code: "not_failed" });
  }
  const steps = record.steps ?? 0;
  const failedStep = (await journal.history(correlationId)).filter((entry) => entry.steps === steps).at(-1);
  if (failedStep === undefined) {
    throw new UsageError(`instance ${correlationId} has no message of its failed step ${steps} in its history; it cannot be redriven`, { code: "not_failed" });
  }
  const machine = await instanceMachine(deps, record);
  if (!(await journal.reopen(correlationId, Math.max(0, steps - 1)))) {
    throw new UsageError(`instance ${correlationId} is no longer failed; it was redriven or changed meanwhile`, { code: "not_failed" });
  }
  const message = instanceMessage(deps, machine, record, failedStep.current_event, record.userContext, { state: failedStep.current_state, steps, retries: 0 });
  const sent = await sendMessage(deps, message, "redrive");
  return { correlationId, state: failedStep.current_state, event: failedStep.current_event, steps, sent };
}

/** Options of {@link listStalled}. */
export interface StalledOptions {
  /** No journal update for this long (ms). Default 10 minutes. */
  readonly olderThanMs?: number | undefined;
  readonly machineName?: string | undefined;
  readonly limit?: number | undefined;
}

/** A stalled instance: nothing pending for it where that can be told, and no activity for a while. */
export interface StalledInstance {
  readonly record: InstanceRecord;
  /** Why it counts as stalled. */
  readonly why: string;
  /** False where some source cannot count one instance's messages (SQS, SNS, Kinesis): it may still have one pending there. */
  readonly pendingChecked: boolean;
}

/** The default of {@link StalledOptions.olderThanMs}: 10 minutes. */
export const DEFAULT_STALLED_AGE_MS = 10 * 60 * 1000;

/**
 * Running instances with no journal update for `olderThanMs` and no message pending in any source
 * that can tell, and waiting instances whose timer is overdue by as long: what `recover` is for.
 */
export async function listStalled(deps: ControlDeps, options: StalledOptions = {}): Promise<StalledInstance[]> {
  const journal = requireJournal(deps, "list --stalled needs it");
  const age = options.olderThanMs ?? DEFAULT_STALLED_AGE_MS;
  const now = deps.clock.now();
  const before = now - age;
  const candidates: Array<{ record: InstanceRecord; why: string }> = [];
  for (const record of await journal.list({ machineName: options.machineName, status: "running", updatedBefore: before })) {
    candidates.push({ record, why: `running, no activity since ${new Date(record.updatedAt).toISOString()}` });
  }
  for (const record of await journal.list({ machineName: options.machineName, status: "waiting", updatedBefore: before })) {
    const machine = deps.definitions.machines.get(record.machineName);
    const timer = machine === undefined ? undefined : timerOf(machine, record.state);
    if (timer?.afterSeconds === undefined) continue;
    const due = record.updatedAt + timer.afterSeconds * 1000;
    if (due < before) candidates.push({ record, why: `waiting in "${record.state}", its timer was due at ${new Date(due).toISOString()}` });
  }
  const stalled: StalledInstance[] = [];
  for (const { record, why } of candidates) {
    const pending = await pendingOf(deps.sources ?? [], record.correlationId);
    if (pending.count > 0) continue;
    stalled.push({ record, why, pendingChecked: pending.checked });
    if (options.limit !== undefined && stalled.length >= options.limit) break;
  }
  return stalled;
}

async function pendingOf(sources: readonly MessageSource[], correlationId: string): Promise<{ count: number; checked: boolean }> {
  let count = 0;
  let checked = true;
  for (const source of sources) {
    if (source.pending === undefined || !(source.filtersByCorrelationId || source.countsPerInstance === true)) {
      checked = false;
      continue;
    }
    try {
      count += await source.pending(correlationId);
    } catch {
      checked = false;
    }
  }
  return { count, checked };
}

function refuseFinished(record: InstanceRecord, what: string): void {
  if (FINAL_STATUSES.includes(record.status)) {
    throw new UsageError(`instance ${record.correlationId} is ${record.status} (state "${record.state}"); a finished instance cannot be ${what}`, { code: "finished" });
  }
}

function checkPause(deps: ControlDeps, pause: MachinePause): void {
  const machine = deps.definitions.get(pause.machine);
  if (pause.state !== undefined && !machine.states.has(pause.state)) {
    throw new UsageError(`machine "${machine.name}" has no state "${pause.state}"; its states: ${[...machine.states.keys()].join(", ")}`, { code: "no_state" });
  }
}

/**
 * Send parked messages again as they were received, journal them with `origin`, and unpark each
 * once sent; how many were sent.
 */
async function resendParked(deps: ControlDeps, journal: JournalPort, parked: readonly ParkedMessage[], origin: MessageOrigin): Promise<number> {
  const logger = deps.logger ?? silentLogger;
  for (const message of parked) {
    const decoded = decodeParked(message.body);
    const sent = await sendWithFailover(deps, {
      correlationId: message.correlationId,
      steps: message.steps,
      retries: message.retries,
      body: message.body,
      delaySeconds: 0,
      durable: true,
    }, `parked step ${message.steps} of instance ${message.correlationId}`, decoded);
    if (decoded !== undefined) await journalMessage({ roles: deps.roles, logger, clock: deps.clock }, decoded, sent.role, sent.side, { origin });
    await journal.unpark(message.correlationId, message.steps, message.retries);
  }
  return parked.length;
}

function decodeParked(body: string): WireMessage | undefined {
  try {
    return decodeMessage(body);
  } catch {
    return undefined;
  }
}
