/**
 * The library entry point: definitions + settings → an open Switchyard that starts instances,
 * answers status and history, runs workers, and drives single instances to their end.
 *
 * @example
 * ```ts
 * import { Switchyard } from "switchyard-fsm";
 *
 * const sy = await Switchyard.open({ definitions: "fsm.yaml" });
 * const { correlationId } = await sy.start("order", { context: { orderId: 42 } });
 * await sy.worker({ stopWhenIdle: async () => true }).run();
 * console.log(await sy.status(correlationId));
 * await sy.close();
 * ```
 */
import path from "node:path";
import { loadDefinitionFile } from "../definition/load.js";
import { timerOf } from "../core/transitions.js";
import type { DefinitionSet } from "../core/machine.js";
import { Engine } from "../engine/engine.js";
import type { RoleBindings } from "../engine/roles.js";
import { type DefinitionError, UsageError } from "../errors.js";
import { type Logger, createLogger } from "../logger.js";
import type { Activity, ActivityFilter, ApiCallObserver, Clock, DeadLetter, InstanceRecord, InstanceStatus, MetricsFilter, MetricsPort, MetricsQuery, MetricsTotal, JournalAttempt, JournalErrors, JournalMessage, JournalPort, ListOptions, MessageSource, PauseRule, StateCounts } from "../ports.js";
import { systemClock } from "../ports.js";
import { Worker, type WorkerOptions, refuseUnfilteredSources } from "./worker.js";
import type { WorkerMetrics } from "./prometheus.js";
import { type OpenedRoles, openRoles } from "../settings/bindings.js";
import { type Settings, loadSettings, resolveSettings } from "../settings/settings.js";
import { type HeartbeatResult, type TaskContext, type TaskExit, type TaskExitOutcome, heartbeatTask, reportTask, taskAbandoned, taskContext, taskExited, taskStanding } from "./report-task.js";
import { type EventSent, type SendEventOptions, requireJournal, sendEvent } from "./send-event.js";
import { LocalTaskLauncher } from "./task-launcher.js";
import { type DeadLetterRedriveOptions, type DeadLetterRedriveResult, redriveDeadLetters } from "./dead-letters.js";
import {
  type AbortResult,
  type MachinePause,
  type RecoverResult,
  type RedriveResult,
  type ResumeResult,
  type StalledInstance,
  type StalledOptions,
  abortInstance,
  listStalled,
  pauseInstance,
  pauseMachine,
  recoverInstance,
  redriveInstance,
  resumeInstance,
  resumeMachine,
} from "./control.js";
import { type StartItemResult, type StartOptions, type Started, startMachine, startMachines } from "./start.js";
import { type ListPage, type ListPageOptions, listPage } from "./list-page.js";
import {
  type DeployedVersion,
  deployVersions,
  listVersions,
  type MigrateOptions,
  type MigrateResult,
  migrateInstances,
  type PruneResult,
  pruneVersions,
  strandedByDeploy,
  type VersionInfo,
} from "./versions.js";

/** How to open a Switchyard. */
export interface OpenOptions {
  /** A definition file path (YAML, or a JS/TS module that exports its machines), or definitions built in code. */
  readonly definitions: string | DefinitionSet;
  /** A settings file path, resolved settings, or nothing (a default settings file in cwd, or defaults). */
  readonly settings?: string | Settings | undefined;
  readonly clock?: Clock | undefined;
  readonly random?: (() => number) | undefined;
  readonly logger?: Logger | undefined;
  /** Working directory for default files (default `process.cwd()`). */
  readonly cwd?: string | undefined;
  /** Sees every AWS API call the backends make (`switchyard cost`); none by default. */
  readonly apiCalls?: ApiCallObserver | undefined;
  /**
   * Which tasks this process starts (docs/runtimes/containers.md). Default: all of them, local
   * commands and docker tasks as detached processes. `"remote"`: only `ecs:` tasks, with no watcher
   * process; a command or docker task's step fails with a line saying so. The Lambda handler and
   * dev-lambda pass it: a process would not outlive an invocation. `false`: none.
   */
  readonly tasks?: false | "remote" | undefined;
}

/** Options of {@link Switchyard.worker}. */
export interface SwitchyardWorkerOptions extends WorkerOptions {
  /** Count the worker's messages, errors and waits in these Prometheus metrics (its own observer is then unused). */
  readonly metrics?: WorkerMetrics | undefined;
}

/** The result of driving one instance to its end (`switchyard run`). */
export interface RunResult {
  readonly correlation_id: string;
  readonly machine_name: string;
  /**
   * `completed`, `failed` or `aborted`; `waiting` when it rests in a non-final state for an external
   * event or its `after:` timer (the timer stays pending for a worker; `run` does not wait it out)
   * ({@link Switchyard.sendEvent}); `running` only when it stopped with a message still pending
   * that this run could not process.
   */
  readonly status: InstanceStatus;
  readonly state: string;
  readonly user_context: Record<string, unknown>;
  readonly messages: JournalMessage[];
  /** Every failed attempt of its messages, in step order (see {@link Switchyard.attempts}). */
  readonly attempts: JournalAttempt[];
  readonly errors: JournalErrors[];
  readonly reason?: string | undefined;
}

/** An open Switchyard: definitions, settings and live backends. */
export class Switchyard {
  readonly definitions: DefinitionSet;
  readonly settings: Settings;
  readonly engine: Engine;
  readonly sources: readonly MessageSource[];
  readonly #opened: OpenedRoles;

  private constructor(definitions: DefinitionSet, settings: Settings, engine: Engine, opened: OpenedRoles) {
    this.definitions = definitions;
    this.settings = settings;
    this.engine = engine;
    this.sources = opened.sources;
    this.#opened = opened;
  }

  /** Load definitions and settings and open the backends they name. */
  static async open(options: OpenOptions): Promise<Switchyard> {
    const cwd = options.cwd ?? process.cwd();
    const definitions = typeof options.definitions === "string" ? await loadDefinitionFile(options.definitions) : options.definitions;
    const settings =
      options.settings === undefined || typeof options.settings === "string"
        ? loadSettings({ file: options.settings, cwd })
        : options.settings;
    const clock = options.clock ?? systemClock;
    const random = options.random ?? Math.random;
    const logger = options.logger ?? createLogger();
    const opened = await openRoles(settings, { clock, random, logger, apiCalls: options.apiCalls });
    const settingsFile = settings.file === undefined ? undefined : path.resolve(cwd, settings.file);
    const tasks = options.tasks === false ? undefined : new LocalTaskLauncher({ environment: opened.roles.environment, settingsFile, endpoints: settings.endpoints, remoteOnly: options.tasks === "remote", clock, logger });
    const engine = new Engine({ definitions, roles: opened.roles, clock, random, logger, maxReceiveCount: settings.maxReceiveCount, leaseTimeoutSeconds: settings.leaseTimeoutSeconds, tasks });
    return new Switchyard(definitions, settings, engine, opened);
  }

  /** Settings from a plain object (as in a settings file), for code that configures itself. */
  static settings(config: unknown, baseDir = process.cwd()): Settings {
    return resolveSettings(config, { baseDir, file: undefined });
  }

  get roles(): RoleBindings {
    return this.engine.roles;
  }

  #starter() {
    return {
      definitions: this.definitions,
      roles: this.roles,
      clock: this.engine.clock,
      leaseTimeoutSeconds: this.settings.leaseTimeoutSeconds,
      logger: this.engine.logger,
      sources: this.sources,
      catalog: this.engine.catalog,
    };
  }

  /** Start one instance, pinned to the loaded version of its machine (SPEC §10). */
  async start(machineName: string, options?: StartOptions): Promise<Started> {
    await this.#registered();
    return startMachine(this.#starter(), machineName, options);
  }

  /** Start many instances; one result per item, failures reported per item. */
  async startMany(items: ReadonlyArray<{ machineName: string } & StartOptions>): Promise<StartItemResult[]> {
    await this.#registered();
    return startMachines(this.#starter(), items);
  }

  /**
   * Register the loaded versions before the first start (once per engine, shared with its
   * workers), so that a worker without this definition can fetch the version its instances are
   * pinned to. Best effort: a journal that cannot take them is logged, and the start goes on.
   */
  #registered(): Promise<void> {
    return this.engine.catalog.registerOnce().then(
      () => undefined,
      (error: Error) => this.engine.logger.warn(`could not register the definition versions in the journal: ${error.message}; run switchyard deploy`),
    );
  }

  /**
   * Register the version of every loaded machine (or the named ones) in the definition registry
   * (SPEC §10), idempotently: `switchyard deploy`.
   */
  deploy(machines?: readonly string[]): Promise<DeployedVersion[]> {
    return deployVersions(this.#versionDeps(), machines);
  }

  /** The registered versions (of one machine), each with its instances by status. */
  versions(machine?: string): Promise<VersionInfo[]> {
    return listVersions(this.#starter(), machine);
  }

  /** Remove the registered versions no instance needs (see {@link pruneVersions}). */
  pruneVersions(options?: { readonly machine?: string | undefined; readonly dryRun?: boolean | undefined }): Promise<PruneResult> {
    return pruneVersions(this.#starter(), options);
  }

  /**
   * Move the instances of a machine on one version to another (default: the loaded one): waiting
   * and paused ones now, running ones at their next message (SPEC §10).
   *
   * @example
   * ```ts
   * const result = await sy.migrate({ machine: "approval", from: "2025-10" });
   * console.log(result.moved.length, "moved;", result.atNextMessage, "move at their next message");
   * ```
   */
  migrate(options: MigrateOptions): Promise<MigrateResult> {
    return migrateInstances(this.#versionDeps(), options);
  }

  /**
   * What deploying the loaded definitions would strand: states in-flight instances of the
   * registered versions occupy (or may reach) and transitions they wait on, removed without a
   * `migrate:` entry (`switchyard validate --against deployed`).
   */
  strandedByDeploy(): Promise<DefinitionError[]> {
    return strandedByDeploy(this.#versionDeps(), this.definitions);
  }

  #versionDeps() {
    return { ...this.#starter(), catalog: this.engine.catalog };
  }

  /**
   * Deliver `event` to a waiting instance: it becomes the message of the step after the one the
   * instance waits at, in its current state; `data` reaches the actions as `ctx.data.event_data`.
   * A worker processes it. Throws a one-line {@link UsageError} for an unknown instance, one that
   * is not waiting, or an event its state has no transition for (see `docs/operations.md`).
   *
   * @example
   * ```ts
   * await sy.sendEvent(id, "approved", { data: { by: "ana" } });
   * ```
   */
  sendEvent(correlationId: string, event: string, options?: SendEventOptions): Promise<EventSent> {
    return sendEvent(this.#starter(), correlationId, event, options);
  }

  /**
   * A task's report (docs/runtimes/containers.md): deliver `event` (with `data`, seen as
   * `ctx.data.event_data`) to the instance whose task `token` names, as its next step. Refuses in
   * one line an unknown token, a stale one (the instance left the task's step), a second report of
   * the same task, and an event the state has no transition for.
   *
   * @example
   * ```ts
   * await sy.reportTask(process.env.SWITCHYARD_TASK_TOKEN!, "done", { width: 800 });
   * ```
   */
  reportTask(token: string, event: string, data?: unknown): Promise<EventSent> {
    return reportTask(this.#starter(), token, event, data);
  }

  /** A task's heartbeat: its `heartbeat` deadline moves to now + `heartbeat` (never past its `timeout`). */
  heartbeatTask(token: string): Promise<HeartbeatResult> {
    return heartbeatTask(this.#starter(), token);
  }

  /** What the task `token` names reads of its instance: ids, state, step and the user context at its start. */
  taskContext(token: string): Promise<TaskContext> {
    return taskContext(this.#starter(), token);
  }

  /** @internal The supervisor of a task process asks whether its step was settled without it (cli/commands/task.ts). */
  taskAbandoned(token: string): Promise<boolean> {
    return taskAbandoned(this.#starter(), token);
  }

  /** @internal The watcher of an ECS task: watch it, stop it (its step settled without it), or leave it. */
  taskStanding(token: string): Promise<"watch" | "stop" | "leave"> {
    return taskStanding(this.#starter(), token);
  }

  /** @internal The supervisor of a task process reports its exit (cli/commands/task.ts). */
  taskExited(token: string, exit: TaskExit): Promise<TaskExitOutcome> {
    return taskExited({ ...this.#starter(), random: this.engine.random }, token, exit);
  }

  /**
   * Abort an instance: once this returns no new action of it starts (one already running finishes
   * and its outcome is discarded). With the machine's `on_abort` state, it runs that compensation
   * and then ends `aborted`. Refuses a completed or failed instance; aborting twice is a no-op.
   *
   * @example
   * ```ts
   * await sy.abort(id, { reason: "customer cancelled" });
   * ```
   */
  abort(correlationId: string, options?: { reason?: string | undefined }): Promise<AbortResult> {
    return abortInstance(this.#starter(), correlationId, options);
  }

  /** Pause an instance: its messages are parked (not processed, not lost) until {@link resume}. */
  pause(correlationId: string): Promise<InstanceRecord> {
    return pauseInstance(this.#starter(), correlationId);
  }

  /** Resume a paused instance: its parked messages are sent again, exactly as they were. */
  resume(correlationId: string): Promise<ResumeResult> {
    return resumeInstance(this.#starter(), correlationId);
  }

  /**
   * Hold every instance of a machine, or only those that reach one state: their next message is
   * parked until {@link resumeMachine}.
   *
   * @example
   * ```ts
   * await sy.pauseMachine({ machine: "order", state: "charging" });
   * ```
   */
  pauseMachine(pause: MachinePause): Promise<void> {
    return pauseMachine(this.#starter(), pause);
  }

  /** Lift a machine pause and send the messages it parked again. */
  resumeMachine(pause: MachinePause): Promise<ResumeResult> {
    return resumeMachine(this.#starter(), pause);
  }

  /** Running instances with nothing pending and no activity for a while, and waiting ones whose timer is overdue. */
  stalled(options?: StalledOptions): Promise<StalledInstance[]> {
    return listStalled(this.#starter(), options);
  }

  /** Send a stalled instance's last message again (duplicate-safe). */
  recover(correlationId: string): Promise<RecoverResult> {
    return recoverInstance(this.#starter(), correlationId);
  }

  /** Run a failed instance's failed step again, with its retries reset. */
  redrive(correlationId: string): Promise<RedriveResult> {
    return redriveInstance(this.#starter(), correlationId);
  }

  /** Every machine pause in force (`pauseMachine`), by machine then state, a machine-wide pause first. */
  pauses(): Promise<PauseRule[]> {
    return requireJournal(this.#starter(), "the machine pauses are kept in it").pauses();
  }

  /**
   * A worker over every configured stream and retry source. With `metrics`, it counts what it
   * processes there (see {@link WorkerMetrics}); without, it costs nothing extra.
   */
  worker(options: SwitchyardWorkerOptions = {}): Worker {
    const { metrics, ...rest } = options;
    if (metrics === undefined) {
      return new Worker(this.engine, this.sources, { visibilityTimeoutSeconds: this.settings.visibilityTimeoutSeconds, ...rest });
    }
    const worker = new Worker(metrics.meter(this.engine), this.sources, {
      visibilityTimeoutSeconds: this.settings.visibilityTimeoutSeconds,
      ...rest,
      observer: metrics,
    });
    metrics.watch(worker, this.sources);
    return worker;
  }

  /** Status of an instance; throws a UsageError for an unknown id. */
  async status(correlationId: string): Promise<InstanceRecord> {
    const record = await this.#journal().getInstance(correlationId);
    if (record === undefined) {
      throw new UsageError(`no instance with correlation id "${correlationId}" in ${this.#journal().uri}; check the id and --settings`, { code: "not_found" });
    }
    return record;
  }

  /** Every message an instance produced, in step order (the retries of a step in send order). */
  async history(correlationId: string): Promise<JournalMessage[]> {
    await this.status(correlationId);
    return this.#journal().history(correlationId);
  }

  /**
   * Every failed attempt of an instance's messages, in step order (then retries): when it failed,
   * which action threw (`where`: `scanning.do_action ./actions.ts#VirusScan`), the error and the
   * frames of your code, and whether it was retried or failed the instance. An attempt with steps
   * `s` and retries `r` belongs between the history's messages `(s, r)` and `(s, r + 1)`.
   *
   * @example
   * ```ts
   * for (const a of await sy.attempts(id)) console.log(new Date(a.at), a.where, a.error);
   * ```
   */
  async attempts(correlationId: string): Promise<JournalAttempt[]> {
    await this.status(correlationId);
    return this.#journal().attempts(correlationId);
  }

  /** Every metrics emission of an instance's processings, in order. */
  errors(correlationId: string): Promise<JournalErrors[]> {
    return this.#journal().errors(correlationId);
  }

  /**
   * Instances, most recently started first (ties by id); all of them without `limit`. `after`
   * continues after a position: see {@link listPage} for pages with the cursor of the next.
   */
  list(options: ListOptions = {}): Promise<InstanceRecord[]> {
    return this.#journal().list(options);
  }

  /**
   * One page of instances, most recently started first (ties by id), and the cursor of the next
   * page (`undefined` on the last). Pass that cursor as `after` with the same filters: instances
   * started in the same millisecond are neither skipped nor repeated, and one that changed or went
   * away since does not move the boundary. A cursor that is not one is a {@link UsageError}
   * (`invalid_cursor`).
   *
   * @example
   * ```ts
   * let after: string | undefined;
   * do {
   *   const page = await sy.listPage({ status: "failed", limit: 100, after });
   *   for (const r of page.instances) console.log(r.correlationId);
   *   after = page.next;
   * } while (after !== undefined);
   * ```
   */
  listPage(options: ListPageOptions = {}): Promise<ListPage> {
    return listPage(this.#journal(), options);
  }

  /**
   * Start one instance and process its messages (waiting out retry backoffs) until it completes or
   * fails, or stops in a non-final state with nothing left to process. Only its own messages: every
   * stream and retry source must filter by instance (sqlite, postgres, dynamodb), so other
   * instances in a shared store are left alone; over any other source it throws a
   * {@link UsageError} before starting anything.
   */
  async run(machineName: string, options: StartOptions & Pick<WorkerOptions, "concurrency"> = {}): Promise<RunResult> {
    this.#journal();
    refuseUnfilteredSources(this.sources, "run");
    const { correlationId } = await this.start(machineName, options);
    const worker = this.worker({
      concurrency: options.concurrency ?? 1,
      correlationId,
      stopWhenIdle: async () => {
        const record = await this.#journal().getInstance(correlationId);
        if (record?.status === "completed" || record?.status === "failed" || record?.status === "aborted") return true;
        const pending = await this.pending(correlationId);
        // A waiting (or paused) instance rests: what is pending for it is its timer, or a parked
        // message, which run does not wait out. An event sent meanwhile is pending and runs.
        if ((record?.status === "waiting" || record?.status === "paused") && pending <= (record.status === "waiting" ? this.#timersOf(record) : 0)) return true;
        return pending === 0;
      },
    });
    await worker.run();
    const record = await this.status(correlationId);
    return {
      correlation_id: correlationId,
      machine_name: record.machineName,
      status: record.status,
      state: record.state,
      user_context: record.userContext,
      messages: await this.history(correlationId),
      attempts: await this.attempts(correlationId),
      errors: await this.errors(correlationId),
      reason: record.reason,
    };
  }

  /** 1 when the instance waits in a state with an `after:` timer (its timer message is pending), else 0. */
  #timersOf(record: InstanceRecord): number {
    const machine = this.definitions.machines.get(record.machineName);
    return machine !== undefined && timerOf(machine, record.state) !== undefined ? 1 : 0;
  }

  /**
   * Messages waiting in the sources (of one instance, or all). Sources that cannot count report
   * nothing, so this is a lower bound for them.
   */
  async pending(correlationId?: string): Promise<number> {
    let total = 0;
    for (const source of this.sources) total += (await source.pending?.(correlationId)) ?? 0;
    return total;
  }

  /**
   * Error counters summed per machine, state and event, from the primary metrics backend; throws a
   * UsageError (code `metrics_not_queryable`) when that backend does not keep emissions (e.g. `log:`).
   */
  async metrics(filter: MetricsFilter = {}): Promise<MetricsTotal[]> {
    const port = this.roles.metrics?.primary;
    if (port === undefined || !("totals" in port)) {
      throw new UsageError(`the metrics backend ${port?.uri ?? "(switched off)"} does not keep emissions to query; use a sqlite: or postgres:// URI for metrics`, {
        code: "metrics_not_queryable",
      });
    }
    return (port as MetricsPort & MetricsQuery).totals(filter);
  }

  /**
   * What the instances did, from the journal: per machine, the instances that ended since
   * `since` (completed, failed, aborted) and those running, waiting or paused now; per machine and
   * state, how many processings were timed and the nearest-rank p50, p90, p99 and maximum of their
   * step latency in milliseconds (from a message falling due to the instance's next message, or
   * to its end: exact definitions in `docs/cli.md#metrics`). On Redis and DynamoDB the journal
   * reads at most the 10,000 most recently started instances and sets `capped` when it stopped
   * there.
   *
   * @example
   * ```ts
   * const { states } = await sy.activity({ machineName: "order", since: Date.now() - 3_600_000 });
   * for (const s of states) console.log(s.state, s.processed, s.p99);
   * ```
   */
  activity(filter: ActivityFilter = {}): Promise<Activity> {
    return this.#journal().activity(filter);
  }

  /**
   * Where instances rest: how many of each machine (of `machineName` when given), version, state
   * and status as users see it (`paused` apart from `running` and `waiting`), sorted by machine,
   * version (unversioned first), state and status. One query on SQLite and PostgreSQL; on Redis and
   * DynamoDB the journal counts at most the 10,000 most recently started instances and sets
   * `capped` when it stopped there.
   *
   * @example
   * ```ts
   * const { counts } = await sy.stateCounts("order");
   * for (const c of counts) console.log(c.state, c.status, c.count);
   * ```
   */
  stateCounts(machineName?: string): Promise<StateCounts> {
    return this.#journal().stateCounts(machineName === undefined ? {} : { machineName });
  }

  /** Messages that could not be processed, newest first, from every stream and retry backend. */
  async deadLetters(limit = 100): Promise<DeadLetter[]> {
    const all = (await Promise.all(this.#opened.deadLetters.map((store) => store.list(limit)))).flat();
    // A Kinesis stream's dead letters live in the checkpoint role's store, which may list them too.
    const unique = new Map(all.map((letter) => [`${letter.sourceUri}\u0000${letter.id}\u0000${letter.messageId}\u0000${letter.deadAt}`, letter]));
    return [...unique.values()].sort((a, b) => b.deadAt - a.deadAt || b.id - a.id).slice(0, limit);
  }

  /**
   * Send dead letters again once their cause is fixed, and remove each once its send succeeded:
   * one by `id` (with its `sourceUri` when several stores are configured), or `all`. One result
   * per letter, oldest first; a letter whose send failed stays, with the error in its result.
   * At least once: a duplicate of a step already taken is dropped by the engine (see
   * `docs/operations.md`).
   *
   * @example
   * ```ts
   * for (const r of await sy.redriveDeadLetters({ all: true })) if (!r.ok) console.error(r.id, r.error.message);
   * ```
   */
  redriveDeadLetters(options: DeadLetterRedriveOptions): Promise<DeadLetterRedriveResult[]> {
    return redriveDeadLetters({ ...this.#starter(), deadLetters: this.#opened.deadLetters }, options);
  }

  /** Close every backend. */
  close(): Promise<void> {
    return this.#opened.close();
  }

  #journal(): JournalPort {
    const journal = this.roles.journal;
    if (journal === undefined) {
      throw new UsageError("the instance journal is switched off (journal: false in the settings); status, history, run and activity need it", {
        code: "journal_off",
      });
    }
    return journal;
  }
}
