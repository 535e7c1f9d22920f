/**
 * External events (SPEC §9): deliver an event to a `waiting` instance as its next step's message.
 *
 * The journal says where the instance waits (state, context and the step `s` it rests at); the
 * event becomes message `(state, event, s + 1, retries 0)`, sent like any next message (stream
 * primary, secondary, then the retry role). Nothing else is written: the worker that processes the
 * message moves the record on. Messages that compete for step `s + 1` (two events sent before
 * either ran) are settled by the engine's dispatched flag: exactly one runs, the others are
 * recorded as `duplicate`.
 */
import type { MachineDefinition } from "../core/machine.js";
import { DEFAULT_LEASE_TIMEOUT_SECONDS, RESERVED_PREFIX, WIRE_VERSION, type WireMessage, encodeMessage } from "../core/message.js";
import { journalMessage } from "../engine/engine.js";
import type { SentMessage } from "../engine/roles.js";
import { SwitchyardError, UsageError } from "../errors.js";
import { silentLogger } from "../logger.js";
import type { InstanceRecord, JournalPort, MessageOrigin, OutgoingMessage } from "../ports.js";
import { sendWithFailover } from "./send-message.js";
import type { StarterDeps } from "./start.js";

/**
 * The user-context key an event's `data` is stored under: `sendEvent(id, "approved", { data: { by:
 * "ana" } })` gives the actions `ctx.data.event_data = { by: "ana" }`. It holds the data of the
 * event being processed: an event sent without data removes the key.
 */
export const EVENT_DATA_KEY = "event_data";

/** Options of {@link sendEvent}. */
export interface SendEventOptions {
  /** Any JSON value; the actions see it as `ctx.data.event_data` ({@link EVENT_DATA_KEY}). */
  readonly data?: unknown;
}

/** An event that was sent. */
export interface EventSent {
  readonly correlationId: string;
  /** The step the event's message runs as (the waiting step + 1). */
  readonly steps: number;
  readonly state: string;
  readonly event: string;
  readonly sent: SentMessage;
}

/** What sending an event needs: what starting needs. */
export type EventSenderDeps = StarterDeps;

/**
 * Send `event` to the waiting instance `correlationId`. Refuses, with a {@link UsageError} of one
 * line, an unknown instance (`not_found`), an instance that is not waiting (`not_waiting`, naming
 * its status), an event its state has no transition for (`no_transition`, listing the events it
 * has), a state the definitions no longer have (`unknown_state`) and a journal that is switched off (`no_journal`); a message too large for the stream
 * throws the transport's {@link PayloadTooLargeError}.
 *
 * @example
 * ```ts
 * await sendEvent(deps, id, "approved", { data: { by: "ana" } });
 * ```
 */
export async function sendEvent(deps: EventSenderDeps, correlationId: string, event: string, options: SendEventOptions = {}): Promise<EventSent> {
  const journal = requireJournal(deps, "send needs it to know where an instance waits");
  const record = await requireInstance(journal, correlationId);
  const waiting = record.status === "waiting" || record.pausedStatus === "waiting";
  if (!waiting) {
    throw new UsageError(`instance ${correlationId} is ${record.status} (state "${record.state}"), not waiting; events go to waiting instances only`, {
      code: "not_waiting",
    });
  }
  const machine = await instanceMachine(deps, record);
  const state = machine.states.get(record.state);
  if (state === undefined) {
    throw new UsageError(
      `instance ${correlationId} waits in state "${record.state}", which machine "${machine.name}" (version ${machine.version}) does not have; add the state back, migrate the instance (switchyard migrate), or abort it`,
      { code: "unknown_state" },
    );
  }
  if (event.startsWith(RESERVED_PREFIX) || !state.transitions.has(event)) {
    const events = [...state.transitions.keys()].filter((name) => !name.startsWith(RESERVED_PREFIX));
    throw new UsageError(
      `state "${record.state}" of machine "${machine.name}" has no transition on event "${event}"; its events: ${events.length > 0 ? events.join(", ") : "(none)"}${olderVersion(deps, machine)}`,
      { code: "no_transition" },
    );
  }
  const userContext = { ...record.userContext };
  if (options.data === undefined) delete userContext[EVENT_DATA_KEY];
  else userContext[EVENT_DATA_KEY] = options.data;
  const message = instanceMessage(deps, machine, record, event, userContext);
  const sent = await sendMessage(deps, message, "event");
  return { correlationId, steps: message.system_context.steps, state: record.state, event, sent };
}

/**
 * The machine an instance runs on: the version its record is pinned to (fetched from the
 * definition registry when not loaded here), or the loaded definition for an unversioned instance.
 * Refuses, with a one-line {@link UsageError} (`version_unavailable`), a version that cannot be had.
 */
export async function instanceMachine(deps: Pick<StarterDeps, "definitions" | "catalog">, record: InstanceRecord): Promise<MachineDefinition> {
  if (deps.catalog === undefined || (record.version === undefined && deps.definitions.machines.has(record.machineName))) {
    return deps.definitions.get(record.machineName);
  }
  try {
    return await deps.catalog.machine(record.machineName, record.version);
  } catch (error) {
    if (error instanceof SwitchyardError) throw new UsageError(`instance ${record.correlationId}: ${error.message}`, { code: error.code });
    throw error;
  }
}

/**
 * For a refusal about an instance on another version than the loaded one: which version it is on,
 * and how to move it (empty when it is on the loaded version).
 */
function olderVersion(deps: Pick<StarterDeps, "definitions">, machine: MachineDefinition): string {
  const loaded = deps.definitions.machines.get(machine.name);
  if (loaded === undefined || loaded.version === machine.version) return "";
  const label = machine.label === undefined ? "" : ` (${machine.label})`;
  return ` (the instance is on version ${machine.version}${label} of the machine; switchyard migrate moves it to the current one)`;
}

/** The journal, or a one-line `no_journal` refusal saying what needs it. */
export function requireJournal(deps: Pick<EventSenderDeps, "roles">, needs: string): JournalPort {
  const journal = deps.roles.journal;
  if (journal === undefined) {
    throw new UsageError(`the instance journal is switched off (journal: false in the settings); ${needs}`, { code: "no_journal" });
  }
  return journal;
}

/** The instance's record, or a one-line `not_found` refusal. */
export async function requireInstance(journal: JournalPort, correlationId: string): Promise<InstanceRecord> {
  const record = await journal.getInstance(correlationId);
  if (record === undefined) {
    throw new UsageError(`no instance with correlation id "${correlationId}" in ${journal.uri}; check the id and --settings`, { code: "not_found" });
  }
  return record;
}

/**
 * The message of the step after the one a resting instance's record shows (its state, `event`,
 * `steps + 1`, retries 0), carrying the cache its lease lives on and its last fence token (SPEC §3
 * failover) as its last processing left them.
 */
export function instanceMessage(
  deps: Pick<EventSenderDeps, "leaseTimeoutSeconds">,
  machine: Pick<MachineDefinition, "name" | "maxRetries">,
  record: InstanceRecord,
  event: string,
  userContext: Record<string, unknown>,
  at: { readonly state?: string; readonly steps?: number; readonly retries?: number } = {},
): WireMessage {
  return {
    version: WIRE_VERSION,
    system_context: {
      machine_name: machine.name,
      current_state: at.state ?? record.state,
      current_event: event,
      correlation_id: record.correlationId,
      steps: at.steps ?? (record.steps ?? 0) + 1,
      retries: at.retries ?? 0,
      max_retries: machine.maxRetries,
      started_at: record.startedAt / 1000,
      lease_primary: record.leasePrimary ?? true,
      ...(record.fenceToken === undefined ? {} : { fence_token: record.fenceToken }),
      additional_delay_seconds: 0,
      lease_timeout: deps.leaseTimeoutSeconds ?? DEFAULT_LEASE_TIMEOUT_SECONDS,
      ...(record.version === undefined ? {} : { machine_version: record.version }),
    },
    user_context: userContext,
  };
}

/**
 * Send a message an operation made (stream primary, secondary, then the retry role) and journal
 * it with its origin; `delaySeconds` for a timer sent again.
 */
export async function sendMessage(deps: EventSenderDeps, message: WireMessage, origin: MessageOrigin, delaySeconds = 0): Promise<SentMessage> {
  const system = message.system_context;
  const outgoing: OutgoingMessage = {
    correlationId: system.correlation_id,
    steps: system.steps,
    retries: system.retries,
    body: encodeMessage(message),
    delaySeconds,
    durable: true,
  };
  const sent = await sendWithFailover(deps, outgoing, `step ${system.steps} of instance ${system.correlation_id}`, message);
  const due = delaySeconds > 0 ? deps.clock.now() + delaySeconds * 1000 : undefined;
  await journalMessage({ roles: deps.roles, logger: deps.logger ?? silentLogger, clock: deps.clock }, message, sent.role, sent.side, { origin, due });
  return sent;
}
