/**
 * One error hierarchy for the whole library.
 *
 * Every error carries a stable string `code` and a one-line `message` that names the thing that went
 * wrong and what to do about it. The engine tells infrastructure failures from user-code failures by
 * type, never by message text: a {@link SystemError} (or any error thrown by a port) triggers the
 * primary/secondary failover of SPEC §3; an error thrown by an action triggers a retry.
 */
/** Where a Switchyard error keeps the names of its classes (one key shared by every copy of the package). */
const CLASSES = Symbol.for("switchyard-fsm.error-classes");

/** `value instanceof checked`, by the prototype chain or by the class names a Switchyard error keeps. */
function isInstance(checked: abstract new (...args: never[]) => unknown, value: unknown): boolean {
  if (Function.prototype[Symbol.hasInstance].call(checked, value)) return true;
  const names = typeof value === "object" && value !== null ? (value as { [CLASSES]?: unknown })[CLASSES] : undefined;
  return Array.isArray(names) && names.includes(checked.name);
}

export class SwitchyardError extends Error {
  override readonly name: string = "SwitchyardError";
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    // The classes this error is an instance of, by name, for `instanceof` across copies of the
    // package: an action module that loads as CommonJS (a project without "type": "module") gets
    // its own copy, whose FatalActionError is another class than the engine's.
    const names: string[] = [];
    for (let c: unknown = new.target; typeof c === "function" && c !== Error; c = Object.getPrototypeOf(c)) names.push((c as { name: string }).name);
    Object.defineProperty(this, CLASSES, { value: names });
  }

  /**
   * `error instanceof FatalActionError` (or any Switchyard error class) holds for an error made by
   * another copy of this package too: same class name in the chain of classes that built it.
   */
  static [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: the class on the right of instanceof (a subclass inherits this method)
    return isInstance(this, value);
  }
}

/** A location in a definition file (1-based line and column). */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/**
 * A problem with a machine definition: YAML syntax, schema, references, graph shape. A problem in a
 * definition module (machines built in code) has a file but no line and column.
 */
export class DefinitionError extends SwitchyardError {
  override readonly name = "DefinitionError";
  readonly location: SourceLocation | undefined;
  /** The file the problem is in: the location's, or the module's when there is no location. */
  readonly file: string | undefined;

  constructor(message: string, location?: SourceLocation, options?: ErrorOptions & { code?: string; file?: string | undefined }) {
    super(options?.code ?? "definition", message, options);
    this.location = location;
    this.file = location?.file ?? options?.file;
  }

  /** `file:line:column: message`, the form compilers and editors understand; `file: message` without a location. */
  override toString(): string {
    if (this.location) return `${this.location.file}:${this.location.line}:${this.location.column}: ${this.message}`;
    return this.file === undefined ? this.message : `${this.file}: ${this.message}`;
  }
}

/** Several definition problems found at once (validation reports all of them, not the first). */
export class DefinitionErrors extends SwitchyardError {
  override readonly name = "DefinitionErrors";
  readonly problems: readonly DefinitionError[];

  constructor(problems: readonly DefinitionError[]) {
    const first = problems[0];
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem(s))` : "";
    super("definition", `${first ? first.toString() : "invalid definition"}${more}`);
    this.problems = problems;
  }
}

/** Bad settings: unreadable file, unknown role, malformed or unsupported backend URI, bad chaos rate. */
export class SettingsError extends SwitchyardError {
  override readonly name = "SettingsError";
  constructor(message: string, options?: ErrorOptions) {
    super("settings", message, options);
  }
}

/**
 * An optional package is not installed: a backend driver (`pg`, `ioredis`, `@aws-sdk/*`) that a
 * setting names, or `tsx` for a TypeScript action module. Install it, or change what needs it.
 */
export class MissingPackageError extends SwitchyardError {
  override readonly name = "MissingPackageError";
  /** The npm package to install. */
  readonly packageName: string;
  constructor(packageName: string, message: string, options?: ErrorOptions) {
    super("missing_package", message, options);
    this.packageName = packageName;
  }
}

/** The npm package a failed import could not find, when it is a package (not one of our own files). */
export function missingPackage(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (code !== "ERR_MODULE_NOT_FOUND" && code !== "MODULE_NOT_FOUND") return undefined;
  const specifier = /Cannot find (?:package|module) '([^']+)'/.exec(String((error as Error).message))?.[1];
  if (specifier === undefined || /^(\.|\/|[a-z]:)/i.test(specifier)) return undefined;
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** Bad user input to a command or client call: invalid JSON context, unknown machine, unknown instance. */
export class UsageError extends SwitchyardError {
  override readonly name = "UsageError";
  constructor(message: string, options?: ErrorOptions & { code?: string }) {
    super(options?.code ?? "usage", message, options);
  }
}

/**
 * An infrastructure failure: a backend could not be reached or refused an operation. The engine
 * answers these with failover (primary to secondary) rather than with user-level retries.
 */
export class SystemError extends SwitchyardError {
  override readonly name: string = "SystemError";
  constructor(message: string, options?: ErrorOptions & { code?: string }) {
    super(options?.code ?? "system", message, options);
  }
}

/** A failure injected by the `chaos` settings; a system error like any other. */
export class ChaosError extends SystemError {
  override readonly name = "ChaosError";
  constructor(target: string) {
    super(`chaos: injected failure of ${target}`, { code: "chaos" });
  }
}

/** A message that is larger than its transport accepts (SQS/SNS 256 KiB, Kinesis 1 MiB, ...). */
export class PayloadTooLargeError extends SwitchyardError {
  override readonly name = "PayloadTooLargeError";
  constructor(transport: string, size: number, limit: number) {
    super(
      "payload_too_large",
      `message of ${size} bytes exceeds the ${limit}-byte limit of ${transport}; keep large data outside the context and store a reference to it`,
    );
  }
}

/** A message that cannot be decoded into the wire format; it goes to the dead-letter store. */
export class MalformedMessageError extends SwitchyardError {
  override readonly name = "MalformedMessageError";
  constructor(message: string, options?: ErrorOptions) {
    super("malformed_message", message, options);
  }
}

/**
 * Thrown by an action to fail the current attempt without further retries: the instance is marked
 * failed at once (a `fatal` error is recorded). Part of the public API.
 *
 * @example
 * ```ts
 * if (!order.valid) throw new FatalActionError("order has no items");
 * ```
 */
export class FatalActionError extends SwitchyardError {
  override readonly name = "FatalActionError";
  constructor(message: string, options?: ErrorOptions) {
    super("fatal_action", message, options);
  }
}

/** One line for a human: the message, without a stack, whatever was thrown. */
export function describeError(error: unknown): string {
  if (error instanceof DefinitionError) return error.toString();
  if (error instanceof Error) return error.message;
  return String(error);
}
