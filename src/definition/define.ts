/** Machines defined in code instead of YAML. */
import { DefinitionErrors } from "../errors.js";
import type { ActionRegistry } from "./actions.js";
import { compileSource } from "./compile.js";
import { codeSource } from "./source.js";
import type { DefinitionConfig, DefinitionSet } from "./types.js";

/** Options of {@link defineMachines}. */
export interface DefineMachinesOptions {
  /** The directory that action references and imports are relative to; default the working directory. */
  readonly baseDir?: string | undefined;
  /** Actions registered in code; a reference naming one resolves to it first. */
  readonly actions?: ActionRegistry | undefined;
  /** A name for this definition in messages (e.g. the file that holds it). */
  readonly file?: string | undefined;
}

/**
 * Resolve and check machines given in code: the same checks as a YAML file, with actions given as
 * references or directly as functions and classes (see also the typed builder `defineMachine`).
 *
 * @throws DefinitionErrors holding every problem found.
 * @example
 * ```ts
 * const definitions = await defineMachines({ machines: [orderMachine, { import: "./shipping.yaml" }] });
 * ```
 */
export async function defineMachines(config: DefinitionConfig, options: DefineMachinesOptions = {}): Promise<DefinitionSet> {
  const source = codeSource(config, options.baseDir ?? process.cwd(), options.file);
  const { set, problems } = await compileSource(source, { actions: options.actions });
  if (set === undefined) throw new DefinitionErrors(problems);
  return set;
}
