/**
 * Prometheus metrics of a worker: what it processed, how long each message took, what the engine
 * counted as errors (SPEC §3 step 8), what is in flight, what waits in each source and for how long, served as
 * text on `GET /metrics`.
 *
 * Nothing here is on the engine's path: the error counters are read from the metrics role through
 * a decorator on its primary (every emission tries the primary first), lease hand-over waits
 * through a decorator on the engine's clock (the engine sleeps only for them), and the rest through
 * the worker's {@link WorkerObserver}. prom-client is loaded only when metrics are asked for.
 *
 * Labels never carry user data: machine, state and event names are those of the loaded
 * definitions (a name the definitions do not know is counted as `other`), and sources are named by
 * role and side, never by URI (which may carry credentials).
 */
import { type Server, createServer } from "node:http";
import type { Counter, Gauge, Histogram, Registry } from "prom-client";
import { Engine, type ProcessOutcome } from "../engine/engine.js";
import type { RoleBindings } from "../engine/roles.js";
import { UsageError } from "../errors.js";
import type { Clock, Delivery, ErrorCounters, MessageSource, MetricDimensions, MetricsPort, Sided } from "../ports.js";
import type { Worker, WorkerObserver } from "./worker.js";

/** Options of {@link WorkerMetrics.create}. */
export interface WorkerMetricsOptions {
  /** Where the metrics go; default a new registry of their own (never prom-client's global one). */
  readonly registry?: Registry | undefined;
  /** Also collect prom-client's default process metrics (CPU, memory, event loop lag) there (default true). */
  readonly defaultMetrics?: boolean | undefined;
  /** How long a scrape waits for each source's pending count and queue lag, in ms (default 2000). */
  readonly sampleTimeoutMs?: number | undefined;
}

/** The label given to a machine, state or event name the loaded definitions do not know. */
export const OTHER_LABEL = "other";

/** Processing-time buckets, in seconds: from a fused SQLite step to a slow action. */
const PROCESSING_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * A worker's Prometheus metrics. Make one with {@link WorkerMetrics.create}, hand it to
 * `Switchyard.worker({ metrics })`, and serve its registry with {@link serveMetrics}.
 *
 * | metric | type | labels |
 * | --- | --- | --- |
 * | `switchyard_transitions_total` | counter | machine, outcome |
 * | `switchyard_errors_total` | counter | machine, state, event, counter |
 * | `switchyard_processing_seconds` | histogram | machine |
 * | `switchyard_in_flight` | gauge | |
 * | `switchyard_pending_messages` | gauge | source |
 * | `switchyard_queue_lag_seconds` | gauge | source |
 * | `switchyard_lease_wait_seconds_total` | counter | |
 *
 * @example
 * ```ts
 * const metrics = await WorkerMetrics.create();
 * const server = await serveMetrics(metrics.registry, { port: 9464 });
 * await sy.worker({ metrics }).run();
 * await server.close();
 * ```
 */
export class WorkerMetrics implements WorkerObserver {
  readonly registry: Registry;
  readonly #transitions: Counter<"machine" | "outcome">;
  readonly #errors: Counter<"machine" | "state" | "event" | "counter">;
  readonly #processing: Histogram<"machine">;
  readonly #leaseWait: Counter;
  /** Children of the transitions counter by machine then outcome, so counting allocates nothing. */
  readonly #transitionChildren = new Map<string, Map<string, Counter.Internal>>();
  readonly #processingChildren = new Map<string, Histogram.Internal<"machine">>();
  readonly #workers: Worker[] = [];
  readonly #sources = new Set<MessageSource>();
  /** The machine names labels may carry (the loaded definitions'), set by {@link meter}. */
  #machines: readonly string[] = [];

  private constructor(prom: typeof import("prom-client"), options: WorkerMetricsOptions) {
    const registers = [(this.registry = options.registry ?? new prom.Registry())];
    if (options.defaultMetrics ?? true) prom.collectDefaultMetrics({ register: this.registry });
    this.#transitions = new prom.Counter({
      name: "switchyard_transitions_total",
      help: "Messages the worker is done with, by machine and processing outcome",
      labelNames: ["machine", "outcome"] as const,
      registers,
    });
    this.#errors = new prom.Counter({
      name: "switchyard_errors_total",
      help: "The engine's error counters (SPEC §3: error, fatal, cache, retry, duplicate, dispatch) by machine, state and event",
      labelNames: ["machine", "state", "event", "counter"] as const,
      registers,
    });
    this.#processing = new prom.Histogram({
      name: "switchyard_processing_seconds",
      help: "Time from a message's receipt to the worker being done with it, by machine",
      labelNames: ["machine"] as const,
      buckets: PROCESSING_BUCKETS,
      registers,
    });
    this.#leaseWait = new prom.Counter({
      name: "switchyard_lease_wait_seconds_total",
      help: "Time processings waited for the lease of an instance held by its previous step (the lease hand-over)",
      registers,
    });
    const workers = this.#workers;
    const inFlight: Gauge = new prom.Gauge({
      name: "switchyard_in_flight",
      help: "Messages being processed now",
      registers,
      collect() {
        inFlight.set(workers.reduce((sum, worker) => sum + worker.stats.inFlight, 0));
      },
    });
    const sources = this.#sources;
    const timeoutMs = options.sampleTimeoutMs ?? 2_000;
    /** A gauge per source, sampled at each scrape from one of its optional capabilities; sources without it are left out. */
    const perSource = (name: string, help: string, sample: (source: MessageSource) => (() => Promise<number>) | undefined, scale = 1) => {
      const gauge: Gauge<"source"> = new prom.Gauge({
        name,
        help,
        labelNames: ["source"] as const,
        registers,
        async collect() {
          gauge.reset();
          await Promise.all(
            [...sources].map(async (source) => {
              const value = await sampleOf(sample(source), timeoutMs);
              if (value !== undefined) gauge.set({ source: `${source.role}.${source.side}` }, value / scale);
            }),
          );
        },
      });
    };
    perSource("switchyard_pending_messages", "Messages waiting in each source (delayed and claimed ones included), sampled at each scrape", (source) => source.pending?.bind(source));
    perSource(
      "switchyard_queue_lag_seconds",
      "How long the oldest due message of each source has been due (0 when none is), sampled at each scrape; sources that cannot tell are left out",
      (source) => source.oldestDueAgeMs?.bind(source),
      1000,
    );
  }

  /** Metrics on a registry of their own (or `options.registry`), loading prom-client now. */
  static async create(options: WorkerMetricsOptions = {}): Promise<WorkerMetrics> {
    const prom = await import("prom-client");
    return new WorkerMetrics(prom, options);
  }

  /**
   * @internal An engine like `engine` whose error emissions and lease hand-over waits are counted
   * here: the same definitions, roles and options, with the metrics role's primary and the clock
   * decorated. Its own caches (which instances are journaled, fetched versions) start empty.
   */
  meter(engine: Engine): Engine {
    this.#machines = [...engine.definitions.machines.keys()];
    return new Engine({
      definitions: engine.definitions,
      roles: { ...engine.roles, metrics: this.#meterMetrics(engine.roles) },
      clock: this.#meterClock(engine.clock),
      random: engine.random,
      logger: engine.logger,
      leaseHandoverMs: engine.leaseHandoverMs,
      maxReceiveCount: engine.maxReceiveCount,
      leaseTimeoutSeconds: engine.leaseTimeoutSeconds,
      tasks: engine.tasks,
    });
  }

  /** @internal Report `worker`'s in-flight count and its sources' pending messages at each scrape. */
  watch(worker: Worker, sources: readonly MessageSource[]): void {
    this.#workers.push(worker);
    for (const source of sources) this.#sources.add(source);
  }

  /** @internal {@link WorkerObserver}: count the outcome and observe the time it took. */
  settled(delivery: Delivery, outcome: ProcessOutcome, seconds: number): void {
    const machine = this.#machineOf(delivery.body);
    let byOutcome = this.#transitionChildren.get(machine);
    if (byOutcome === undefined) this.#transitionChildren.set(machine, (byOutcome = new Map()));
    let counter = byOutcome.get(outcome.kind);
    if (counter === undefined) byOutcome.set(outcome.kind, (counter = this.#transitions.labels(machine, outcome.kind)));
    counter.inc();
    let histogram = this.#processingChildren.get(machine);
    if (histogram === undefined) this.#processingChildren.set(machine, (histogram = this.#processing.labels(machine)));
    histogram.observe(seconds);
  }

  /**
   * The machine a message body names, without parsing it: the first `"machine_name":"` is its
   * system context's (the wire format writes it before the user context), and only names of the
   * loaded machines are matched, so labels stay few and never carry user data.
   */
  #machineOf(body: string): string {
    const at = body.indexOf(MACHINE_KEY);
    if (at < 0) return OTHER_LABEL;
    const start = at + MACHINE_KEY.length;
    for (const name of this.#machines) {
      if (body.startsWith(name, start) && body.charCodeAt(start + name.length) === QUOTE) return name;
    }
    return OTHER_LABEL;
  }

  /** The metrics role with a primary that counts each emission here first, then forwards it (if the role is on). */
  #meterMetrics(roles: RoleBindings): Sided<MetricsPort> {
    const inner = roles.metrics;
    const count = (counters: ErrorCounters, dimensions: MetricDimensions) => this.#countErrors(counters, dimensions);
    const primary: MetricsPort = {
      uri: inner?.primary.uri ?? "prometheus:",
      emit(counters, dimensions) {
        count(counters, dimensions);
        return inner === undefined ? Promise.resolve() : inner.primary.emit(counters, dimensions);
      },
    };
    return { primary, secondary: inner?.secondary };
  }

  #countErrors(counters: ErrorCounters, dimensions: MetricDimensions): void {
    const machine = this.#machines.includes(dimensions.machine_name) ? dimensions.machine_name : OTHER_LABEL;
    // State and event names of a known machine come from its definition (a message naming others
    // is failed by the engine); those of an unknown one are not trusted as labels.
    const state = machine === OTHER_LABEL ? OTHER_LABEL : dimensions.current_state;
    const event = machine === OTHER_LABEL ? OTHER_LABEL : dimensions.current_event;
    for (const [counter, n] of Object.entries(counters)) {
      if (n !== undefined && n > 0) this.#errors.inc({ machine, state, event, counter }, n);
    }
  }

  /** The engine's clock, with its sleeps (lease hand-over waits only) counted. */
  #meterClock(clock: Clock): Clock {
    const leaseWait = this.#leaseWait;
    return {
      now: () => clock.now(),
      sleep(ms) {
        leaseWait.inc(ms / 1000);
        return clock.sleep(ms);
      },
    };
  }
}

const MACHINE_KEY = '"machine_name":"';
const QUOTE = 0x22;

/** What `read` answers, or undefined when there is no `read`, it fails, or it takes longer than `timeoutMs`. */
async function sampleOf(read: (() => Promise<number>) | undefined, timeoutMs: number): Promise<number | undefined> {
  if (read === undefined) return undefined;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  try {
    return await Promise.race([read().catch(() => undefined), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Where {@link serveMetrics} listens. */
export interface MetricsServerOptions {
  /** 0 picks a free port (see {@link MetricsServer.port}). */
  readonly port: number;
  /** Default 127.0.0.1; metrics carry no payloads, so binding beyond it is allowed. */
  readonly host?: string | undefined;
}

/** A running metrics endpoint. */
export interface MetricsServer {
  /** The port it is bound to (the one picked, for port 0). */
  readonly port: number;
  /** `http://host:port/metrics`. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serve `registry` as Prometheus text on `GET /metrics` (404 elsewhere). Rejects with a
 * {@link UsageError} (code `port_in_use`) when the port is taken.
 */
export async function serveMetrics(registry: Registry, options: MetricsServerOptions): Promise<MetricsServer> {
  const host = options.host ?? "127.0.0.1";
  const server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if (path !== "/metrics" || (request.method !== "GET" && request.method !== "HEAD")) {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found: metrics are on GET /metrics\n");
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { "content-type": registry.contentType }).end(request.method === "HEAD" ? undefined : text),
      (error: Error) => response.writeHead(500, { "content-type": "text/plain" }).end(`cannot collect metrics: ${error.message}\n`),
    );
  });
  await listen(server, options.port, host);
  // A scrape in progress must not keep a stopping worker alive.
  server.unref();
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : options.port;
  const shown = host.includes(":") ? `[${host}]` : host;
  return {
    port,
    url: `http://${shown}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
      }),
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") {
        reject(new UsageError(`cannot serve metrics on ${host}:${port}: the port is in use; choose another port (0 picks a free one)`, { code: "port_in_use", cause: error }));
      } else {
        reject(new UsageError(`cannot serve metrics on ${host}:${port}: ${error.message}`, { code: "metrics_listen", cause: error }));
      }
    });
    server.listen(port, host, () => resolve());
  });
}
