/**
 * Machine definitions: `*Config` is what a user writes (YAML or the TypeScript builder), `*Definition`
 * is the resolved, validated form the engine runs.
 */
import type { Action, ActionExport } from "../core/action.js";
import type { SourceLocation } from "../errors.js";

/** An action as written: a reference (`./actions.ts#Log`, `pkg.module.Log`, a registered name) or code. */
export type ActionConfig = string | ActionExport;

/** A transition as written. */
export interface TransitionConfig {
  event: string;
  target: string;
  action?: ActionConfig | undefined;
  /** Run in the same message processing instead of a new message. */
  local?: boolean | undefined;
}

/** A state as written. */
export interface StateConfig {
  name: string;
  initial?: boolean | undefined;
  final?: boolean | undefined;
  entry_action?: ActionConfig | undefined;
  do_action?: ActionConfig | undefined;
  exit_action?: ActionConfig | undefined;
  transitions?: TransitionConfig[] | undefined;
}

/** A machine as written. */
export interface MachineConfig {
  name: string;
  /** Default 5. */
  max_retries?: number | undefined;
  states: StateConfig[];
}

/** An entry of a file's `machines` list: a machine, or an import of another file's machines. */
export type MachineEntryConfig = MachineConfig | { import: string };

/** A whole definition file. */
export interface DefinitionConfig {
  machines: MachineEntryConfig[];
}

/** A resolved transition. */
export interface TransitionDefinition {
  readonly event: string;
  readonly source: string;
  readonly target: string;
  readonly action?: Action | undefined;
  readonly local: boolean;
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
