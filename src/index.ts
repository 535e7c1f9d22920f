/**
 * Switchyard: durable finite-state-machine workflows.
 *
 * The public API: open a {@link Switchyard} over definitions and settings, write actions against
 * {@link ActionContext} and {@link ActionObj}, and throw the errors exported here on purpose.
 */
export { Switchyard, type OpenOptions, type RunResult, type SwitchyardWorkerOptions } from "./client/switchyard.js";
export type { StartItemResult, StartOptions, Started } from "./client/start.js";
export { DEFAULT_PAGE_SIZE, type ListPage, type ListPageOptions, listCursor, parseListCursor } from "./client/list-page.js";
export {
  type Action,
  type ActionClass,
  type ActionContext,
  type ActionExport,
  type ActionFunction,
  type ActionObj,
  type ActionResult,
  type UserData,
  maxRetryEvent,
} from "./core/action.js";
export { ABORT_EVENT, PSEUDO_FINAL, PSEUDO_INIT, TIMER_EVENT, WIRE_VERSION, type SystemContext, type WireMessage } from "./core/message.js";
export * from "./definition/index.js";
export { Engine, type EngineOptions, type ProcessOutcome } from "./engine/engine.js";
export type { RoleBindings } from "./engine/roles.js";
export {
  ChaosError,
  DefinitionError,
  DefinitionErrors,
  FatalActionError,
  MalformedMessageError,
  MissingPackageError,
  PayloadTooLargeError,
  SettingsError,
  SwitchyardError,
  SystemError,
  UsageError,
} from "./errors.js";
export { type LogLevel, type Logger, type LoggerOptions, createLogger, silentLogger } from "./logger.js";
export type * from "./ports.js";
export { INSTANCE_STATUSES } from "./ports.js";
export { EVENT_DATA_KEY, type EventSent, type SendEventOptions } from "./client/send-event.js";
export type { HeartbeatResult, TaskContext } from "./client/report-task.js";
export { TASK_ENV } from "./client/task-launcher.js";
export { TASK_DONE_EVENT, TASK_TIMEOUT_EVENT, type TaskDefinition, type TaskDocument, type TaskKind } from "./core/task.js";
export {
  type AbortResult,
  DEFAULT_ABORT_REASON,
  DEFAULT_STALLED_AGE_MS,
  type MachinePause,
  type RecoverResult,
  type RedriveResult,
  type ResumeResult,
  type StalledInstance,
  type StalledOptions,
} from "./client/control.js";
export { REDRIVE_ALL_LIMIT, type DeadLetterRedriveOptions, type DeadLetterRedriveResult } from "./client/dead-letters.js";
export { Worker, type WorkerObserver, type WorkerOptions, type WorkerStats } from "./client/worker.js";
export { type MetricsServer, type MetricsServerOptions, WorkerMetrics, type WorkerMetricsOptions, serveMetrics } from "./client/prometheus.js";
export { DASHBOARD_TOKEN_ENV, type DashboardOptions, type DashboardServer, serveDashboard } from "./dashboard/server.js";
export { type Settings, type SettingsConfig, loadSettings } from "./settings/settings.js";
export { type ProvisionReport, provisionAll } from "./settings/provision.js";
