/**
 * Machine definitions: `*Config` is what a user writes (YAML or the TypeScript builder), `*Definition`
 * is the resolved, validated form the engine runs (defined in `core/machine.ts`, re-exported here).
 */
import type { ActionExport } from "../core/action.js";
import type { Duration } from "../core/duration.js";

/** An action as written: a reference (`./actions.ts#Log`, `pkg.module.Log`, a registered name) or code. */
export type ActionConfig = string | ActionExport;

/** A transition as written: on an `event`, or (a timer) `after` a delay; exactly one of the two. */
export type TransitionConfig = EventTransitionConfig | TimerTransitionConfig;

/** A transition taken on an event. */
export interface EventTransitionConfig {
  event: string;
  after?: undefined;
  target: string;
  action?: ActionConfig | undefined;
  /** Run in the same message processing instead of a new message. */
  local?: boolean | undefined;
}

/**
 * A timer transition: taken when the instance has waited `after` (`90s`, `15m`, `48h`, `30d`, at
 * most 365d) in its state. At most one per state, none on a final state, never local.
 */
export interface TimerTransitionConfig {
  after: Duration;
  event?: undefined;
  target: string;
  action?: ActionConfig | undefined;
  local?: false | undefined;
}

/** A state as written. */
export interface StateConfig {
  name: string;
  initial?: boolean | undefined;
  final?: boolean | undefined;
  entry_action?: ActionConfig | undefined;
  do_action?: ActionConfig | undefined;
  exit_action?: ActionConfig | undefined;
  /** A task the state runs instead of a `do_action` (docs/runtimes/containers.md). */
  task?: TaskConfig | undefined;
  transitions?: TransitionConfig[] | undefined;
}

/**
 * A state's task as written: exactly one of `command` (a local process), `docker` (`docker run`)
 * or `ecs` (an ECS RunTask), with an optional `timeout` and `heartbeat` whose silence becomes the
 * event `task_timeout`.
 *
 * @example
 * ```yaml
 * task:
 *   command: [node, scripts/resize.js]
 *   cwd: .
 *   env: { SIZE: "800" }
 *   timeout: 10m
 * ```
 */
export interface TaskConfig {
  /** The program and its arguments (no shell). */
  command?: string[] | undefined;
  /** The command's working folder, relative to the definition file's folder (the default). */
  cwd?: string | undefined;
  /** Variables added to the worker's environment for the command or container. */
  env?: Record<string, string> | undefined;
  docker?: { image: string; args?: string[] | undefined } | undefined;
  ecs?:
    | {
        cluster: string;
        task_definition: string;
        container: string;
        launch_type?: "FARGATE" | "EC2" | "EXTERNAL" | undefined;
        network_configuration?: Record<string, unknown> | undefined;
        overrides?: Record<string, unknown> | undefined;
      }
    | undefined;
  /** Silence past this (`10m`) becomes the event `task_timeout`. */
  timeout?: Duration | undefined;
  /** No heartbeat (`switchyard heartbeat`) for this long becomes the event `task_timeout`. */
  heartbeat?: Duration | undefined;
}

/** A machine as written. */
export interface MachineConfig {
  name: string;
  /** Default 5. */
  max_retries?: number | undefined;
  /** The compensation state an aborted instance enters (see `MachineDefinition.onAbort`). */
  on_abort?: string | undefined;
  /**
   * A human label for this version of the machine (`2025-11-orders`); the version itself is a
   * content hash, which the label does not change (see `MachineDefinition.version`).
   */
  version?: string | undefined;
  states: StateConfig[];
  /** How instances of earlier versions move to this one. */
  migrate?: MigrationConfig[] | undefined;
}

/**
 * A `migrate:` entry: instances of the version `from` (its hash or label) move to this version, each
 * in the state `states` maps its state to (a state not named keeps its name), after `action` has
 * changed their user context.
 *
 * @example
 * ```yaml
 * migrate:
 * - from: 2025-10-orders
 *   states: { shipping: dispatching }
 *   action: ./migrations.ts#AddCarrier
 * ```
 */
export interface MigrationConfig {
  from: string;
  /** Old state name to new state name. */
  states?: Record<string, string> | undefined;
  action?: ActionConfig | undefined;
}

/** An entry of a file's `machines` list: a machine, or an import of another file's machines. */
export type MachineEntryConfig = MachineConfig | { import: string };

/** A whole definition file. */
export interface DefinitionConfig {
  machines: MachineEntryConfig[];
}

export type { Duration } from "../core/duration.js";
export type {
  DefinitionSet,
  MachineDefinition,
  MachineDocument,
  MigrationDefinition,
  MigrationDocument,
  StateDefinition,
  StateDocument,
  TransitionDefinition,
  TransitionDocument,
} from "../core/machine.js";
