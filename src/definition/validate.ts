/** Checking a definition file (YAML or a module) without using it (`switchyard validate`). */
import type { DefinitionError } from "../errors.js";
import { type LoadDefinitionOptions, compileFile } from "./compile.js";

/**
 * Every problem of a definition file (YAML or a module, as `loadDefinitionFile` reads them) and its
 * imports, in file order then by position; an empty list when the definition is valid. Each
 * problem's `toString()` is `file:line:column: message`, or `file: message` for machines written in
 * code, which have no line numbers.
 *
 * @example
 * ```ts
 * for (const problem of await validateDefinitionFile("fsm.yaml")) console.error(problem.toString());
 * ```
 */
export async function validateDefinitionFile(file: string, options: LoadDefinitionOptions = {}): Promise<DefinitionError[]> {
  return [...(await compileFile(file, options)).problems];
}
