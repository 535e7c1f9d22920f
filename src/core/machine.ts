/**
 * The resolved machine the engine runs: states, transitions and loaded actions. The definition
 * layer (`definition/`) builds these from YAML or the TypeScript builder and validates them; the
 * core plans transitions over them. They live here, below both, so the core never imports the
 * definition layer.
 */
import type { SourceLocation } from "../errors.js";
import type { Action } from "./action.js";
import type { Duration } from "./duration.js";

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
  readonly location?: SourceLocation | undefined;
}

/** All machines loaded from a file and its imports. */
export interface DefinitionSet {
  readonly machines: ReadonlyMap<string, MachineDefinition>;
  /** Every file read, the entry file first. */
  readonly files: readonly string[];
  /** The machine called `name`; throws a `UsageError` naming the known machines otherwise. */
  get(name: string): MachineDefinition;
}
