/**
 * Starting instances (SPEC §6): the start message `{pseudo_init, pseudo_init, steps 0, retries 0}`
 * sent through the same failover as any next message (stream primary, secondary, then the retry role).
 */
import { randomUUID } from "node:crypto";
import { ErrorTally } from "../core/counters.js";
import {
  DEFAULT_LEASE_TIMEOUT_SECONDS,
  PSEUDO_INIT,
  WIRE_VERSION,
  encodeMessage,
  type WireMessage,
} from "../core/message.js";
import { journalMessage, writeJournal } from "../engine/engine.js";
import { messageLogFields } from "../engine/log-fields.js";
import type { MachineCatalog } from "../engine/versions.js";
import { type RoleBindings, type SentMessage, sendToRole } from "../engine/roles.js";
import type { DefinitionSet } from "../core/machine.js";
import { SwitchyardError, SystemError, UsageError } from "../errors.js";
import { type Logger, silentLogger } from "../logger.js";
import type { Clock, InstanceRecord, OutgoingMessage } from "../ports.js";
import { checkCorrelationId } from "./correlation-id.js";

/** Options of one start. */
export interface StartOptions {
  /** The initial user context (a JSON object). */
  readonly context?: Record<string, unknown> | undefined;
  /**
   * Your own correlation id (default: a random 32-hex-digit id): 1 to 128 characters from A-Z a-z
   * 0-9 . _ : - (what every transport carries unchanged); it must not name an existing instance.
   */
  readonly correlationId?: string | undefined;
  /** Start in this state instead of `pseudo_init` (with `initialEvent`), e.g. to resume by hand. */
  readonly initialState?: string | undefined;
  readonly initialEvent?: string | undefined;
  /** Seconds before the start message is delivered, and the default delay between steps. */
  readonly additionalDelaySeconds?: number | undefined;
}

/** A started instance. */
export interface Started {
  readonly correlationId: string;
  readonly sent: SentMessage;
}

/** Per-item result of a bulk start: one failed item never fails the others. */
export type StartItemResult =
  | { readonly ok: true; readonly correlationId: string; readonly sent: SentMessage }
  | { readonly ok: false; readonly correlationId: string; readonly error: Error };

/** What starting needs. */
export interface StarterDeps {
  readonly definitions: DefinitionSet;
  readonly roles: RoleBindings;
  readonly clock: Clock;
  readonly leaseTimeoutSeconds?: number | undefined;
  readonly logger?: Logger | undefined;
  /** The versions instances run on (SPEC §10); without it, every instance runs on the loaded definitions. */
  readonly catalog?: MachineCatalog | undefined;
}

/** Build the start message of a new instance (validating machine, correlation id, state and context). */
export function startMessage(deps: StarterDeps, machineName: string, options: StartOptions = {}): WireMessage {
  const machine = deps.definitions.get(machineName);
  if (options.correlationId !== undefined) checkCorrelationId(options.correlationId);
  const context = options.context ?? {};
  if (typeof context !== "object" || context === null || Array.isArray(context)) {
    throw new UsageError("the initial context must be a JSON object, e.g. {\"orderId\": 42}");
  }
  const state = options.initialState ?? PSEUDO_INIT;
  if (state !== PSEUDO_INIT && !machine.states.has(state)) {
    throw new UsageError(`machine "${machine.name}" has no state "${state}"; known states: ${[...machine.states.keys()].join(", ")}`);
  }
  const delay = options.additionalDelaySeconds ?? 0;
  if (!Number.isFinite(delay) || delay < 0) throw new UsageError(`additional delay must be a non-negative number of seconds, got ${delay}`);
  return {
    version: WIRE_VERSION,
    system_context: {
      machine_name: machine.name,
      current_state: state,
      current_event: options.initialEvent ?? PSEUDO_INIT,
      correlation_id: options.correlationId ?? randomUUID().replaceAll("-", ""),
      steps: 0,
      retries: 0,
      max_retries: machine.maxRetries,
      started_at: deps.clock.now() / 1000,
      lease_primary: true,
      additional_delay_seconds: delay,
      lease_timeout: deps.leaseTimeoutSeconds ?? DEFAULT_LEASE_TIMEOUT_SECONDS,
      machine_version: machine.version,
    },
    user_context: context,
  };
}

/**
 * Start one instance of `machineName`; resolves with its correlation id once the start message is
 * durably sent (on SQLite: committed, whatever the commit mode).
 *
 * @example
 * ```ts
 * const { correlationId } = await startMachine(deps, "order", { context: { orderId: 42 } });
 * ```
 */
export async function startMachine(deps: StarterDeps, machineName: string, options: StartOptions = {}): Promise<Started> {
  const message = startMessage(deps, machineName, options);
  const [result] = await sendStarts(deps, [message]);
  if (result === undefined || !result.ok) throw result?.error ?? new SystemError("start failed");
  return { correlationId: result.correlationId, sent: result.sent };
}

/**
 * Start many instances with batch sends. Items that the primary stream rejects are retried on the
 * secondary stream, then through the retry role; each item reports its own result, including an
 * item that is invalid (unknown machine or state, bad correlation id or context).
 */
export async function startMachines(
  deps: StarterDeps,
  items: ReadonlyArray<{ machineName: string } & StartOptions>,
): Promise<StartItemResult[]> {
  const results: StartItemResult[] = new Array(items.length);
  const messages: WireMessage[] = [];
  const positions: number[] = [];
  for (const [index, item] of items.entries()) {
    try {
      messages.push(startMessage(deps, item.machineName, item));
      positions.push(index);
    } catch (error) {
      if (!(error instanceof SwitchyardError)) throw error;
      results[index] = { ok: false, correlationId: item.correlationId ?? "", error };
    }
  }
  for (const [position, result] of (await sendStarts(deps, messages)).entries()) results[positions[position] as number] = result;
  return results;
}

/**
 * Claim the ids, then send. Each instance's journal record is written before its start message
 * leaves: a worker may process the message at once, and its updates must land on the record, not
 * be overwritten by it.
 */
async function sendStarts(deps: StarterDeps, messages: WireMessage[]): Promise<StartItemResult[]> {
  const logger = deps.logger ?? silentLogger;
  const engine = { roles: deps.roles, logger, clock: deps.clock };
  const results: Array<StartItemResult | undefined> = new Array(messages.length);
  const claims = await claimIds(deps, messages, results);
  const outgoing: OutgoingMessage[] = claims.map(({ index }) => {
    const message = messages[index] as WireMessage;
    return {
      correlationId: message.system_context.correlation_id,
      steps: 0,
      retries: 0,
      body: encodeMessage(message),
      delaySeconds: message.system_context.additional_delay_seconds,
      // The caller is told the instance exists: it must survive a crash from then on.
      durable: true,
    };
  });
  // The primary stream first, in one batch; failed items go one by one through the full failover.
  let batch: Awaited<ReturnType<RoleBindings["stream"]["primary"]["sendBatch"]>> = [];
  try {
    if (outgoing.length > 0) batch = await deps.roles.stream.primary.sendBatch(outgoing);
  } catch (error) {
    logger.warn(`batch start on stream.primary failed: ${(error as Error).message}`, { count: outgoing.length, role: "stream", side: "primary" });
  }
  for (const [position, { index, claimed }] of claims.entries()) {
    const message = messages[index] as WireMessage;
    const correlationId = message.system_context.correlation_id;
    const item = batch[position];
    let sent: SentMessage | undefined = item?.ok ? { role: "stream", side: "primary", receipt: item.receipt } : undefined;
    if (sent === undefined) {
      if (item?.ok === false) {
        logger.warn(`could not send to stream.primary (${deps.roles.stream.primary.uri}): ${item.error.message}`, { ...messageLogFields(message, logger), role: "stream", side: "primary" });
      }
      const errors = new ErrorTally();
      sent = await sendToRole(deps.roles, "stream", outgoing[position] as OutgoingMessage, errors, logger, { skipPrimary: true, wire: message });
      sent ??= await sendToRole(deps.roles, "retry", outgoing[position] as OutgoingMessage, errors, logger, { wire: message });
    }
    if (sent === undefined) {
      // Nothing was sent: give the id back, so the same start can be tried again.
      if (claimed) await writeJournal(engine, (journal) => journal.deleteInstance(correlationId), () => messageLogFields(message, logger));
      results[index] = {
        ok: false,
        correlationId,
        error: new SystemError(`could not start instance ${correlationId}: every stream and retry backend failed`),
      };
      continue;
    }
    await journalMessage(engine, message, sent.role, sent.side);
    results[index] = { ok: true, correlationId, sent };
  }
  return results as StartItemResult[];
}

/**
 * A correlation id names one instance: starting it again would be dropped as a duplicate of its
 * first step. Each id is claimed by creating its journal record (`ON CONFLICT DO NOTHING`: the
 * insert is the check, so two concurrent starts of one id cannot both win); ids the journal already
 * knows, or that repeat within the batch, fail per item. Returns the messages to send, with whether
 * this call created their record.
 */
async function claimIds(
  deps: StarterDeps,
  messages: readonly WireMessage[],
  results: Array<StartItemResult | undefined>,
): Promise<Array<{ index: number; claimed: boolean }>> {
  const journal = deps.roles.journal;
  const duplicate = (index: number, existing: string) => {
    const correlationId = (messages[index] as WireMessage).system_context.correlation_id;
    results[index] = {
      ok: false,
      correlationId,
      error: new UsageError(`an instance with correlation id "${correlationId}" already exists (${existing}); choose another id`, {
        code: "duplicate_correlation_id",
      }),
    };
  };
  const seen = new Set<string>();
  const candidates: number[] = [];
  for (const [index, message] of messages.entries()) {
    const correlationId = message.system_context.correlation_id;
    if (seen.has(correlationId)) duplicate(index, "started earlier in this batch");
    else candidates.push(index);
    seen.add(correlationId);
  }
  if (journal === undefined) return candidates.map((index) => ({ index, claimed: false }));
  const now = deps.clock.now();
  const records = candidates.map((index) => {
    const system = (messages[index] as WireMessage).system_context;
    return {
      correlationId: system.correlation_id,
      machineName: system.machine_name,
      status: "running" as const,
      state: system.current_state,
      userContext: (messages[index] as WireMessage).user_context,
      startedAt: now,
      updatedAt: now,
      version: system.machine_version,
    };
  });
  let created: boolean[];
  try {
    created = await journal.createInstances(records);
  } catch (error) {
    // The journal is bookkeeping: if it cannot answer, start anyway, but say so.
    (deps.logger ?? silentLogger).warn(
      `cannot record ${records.length} new instance(s) in the journal (${journal.uri}), so their ids are not checked for reuse: ${(error as Error).message}`,
      { count: records.length },
    );
    return candidates.map((index) => ({ index, claimed: false }));
  }
  const claims: Array<{ index: number; claimed: boolean }> = [];
  for (const [position, index] of candidates.entries()) {
    if (created[position] === true) {
      claims.push({ index, claimed: true });
      continue;
    }
    const record = await journal.getInstance((records[position] as InstanceRecord).correlationId).catch(() => undefined);
    duplicate(index, record === undefined ? "in the journal" : `${record.machineName}, ${record.status}`);
  }
  return claims;
}
