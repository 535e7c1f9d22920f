/**
 * The resolved machine the engine runs: states, transitions and loaded actions. The definition
 * layer (`definition/`) builds these from YAML or the TypeScript builder and validates them; the
 * core plans transitions over them. They live here, below both, so the core never imports the
 * definition layer.
 */
import type { SourceLocation } from "../errors.js";
import type { Action } from "./action.js";
import type { Duration } from "./duration.js";
import type { EcsTaskDefinition, TaskDefinition, TaskDocument } from "./task.js";

/**
 * A resolved transition. A timer transition (`after: 48h`) is kept under the event `pseudo_timer`
 * (`TIMER_EVENT`) and is the only kind with `afterSeconds`.
 */
export interface TransitionDefinition {
  /** The event that takes it; `pseudo_timer` for a timer transition. */
  readonly event: string;
  readonly source: string;
  readonly target: string;
  readonly action?: Action | undefined;
  readonly local: boolean;
  /**
   * Timer transitions only: the delay in seconds. The timer is scheduled when an instance starts
   * waiting in the source state and fires only if the instance still waits there.
   */
  readonly afterSeconds?: number | undefined;
  /** Timer transitions only: the delay as written (`48h`), for diagrams and messages. */
  readonly after?: Duration | undefined;
  /**
   * True for the timer a task's `timeout`/`heartbeat` makes (on the `task_timeout` transition's
   * target and action): it is part of the task, not of the document's transitions.
   */
  readonly ofTask?: true | undefined;
  readonly location?: SourceLocation | undefined;
}

/** A resolved state. */
export interface StateDefinition {
  readonly name: string;
  readonly initial: boolean;
  readonly final: boolean;
  readonly entryAction?: Action | undefined;
  readonly doAction?: Action | undefined;
  readonly exitAction?: Action | undefined;
  /**
   * The task the state runs instead of a `do_action` (its `doAction` is then the built-in action
   * that starts it; a `timeout`/`heartbeat` is its timer transition, on the `task_timeout` target).
   */
  readonly task?: TaskDefinition | undefined;
  /** Transitions by event; a timer transition under `pseudo_timer`. */
  readonly transitions: ReadonlyMap<string, TransitionDefinition>;
  readonly location?: SourceLocation | undefined;
}

/** A resolved machine. Its `states` do not include the pseudo-states; the core adds those. */
export interface MachineDefinition {
  readonly name: string;
  readonly maxRetries: number;
  readonly initialState: string;
  readonly states: ReadonlyMap<string, StateDefinition>;
  /**
   * The compensation state (`on_abort`), never the initial state. When an operator aborts an
   * instance, it leaves its current state through that state's `exit_action`, enters this state and
   * runs its `entry_action` and `do_action` (the compensation), and ends `aborted`. If that
   * `do_action` returns an event, the instance goes on through normal transitions until a final
   * state, and still ends `aborted`. Without it, an abort runs no action.
   */
  readonly onAbort?: string | undefined;
  /** True when a state runs a task: the engine then hands the task launcher to the actions. */
  readonly hasTasks?: true | undefined;
  readonly location?: SourceLocation | undefined;
  /**
   * The version (SPEC §10): a content hash (16 hex digits) of the normalized definition — states,
   * transitions, action references and options, but not the label nor the `migrate:` entries.
   * Every instance is pinned to the version it started with.
   */
  readonly version: string;
  /** The human label of this version (`version: 2025-11-orders`), if the definition gives one. */
  readonly label?: string | undefined;
  /** The `migrate:` entries: how instances of earlier versions move to this one. */
  readonly migrations: readonly MigrationDefinition[];
  /** The normalized definition the version hashes, as the definition registry stores it. */
  readonly document: MachineDocument;
}

/**
 * A `migrate:` entry: instances of version `from` (a hash or a label) move to the machine's version,
 * their state renamed through `states` (a state not named keeps its name) and their user context
 * passed through `action` (its `do`-style result is ignored; it changes `context.data`).
 */
export interface MigrationDefinition {
  readonly from: string;
  readonly states: ReadonlyMap<string, string>;
  readonly action?: Action | undefined;
  readonly location?: SourceLocation | undefined;
}

/**
 * A machine as the definition registry stores it: its YAML form with every action as its
 * reference, JSON only. Compiling it again (with the actions of the current code) gives back the
 * same machine and version.
 */
export interface MachineDocument {
  readonly name: string;
  readonly version?: string | undefined;
  readonly max_retries: number;
  readonly on_abort?: string | undefined;
  readonly states: readonly StateDocument[];
  readonly migrate?: readonly MigrationDocument[] | undefined;
}

/** A state of a {@link MachineDocument}. */
export interface StateDocument {
  readonly name: string;
  readonly initial?: true | undefined;
  readonly final?: true | undefined;
  readonly entry_action?: string | undefined;
  readonly do_action?: string | undefined;
  readonly exit_action?: string | undefined;
  readonly task?: TaskDocument | undefined;
  readonly transitions?: readonly TransitionDocument[] | undefined;
}

/** A transition of a {@link StateDocument}: `event` or (a timer) `after`. */
export interface TransitionDocument {
  readonly event?: string | undefined;
  readonly after?: string | undefined;
  readonly target: string;
  readonly action?: string | undefined;
  readonly local?: true | undefined;
}

/** A `migrate:` entry of a {@link MachineDocument}. */
export interface MigrationDocument {
  readonly from: string;
  readonly states?: Readonly<Record<string, string>> | undefined;
  readonly action?: string | undefined;
}

/** All machines loaded from a file and its imports. */
export interface DefinitionSet {
  readonly machines: ReadonlyMap<string, MachineDefinition>;
  /** Every file read, the entry file first. */
  readonly files: readonly string[];
  /** The machine called `name`; throws a `UsageError` naming the known machines otherwise. */
  get(name: string): MachineDefinition;
  /**
   * Compile a registered version (SPEC §10) with this set's actions and base directory: the
   * machine, or the problems (an action reference that no longer resolves). Absent on sets built
   * by hand, which then run their own versions only.
   */
  compileDocument?(document: MachineDocument): Promise<{ readonly machine?: MachineDefinition | undefined; readonly problems: readonly Error[] }>;
}

/** The `ecs:` tasks of the machines' states: what a stack lets the function start, and what Lambda's timer watches. */
export function ecsTasksOf(definitions: DefinitionSet): EcsTaskDefinition[] {
  return [...definitions.machines.values()].flatMap((machine) =>
    [...machine.states.values()].flatMap((state) => (state.task?.kind === "ecs" ? [state.task as EcsTaskDefinition] : [])),
  );
}
