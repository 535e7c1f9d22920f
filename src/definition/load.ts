/** Loading a YAML definition file into resolved machines. */
import { DefinitionErrors } from "../errors.js";
import { type LoadDefinitionOptions, compileFile } from "./compile.js";
import type { DefinitionSet } from "./types.js";

/**
 * Load a YAML definition file, its imports and its actions.
 *
 * @param file - the definition file; relative paths resolve from the working directory, and the
 *   path appears in messages as written.
 * @throws DefinitionErrors holding every problem found (each with file, line and column).
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
