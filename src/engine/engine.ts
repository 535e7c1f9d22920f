/**
 * The dispatch protocol of SPEC §3 over the role ports. The engine does no I/O of its own: every
 * effect goes through a port, time comes from a Clock and randomness from a function.
 *
 * One call of {@link Engine.process} is one "message processing":
 *   1. lease (primary/secondary failover), 2. duplicate check, 3. transitions (local loop),
 *   4. next message (stream failover, then the retry role), 5. bookkeeping,
 *   6. on an exception: retry from the original message, or fatal, 7. release, 8. one metrics call.
 */
import type { ActionContext, ActionObj } from "../core/action.js";
import { retryBackoffSeconds } from "../core/backoff.js";
import { ErrorTally } from "../core/counters.js";
import { type ActionSite, actionSite, describeError } from "../core/failure.js";
import {
  DEFAULT_LEASE_TIMEOUT_SECONDS,
  DEFAULT_MAX_RETRIES,
  TIMER_EVENT,
  decodeMessage,
  encodeMessage,
  type MessageDefaults,
  type SystemContext,
  type WireMessage,
} from "../core/message.js";
import { TASK_RUNTIME, type TaskLauncher, type TaskSite, taskReason } from "../core/task.js";
import { type PlannedAction, type TransitionPlan, isLocal, planAbort, planTransition, timerOf } from "../core/transitions.js";
import type { DefinitionSet, MachineDefinition } from "../core/machine.js";
import { FatalActionError, MalformedMessageError, SwitchyardError, SystemError } from "../errors.js";
import { type Logger, silentLogger } from "../logger.js";
import { messageLogFields, systemLogFields } from "./log-fields.js";
import {
  type AbortRequest,
  type CachePort,
  type ClaimedNext,
  type CommitFailure,
  type Clock,
  type Delivery,
  FINAL_STATUSES,
  type InstanceControl,
  type JournalAttempt,
  type JournalMessage,
  type LeaseResult,
  type MessageOrigin,
  type OutgoingMessage,
  type Side,
  type InstanceUpdate,
  type StoredStatus,
  type TransitionBegun,
  type TransitionCommit,
  type TransitionCommitted,
} from "../ports.js";
import { RecentIds } from "./recent-ids.js";
import { MachineCatalog, type ResolvedMessage, UnknownMachineError } from "./versions.js";
import { type FusedBinding, type RoleBindings, type SentMessage, sendToRole, sidesOf } from "./roles.js";
import { ATTR, EVENT, ProcessTrace, failSpan, recordError, startActionSpan, tracingEnabled, withSpan } from "./tracing.js";
import type { Span } from "@opentelemetry/api";

/** How long a dispatched flag lives (SPEC §3 step 5). */
export const DISPATCHED_TTL_SECONDS = 24 * 60 * 60;
/** A chain of local transitions longer than this is a definition bug (a local loop that never ends). */
export const MAX_LOCAL_TRANSITIONS = 10_000;

/** Engine options. */
export interface EngineOptions {
  readonly definitions: DefinitionSet;
  readonly roles: RoleBindings;
  readonly clock: Clock;
  /** Returns a number in [0, 1); drives the retry jitter. Default `Math.random`. */
  readonly random?: (() => number) | undefined;
  readonly logger?: Logger | undefined;
  /**
   * How long (ms, on the clock) a lease acquisition keeps trying while the lease is held, before it
   * counts as held (default {@link LEASE_HANDOVER_MS}): it asks again after pauses of 2, 4, 8, …
   * ms (`clock.sleep`) for as long as they add up to no more than this. Step s sends step s+1's
   * message before it releases its lease (SPEC §3 steps 4 and 7), so with several workers the next
   * step is often received while its predecessor is still doing its bookkeeping; a short wait for
   * that hand-over avoids a needless `cache` error and retry. 0 turns it off.
   */
  readonly leaseHandoverMs?: number | undefined;
  /**
   * A message delivered more often than this without being handled (its processing kept failing
   * so that not even a retry could be stored) goes to the dead letters with the last error seen,
   * instead of being redelivered forever. Default {@link MAX_RECEIVE_COUNT}; SQS's
   * `maxReceiveCount` is the model.
   */
  readonly maxReceiveCount?: number | undefined;
  /** The lease of a message that does not carry `lease_timeout` (the settings' `lease_timeout`). Default 300. */
  readonly leaseTimeoutSeconds?: number | undefined;
  /** What starts the tasks of task states (docs/runtimes/containers.md); without it a task state's step fails. */
  readonly tasks?: TaskLauncher | undefined;
}

/**
 * How far each redelivery of a message raises its fence-token floor. A processing that took a token
 * and died passed it on to no one; the cache it used may be ahead of the carried token by that and
 * by any other token it handed out unseen, so a redelivery that lands on the other cache starts this
 * far above. Tokens only have to grow, not to be consecutive.
 */
export const FENCE_REDELIVERY_GAP = 1_000;

/** Default of {@link EngineOptions.maxReceiveCount}. */
export const MAX_RECEIVE_COUNT = 10;
/** How many last errors of unhandled deliveries an engine remembers for their dead-letter reason. */
const REMEMBERED_ERRORS = 1_000;

/** Default of {@link EngineOptions.leaseHandoverMs}. */
export const LEASE_HANDOVER_MS = 2_000;

/** What became of one processed message. */
export type ProcessOutcome =
  | {
      /**
       * `abandoned`: the caller's signal aborted while the actions ran. Nothing was sent and the
       * lease is released: hand the message back (do not acknowledge it) and it runs again at once.
       * `paused`: the instance (or its machine at this state) is paused: the message is parked in
       * the journal until `resume`. `aborted`: an operator's abort ended the instance here.
       */
      readonly kind: "dispatched" | "completed" | "waiting" | "retrying" | "failed" | "duplicate" | "abandoned" | "paused" | "aborted";
      readonly correlationId: string;
      /** The fused transition path acknowledged the delivery with its other writes: do not ack it again. */
      readonly acknowledged?: true | undefined;
      /**
       * The instance's next message, claimed for this processor with its lease taken (asked for
       * with {@link ProcessOptions.claimNextSeconds}): process it at once with
       * `process(next.delivery, { claimed: next })`, and ack it through the stream's primary source.
       */
      readonly next?: ClaimedNext | undefined;
    }
  /**
   * The message cannot be processed at all (`malformed`), or was delivered more than
   * `maxReceiveCount` times without being handled (`poison`): the worker moves it to the
   * dead-letter store with `reason`.
   */
  | { readonly kind: "malformed" | "poison"; readonly reason: string };

/** Options of one {@link Engine.process} call. */
export interface ProcessOptions {
  /**
   * Abort to stop waiting for the actions (a worker past its shutdown timeout). A processing whose
   * actions have not finished then sends nothing, releases its lease and resolves `abandoned`; the
   * actions run on unobserved and their result is discarded. A processing already past its actions
   * (sending, bookkeeping) finishes as usual.
   */
  readonly signal?: AbortSignal | undefined;
  /**
   * On the fused transition path, send the instance's next message (due at once, to the primary
   * stream) claimed for this processor for this many seconds (the visibility timeout) and take its
   * lease in the same commit: the outcome's `next`. A worker keeps an instance's steps going that
   * way without a receive and a lease acquisition per step.
   */
  readonly claimNextSeconds?: number | undefined;
  /** A message a previous outcome handed back (its `next`): its lease is already held. */
  readonly claimed?: ClaimedNext | undefined;
}

/** Thrown inside a processing when its signal aborts before its actions finish. */
class Abandoned extends Error {}

/** A parked message could not be stored: the delivery must stay unacknowledged (it comes again). */
class ParkFailed extends Error {}

/** What an action threw, with where it ran: the journal and the failure reason name the action. */
class ActionThrew {
  readonly site: ActionSite;
  readonly error: unknown;
  constructor(planned: PlannedAction, event: string, error: unknown) {
    this.site = actionSite(planned, event);
    this.error = error;
  }
}

/**
 * Switchyard's own code (`src/` in a checkout, `dist/` in the package), as a path and as a URL:
 * its frames are left out of the stacks that attempts record.
 */
const OWN_CODE: readonly string[] = (() => {
  const url = new URL("../", import.meta.url);
  return url.protocol === "file:" ? [decodeURIComponent(url.pathname), url.href] : [url.href];
})();

/** How many instances an engine remembers as recorded in the journal. */
const JOURNALED_IDS_REMEMBERED = 10_000;

/**
 * The engine: stateless between messages (but for which instances it knows to be in the journal),
 * safe to share across concurrent processings.
 */
export class Engine {
  readonly definitions: DefinitionSet;
  readonly roles: RoleBindings;
  readonly clock: Clock;
  readonly random: () => number;
  readonly logger: Logger;
  /**
   * @internal The logger writes debug records: each processing logs its start and outcome. Asked
   * once here, so a processing below debug level builds no fields for them.
   */
  readonly debugLogged: boolean;
  readonly leaseHandoverMs: number;
  readonly maxReceiveCount: number;
  readonly leaseTimeoutSeconds: number;
  readonly tasks: TaskLauncher | undefined;
  /** The last error of each delivery whose processing rejected, by source and message id. */
  readonly #lastErrors = new Map<string, string>();
  /** @internal Instances whose journal record this engine created or found: it checks once per instance. */
  readonly journaled = new RecentIds(JOURNALED_IDS_REMEMBERED);
  /** The machine versions this engine runs: the loaded ones, registered ones it fetched, and the migration orders (SPEC §10). */
  readonly catalog: MachineCatalog;

  constructor(options: EngineOptions) {
    this.leaseHandoverMs = options.leaseHandoverMs ?? LEASE_HANDOVER_MS;
    this.maxReceiveCount = options.maxReceiveCount ?? MAX_RECEIVE_COUNT;
    this.leaseTimeoutSeconds = options.leaseTimeoutSeconds ?? DEFAULT_LEASE_TIMEOUT_SECONDS;
    this.tasks = options.tasks;
    this.definitions = options.definitions;
    this.roles = options.roles;
    this.clock = options.clock;
    this.random = options.random ?? Math.random;
    this.logger = options.logger ?? silentLogger;
    this.debugLogged = this.logger.isLevelEnabled?.("debug") ?? true;
    this.catalog = new MachineCatalog(this.definitions, () => this.roles.journal, this.clock, this.logger);
  }

  /**
   * Process one delivered message. Resolves with the outcome once the message may be acknowledged;
   * rejects only when not even the last-resort retry could be stored, in which case the message
   * must not be acknowledged (its source delivers it again).
   */
  async process(delivery: Delivery, options: ProcessOptions = {}): Promise<ProcessOutcome> {
    // Without an OpenTelemetry SDK, undefined: no span, no hashing, no attributes.
    const traced = tracingEnabled() ? new ProcessTrace(delivery) : undefined;
    if (delivery.receiveCount > this.maxReceiveCount) {
      const key = errorKey(delivery);
      const last = this.#lastErrors.get(key);
      this.#lastErrors.delete(key);
      const poison = {
        kind: "poison",
        reason: `delivered ${delivery.receiveCount} times without being handled (max_receive_count ${this.maxReceiveCount}); last error: ${last ?? "not seen by this process"}`,
      } as const;
      traced?.end(poison);
      return poison;
    }
    try {
      const outcome = await this.#process(delivery, options, traced);
      // Most of the time nothing is remembered: skip building the key.
      if (this.#lastErrors.size > 0) this.#lastErrors.delete(errorKey(delivery));
      traced?.end(outcome);
      return outcome;
    } catch (error) {
      const key = errorKey(delivery);
      this.#lastErrors.delete(key); // re-insert as the newest
      this.#lastErrors.set(key, (error as Error).message ?? String(error));
      if (this.#lastErrors.size > REMEMBERED_ERRORS) this.#lastErrors.delete(this.#lastErrors.keys().next().value as string);
      traced?.reject(error);
      throw error;
    }
  }

  /** What a message leaves out, from its machine's definition and the settings (one function for every decode). */
  readonly #defaults = (machineName: string): MessageDefaults => ({
    max_retries: this.definitions.machines.get(machineName)?.maxRetries ?? DEFAULT_MAX_RETRIES,
    lease_timeout: this.leaseTimeoutSeconds,
  });

  /** @internal Decode a message body with this engine's defaults; throws {@link MalformedMessageError}. */
  decode(body: string): WireMessage {
    return decodeMessage(body, this.#defaults);
  }

  /** Not async: the processing's own promise is returned as it is, without wrapping it in another. */
  #process(delivery: Delivery, options: ProcessOptions, traced: ProcessTrace | undefined): ProcessOutcome | Promise<ProcessOutcome> {
    let message: WireMessage;
    try {
      message = this.decode(delivery.body);
    } catch (error) {
      if (error instanceof MalformedMessageError) return { kind: "malformed", reason: error.message };
      throw error;
    }
    // A span the sampler dropped is not handed on: no action spans, events or attributes for it.
    const span = traced?.start(message);
    const recording = span?.isRecording() === true ? span : undefined;
    const system = message.system_context;
    const machine = this.catalog.immediate(system.machine_name, system.machine_version);
    if (machine !== undefined) return new Processing(this, machine, delivery, message, options, recording).run();
    return this.#processOtherVersion(delivery, message, options, recording);
  }

  /**
   * A message pinned to a version not loaded here, of a machine not loaded here, or of a version a
   * migration order moves on (SPEC §10). A version that cannot be run fails its processing like an
   * action (retried, then the instance fails with why); a machine no one registered goes to the
   * dead letters, and its instance is marked failed.
   */
  async #processOtherVersion(delivery: Delivery, message: WireMessage, options: ProcessOptions, span: Span | undefined): Promise<ProcessOutcome> {
    let resolved: ResolvedMessage;
    try {
      resolved = await this.catalog.resolve(message);
    } catch (error) {
      if (error instanceof UnknownMachineError) {
        await this.#failUnknown(message, error.message);
        return { kind: "malformed", reason: error.message };
      }
      const why = error instanceof Error ? error : new Error(String(error));
      return new Processing(this, standInMachine(message), delivery, message, { ...options, claimed: undefined }, span, why).run();
    }
    const { machine, movedFrom } = resolved;
    if (movedFrom === undefined) return new Processing(this, machine, delivery, message, options, span).run();
    const moving = resolved.message.system_context;
    if (moving.current_event === TIMER_EVENT && timerOf(machine, moving.current_state) === undefined) {
      // The timer of a state the new version does not time out in: it no longer fires.
      this.logger.info(`timer dropped: state "${moving.current_state}" of version ${machine.version} has no after: transition`, messageLogFields(resolved.message, this.logger));
      span?.addEvent(EVENT.duplicate, { [ATTR.duplicateWhy]: `timer dropped: version ${machine.version} has no timer in state "${moving.current_state}"` });
      return { kind: "duplicate", correlationId: moving.correlation_id };
    }
    // Retries start from the moved message: the delivery carries it from here on.
    const moved = { ...delivery, body: encodeMessage(resolved.message) };
    const system = resolved.message.system_context;
    this.logger.info(`instance moved to version ${system.machine_version} at this message (a migration order)`, {
      ...messageLogFields(resolved.message, this.logger),
      fromVersion: movedFrom.version,
      fromState: movedFrom.state,
    });
    const entry = { ...journalEntry(this.clock, resolved.message, delivery.role, delivery.side, { origin: "migrate" }), version: system.machine_version, migrated_from: movedFrom };
    await writeJournal(this, (journal) => journal.appendMessage(system.correlation_id, entry), () => messageLogFields(resolved.message, this.logger));
    if (span !== undefined && system.machine_version !== undefined) span.setAttribute(ATTR.version, system.machine_version);
    return new Processing(this, machine, moved, resolved.message, { ...options, claimed: undefined }, span).run();
  }

  /** The instance of a message whose machine no one registered: failed, with why. */
  async #failUnknown(message: WireMessage, reason: string): Promise<void> {
    const system = message.system_context;
    await writeJournal(this, async (journal) => {
      await journal.createInstances([
        { correlationId: system.correlation_id, machineName: system.machine_name, status: "running", state: system.current_state, userContext: message.user_context, startedAt: this.clock.now(), updatedAt: this.clock.now() },
      ]);
      await journal.updateInstance(system.correlation_id, {
        machineName: system.machine_name,
        status: "failed",
        state: system.current_state,
        userContext: message.user_context,
        reason,
        steps: system.steps,
      });
    }, () => messageLogFields(message, this.logger));
  }
}

/**
 * A stand-in for the machine of a message whose version cannot be run here (no states): its
 * processing throws why where the actions would run, so it is retried, then fails.
 */
function standInMachine(message: WireMessage): MachineDefinition {
  const system = message.system_context;
  return {
    name: system.machine_name,
    maxRetries: system.max_retries,
    initialState: system.current_state,
    states: new Map(),
    version: system.machine_version ?? "",
    migrations: [],
    document: { name: system.machine_name, max_retries: system.max_retries, states: [] },
  };
}

/** Which delivery an engine's remembered error belongs to: its source and message id. */
function errorKey(delivery: Delivery): string {
  return `${delivery.role}.${delivery.side}:${delivery.id}`;
}

/** A processing's next message (step 4): where it goes first and then, and why. */
interface NextMessage {
  readonly message: WireMessage;
  readonly delaySeconds: number;
  readonly roles: ["stream", "retry"] | ["retry", "stream"];
  readonly origin: MessageOrigin | undefined;
}

/** The outcome of a transition that ran, by what it left the instance as. */
function outcomeOf(result: TransitionResult, status: StoredStatus): "completed" | "aborted" | "waiting" | "dispatched" {
  if (result.final) return status === "aborted" ? "aborted" : "completed";
  return result.nextEvent === undefined ? "waiting" : "dispatched";
}

/** The result of running the transitions of one processing (step 3). */
interface TransitionResult {
  readonly state: string;
  readonly userContext: Record<string, unknown>;
  readonly nextEvent: string | undefined;
  readonly final: boolean;
  readonly delaySeconds: number | undefined;
}

/** One message processing: the state of steps 1–8 for a single delivery. */
class Processing {
  readonly #engine: Engine;
  readonly #machine: MachineDefinition;
  readonly #delivery: Delivery;
  /** The fence token of the lease this processing holds, once taken. */
  #fenceToken: number | undefined;
  /**
   * The message as received. Its user context becomes the actions' data at the first run of the
   * transitions (the message is decoded afresh for each processing, so nothing else holds it);
   * from then on, a copy untouched by the attempt is decoded again from the body ({@link #pristine}):
   * retries start from it (step 6). Its system context is never written.
   */
  readonly #original: WireMessage;
  /** The first run of the transitions took {@link #original}'s user context as its data. */
  #dataTaken = false;
  readonly #system: SystemContext;
  readonly #errors = new ErrorTally();
  readonly #signal: AbortSignal | undefined;
  /** The operator's abort this processing obeys: set when it takes the abort path, or runs the compensation after it. */
  #abort: AbortRequest | undefined;
  /** This processing took the instance out of its state for the abort (its step is the abort's step). */
  #abortedHere = false;
  /** What the last run of the transitions handed a task state's do action (machines with task states only). */
  #taskSite: TaskSite | undefined;
  /**
   * The fused transition path, while this processing may use it: its message came from the
   * primary side of its role and its lease is on the primary cache. Cleared when a fused call fails:
   * the separate ports take over.
   */
  #fused: FusedBinding | undefined;
  /**
   * What the fused begin found with the lease (this cache's dispatched flag, the controls), or what
   * a previous commit took with this message when it claimed it for this processor.
   */
  #begun: TransitionBegun | undefined;
  /** What the fused commit did: it acknowledged the delivery, released the lease or not, claimed the next message or not. */
  #committed: TransitionCommitted | undefined;
  /** See {@link ProcessOptions.claimNextSeconds}. */
  readonly #claimNextSeconds: number | undefined;
  /** The processing's span, if it records; undefined without an OpenTelemetry SDK (see tracing.ts). */
  readonly #span: Span | undefined;
  /** Why this message's machine version cannot be run here: thrown where the actions would run. */
  readonly #unrunnable: Error | undefined;

  constructor(
    engine: Engine,
    machine: MachineDefinition,
    delivery: Delivery,
    message: WireMessage,
    options: ProcessOptions,
    span: Span | undefined,
    unrunnable?: Error,
  ) {
    this.#engine = engine;
    this.#unrunnable = unrunnable;
    this.#span = span;
    this.#machine = machine;
    this.#delivery = delivery;
    this.#original = message;
    this.#system = { ...message.system_context };
    this.#signal = options.signal;
    this.#claimNextSeconds = options.claimNextSeconds;
    const fused = engine.roles.fused;
    if (fused !== undefined && delivery.side === "primary" && this.#system.lease_primary) {
      this.#fused = fused;
      if (options.claimed?.delivery === delivery) this.#begun = options.claimed.begun;
    }
  }

  get #roles() {
    return this.#engine.roles;
  }

  get #correlationId(): string {
    return this.#system.correlation_id;
  }

  /** Not async: below debug level the processing's own promise is returned as it is. */
  run(): Promise<ProcessOutcome> {
    return this.#engine.debugLogged ? this.#runLogged() : this.#run();
  }

  /** {@link run} between a debug record as the processing starts and one with its outcome. */
  async #runLogged(): Promise<ProcessOutcome> {
    const { logger } = this.#engine;
    const delivery = this.#delivery;
    logger.debug("processing message", { ...this.#logFields(), messageId: delivery.id, role: delivery.role, side: delivery.side, receiveCount: delivery.receiveCount });
    const outcome = await this.#run();
    logger.debug(`processed message: ${outcome.kind}`, { ...this.#logFields(), outcome: outcome.kind });
    return outcome;
  }

  async #run(): Promise<ProcessOutcome> {
    const { steps, retries, lease_timeout: leaseTimeout } = this.#system;
    // 1. Lease (taken already, for a message a previous commit claimed for this processor).
    let lease = this.#begun !== undefined ? this.#begun.lease : await this.#acquireLease(steps, retries, leaseTimeout);
    const failedOver = lease === "system-error";
    if (lease === "system-error") {
      this.#errors.record("cache");
      this.#system.lease_primary = !this.#system.lease_primary;
      this.#span?.addEvent(EVENT.failover, { [ATTR.failoverRole]: "cache", [ATTR.failoverTo]: this.#system.lease_primary ? "primary" : "secondary" });
      lease = await this.#acquireLease(steps, retries, leaseTimeout);
    }
    const fenceToken = lease !== "system-error" && lease.acquired ? lease.fenceToken : undefined;
    this.#fenceToken = fenceToken;
    if (fenceToken !== undefined) this.#span?.setAttribute(ATTR.fenceToken, fenceToken);
    // A redelivery, or a lease that just moved caches, may leave another copy of this step's next
    // message carrying a lower token: lift the other cache's counter too, so that copy cannot get a
    // token below this one there.
    if (fenceToken !== undefined && (failedOver || this.#delivery.receiveCount > 1)) await this.#raiseOtherFence(fenceToken);
    let kind: Exclude<ProcessOutcome["kind"], "malformed" | "poison">;
    try {
      if (fenceToken !== undefined) {
        kind = await this.#dispatchAndRetry(fenceToken);
      } else {
        this.#errors.record("cache");
        // Retry no earlier than the lease expires: a lease left behind by a killed worker would
        // otherwise use up every retry within the backoff (~1 minute) while it is still held.
        const heldUntil = lease !== "system-error" && !lease.acquired ? lease.heldUntil : undefined;
        if (lease !== "system-error") {
          // Once per wait: the retry is scheduled for when the lease expires.
          const until =
            heldUntil === undefined
              ? "held by another processing; its message is retried after a backoff"
              : `held until ${new Date(heldUntil).toISOString()} by another processing; its message is retried then`;
          this.#engine.logger.warn(`waiting for the lease of instance ${this.#correlationId} (steps ${steps}, retries ${retries}): ${until}`, this.#logFields());
        }
        const heldFor = heldUntil === undefined ? 0 : (heldUntil - this.#engine.clock.now()) / 1000;
        kind = await this.#retry(undefined, heldFor + 0.01);
      }
    } finally {
      // 7. Release, only if we hold it.
      if (fenceToken !== undefined && this.#committed?.released !== true) await this.#releaseLease(steps, retries, fenceToken);
      // 8. Metrics.
      if (!this.#errors.isEmpty) await this.#emitErrors();
    }
    const committed = this.#committed;
    if (committed === undefined || committed.unacknowledged === true) return { kind, correlationId: this.#correlationId };
    const acknowledged = { kind, correlationId: this.#correlationId, acknowledged: true } as const;
    return committed.next === undefined ? acknowledged : { ...acknowledged, next: committed.next };
  }

  async #acquireLease(steps: number, retries: number, timeout: number): Promise<LeaseResult | "system-error"> {
    const port = this.#leaseCache();
    if (port === undefined) return "system-error";
    try {
      // Above the token the message carries, and above any that a dead processing of an earlier
      // delivery of this same message may have taken on either cache without passing it on.
      const floor = (this.#system.fence_token ?? 0) + Math.max(0, this.#delivery.receiveCount - 1) * FENCE_REDELIVERY_GAP;
      // (#fused is set only while the lease is on the primary cache, and cleared when a begin fails.)
      const take = () =>
        this.#fused !== undefined ? this.#begin(this.#fused, port, timeout, floor) : port.acquireLease(this.#correlationId, steps, retries, timeout, floor);
      let result = await take();
      // Wait briefly for a predecessor's release (see EngineOptions.leaseHandoverMs), on the
      // engine's clock: a fixed schedule, so a test clock gives the same attempts in no real time.
      for (let pause = 2, waited = 0; !result.acquired && waited + pause <= this.#engine.leaseHandoverMs; waited += pause, pause *= 2) {
        await this.#engine.clock.sleep(pause);
        result = await take();
      }
      return result;
    } catch (error) {
      this.#engine.logger.warn(`lease acquisition failed on ${port.uri}: ${(error as Error).message}`, this.#logFields());
      return "system-error";
    }
  }

  /**
   * The lease through the fused begin, which also reads this cache's dispatched flag and the
   * controls. If it fails, the processing goes on over the separate ports: the lease from `cache`,
   * which fails over as SPEC §3 says if the backend is really down.
   */
  #begin(fused: FusedBinding, cache: CachePort, timeout: number, floor: number): Promise<LeaseResult> {
    const system = this.#system;
    const control = fused.journal ? { machineName: this.#machine.name, state: system.current_state } : undefined;
    return fused.port
      .begin({ correlationId: system.correlation_id, steps: system.steps, retries: system.retries, leaseTimeoutSeconds: timeout, minFenceToken: floor, control })
      .then(
        (begun) => {
          this.#begun = begun;
          return begun.lease;
        },
        (error: Error) => {
          this.#engine.logger.warn(`fused begin failed on ${fused.port.uri}: ${error.message}; taking the lease over the separate ports`, this.#logFields());
          this.#fused = undefined;
          this.#begun = undefined;
          return cache.acquireLease(system.correlation_id, system.steps, system.retries, timeout, floor);
        },
      );
  }

  async #releaseLease(steps: number, retries: number, fenceToken: number): Promise<void> {
    const port = this.#leaseCache();
    let released = false;
    try {
      released = port !== undefined && (await port.releaseLease(this.#correlationId, steps, retries, fenceToken));
    } catch (error) {
      this.#engine.logger.warn(`lease release failed: ${(error as Error).message}`, this.#logFields());
    }
    if (!released) this.#errors.record("cache");
  }

  /** Best effort: the other cache may be down (that is often why the lease moved). */
  async #raiseOtherFence(fenceToken: number): Promise<void> {
    const other = this.#system.lease_primary ? this.#roles.cache.secondary : this.#roles.cache.primary;
    if (other === undefined) return;
    try {
      await other.raiseFence(this.#correlationId, fenceToken);
    } catch (error) {
      this.#engine.logger.info(`could not raise the fence counter on ${other.uri}: ${(error as Error).message}`, this.#logFields());
    }
  }

  #leaseCache() {
    return this.#system.lease_primary ? this.#roles.cache.primary : this.#roles.cache.secondary;
  }

  /** Steps 2–6 with the lease held. */
  async #dispatchAndRetry(fenceToken: number): Promise<Exclude<ProcessOutcome["kind"], "malformed" | "poison">> {
    let result: TransitionResult;
    let sent: SentMessage | undefined;
    try {
      // 2. Duplicate check.
      if (await this.#isDispatched()) return await this.#dropDuplicate("duplicate delivery dropped");
      // The operator's controls (SPEC §9): a step already taken, a pause, an abort. The fused begin
      // read them with the lease. Controls found mean the journal has the record; an instance it
      // has never seen gets one (ensureRecorded), and its controls are read from it.
      let control = this.#begun?.control ?? (await this.#readControl());
      if (control !== undefined) this.#engine.journaled.add(this.#correlationId);
      else if (this.#roles.journal !== undefined && !this.#engine.journaled.has(this.#correlationId)) {
        await this.#ensureRecorded();
        control = await this.#readControl();
      }
      const obeyed = control !== undefined && this.#controlApplies(control) ? await this.#obey(control) : undefined;
      if (obeyed !== undefined) return obeyed;
      // 3. Transitions.
      result = await this.#unlessAbandoned(() => this.#runTransitions(fenceToken, this.#abortedHere ? this.#abortPlan() : undefined));
      // An abort asked while the actions ran discards their outcome: nothing they would have
      // dispatched runs; the abort (and its compensation) runs instead. The fused commit checks
      // for it in the same atomic call (its gate) and writes nothing if it finds one.
      const fused = this.#begun === undefined ? undefined : this.#fused;
      const abortCheck = !this.#abortedHere && this.#abort === undefined && this.#roles.journal !== undefined;
      const gate = abortCheck && fused?.journal === true;
      if (abortCheck && !gate) result = await this.#abortIfAsked(fenceToken, result);
      if (fused !== undefined) {
        let committed = await this.#commit(fused, result, gate);
        if (committed === "gate closed") {
          result = await this.#abortIfAsked(fenceToken, result);
          committed = await this.#commit(fused, result, false);
        }
        if (committed !== undefined && committed !== "gate closed") return committed;
        // The fused commit failed: the separate ports do its writes (a duplicate send of a commit
        // that landed after all is dropped by the dispatched flag), after the check its gate made.
        if (gate && this.#abort === undefined) result = await this.#abortIfAsked(fenceToken, result);
      }
      // 4. Next message, or the timer of the state it now waits in.
      const next = this.#nextMessage(result);
      if (next !== undefined) sent = await this.#send(next.message, next.delaySeconds, next.roles, "dispatch", next.origin);
    } catch (error) {
      if (error instanceof ParkFailed) throw error.cause;
      if (error instanceof Abandoned) {
        this.#engine.logger.info("actions abandoned: the message is handed back", this.#logFields());
        return "abandoned";
      }
      // 6. On an exception: retry from the original message.
      return this.#retry(error);
    }
    // 5. Bookkeeping.
    await this.#markDispatched();
    if (sent !== undefined) await this.#storeCheckpoint(sent);
    if (this.#delivery.role === "retry") await this.#stopRetries();
    if (this.#hasTimerToCancel()) await this.#cancelTimer();
    // Nothing sent and not final: the instance rests here until an external event (sendEvent) or
    // its timer. The dispatched flag above is set all the same, so of the messages that compete
    // for the next step (two events, an event and a timer), exactly one runs.
    const update = this.#instanceUpdate(result);
    await this.#journal((journal) => journal.updateInstance(this.#correlationId, update));
    return outcomeOf(result, update.status);
  }

  /** An abort asked while the actions ran (the journal shows it, not yet taken): run the abort path instead. */
  async #abortIfAsked(fenceToken: number, result: TransitionResult): Promise<TransitionResult> {
    const now = await this.#readControl();
    if (now?.abort === undefined || now.abort.step !== undefined) return result;
    this.#engine.logger.info("aborted while the actions ran: their outcome is discarded", this.#logFields());
    this.#abort = now.abort;
    this.#abortedHere = true;
    this.#span?.addEvent(EVENT.abort, { [ATTR.abortReason]: now.abort.reason ?? "", [ATTR.abortWhileActionsRan]: true });
    return this.#unlessAbandoned(() => this.#runTransitions(fenceToken, this.#abortPlan()));
  }

  /** The journal's record of the instance after this transition. */
  #instanceUpdate(result: TransitionResult): InstanceUpdate & { readonly status: StoredStatus } {
    const ended: StoredStatus = this.#abort === undefined ? "completed" : "aborted";
    const status: StoredStatus = result.final ? ended : result.nextEvent === undefined ? "waiting" : "running";
    return {
      machineName: this.#machine.name,
      status,
      state: result.state,
      userContext: result.userContext,
      reason: status === "aborted" ? this.#abort?.reason : status === "waiting" && this.#taskSite?.started !== undefined ? taskReason(this.#taskSite.started) : undefined,
      steps: this.#system.steps,
      leasePrimary: this.#system.lease_primary,
      fenceToken: this.#fenceToken,
      abortStep: this.#abortedHere && !result.final ? this.#system.steps : undefined,
      version: this.#system.machine_version,
    };
  }

  /**
   * Steps 4, 5 and 7 and the ack in one fused call (see {@link TransitionPort}); then what it does
   * not cover: the other cache's dispatched mark, the other retry store's timer entry. Returns the
   * outcome, `"gate closed"` when an abort was asked while the actions ran (nothing was written),
   * or undefined when the call failed and the separate ports must do the writes.
   */
  async #commit(fused: FusedBinding, result: TransitionResult, gate: boolean): Promise<Exclude<ProcessOutcome["kind"], "malformed" | "poison"> | "gate closed" | undefined> {
    const next = this.#nextMessage(result);
    const update = this.#instanceUpdate(result);
    const system = this.#system;
    const send: TransitionCommit["send"] =
      next === undefined
        ? undefined
        : {
            role: next.roles[0],
            message: this.#outgoing(next.message, next.delaySeconds),
            journal: journalEntry(this.#engine.clock, next.message, next.roles[0], "primary", {
              origin: next.origin,
              due: next.origin === "timer" ? this.#engine.clock.now() + next.delaySeconds * 1000 : undefined,
            }),
          };
    const timerLeft = this.#hasTimerToCancel();
    let committed: TransitionCommitted;
    try {
      committed = await fused.port.commit({
        correlationId: system.correlation_id,
        steps: system.steps,
        retries: system.retries,
        fenceToken: this.#fenceToken as number,
        delivery: this.#delivery,
        send,
        checkpoint: send !== undefined && fused.checkpoint,
        dispatchedTtlSeconds: DISPATCHED_TTL_SECONDS,
        removeRetry: this.#delivery.role === "retry" || timerLeft,
        instance: fused.journal ? update : undefined,
        abortGate: gate,
        claimNext:
          this.#claimNextSeconds === undefined || send?.role !== "stream" || !result.nextEvent
            ? undefined
            : {
                visibilityTimeoutSeconds: this.#claimNextSeconds,
                leaseTimeoutSeconds: system.lease_timeout,
                control: fused.journal ? { machineName: this.#machine.name, state: result.state } : undefined,
              },
      });
    } catch (error) {
      this.#engine.logger.warn(`fused commit failed on ${fused.port.uri}: ${(error as Error).message}; writing over the separate ports`, this.#logFields());
      this.#fused = undefined;
      return undefined;
    }
    if (!committed.committed) return "gate closed";
    this.#committed = committed;
    if (!committed.released) this.#errors.record("cache");
    if (committed.failures !== undefined) await this.#commitFailed(committed.failures, send !== undefined && committed.receipt !== undefined ? { role: send.role, side: "primary", receipt: committed.receipt } : undefined);
    // What the fused call does not cover: the secondary sides, and a checkpoint or journal elsewhere.
    const journal = this.#roles.journal;
    if (send !== undefined && journal !== undefined && !fused.journal) await this.#journal((j) => j.appendMessage(system.correlation_id, send.journal));
    if (this.#roles.cache.secondary !== undefined) await this.#markDispatched(true);
    if (send !== undefined && committed.receipt !== undefined && !fused.checkpoint && this.#roles.checkpoint !== undefined) {
      await this.#storeCheckpoint({ role: send.role, side: "primary", receipt: committed.receipt });
    }
    if (timerLeft && this.#roles.retry.secondary !== undefined) await this.#cancelTimer(true);
    if (journal !== undefined && !fused.journal) await this.#journal((j) => j.updateInstance(system.correlation_id, update));
    return outcomeOf(result, update.status);
  }

  /**
   * Writes a commit reported failed after its send (a fused path that is not one atomic write):
   * recorded and logged as the separate ports' failures are, and the checkpoint tried on the
   * secondary as {@link #storeCheckpoint} would.
   */
  async #commitFailed(failures: readonly CommitFailure[], sent: SentMessage | undefined): Promise<void> {
    const logger = this.#engine.logger;
    for (const { write, error } of failures) {
      switch (write) {
        case "journal":
          logger.warn(`journal write failed on ${this.#roles.journal?.uri}: ${error.message}`, this.#logFields());
          break;
        case "checkpoint":
          this.#errors.record("error");
          logger.warn(`could not store checkpoint on checkpoint.primary: ${error.message}`, this.#logFields());
          if (sent !== undefined && this.#roles.checkpoint?.secondary !== undefined) await this.#storeCheckpoint(sent, true);
          break;
        case "retry":
          if (this.#delivery.role === "retry") {
            this.#errors.record("error");
            logger.warn(`could not delete retry entry on retry.primary: ${error.message}`, this.#logFields());
          } else {
            logger.info(`could not remove the timer entry on retry.primary: ${error.message}; it is dropped when it fires`, this.#logFields());
          }
          break;
        case "dispatched":
          // (Counted as the cache error of a commit that did not release.)
          logger.warn(`could not set dispatched flag on cache.primary: ${error.message}`, this.#logFields());
          break;
      }
    }
  }

  async #dropDuplicate(why: string): Promise<"duplicate"> {
    this.#errors.record("duplicate");
    this.#span?.addEvent(EVENT.duplicate, { [ATTR.duplicateWhy]: why });
    this.#engine.logger.info(why, this.#logFields());
    await this.#stopRetries();
    return "duplicate";
  }

  /**
   * The instance's controls from the journal, or undefined without a journal (or a record). A
   * journal that cannot be read is logged and the step runs as if no control were set: the journal
   * is not a protocol role, and an outage of it must not stop the instances.
   */
  async #readControl(): Promise<InstanceControl | undefined> {
    const journal = this.#roles.journal;
    if (journal === undefined) return undefined;
    try {
      return await journal.control(this.#correlationId, this.#machine.name, this.#system.current_state);
    } catch (error) {
      this.#engine.logger.warn(`could not read the controls of the instance from ${journal.uri}: ${(error as Error).message}; the step runs as if none were set`, this.#logFields());
      return undefined;
    }
  }

  /** Whether {@link #obey} has anything to do: a step taken, an ended instance, a pause or an abort. */
  #controlApplies(control: InstanceControl): boolean {
    const steps = this.#system.steps;
    return (
      (steps >= 1 && steps <= control.steps) || FINAL_STATUSES.includes(control.status) || control.paused || control.abort !== undefined
    );
  }

  /**
   * Act on the controls before any action runs: drop a message whose step the journal shows taken
   * (a timer that fires after an event moved the instance on, however late), park the message of
   * a paused instance, and take the abort path once an abort was asked. Undefined: run the step.
   */
  async #obey(control: InstanceControl | undefined): Promise<"duplicate" | "paused" | undefined> {
    if (control === undefined) return undefined;
    const steps = this.#system.steps;
    if ((steps >= 1 && steps <= control.steps) || FINAL_STATUSES.includes(control.status)) {
      return this.#dropDuplicate(`step ${steps} was already taken (the journal shows the instance ${control.status} at step ${control.steps}): message dropped`);
    }
    const abortPending = control.abort !== undefined && control.abort.step === undefined;
    if (control.paused && !abortPending) {
      const journal = this.#roles.journal;
      if (journal === undefined) return undefined;
      let parked: boolean;
      try {
        parked = await journal.park({
          correlationId: this.#correlationId,
          machineName: this.#machine.name,
          state: this.#system.current_state,
          steps,
          retries: this.#system.retries,
          body: this.#delivery.body,
          parkedAt: this.#engine.clock.now(),
        });
      } catch (error) {
        this.#engine.logger.warn(`could not park the message of a paused instance in ${journal.uri}: ${(error as Error).message}; it is delivered again`, this.#logFields());
        throw new ParkFailed("park failed", { cause: error });
      }
      if (parked) {
        this.#engine.logger.info("instance paused: message parked until resume", this.#logFields());
        this.#span?.addEvent(EVENT.paused);
        await this.#stopRetries();
        return "paused";
      }
      // Resumed between the read and the park: run the step.
    }
    if (control.abort !== undefined) {
      this.#abort = control.abort;
      this.#abortedHere = abortPending;
      if (abortPending) this.#span?.addEvent(EVENT.abort, { [ATTR.abortReason]: control.abort.reason ?? "" });
    }
    return undefined;
  }

  /** The abort path: compensation through the machine's `on_abort` state, or (without one) no action at all. */
  #abortPlan(): TransitionPlan | "end" {
    const onAbort = this.#machine.onAbort;
    return onAbort === undefined ? "end" : planAbort(this.#machine, this.#system.current_state, onAbort);
  }

  /** The message leaves a state that has a timer by another event (see {@link #cancelTimer}). */
  #hasTimerToCancel(): boolean {
    return this.#system.current_event !== TIMER_EVENT && timerOf(this.#machine, this.#system.current_state) !== undefined;
  }

  /** Leaving a state with a timer by another event: its timer entry (same step) is removed where the retry store can. */
  async #cancelTimer(secondaryOnly = false): Promise<void> {
    for (const [side, port] of sidesOf(this.#roles.retry)) {
      if (this.#delivery.role === "retry" && this.#delivery.side === side) continue; // #stopRetries did
      if (secondaryOnly && side === "primary") continue; // the fused commit did
      try {
        await port.remove(this.#correlationId, this.#system.steps);
      } catch (error) {
        this.#engine.logger.info(`could not remove the timer entry on retry.${side}: ${(error as Error).message}; it is dropped when it fires`, this.#logFields());
      }
    }
  }

  /**
   * Give an instance the journal has never seen (started by another producer, or before the
   * journal was configured) its record at its first processing, before any action runs, with the
   * message that introduced it as the first entry of its history.
   */
  async #ensureRecorded(): Promise<void> {
    const correlationId = this.#correlationId;
    const now = this.#engine.clock.now();
    const startedAt = this.#original.system_context.started_at;
    let created = false;
    await this.#journal(async (journal) => {
      [created = false] = await journal.createInstances([
        {
          correlationId,
          machineName: this.#machine.name,
          status: "running",
          state: this.#original.system_context.current_state,
          userContext: this.#original.user_context,
          startedAt: typeof startedAt === "number" && startedAt > 0 ? startedAt * 1000 : now,
          updatedAt: now,
        },
      ]);
      this.#engine.journaled.add(correlationId);
    });
    if (created) await journalMessage(this.#engine, this.#original, this.#delivery.role, this.#delivery.side);
  }

  /**
   * Run the actions, or stop waiting for them once the signal aborts (throwing {@link Abandoned}):
   * they cannot be interrupted, so they run on, and whatever they return or throw is ignored.
   */
  #unlessAbandoned<T>(actions: () => Promise<T>): Promise<T> {
    const signal = this.#signal;
    if (signal === undefined) return actions();
    if (signal.aborted) return Promise.reject(new Abandoned());
    return new Promise<T>((resolve, reject) => {
      const abandon = () => reject(new Abandoned());
      signal.addEventListener("abort", abandon, { once: true });
      actions()
        .then(resolve, reject)
        .finally(() => signal.removeEventListener("abort", abandon));
    });
  }

  async #isDispatched(): Promise<boolean> {
    for (const [side, cache] of sidesOf(this.#roles.cache)) {
      // The fused begin read the primary cache's flag with the lease.
      if (side === "primary" && this.#begun !== undefined) {
        if (this.#begun.dispatched) return true;
        continue;
      }
      try {
        if (await cache.isDispatched(this.#correlationId, this.#system.steps)) return true;
      } catch (error) {
        this.#engine.logger.warn(`dispatched-flag check failed on cache.${side}: ${(error as Error).message}`, this.#logFields());
      }
    }
    return false;
  }

  /** Mark every cache (`secondaryOnly`: the fused commit marked the primary). */
  async #markDispatched(secondaryOnly = false): Promise<void> {
    let all = true;
    for (const [side, cache] of sidesOf(this.#roles.cache)) {
      if (secondaryOnly && side === "primary") continue;
      try {
        await cache.markDispatched(this.#correlationId, this.#system.steps, DISPATCHED_TTL_SECONDS);
      } catch (error) {
        all = false;
        this.#engine.logger.warn(`could not set dispatched flag on cache.${side}: ${(error as Error).message}`, this.#logFields());
      }
    }
    if (!all) this.#errors.record("cache");
  }

  /**
   * Step 3: exit → transition action → entry → do, repeated while the next transition is local.
   * `first` replaces the plan of the first transition: an abort's compensation, or `"end"` for an
   * abort without one (no action runs; the instance ends where it is).
   */
  async #runTransitions(fenceToken: number, first?: TransitionPlan | "end"): Promise<TransitionResult> {
    if (this.#unrunnable !== undefined) throw this.#unrunnable;
    // The happy path needs no copy: the first run works on the decoded message itself.
    let data: Record<string, unknown>;
    if (this.#dataTaken) {
      data = this.#pristine().user_context;
    } else {
      data = this.#original.user_context;
      this.#dataTaken = true;
    }
    const obj: ActionObj = { fenceToken, delay: undefined };
    // Only a machine with task states pays for the launcher its built-in do actions look up.
    if (this.#machine.hasTasks) {
      this.#taskSite = { launcher: this.#engine.tasks, version: this.#system.machine_version, sentFence: this.#original.system_context.fence_token };
      (obj as ActionObj & { [TASK_RUNTIME]?: TaskSite })[TASK_RUNTIME] = this.#taskSite;
    }
    let state = this.#system.current_state;
    let event = this.#system.current_event;
    if (first === "end") return { state, userContext: data, nextEvent: undefined, final: true, delaySeconds: undefined };
    if (first !== undefined) event = first.transition.event;
    for (let hops = 0; ; hops++) {
      if (hops >= MAX_LOCAL_TRANSITIONS) {
        throw new SwitchyardError(
          "local_loop",
          `more than ${MAX_LOCAL_TRANSITIONS} local transitions in one processing (last: state "${state}", event "${event}"); make one transition of the loop non-local`,
        );
      }
      const plan = hops === 0 && first !== undefined ? first : planTransition(this.#machine, state, event);
      let result: unknown;
      for (const planned of plan.actions) {
        const context = this.#actionContext(data, planned.state, event);
        const span = this.#span === undefined ? undefined : startActionSpan(this.#span, planned, event);
        let returned: unknown;
        try {
          returned = await (span === undefined ? planned.action.execute(context, obj) : withSpan(span, () => planned.action.execute(context, obj)));
        } catch (error) {
          if (span !== undefined) {
            recordError(span, error);
            span.end();
          }
          throw new ActionThrew(planned, event, error);
        }
        span?.end();
        if (planned.phase === "do") result = returned;
      }
      state = plan.transition.target;
      if (plan.final) return { state, userContext: data, nextEvent: undefined, final: true, delaySeconds: obj.delay };
      if (result !== undefined && result !== null && typeof result !== "string") {
        throw new TypeError(
          `do_action of state "${state}" returned ${JSON.stringify(result)}; return an event name (a string) or nothing`,
        );
      }
      const next = (result as string | null | undefined) ?? undefined;
      if (next === undefined || !isLocal(this.#machine, state, next)) {
        return { state, userContext: data, nextEvent: next, final: false, delaySeconds: obj.delay };
      }
      event = next;
    }
  }

  #actionContext(data: Record<string, unknown>, state: string, event: string): ActionContext {
    const system = this.#system;
    return {
      data,
      steps: system.steps,
      retries: system.retries,
      correlationId: system.correlation_id,
      machineName: system.machine_name,
      maxRetries: system.max_retries,
      currentState: state,
      currentEvent: event,
    };
  }

  /**
   * Step 4: the next message, to the stream (primary, secondary) and then through the retry role;
   * or, where the instance now waits in a state with an `after:` transition, its timer message
   * (the state, `pseudo_timer`, the next step) through the retry role, which keeps long delays
   * (falling back to the stream). A timer fires only if the instance still waits there: an event
   * taken first makes it a duplicate of its step. Undefined: nothing to send.
   */
  #nextMessage(result: TransitionResult): NextMessage | undefined {
    let event: string;
    let delaySeconds: number;
    let timer = false;
    if (result.nextEvent !== undefined) {
      event = result.nextEvent;
      delaySeconds = result.delaySeconds ?? this.#system.additional_delay_seconds;
    } else {
      const after = result.final ? undefined : timerOf(this.#machine, result.state)?.afterSeconds;
      if (after === undefined) return undefined;
      event = TIMER_EVENT;
      delaySeconds = after;
      timer = true;
    }
    const message: WireMessage = {
      version: this.#original.version,
      system_context: {
        ...this.#system,
        current_state: result.state,
        current_event: event,
        steps: this.#system.steps + 1,
        retries: 0,
        fence_token: this.#fenceToken,
      },
      user_context: result.userContext,
    };
    return timer ? { message, delaySeconds, roles: ["retry", "stream"], origin: "timer" } : { message, delaySeconds, roles: ["stream", "retry"], origin: undefined };
  }

  /**
   * Step 6: schedule the original message again with `retries + 1` after a backoff (retry role,
   * then the stream as a last resort), or give up when `max_retries` is exhausted.
   */
  async #retry(thrown: unknown, minDelaySeconds = 0): Promise<"retrying" | "failed"> {
    const retry = this.#pristine();
    const system = retry.system_context;
    system.retries += 1;
    // The retry's lease must come out above the token this attempt held, on either cache.
    if (this.#fenceToken !== undefined) system.fence_token = this.#fenceToken;
    const site = thrown instanceof ActionThrew ? thrown.site : undefined;
    const error = thrown instanceof ActionThrew ? thrown.error : thrown;
    // "scanning.do_action ./actions.ts#VirusScan threw: scan service 503"
    const what = error === undefined ? undefined : site === undefined ? describe(error) : `${site.where} threw: ${describe(error)}`;
    if (what !== undefined) this.#engine.logger.warn(`attempt failed: ${what}`, this.#logFields());
    const fatal = system.retries > system.max_retries || error instanceof FatalActionError;
    await this.#recordAttempt(error, site, fatal ? "fatal" : "retry");
    if (fatal) {
      this.#errors.record("fatal");
      await this.#stopRetries();
      const reason =
        error instanceof FatalActionError
          ? `action failed fatally: ${what}`
          : `gave up after ${system.max_retries} retries${what === undefined ? " (lease unavailable)" : `: ${what}`}`;
      this.#engine.logger.error(`instance failed: ${reason}`, this.#logFields());
      if (this.#span !== undefined) failSpan(this.#span, error, reason);
      await this.#journal((journal) =>
        journal.updateInstance(this.#correlationId, {
          machineName: this.#machine.name,
          status: "failed",
          state: this.#original.system_context.current_state,
          userContext: retry.user_context,
          reason,
          steps: system.steps,
        }),
      );
      return "failed";
    }
    this.#errors.record("retry");
    const delay = Math.max(minDelaySeconds, retryBackoffSeconds(system.retries, this.#engine.random));
    this.#span?.addEvent(EVENT.retry, { [ATTR.retries]: system.retries, [ATTR.retryDelay]: delay });
    await this.#send(retry, delay, ["retry", "stream"], "retry");
    return "retrying";
  }

  /**
   * A fresh copy of the message as received, for the caller to change: the body decoded again (it
   * decoded once, so it does). Only retries and a compensation after discarded actions need one.
   */
  #pristine(): WireMessage {
    return this.#engine.decode(this.#delivery.body);
  }

  /** Journal the failed attempt (an action's error, or `undefined` for a lease that was unavailable). */
  async #recordAttempt(error: unknown, site: ActionSite | undefined, outcome: JournalAttempt["outcome"]): Promise<void> {
    const system = this.#original.system_context;
    const attempt: JournalAttempt = {
      at: this.#engine.clock.now(),
      current_state: system.current_state,
      current_event: system.current_event,
      steps: system.steps,
      retries: system.retries,
      outcome,
      ...site,
      ...(error === undefined
        ? { error_name: "LeaseUnavailable", error: "the lease was held by another processing, or no cache could be reached" }
        : describeError(error, OWN_CODE)),
    };
    await this.#journal((journal) => journal.appendAttempt(this.#correlationId, attempt));
  }

  /**
   * Send to the `first` role (primary, then secondary); when both sides fail, record
   * `fallbackError` and try the `then` role. Throws when nothing took the message: the delivery
   * must then stay unacknowledged so its source hands it out again.
   */
  async #send(
    message: WireMessage,
    delaySeconds: number,
    [first, then]: ["stream", "retry"] | ["retry", "stream"],
    fallbackError: "dispatch" | "retry",
    origin?: MessageOrigin,
  ): Promise<SentMessage> {
    const outgoing = this.#outgoing(message, delaySeconds);
    let sent = await sendToRole(this.#roles, first, outgoing, this.#errors, this.#engine.logger, { wire: message });
    if (sent === undefined) {
      this.#errors.record(fallbackError);
      sent = await sendToRole(this.#roles, then, outgoing, this.#errors, this.#engine.logger, { wire: message });
    }
    if (sent === undefined) {
      throw new SystemError(`could not send ${message.system_context.correlation_id} step ${message.system_context.steps}: every stream and retry backend failed`);
    }
    if (this.#span !== undefined && (sent.role !== first || sent.side !== "primary")) {
      this.#span.addEvent(EVENT.failover, { [ATTR.failoverRole]: sent.role, [ATTR.failoverTo]: sent.side });
    }
    const due = origin === "timer" ? this.#engine.clock.now() + delaySeconds * 1000 : undefined;
    await journalMessage(this.#engine, message, sent.role, sent.side, { origin, due });
    return sent;
  }

  #outgoing(message: WireMessage, delaySeconds: number): OutgoingMessage {
    return {
      correlationId: message.system_context.correlation_id,
      steps: message.system_context.steps,
      retries: message.system_context.retries,
      body: encodeMessage(message),
      delaySeconds: Math.max(0, delaySeconds),
    };
  }

  /** Step 5: the transport receipt of the next message becomes the checkpoint. */
  async #storeCheckpoint(sent: SentMessage, secondaryOnly = false): Promise<void> {
    for (const [side, store] of sidesOf(this.#roles.checkpoint)) {
      if (secondaryOnly && side === "primary") continue; // the fused commit tried it
      try {
        await store.store(this.#correlationId, this.#system.steps + 1, { ...sent.receipt, role: sent.role, side: sent.side });
        return;
      } catch (error) {
        this.#errors.record("error");
        this.#engine.logger.warn(`could not store checkpoint on checkpoint.${side}: ${(error as Error).message}`, this.#logFields());
      }
    }
  }

  /** Step 5 (and the fatal path): a message that came from the retry store has its entry deleted. */
  async #stopRetries(): Promise<void> {
    if (this.#delivery.role !== "retry") return;
    const port = this.#delivery.side === "primary" ? this.#roles.retry.primary : this.#roles.retry.secondary;
    if (port === undefined) return;
    try {
      await port.remove(this.#correlationId, this.#system.steps);
    } catch (error) {
      this.#errors.record("error");
      this.#engine.logger.warn(`could not delete retry entry on retry.${this.#delivery.side}: ${(error as Error).message}`, this.#logFields());
    }
  }

  /** Step 8: one metrics call with every counter recorded during this processing. */
  async #emitErrors(): Promise<void> {
    const counters = this.#errors.toJSON();
    const dimensions = {
      machine_name: this.#original.system_context.machine_name,
      current_state: this.#original.system_context.current_state,
      current_event: this.#original.system_context.current_event,
    };
    for (const [side, metrics] of sidesOf(this.#roles.metrics)) {
      try {
        await metrics.emit(counters, dimensions);
        break;
      } catch (error) {
        this.#engine.logger.warn(`could not emit metrics on metrics.${side}: ${(error as Error).message}`, this.#logFields());
      }
    }
    await this.#journal((journal) => journal.appendErrors(this.#correlationId, { counters, dimensions }));
  }

  #journal(write: (journal: NonNullable<RoleBindings["journal"]>) => Promise<void>): Promise<void> {
    return writeJournal(this.#engine, write, () => this.#logFields());
  }

  /** The fields of this processing's log records (log-fields.ts); the user context only if the logger asks. */
  #logFields(): Record<string, unknown> {
    return systemLogFields(this.#system, this.#original.user_context, this.#engine.logger);
  }
}

/** Record a sent message in the journal (never fails the caller). */
export async function journalMessage(
  engine: Pick<Engine, "roles" | "logger" | "clock">,
  message: WireMessage,
  role: "stream" | "retry",
  side: Side,
  how: { readonly origin?: MessageOrigin | undefined; readonly due?: number | undefined } = {},
): Promise<void> {
  if (engine.roles.journal === undefined) return;
  const entry = journalEntry(engine.clock, message, role, side, how);
  await writeJournal(engine, (journal) => journal.appendMessage(message.system_context.correlation_id, entry), () => messageLogFields(message, engine.logger));
}

/** The journal's entry for a sent message. */
export function journalEntry(
  clock: Clock,
  message: WireMessage,
  role: "stream" | "retry",
  side: Side,
  how: { readonly origin?: MessageOrigin | undefined; readonly due?: number | undefined } = {},
): JournalMessage {
  const system = message.system_context;
  const entry: { -readonly [K in keyof JournalMessage]: JournalMessage[K] } = {
    current_state: system.current_state,
    current_event: system.current_event,
    steps: system.steps,
    retries: system.retries,
    user_context: message.user_context,
    role,
    side,
    at: clock.now(),
  };
  if (how.origin !== undefined) entry.origin = how.origin;
  if (how.due !== undefined) entry.due = how.due;
  return entry;
}

/**
 * Journal writes are bookkeeping for people: a failure is logged (with the fields `about` gives,
 * those of the message or instance written), never a protocol error.
 */
export async function writeJournal(
  engine: Pick<Engine, "roles" | "logger">,
  write: (journal: NonNullable<RoleBindings["journal"]>) => Promise<void>,
  about?: () => Record<string, unknown>,
): Promise<void> {
  const journal = engine.roles.journal;
  if (journal === undefined) return;
  try {
    await write(journal);
  } catch (error) {
    engine.logger.warn(`journal write failed on ${journal.uri}: ${(error as Error).message}`, about?.());
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
