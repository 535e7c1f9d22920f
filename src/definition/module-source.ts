/**
 * Definition modules: a JavaScript or TypeScript file whose `definitions` (or else `default`) export
 * holds its machines, read where a YAML file would be. TypeScript loads through the same on-demand
 * tsx registration as action modules.
 */
import { stat } from "node:fs/promises";
import path from "node:path";
import { DefinitionError } from "../errors.js";
import { createDefinitionSet } from "./definition-set.js";
import { importModule } from "./import-module.js";
import type { DefinitionSource } from "./source.js";
import { ensureLoaderFor } from "./typescript-loader.js";
import type { DefinitionSet } from "./types.js";

const DEFINITION_MODULE = /\.[cm]?[jt]s$/;

/** The exports read, in this order: the first one present holds the definitions. */
const EXPORTS = ["definitions", "default"] as const;

/** What a definitions export may be, for messages. */
const EXPECTED =
  "a definition set (defineMachines), a machine (defineMachine), a list of machines, or {machines: [...]}";

/** Whether `file` is a definition module (`.js .mjs .cjs .ts .mts .cts`) rather than YAML. */
export function isDefinitionModule(file: string): boolean {
  return DEFINITION_MODULE.test(file);
}

/**
 * What a definition module holds: a config to check (as a source with no line numbers), a set its
 * code already resolved, or the problems that keep it from being read. Problems name the file.
 */
export interface ModuleRead {
  readonly source?: DefinitionSource | undefined;
  readonly set?: DefinitionSet | undefined;
  readonly problems: DefinitionError[];
}

/**
 * Import the definition module `absoluteFile` (shown as `file`) and take its definitions export.
 * A file that cannot be read throws the `fs` error for the caller to describe, and a missing tsx
 * throws the one-line `MissingPackageError` of `ensureLoaderFor`.
 */
export async function readModuleSource(absoluteFile: string, file: string): Promise<ModuleRead> {
  await stat(absoluteFile);
  const problem = (message: string): ModuleRead => ({ problems: [new DefinitionError(message, undefined, { file })] });
  await ensureLoaderFor(absoluteFile, file);
  let exported: unknown;
  let name: string;
  try {
    const namespace = await importModule(absoluteFile);
    const found = EXPORTS.find((key) => namespace[key] !== undefined);
    if (found === undefined) {
      const names = Object.keys(namespace).sort();
      const has = names.length === 0 ? "it exports nothing" : `it exports ${names.join(", ")}`;
      return problem(`module has no "definitions" or default export (${has}); export ${EXPECTED}`);
    }
    name = found === "default" ? "default export" : `"definitions" export`;
    // `export default defineMachines(...)` without await is a promise of the set.
    exported = await namespace[found];
  } catch (error) {
    const problems = definitionProblems(error);
    if (problems !== undefined) return { problems: problems.map((p) => inFile(p, file)) };
    const reason = error instanceof Error ? error.message.split("\n", 1)[0] : String(error);
    return problem(`cannot load module: ${reason}; fix the module`);
  }
  if (isDefinitionSet(exported)) {
    const files = exported.files.length > 0 ? exported.files : [file];
    return { set: createDefinitionSet(exported.machines, files, file), problems: [] };
  }
  const value = asConfig(exported);
  if (value === undefined) {
    const yaml = typeof exported === "string" ? "; to load YAML, pass the .yaml file itself" : "";
    return problem(`the ${name} is ${describe(exported)}, not definitions; export ${EXPECTED}${yaml}`);
  }
  const source: DefinitionSource = { file, absoluteFile, baseDir: path.dirname(absoluteFile), value, locate: () => undefined };
  return { source, problems: [] };
}

/** A problem without a location, tagged with the file it is in (unless it names one already). */
export function inFile(problem: DefinitionError, file: string | undefined): DefinitionError {
  if (problem.file !== undefined || file === undefined) return problem;
  return new DefinitionError(problem.message, undefined, { file, code: problem.code, cause: problem.cause });
}

/** The `{machines: [...]}` form of an export, or undefined when it is none of the accepted shapes. */
function asConfig(exported: unknown): unknown {
  if (Array.isArray(exported)) return { machines: exported };
  if (exported === null || typeof exported !== "object") return undefined;
  if ("machines" in exported) return exported;
  if ("states" in exported) return { machines: [exported] };
  return undefined;
}

function isDefinitionSet(value: unknown): value is DefinitionSet {
  const set = value as Partial<DefinitionSet> | null;
  return typeof set === "object" && set !== null && set.machines instanceof Map && typeof set.get === "function" && Array.isArray(set.files);
}

/** The problems of a `DefinitionErrors` thrown while the module ran (e.g. by `defineMachines`). */
function definitionProblems(error: unknown): DefinitionError[] | undefined {
  // Matched by shape: the module may have loaded its own copy of the library.
  const problems = (error as { name?: unknown; problems?: unknown } | null)?.problems;
  if ((error as { name?: unknown } | null)?.name !== "DefinitionErrors" || !Array.isArray(problems)) return undefined;
  return problems.map((p: { message?: unknown; location?: DefinitionError["location"] }) =>
    p instanceof DefinitionError ? p : new DefinitionError(String(p.message), p.location),
  );
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object without machines or states";
  return `a ${typeof value}`;
}
