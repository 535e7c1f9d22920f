/** The {@link DefinitionSet} returned by loading: machines by name, and the files they came from. */
import { UsageError } from "../errors.js";
import type { DefinitionSet, MachineDefinition } from "./types.js";

/**
 * A set of resolved machines. `origin` (the entry file, if any) names the definition in the error
 * thrown for an unknown machine.
 */
export function createDefinitionSet(
  machines: ReadonlyMap<string, MachineDefinition>,
  files: readonly string[],
  origin: string | undefined,
): DefinitionSet {
  return {
    machines,
    files,
    get(name) {
      const machine = machines.get(name);
      if (machine !== undefined) return machine;
      const where = origin === undefined ? "" : ` in ${origin}`;
      const known = [...machines.keys()].join(", ") || "none";
      throw new UsageError(`unknown machine "${name}"${where}; known machines: ${known}`, { code: "unknown_machine" });
    },
  };
}
