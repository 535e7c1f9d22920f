/** Loading a definition file (YAML or a module) into resolved machines. */
import { DefinitionErrors } from "../errors.js";
import { type LoadDefinitionOptions, compileFile } from "./compile.js";
import type { DefinitionSet } from "./types.js";

/**
 * Load a definition file, its imports and its actions: YAML, or a JavaScript/TypeScript module
 * (`.js .mjs .cjs .ts .mts .cts`) whose `definitions` export, or else its default export, is a
 * definition set (`defineMachines`), a machine (`defineMachine`), a list of machines, or
 * `{machines: [...]}`. A TypeScript module registers tsx on demand, as action modules do.
 *
 * @param file - the definition file; relative paths resolve from the working directory, and the
 *   path appears in messages as written.
 * @throws DefinitionErrors holding every problem found (each with its file; line and column where
 *   the problem was written in YAML).
 * @example
 * ```ts
 * const definitions = await loadDefinitionFile("fsm.yaml");
 * const tracer = definitions.get("tracer");
 * ```
 */
export async function loadDefinitionFile(file: string, options: LoadDefinitionOptions = {}): Promise<DefinitionSet> {
  const { set, problems } = await compileFile(file, options);
  if (set === undefined) throw new DefinitionErrors(problems);
  return set;
}
