/**
 * The resolved machine the engine runs: states, transitions and loaded actions. The definition
 * layer (`definition/`) builds these from YAML or the TypeScript builder and validates them; the
 * core plans transitions over them. They live here, below both, so the core never imports the
 * definition layer.
 */
import type { SourceLocation } from "../errors.js";
import type { Action } from "./action.js";

/** A resolved transition. */
export interface TransitionDefinition {
  readonly event: string;
  readonly source: string;
  readonly target: string;
  readonly action?: Action | undefined;
  readonly local: boolean;
  /** Set only on a timer transition (`after:`): its delay in seconds; its event is `pseudo_timer`. */
  readonly afterSeconds?: number | undefined;
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
  /** Transitions by event. */
  readonly transitions: ReadonlyMap<string, TransitionDefinition>;
  readonly location?: SourceLocation | undefined;
}

/** A resolved machine. Its `states` do not include the pseudo-states; the core adds those. */
export interface MachineDefinition {
  readonly name: string;
  readonly maxRetries: number;
  readonly initialState: string;
  /**
   * When an operator aborts an instance, it leaves its current state through that state's
   * exit_action, enters this state and runs its entry_action and do_action (compensation) and ends
   * `aborted`; if that do_action returns an event, the instance goes on through normal transitions
   * until a final state, and still ends `aborted`.
   */
  readonly onAbort?: string | undefined;
  readonly states: ReadonlyMap<string, StateDefinition>;
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
