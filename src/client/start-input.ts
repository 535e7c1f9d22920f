/**
 * Starts written as JSON, for the two surfaces that read them: the Lambda HTTP routes
 * (`POST /instances`, camelCase keys like the library) and `switchyard start --from` (JSON Lines,
 * snake_case keys like the CLI's other JSON); and a bulk start's per-item result as JSON. One
 * parser, so an item is refused with the same one-line reason on both.
 */
import { UsageError } from "../errors.js";
import type { StartItemResult, StartOptions } from "./start.js";

/** Key names of each surface (the rest are the same words in both). */
const NAMES = {
  camel: { correlationId: "correlationId" },
  snake: { correlationId: "correlation_id" },
} as const;

/** Which key names a surface uses: `camel` (HTTP, library) or `snake` (CLI). */
export type StartNaming = keyof typeof NAMES;

/** One instance to start: its machine and start options, as {@link Switchyard.startMany} takes them. */
export type StartItem = { readonly machineName: string } & StartOptions;

/** `"machine"` of a start item; `where` prefixes the refusal (`instances[3]: `, `line 7: `). */
export function machineOf(fields: Record<string, unknown>, where = ""): string {
  if (typeof fields.machine !== "string" || fields.machine === "") throw new UsageError(`${where}"machine" must be a string naming a machine`);
  return fields.machine;
}

/** `context` and the correlation id of a start; their content is checked by start, with the same one-line rules as everywhere. */
export function startOptionsOf(fields: Record<string, unknown>, naming: StartNaming, where = ""): StartOptions {
  const key = NAMES[naming].correlationId;
  const context = fields.context;
  const correlationId = fields[key];
  if (context !== undefined && (typeof context !== "object" || context === null || Array.isArray(context))) {
    throw new UsageError(`${where}"context" must be a JSON object`);
  }
  if (correlationId !== undefined && typeof correlationId !== "string") throw new UsageError(`${where}"${key}" must be a string`);
  return { context: context as Record<string, unknown> | undefined, correlationId };
}

/**
 * One start item from a parsed JSON value, `{"machine": …, "context": {…}, "<correlation id>": …}`.
 * With `onlyKnownKeys`, any other key is refused: in a file, a misspelt key (`correlationId` in a
 * snake_case file) would otherwise start the instance under a random id.
 */
export function startItemOf(value: unknown, naming: StartNaming, options: { readonly where?: string; readonly onlyKnownKeys?: boolean } = {}): StartItem {
  const where = options.where ?? "";
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new UsageError(`${where}must be a JSON object {"machine": …}`);
  const fields = value as Record<string, unknown>;
  if (options.onlyKnownKeys === true) {
    const known = ["machine", "context", NAMES[naming].correlationId];
    const unknown = Object.keys(fields).find((key) => !known.includes(key));
    if (unknown !== undefined) throw new UsageError(`${where}unknown key "${unknown}"; an item has ${known.map((key) => `"${key}"`).join(", ")}`);
  }
  return { machineName: machineOf(fields, where), ...startOptionsOf(fields, naming, where) };
}

/**
 * A bulk start's result for one item as JSON: `{ok: true, <correlation id>}`, or `{ok: false,
 * <correlation id> (when the item had one), error}`; each surface adds its own keys.
 */
export function startResultView(result: StartItemResult, naming: StartNaming): Record<string, unknown> {
  const key = NAMES[naming].correlationId;
  if (result.ok) return { ok: true, [key]: result.correlationId };
  return { ok: false, ...(result.correlationId === "" ? {} : { [key]: result.correlationId }), error: result.error.message };
}
