/**
 * TypeScript action modules (`./actions.ts#Charge`) load without a build step: the first time a
 * definition references a `.ts`, `.mts` or `.cts` module, tsx's loader is registered (an optional peer
 * dependency). JavaScript-only users never load it.
 */
import { MissingPackageError, missingPackage } from "../errors.js";

const TYPESCRIPT_MODULE = /\.[cm]?ts$/;

/**
 * Set once a TypeScript loader is active in this process. The repository's own `bin/switchyard.js`
 * sets it too when it runs the sources through tsx, so the loader is never registered twice.
 */
const REGISTERED = Symbol.for("switchyard-fsm.typescript-loader");

type Flagged = { [REGISTERED]?: Promise<void> };

/** Whether `file` needs a TypeScript loader to be imported. */
export function isTypeScriptModule(file: string): boolean {
  return TYPESCRIPT_MODULE.test(file);
}

/**
 * Make sure `file` can be imported: a no-op for JavaScript, and for TypeScript registers tsx once per
 * process. Without tsx it throws one line naming the module (`written` is the reference as the
 * definition wrote it) unless this Node strips types itself.
 */
export function ensureLoaderFor(file: string, written: string): Promise<void> {
  if (!isTypeScriptModule(file)) return Promise.resolve();
  const global = globalThis as Flagged;
  global[REGISTERED] ??= registerTsx();
  return global[REGISTERED].catch((error: unknown) => {
    if (missingPackage(error) !== "tsx") throw error;
    if (nodeStripsTypes()) return; // Node 22.18+ and 23.6+ import plain TypeScript themselves
    throw new MissingPackageError("tsx", `install tsx to load ${written}, or compile it to JavaScript (npm install tsx)`);
  });
}

async function registerTsx(): Promise<void> {
  // Both hooks: in a project whose package.json does not say "type": "module", Node treats a .ts
  // file as CommonJS and loads it through require.
  const [esm, cjs] = await Promise.all([import("tsx/esm/api"), import("tsx/cjs/api")]);
  esm.register();
  cjs.register();
}

function nodeStripsTypes(): boolean {
  return Boolean((process.features as { typescript?: unknown }).typescript);
}
