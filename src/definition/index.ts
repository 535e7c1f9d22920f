/** Machine definitions: YAML files and in-code configs, resolved, validated and drawn. */
export { ActionRegistry, parseActionReference, type ModuleReference } from "./actions.js";
export {
  type BuilderAction,
  type BuilderMachine,
  type BuilderMigration,
  type BuilderState,
  type BuilderTimer,
  type BuilderTransition,
  defineMachine,
  type EventsOf,
  type HandledEvents,
} from "./builder.js";
export { type CompileDocumentOptions, compileDocument, type LoadDefinitionOptions } from "./compile.js";
export { checkAgainst } from "./compare.js";
export { type DefineMachinesOptions, defineMachines } from "./define.js";
export { toDot, toMermaid } from "./graph.js";
export { loadDefinitionFile } from "./load.js";
export type * from "./types.js";
export { validateDefinitionFile } from "./validate.js";
export { machineDocument, machineVersion, type UnversionedMachine } from "./version.js";
