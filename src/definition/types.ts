/**
 * Machine definitions: `*Config` is what a user writes (YAML or the TypeScript builder), `*Definition`
 * is the resolved, validated form the engine runs (defined in `core/machine.ts`, re-exported here).
 */
import type { ActionExport } from "../core/action.js";

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

export type { DefinitionSet, MachineDefinition, StateDefinition, TransitionDefinition } from "../core/machine.js";
