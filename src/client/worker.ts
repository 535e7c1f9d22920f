/**
 * The worker (SPEC §5): polls the stream and retry sources, processes messages with bounded
 * concurrency, acknowledges each one after the engine is done with it, and stops gracefully.
 *
 * Acknowledging only after processing makes delivery at-least-once: a worker killed mid-message
 * leaves it claimed, and the source delivers it again when its visibility timeout runs out; the
 * lease and the dispatched flag make the repeat harmless.
 */
import { setMaxListeners } from "node:events";
import type { Engine, ProcessOutcome } from "../engine/engine.js";
import { UsageError } from "../errors.js";
import { deliveryLogFields } from "../engine/log-fields.js";
import { type Logger, silentLogger } from "../logger.js";
import type { ClaimedNext, Delivery, MessageSource } from "../ports.js";
import { Pause } from "./pause.js";

/** Worker options. */
export interface WorkerOptions {
  /** Messages processed at once (default 32). */
  readonly concurrency?: number | undefined;
  /** Seconds a received message stays claimed before it is delivered again (default 30). */
  readonly visibilityTimeoutSeconds?: number | undefined;
  /**
   * Only messages of this instance. Every source must filter by correlation id
   * ({@link MessageSource.filtersByCorrelationId}); the constructor refuses others.
   */
  readonly correlationId?: string | undefined;
  /**
   * Called whenever the worker finds no work and has none in flight; resolve true to stop.
   * Without it the worker runs until {@link Worker.stop}.
   */
  readonly stopWhenIdle?: (() => Promise<boolean>) | undefined;
  /**
   * After {@link Worker.stop}, how long to wait for in-flight messages before handing them back to
   * their sources (delivered again at once, to this or another worker) and returning. A message
   * whose actions are still running is abandoned: its lease is released and nothing of it is sent,
   * so it runs again at once elsewhere; the actions cannot be interrupted and run on unobserved
   * (a CLI worker exits). Default: wait as long as they take.
   */
  readonly shutdownTimeoutSeconds?: number | undefined;
  /** Longest pause between polls when there is no work, in ms (default 200). */
  readonly maxPollIntervalMs?: number | undefined;
  readonly logger?: Logger | undefined;
  /**
   * Called for each message the worker is done with: acknowledged (by its ack, or with the
   * transition's other writes on the fused path) or moved to the dead letters; not for messages
   * left for redelivery. For instrumentation; it must not throw.
   */
  readonly onSettled?: ((delivery: Delivery, outcome: ProcessOutcome) => void) | undefined;
  /** Told how long each message took (its Prometheus metrics, see {@link WorkerObserver}). */
  readonly observer?: WorkerObserver | undefined;
}

/**
 * What a worker reports of each message beside its stats, for instrumentation that needs the time
 * a message took (`WorkerMetrics`). Called on the hot path: it must be cheap and must not throw.
 */
export interface WorkerObserver {
  /**
   * The worker is done with a message: the messages {@link WorkerOptions.onSettled} sees, and those
   * handed back `abandoned`; `seconds` from its receipt (or its claim as an instance's next step).
   */
  settled(delivery: Delivery, outcome: ProcessOutcome, seconds: number): void;
}

/** Running totals of a worker. */
export interface WorkerStats {
  received: number;
  processed: number;
  /** Outcomes by kind (dispatched, completed, retrying, failed, duplicate, waiting, malformed, poison). */
  outcomes: Record<string, number>;
  /** Messages the engine could not finish, or handed back at shutdown (left for redelivery). */
  unfinished: number;
  /** Of those, messages whose actions were still running when they were handed back. */
  abandoned: number;
  inFlight: number;
  startedAt: number;
}

/**
 * How long a turn of the event loop may run claimed next messages (see Worker) before the worker
 * yields, in ms: long enough to commit hundreds of transitions per SQLite group, short enough to
 * keep their latency to durability in single-digit milliseconds.
 */
export const CONTINUATION_TURN_MS = 4;

/** Polls sources and feeds the engine. */
export class Worker {
  readonly #engine: Engine;
  readonly #sources: readonly MessageSource[];
  readonly #concurrency: number;
  readonly #visibility: number;
  readonly #options: WorkerOptions;
  readonly #logger: Logger;
  /**
   * Where the next messages that fused commits claim for this worker come from (and are acked):
   * the primary stream's source. Without one, the worker does not ask for them.
   */
  readonly #streamPrimary: MessageSource | undefined;
  readonly #inFlight = new Set<Promise<void>>();
  /**
   * In-flight deliveries: their source, when they were received and when their claim was last taken
   * or extended (ms, monotonic).
   */
  readonly #claims = new Map<Delivery, { source: MessageSource; received: number; since: number }>();
  /**
   * Abandons every in-flight processing at once at the shutdown timeout; one for the worker, as a
   * controller per message cost several microseconds each. None without a shutdown timeout: the
   * drain then waits for every processing.
   */
  readonly #abandon: AbortController | undefined;
  #stopping = false;
  readonly #pause = new Pause();
  #next = 0;
  /** When the current turn of the event loop began, as far as this worker can tell (ms, monotonic). */
  #turnStarted = 0;
  /** The next turn, which every processing that yields waits for together. */
  #turn: Promise<void> | undefined;
  readonly stats: WorkerStats;

  /** Throws a {@link UsageError} for a `correlationId` over sources that cannot filter by it. */
  constructor(engine: Engine, sources: readonly MessageSource[], options: WorkerOptions = {}) {
    if (options.correlationId !== undefined) refuseUnfilteredSources(sources, "a worker with a correlation id");
    this.#engine = engine;
    this.#sources = sources;
    this.#concurrency = Math.max(1, options.concurrency ?? 32);
    this.#visibility = options.visibilityTimeoutSeconds ?? 30;
    this.#options = options;
    this.#logger = options.logger ?? engine.logger ?? silentLogger;
    this.#streamPrimary = sources.find((source) => source.role === "stream" && source.side === "primary");
    if (options.shutdownTimeoutSeconds !== undefined) {
      this.#abandon = new AbortController();
      // Each in-flight processing listens while its actions run: as many listeners as the concurrency.
      setMaxListeners(0, this.#abandon.signal);
    }
    this.stats = { received: 0, processed: 0, outcomes: {}, unfinished: 0, abandoned: 0, inFlight: 0, startedAt: Date.now() };
  }

  /**
   * Ask the worker to stop taking work; {@link run} resolves once in-flight messages are done, or
   * when `shutdownTimeoutSeconds` has passed and they were handed back.
   */
  stop(): void {
    this.#stopping = true;
    this.#pause.wake();
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  /** Process messages until stopped (or idle, with `stopWhenIdle`). */
  async run(): Promise<WorkerStats> {
    // A worker registers the versions it loads (SPEC §10), so that other workers can fetch them.
    await this.#engine.catalog.registerOnce().catch((error: Error) => {
      this.#engine.logger.warn(`could not register the definition versions in the journal: ${error.message}; instances of them run here, but workers without this definition cannot fetch them`);
    });
    const heartbeat = setInterval(() => this.#extendClaims(), Math.max(250, (this.#visibility * 1000) / 4));
    heartbeat.unref();
    // Sources that announce new work (LISTEN/NOTIFY) end an idle pause at once.
    const unsubscribe = this.#sources.map((source) => source.onWork?.(() => this.#pause.wake()));
    try {
      await this.#loop(this.#options.maxPollIntervalMs ?? 200);
    } finally {
      clearInterval(heartbeat);
      for (const stop of unsubscribe) stop?.();
    }
    return this.stats;
  }

  async #loop(maxPause: number): Promise<void> {
    let pause = 1;
    while (!this.#stopping) {
      const free = this.#concurrency - this.#inFlight.size;
      const received = free > 0 ? await this.#receive(free) : 0;
      if (received > 0) {
        pause = 1;
        if (this.#inFlight.size >= this.#concurrency) await Promise.race(this.#inFlight);
        // Processings over synchronous backends resolve in microtasks alone; give the event loop a
        // turn so timers, I/O and the SQLite group commit (scheduled with setImmediate) run.
        await this.#nextTurn();
        continue;
      }
      if (this.#inFlight.size === 0 && this.#options.stopWhenIdle !== undefined && (await this.#options.stopWhenIdle())) break;
      await this.#pause.for(pause);
      pause = Math.min(maxPause, pause * 2);
    }
    await this.#drain();
  }

  /** Wait for in-flight messages; past the shutdown timeout, hand them back instead. */
  async #drain(): Promise<void> {
    const timeout = this.#options.shutdownTimeoutSeconds;
    if (timeout === undefined || this.#inFlight.size === 0) {
      await this.#settleInFlight();
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<"expired">((resolve) => {
      timer = setTimeout(() => resolve("expired"), timeout * 1000);
    });
    const outcome = await Promise.race([Promise.all(this.#inFlight), expired]);
    clearTimeout(timer);
    if (outcome !== "expired") return;
    this.#logger.warn(`shutdown timeout: handing ${this.#claims.size} in-flight message(s) back for redelivery`);
    // Processings still in their actions give up at once: they release their leases, send
    // nothing, and #handle hands their messages back. Those already sending finish first.
    this.#abandon?.abort();
    await this.#settleInFlight();
  }

  /** Wait until nothing is in flight (a processing may hand back a claimed message while it ends). */
  async #settleInFlight(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all(this.#inFlight);
  }

  /**
   * Keep long-running messages claimed: once half the visibility timeout has passed since a claim
   * was taken or last extended, extend it by a full timeout. Without this, a step longer than the
   * timeout would be delivered to a second consumer while the first is still on it.
   */
  #extendClaims(): void {
    const now = performance.now();
    const half = (this.#visibility * 1000) / 2;
    for (const [delivery, claim] of this.#claims) {
      if (now - claim.since < half) continue;
      claim.since = now;
      claim.source.extend(delivery, this.#visibility).catch((error: Error) => {
        this.#logger.warn(`cannot extend the claim of message ${delivery.id} on ${claim.source.uri}: ${error.message}`, this.#fields(delivery));
      });
    }
  }

  /**
   * The next turn of the event loop, one for every processing that yields: they all resume in it
   * (after the timers, I/O and group commit queued before), and its start times the turn.
   */
  #nextTurn(): Promise<void> {
    this.#turn ??= new Promise((resolve) =>
      setImmediate(() => {
        this.#turn = undefined;
        this.#turnStarted = performance.now();
        resolve();
      }),
    );
    return this.#turn;
  }

  /** Receive up to `free` messages, taking the sources in turn so none starves. */
  async #receive(free: number): Promise<number> {
    let received = 0;
    for (let i = 0; i < this.#sources.length && received < free; i++) {
      const source = this.#sources[(this.#next + i) % this.#sources.length] as MessageSource;
      let deliveries: Delivery[] = [];
      try {
        deliveries = await source.receive({
          max: free - received,
          visibilityTimeoutSeconds: this.#visibility,
          correlationId: this.#options.correlationId,
        });
      } catch (error) {
        this.#logger.error(`cannot receive from ${source.role}.${source.side} (${source.uri}): ${(error as Error).message}`, { role: source.role, side: source.side });
      }
      for (const delivery of deliveries) this.#start(source, delivery);
      received += deliveries.length;
    }
    this.#next = (this.#next + 1) % Math.max(1, this.#sources.length);
    return received;
  }

  #start(source: MessageSource, delivery: Delivery, claimed?: ClaimedNext): void {
    this.stats.received++;
    const now = performance.now();
    this.#claims.set(delivery, { source, received: now, since: now });
    // A message claimed for a worker that is stopping is handed back at once: its processing
    // gives up before the actions (its lease is released) and the message is released.
    const signal = claimed !== undefined && this.#stopping ? AbortSignal.abort() : this.#abandon?.signal;
    const task = this.#handle(source, delivery, signal, claimed).finally(() => {
      this.#claims.delete(delivery);
      this.#inFlight.delete(task);
      this.stats.inFlight = this.#inFlight.size;
      this.#pause.wake();
    });
    this.#inFlight.add(task);
    this.stats.inFlight = this.#inFlight.size;
  }

  async #handle(source: MessageSource, delivery: Delivery, signal: AbortSignal | undefined, claimed: ClaimedNext | undefined): Promise<void> {
    let outcome: ProcessOutcome;
    // A claimed next message runs at once, until the event loop's turn has lasted
    // CONTINUATION_TURN_MS: over synchronous backends chains of them would otherwise hold off
    // timers, I/O and the SQLite group commit for as long as they last; yielding after each one
    // would commit a few transitions per group instead of hundreds.
    if (claimed !== undefined && performance.now() - this.#turnStarted > CONTINUATION_TURN_MS) await this.#nextTurn();
    try {
      const claimNextSeconds = this.#streamPrimary === undefined || this.#stopping ? undefined : this.#visibility;
      outcome = await this.#engine.process(delivery, { signal, claimNextSeconds, claimed });
    } catch (error) {
      this.stats.unfinished++;
      this.#logger.error(`message ${delivery.id} from ${source.role}.${source.side} left for redelivery: ${(error as Error).message}`, this.#fields(delivery));
      return;
    }
    if (outcome.kind === "abandoned") {
      // Not acknowledged: delivered again at once, and its lease is already free.
      await source.release(delivery, 0).catch((error: Error) => {
        this.#logger.error(`cannot hand message ${delivery.id} back to ${source.uri}: ${error.message}; it returns after its visibility timeout`, this.#fields(delivery));
      });
      this.stats.unfinished++;
      this.stats.abandoned++;
      this.#observe(delivery, outcome);
      return;
    }
    try {
      if ("reason" in outcome) {
        this.#logger.error(`message ${delivery.id} from ${source.role}.${source.side} moved to dead letters: ${outcome.reason}`, { ...this.#fields(delivery), outcome: outcome.kind });
        await source.deadLetter(delivery, outcome.reason);
      } else if (outcome.acknowledged !== true) {
        // (The fused transition path acknowledged it with the transition's other writes.)
        await source.ack(delivery);
      }
      this.#options.onSettled?.(delivery, outcome);
      this.#observe(delivery, outcome);
    } catch (error) {
      this.#logger.error(`cannot acknowledge message ${delivery.id} on ${source.uri}: ${(error as Error).message}`, this.#fields(delivery));
    }
    this.stats.processed++;
    this.stats.outcomes[outcome.kind] = (this.stats.outcomes[outcome.kind] ?? 0) + 1;
    // The instance's next step, claimed for this worker: it takes this message's place at once.
    if (!("reason" in outcome) && outcome.next !== undefined && this.#streamPrimary !== undefined) this.#start(this.#streamPrimary, outcome.next.delivery, outcome.next);
  }

  /** The fields of a record about `delivery` (log-fields.ts): it is decoded again, so for errors only. */
  #fields(delivery: Delivery): Record<string, unknown> {
    return deliveryLogFields(delivery, (body) => this.#engine.decode(body), this.#logger);
  }

  /** Tell the observer, if any, how long the message took (its claim is still in #claims). */
  #observe(delivery: Delivery, outcome: ProcessOutcome): void {
    const observer = this.#options.observer;
    const claim = observer === undefined ? undefined : this.#claims.get(delivery);
    if (claim !== undefined) observer?.settled(delivery, outcome, (performance.now() - claim.received) / 1000);
  }
}

/**
 * Refuse to drive one instance (`what`: "run", …) over sources that cannot receive its messages
 * apart from other instances': they would hand this consumer, and so process, other instances'
 * work in a shared store. One line naming each such source and the remedy.
 */
export function refuseUnfilteredSources(sources: readonly MessageSource[], what: string): void {
  const unfiltered = sources.filter((source) => !source.filtersByCorrelationId);
  if (unfiltered.length === 0) return;
  const names = unfiltered.map((source) => `${source.role}.${source.side} (${source.uri})`);
  const listed = names.length === 1 ? names[0] : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
  throw new UsageError(
    `${what} drives one instance, but ${listed} cannot receive one instance's messages apart from other instances' (${names.length === 1 ? "it" : "they"} would process those too); use start and worker instead, or stream and retry backends that filter by instance: sqlite, postgres, dynamodb`,
    { code: "unfiltered_source" },
  );
}
