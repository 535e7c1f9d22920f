/**
 * Action references: `path/to/module#ExportName` (relative to the definition file), the seed's dotted
 * form `path.to.module.ExportName`, or the name of an action registered in code.
 */
import { statSync } from "node:fs";
import path from "node:path";
import { type Action, type ActionExport, toAction } from "../core/action.js";
import { importModule } from "./import-module.js";
import { hint } from "./suggest.js";
import { ensureLoaderFor } from "./typescript-loader.js";

/**
 * Actions registered in code, by name. A reference that names a registered action resolves to it
 * before any module is looked up, so bundled code (e.g. a Lambda) can run a YAML definition whose
 * modules are not on disk.
 *
 * @example
 * ```ts
 * const actions = new ActionRegistry().register("./actions.ts#Log", Log).register("Charge", Charge);
 * const set = await loadDefinitionFile("fsm.yaml", { actions });
 * ```
 */
export class ActionRegistry {
  readonly #actions = new Map<string, ActionExport>();

  /**
   * Register `exported` (a function or a class with `execute`) under `name`; an action typed by its
   * user context (`ActionContext<Expense>`) is accepted as it is.
   */
  register<TData extends object>(name: string, exported: ActionExport<TData>): this {
    // The registry serves YAML references, which carry no data type.
    this.#actions.set(name, exported as unknown as ActionExport);
    return this;
  }

  /** The action registered under `name`, if any. */
  get(name: string): ActionExport | undefined {
    return this.#actions.get(name);
  }
}

/** Extensions tried for a dotted reference's module, and for a `#` reference written without one. */
const MODULE_EXTENSIONS = [".ts", ".mts", ".js", ".mjs"] as const;

/** A reference split into the module it names and the export within it. */
export interface ModuleReference {
  /** The module as written (`./actions.ts`), or for a dotted reference its path form (`lib/actions`). */
  readonly module: string;
  readonly exportName: string;
}

/**
 * Split a reference into module and export: `./a/b.ts#Log` or `a.b.Log`; undefined for a plain name
 * (which can only be a registered action).
 */
export function parseActionReference(reference: string): ModuleReference | undefined {
  const hash = reference.lastIndexOf("#");
  if (hash >= 0) return { module: reference.slice(0, hash), exportName: reference.slice(hash + 1) };
  // A path without `#` is not a reference: `./actions.Log` would be ambiguous.
  if (reference.startsWith(".") || reference.includes("/")) return undefined;
  const dot = reference.lastIndexOf(".");
  if (dot < 0) return undefined;
  return { module: reference.slice(0, dot).replaceAll(".", "/"), exportName: reference.slice(dot + 1) };
}

/**
 * The outcome of resolving one action: the action, or why it cannot be used. `problem` is the whole
 * message (the reference, the reason and the remedy); `reason` is only why it does not resolve
 * (`module has no export "Log"`), for callers that give their own remedy.
 */
export type ActionResolution = { action: Action; problem?: undefined } | { action?: undefined; problem: string; reason: string };

/**
 * Resolves the actions of one definition load. Each distinct reference (and each export given in
 * code) becomes one {@link Action}, constructed once and shared by every use of that reference.
 */
export class ActionResolver {
  readonly #registry: ActionRegistry | undefined;
  /** Resolutions by export given in code, or by `baseDir` and reference. */
  readonly #resolved = new Map<unknown, Promise<ActionResolution>>();

  constructor(registry?: ActionRegistry) {
    this.#registry = registry;
  }

  /** Resolve an action given in code (a function or class) or by reference relative to `baseDir`. */
  resolve(config: string | ActionExport, baseDir: string): Promise<ActionResolution> {
    const key = typeof config === "string" ? `${baseDir}#${config}` : config;
    let resolution = this.#resolved.get(key);
    if (resolution === undefined) {
      resolution = this.#resolve(config, baseDir);
      this.#resolved.set(key, resolution);
    }
    return resolution;
  }

  async #resolve(config: string | ActionExport, baseDir: string): Promise<ActionResolution> {
    if (typeof config !== "string") return fromExport(config.name || "anonymous action", config);
    const registered = this.#registry?.get(config);
    if (registered !== undefined) return fromExport(config, registered);
    const reference = parseActionReference(config);
    if (reference === undefined || reference.exportName === "" || reference.module === "") {
      const reason = "it is not registered and is not a module reference";
      return {
        problem: `action "${config}" is not registered and is not a module reference; write ./module.ts#${config || "Name"} or register it with ActionRegistry.register()`,
        reason,
      };
    }
    const base = path.resolve(baseDir, reference.module);
    const candidates = config.includes("#") ? [base, ...withExtensions(base)] : withExtensions(base);
    const file = candidates.find(isFile);
    if (file === undefined) {
      const tried = config.includes("#") ? base : `${base}{${MODULE_EXTENSIONS.join(",")}}`;
      const reason = `module not found (looked for ${tried})`;
      return { problem: `action "${config}": ${reason}; fix the path, which is relative to the definition file, or register the action`, reason };
    }
    let exports: Record<string, unknown>;
    try {
      await ensureLoaderFor(file, config.includes("#") ? reference.module : path.relative(baseDir, file));
    } catch (error) {
      return { problem: `action "${config}": ${(error as Error).message}`, reason: (error as Error).message };
    }
    try {
      exports = await importModule(file);
    } catch (error) {
      const reason = `cannot load module ${file}: ${error instanceof Error ? error.message.split("\n", 1)[0] : String(error)}`;
      return { problem: `action "${config}": ${reason}; fix the module`, reason };
    }
    if (!(reference.exportName in exports)) {
      const names = Object.keys(exports).sort();
      const reason = `module has no export "${reference.exportName}"`;
      return { problem: `action "${config}": ${reason}; ${hint(reference.exportName, names, "exports")}`, reason };
    }
    return fromExport(config, exports[reference.exportName]);
  }
}

function fromExport(name: string, exported: unknown): ActionResolution {
  const problem = notAnAction(exported);
  if (problem !== undefined) {
    return {
      problem: `action "${name}" is ${problem}; export a function (context, obj) => event or a class with execute(context, obj)`,
      reason: `it is ${problem}`,
    };
  }
  return { action: toAction(name, exported as ActionExport) };
}

/** Why `value` cannot be an action, or undefined when it can. */
function notAnAction(value: unknown): string | undefined {
  if (typeof value !== "function") return `a ${value === null ? "null" : typeof value}, not an action`;
  const isClass = /^class[\s{]/.test(Function.prototype.toString.call(value));
  if (isClass && typeof (value.prototype as { execute?: unknown })?.execute !== "function") {
    return "a class without an execute(context, obj) method";
  }
  return undefined;
}

function withExtensions(base: string): string[] {
  return MODULE_EXTENSIONS.map((extension) => base + extension);
}

function isFile(file: string): boolean {
  return statSync(file, { throwIfNoEntry: false })?.isFile() ?? false;
}
