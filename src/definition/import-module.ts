/** Importing a user module (actions, definitions) once per process, CommonJS exports included. */
import { pathToFileURL } from "node:url";

/** Modules already imported, by absolute path; a module is imported once per process. */
const modules = new Map<string, Promise<Record<string, unknown>>>();

/** The exports of the module at the absolute path `file`; call `ensureLoaderFor` first for TypeScript. */
export function importModule(file: string): Promise<Record<string, unknown>> {
  let loading = modules.get(file);
  if (loading === undefined) {
    loading = (import(pathToFileURL(file).href) as Promise<Record<string, unknown>>).then(withCommonJsExports);
    modules.set(file, loading);
  }
  return loading;
}

/**
 * A CommonJS module imported from ESM shows its `module.exports` as `default`, and its named exports
 * only when Node can detect them statically, which it cannot in transpiled code (a `.ts` file in a
 * package without `"type": "module"`). Its exports object's own keys count as exports too.
 */
function withCommonJsExports(namespace: Record<string, unknown>): Record<string, unknown> {
  const exported = namespace.default;
  if (exported === null || typeof exported !== "object" || Object.getPrototypeOf(exported) !== Object.prototype) return namespace;
  return { ...(exported as Record<string, unknown>), ...namespace };
}
