/**
 * The shape check: walks a definition value (parsed YAML or an in-code config) and turns it into
 * drafts that keep every item's location, reporting unknown keys, missing names and wrong types.
 */
import { parseDuration } from "../core/duration.js";
import { DEFAULT_MAX_RETRIES, PSEUDO_FINAL, PSEUDO_INIT, RESERVED_PREFIX, TIMER_EVENT } from "../core/message.js";
import { TASK_KINDS, type TaskDefinition } from "../core/task.js";
import { DefinitionError, type SourceLocation } from "../errors.js";
import type { DefinitionSource, ValuePath } from "./source.js";
import { hint } from "./suggest.js";
import type { ActionConfig } from "./types.js";

/** A value and where it was written. */
export interface Located<T> {
  readonly value: T;
  readonly at: SourceLocation | undefined;
}

/** An action as written, with its location. */
export type DraftAction = Located<ActionConfig>;

/** The delay of a timer transition as written; `seconds` is undefined when it is not a valid duration. */
export interface DraftDelay {
  readonly written: unknown;
  readonly seconds: number | undefined;
  readonly at: SourceLocation | undefined;
}

/**
 * A transition that passed the shape check (fields that failed it are left out). A timer
 * transition has `after` and no `event`; the shape check reports a transition with both or neither.
 */
export interface DraftTransition {
  /** How messages name it: `transition "go" of state "s1"`, `transition after 48h of state "s1"`. */
  readonly label: string;
  readonly event: Located<string> | undefined;
  readonly after: DraftDelay | undefined;
  readonly target: Located<string> | undefined;
  readonly action: DraftAction | undefined;
  readonly local: boolean;
  readonly at: SourceLocation | undefined;
}

/** A state that passed the shape check (fields that failed it are left out). */
export interface DraftState {
  /** How messages name it: `state "s1"`. */
  readonly label: string;
  readonly name: Located<string> | undefined;
  /** Where `initial: true` was written, if it was. */
  readonly initial: Located<true> | undefined;
  readonly final: boolean;
  readonly entryAction: DraftAction | undefined;
  readonly doAction: DraftAction | undefined;
  readonly exitAction: DraftAction | undefined;
  /** The `task:` when it passed its checks. */
  readonly task: DraftTask | undefined;
  readonly transitions: readonly DraftTransition[];
  readonly at: SourceLocation | undefined;
}

/** A state's `task:` that passed the shape check: its resolved form (but its base folder). */
export interface DraftTask {
  readonly value: DistributiveOmit<TaskDefinition, "baseDir">;
  readonly at: SourceLocation | undefined;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** One `old: new` pair of a `migrate:` entry's `states`. */
export interface DraftStateMapping {
  readonly from: Located<string>;
  readonly to: Located<string>;
}

/** A `migrate:` entry that passed the shape check (fields that failed it are left out). */
export interface DraftMigration {
  /** How messages name it: `migrate entry from "v1" of machine "order"`. */
  readonly label: string;
  readonly from: Located<string> | undefined;
  /** The state mappings in written order (their targets are checked by the graph check). */
  readonly states: readonly DraftStateMapping[];
  readonly action: DraftAction | undefined;
  readonly at: SourceLocation | undefined;
}

/** A machine that passed the shape check; `states` is undefined when it is missing or not a list. */
export interface DraftMachine {
  /** How messages name it: `machine "order"`. */
  readonly label: string;
  readonly name: Located<string> | undefined;
  readonly maxRetries: number;
  /** The `on_abort` state as written (checked against the states by the graph check). */
  readonly onAbort: Located<string> | undefined;
  /** The `version:` label as written. */
  readonly versionLabel: Located<string> | undefined;
  readonly states: readonly DraftState[] | undefined;
  readonly migrations: readonly DraftMigration[];
  readonly at: SourceLocation | undefined;
  readonly source: DefinitionSource;
}

/** One entry of a `machines` list. */
export type DraftEntry =
  | { readonly kind: "machine"; readonly machine: DraftMachine }
  | { readonly kind: "import"; readonly path: Located<string> };

const ROOT_KEYS = ["machines"];
const IMPORT_KEYS = ["import"];
const MACHINE_KEYS = ["name", "version", "max_retries", "on_abort", "states", "migrate"];
const STATE_KEYS = ["name", "initial", "final", "entry_action", "do_action", "exit_action", "task", "transitions"];
const TASK_KEYS = ["command", "cwd", "env", "docker", "ecs", "timeout", "heartbeat"];
const DOCKER_KEYS = ["image", "args"];
const ECS_KEYS = ["cluster", "task_definition", "container", "launch_type", "network_configuration", "overrides"];
const LAUNCH_TYPES = ["FARGATE", "EC2", "EXTERNAL"] as const;
const TRANSITION_KEYS = ["event", "after", "target", "action", "local"];
const MIGRATION_KEYS = ["from", "states", "action"];

/** Check the shape of one source's value; every problem found is returned, not just the first. */
export function checkShape(source: DefinitionSource): { entries: DraftEntry[]; problems: DefinitionError[] } {
  return new ShapeChecker(source).check();
}

class ShapeChecker {
  readonly #source: DefinitionSource;
  readonly #problems: DefinitionError[] = [];
  /** Machines written in code have no line numbers, so a state's label names its machine too. */
  readonly #inCode: boolean;

  constructor(source: DefinitionSource) {
    this.#source = source;
    this.#inCode = source.locate([]) === undefined;
  }

  check(): { entries: DraftEntry[]; problems: DefinitionError[] } {
    const root = this.#source.value;
    const entries: DraftEntry[] = [];
    if (!isRecord(root) || !("machines" in root)) {
      this.#report('definition has no "machines" list; start it with machines: and a list of machines', []);
    } else {
      this.#checkKeys(root, ROOT_KEYS, [], "the definition");
      if (!Array.isArray(root.machines)) {
        this.#report(`"machines" must be a list of machines and imports, got ${describe(root.machines)}`, ["machines"]);
      } else {
        root.machines.forEach((entry, index) => {
          const draft = this.#entry(entry, ["machines", index], index);
          if (draft !== undefined) entries.push(draft);
        });
      }
    }
    return { entries, problems: this.#problems };
  }

  #entry(value: unknown, at: ValuePath, index: number): DraftEntry | undefined {
    if (!isRecord(value)) {
      this.#report(`machines entry #${index + 1} must be a machine (with a name) or an import, got ${describe(value)}`, at);
      return undefined;
    }
    if ("import" in value) {
      this.#checkKeys(value, IMPORT_KEYS, at, `import #${index + 1}`);
      const path = this.#string(value, "import", at, `import #${index + 1}`, "<relative path of a definition file>");
      return path === undefined ? undefined : { kind: "import", path };
    }
    return { kind: "machine", machine: this.#machine(value, at, index) };
  }

  #machine(value: Record<string, unknown>, at: ValuePath, index: number): DraftMachine {
    const name = this.#string(value, "name", at, `machine #${index + 1}`, "<machine name>");
    const label = name ? `machine "${name.value}"` : `machine #${index + 1}`;
    this.#checkKeys(value, MACHINE_KEYS, at, label);
    let maxRetries = DEFAULT_MAX_RETRIES;
    if (value.max_retries !== undefined) {
      if (Number.isInteger(value.max_retries) && (value.max_retries as number) >= 0) {
        maxRetries = value.max_retries as number;
      } else {
        this.#report(`max_retries of ${label} must be a non-negative integer, got ${describe(value.max_retries)}`, [...at, "max_retries"]);
      }
    }
    const onAbort = value.on_abort === undefined ? undefined : this.#string(value, "on_abort", at, label, "<state name>");
    const versionLabel = value.version === undefined ? undefined : this.#label(value, "version", at, label, "<label>");
    let states: DraftState[] | undefined;
    if (value.states === undefined) {
      this.#report(`${label} has no states; add states: with a list of states`, at);
    } else if (!Array.isArray(value.states)) {
      this.#report(`states of ${label} must be a list of states, got ${describe(value.states)}`, [...at, "states"]);
    } else {
      states = value.states.flatMap((state, i) => this.#state(state, [...at, "states", i], i, label) ?? []);
    }
    let migrations: DraftMigration[] = [];
    if (value.migrate !== undefined && !Array.isArray(value.migrate)) {
      const example = "(- from: <earlier version hash or label>)";
      this.#report(`migrate of ${label} must be a list of entries ${example}, got ${describe(value.migrate)}`, [...at, "migrate"]);
    } else if (value.migrate !== undefined) {
      migrations = value.migrate.flatMap((entry, i) => this.#migration(entry, [...at, "migrate", i], i, label) ?? []);
    }
    return { label, name, maxRetries, onAbort, versionLabel, states, migrations, at: this.#locate(at), source: this.#source };
  }

  #migration(value: unknown, at: ValuePath, index: number, machine: string): DraftMigration | undefined {
    const fallback = `migrate entry #${index + 1} of ${machine}`;
    if (!isRecord(value)) {
      this.#report(`${fallback} must be a mapping with from: and states: or action:, got ${describe(value)}`, at);
      return undefined;
    }
    const from = this.#label(value, "from", at, fallback, "<earlier version hash or label>");
    const label = from ? `migrate entry from "${from.value}" of ${machine}` : fallback;
    this.#checkKeys(value, MIGRATION_KEYS, at, label);
    const states: DraftStateMapping[] = [];
    if (value.states !== undefined && !isRecord(value.states)) {
      this.#report(`states of ${label} must be a mapping of old state names to new ones, got ${describe(value.states)}`, [...at, "states"]);
    } else if (value.states !== undefined) {
      for (const [old, target] of Object.entries(value.states)) {
        const where = [...at, "states", old];
        if (typeof target !== "string" || target === "") {
          this.#report(`state "${old}" of ${label} must map to the name of a state of this machine, got ${describe(target)}`, where);
        } else {
          states.push({ from: { value: old, at: this.#locate(where, "key") }, to: { value: target, at: this.#locate(where) } });
        }
      }
    }
    return { label, from, states, action: this.#action(value, "action", at, label), at: this.#locate(at) };
  }

  #state(value: unknown, at: ValuePath, index: number, machine: string): DraftState | undefined {
    const fallback = `state #${index + 1} of ${machine}`;
    if (!isRecord(value)) {
      this.#report(`${fallback} must be a mapping with a name, got ${describe(value)}`, at);
      return undefined;
    }
    const name = this.#string(value, "name", at, fallback, "<state name>");
    if (name !== undefined && (name.value === PSEUDO_INIT || name.value === PSEUDO_FINAL)) {
      this.#report(`state name "${name.value}" is reserved for the pseudo-state every machine has; rename the state`, [...at, "name"]);
    }
    const label = name ? `state "${name.value}"${this.#inCode ? ` of ${machine}` : ""}` : fallback;
    this.#checkKeys(value, STATE_KEYS, at, label);
    const initial = this.#boolean(value, "initial", at, label);
    let transitions: DraftTransition[] = [];
    if (value.transitions !== undefined && !Array.isArray(value.transitions)) {
      this.#report(`transitions of ${label} must be a list, got ${describe(value.transitions)}`, [...at, "transitions"]);
    } else if (value.transitions !== undefined) {
      transitions = value.transitions.flatMap((t, i) => this.#transition(t, [...at, "transitions", i], i, label) ?? []);
    }
    return {
      label,
      name,
      initial: initial === true ? { value: true, at: this.#locate([...at, "initial"]) } : undefined,
      final: this.#boolean(value, "final", at, label),
      entryAction: this.#action(value, "entry_action", at, label),
      doAction: this.#action(value, "do_action", at, label),
      exitAction: this.#action(value, "exit_action", at, label),
      task: value.task === undefined ? undefined : this.#task(value, at, label),
      transitions,
      at: this.#locate(at),
    };
  }

  #transition(value: unknown, at: ValuePath, index: number, state: string): DraftTransition | undefined {
    const fallback = `transition #${index + 1} of ${state}`;
    if (!isRecord(value)) {
      this.#report(`${fallback} must be a mapping with an event and a target, got ${describe(value)}`, at);
      return undefined;
    }
    const timer = value.after !== undefined && value.event === undefined;
    const event = timer ? undefined : this.#string(value, "event", at, fallback, "<event name> (or after: <duration> for a timer)");
    if (event !== undefined) this.#checkEventName(event.value, [...at, "event"]);
    if (event !== undefined && value.after !== undefined) {
      this.#report(`transition "${event.value}" of ${state} has both event and after; keep one: a transition fires on an event or after a delay`, [...at, "after"], "key");
    }
    const after = timer ? this.#delay(value.after, [...at, "after"], fallback) : undefined;
    const label = event ? `transition "${event.value}" of ${state}` : after?.seconds !== undefined ? `transition after ${after.written} of ${state}` : fallback;
    this.#checkKeys(value, TRANSITION_KEYS, at, label);
    let local = this.#boolean(value, "local", at, label);
    if (timer && local) {
      this.#report(`${label} cannot be local: true; a timer always fires as a message of its own`, [...at, "local"]);
      local = false;
    }
    return {
      label,
      event,
      after,
      target: this.#string(value, "target", at, label, "<state name>"),
      action: this.#action(value, "action", at, label),
      local,
      at: this.#locate(at),
    };
  }

  /** A state's `task:`: exactly one kind (`command`, `docker`, `ecs`), its fields, and its durations. */
  #task(state: Record<string, unknown>, stateAt: ValuePath, owner: string): DraftTask | undefined {
    const at = [...stateAt, "task"];
    const value = state.task;
    const label = `task of ${owner}`;
    if (state.do_action !== undefined && state.do_action !== null) {
      this.#report(`${owner} has both task and do_action; keep one: a state runs either a task or a do_action`, at, "key");
    }
    if (!isRecord(value)) {
      this.#report(`${label} must be a mapping with command: [program, args…] (or docker: or ecs:), got ${describe(value)}`, at);
      return undefined;
    }
    const before = this.#problems.length;
    this.#checkKeys(value, TASK_KEYS, at, label);
    const env = value.env === undefined ? undefined : this.#stringMap(value.env, [...at, "env"], `env of ${label}`);
    const timeout = value.timeout === undefined ? undefined : this.#delay(value.timeout, [...at, "timeout"], label);
    const heartbeat = value.heartbeat === undefined ? undefined : this.#delay(value.heartbeat, [...at, "heartbeat"], label);
    const durations = {
      ...(timeout?.seconds === undefined ? {} : { timeoutSeconds: timeout.seconds }),
      ...(heartbeat?.seconds === undefined ? {} : { heartbeatSeconds: heartbeat.seconds }),
    };
    const kinds = TASK_KINDS.filter((kind) => value[kind] !== undefined);
    if (kinds.length !== 1) {
      const problem = kinds.length === 0 ? "names no task" : `names ${kinds.length} tasks (${kinds.join(", ")})`;
      this.#report(`${label} ${problem}; give exactly one of command: [program, args…], docker: {image} or ecs: {cluster, task_definition, container}`, at);
      return undefined;
    }
    const kind = kinds[0];
    if (kind !== "command" && value.cwd !== undefined) this.#report(`cwd of ${label} applies to command: only; a ${kind} task runs in its image`, [...at, "cwd"], "key");
    if (kind === "ecs" && value.env !== undefined) this.#report(`env of ${label} does not apply to ecs:; set environment variables in its overrides`, [...at, "env"], "key");
    let draft: DraftTask | undefined;
    if (kind === "command") {
      const command = this.#stringList(value.command, [...at, "command"], `command of ${label}`, true);
      const cwd = value.cwd === undefined ? undefined : this.#string(value, "cwd", at, label, "<folder>")?.value;
      if (command !== undefined) {
        const task = { kind, command, ...(cwd === undefined ? {} : { cwd }), ...(env === undefined ? {} : { env }), ...durations };
        draft = { value: task, at: this.#locate(at) };
      }
    } else if (kind === "docker") {
      draft = this.#dockerTask(value.docker, [...at, "docker"], label, env, durations);
    } else {
      draft = this.#ecsTask(value.ecs, [...at, "ecs"], label, durations);
    }
    return this.#problems.length === before ? draft : undefined;
  }

  #dockerTask(value: unknown, at: ValuePath, owner: string, env: Record<string, string> | undefined, durations: object): DraftTask | undefined {
    const label = `docker of ${owner}`;
    if (!isRecord(value)) {
      this.#report(`${label} must be a mapping with image: <image> and optional args: [..], got ${describe(value)}`, at);
      return undefined;
    }
    this.#checkKeys(value, DOCKER_KEYS, at, label);
    const image = this.#string(value, "image", at, label, "<image, e.g. node:22>")?.value;
    const args = value.args === undefined ? undefined : this.#stringList(value.args, [...at, "args"], `args of ${label}`, false);
    if (image === undefined) return undefined;
    const docker = { image, ...(args === undefined ? {} : { args }) };
    return { value: { kind: "docker", ...docker, ...(env === undefined ? {} : { env }), ...durations }, at: this.#locate(at) };
  }

  #ecsTask(value: unknown, at: ValuePath, owner: string, durations: object): DraftTask | undefined {
    const label = `ecs of ${owner}`;
    if (!isRecord(value)) {
      this.#report(`${label} must be a mapping with cluster:, task_definition: and container:, got ${describe(value)}`, at);
      return undefined;
    }
    this.#checkKeys(value, ECS_KEYS, at, label);
    const cluster = this.#string(value, "cluster", at, label, "<cluster name or ARN>")?.value;
    const taskDefinition = this.#string(value, "task_definition", at, label, "<family:revision or ARN>")?.value;
    const container = this.#string(value, "container", at, label, "<container name in the task definition>")?.value;
    let launchType: (typeof LAUNCH_TYPES)[number] | undefined;
    if (value.launch_type !== undefined) {
      if ((LAUNCH_TYPES as readonly unknown[]).includes(value.launch_type)) launchType = value.launch_type as (typeof LAUNCH_TYPES)[number];
      else this.#report(`launch_type of ${label} must be one of ${LAUNCH_TYPES.join(", ")}, got ${describe(value.launch_type)}`, [...at, "launch_type"]);
    }
    for (const key of ["network_configuration", "overrides"]) {
      if (value[key] !== undefined && !isRecord(value[key])) this.#report(`${key} of ${label} must be a mapping (as RunTask takes it), got ${describe(value[key])}`, [...at, key]);
    }
    if (cluster === undefined || taskDefinition === undefined || container === undefined) return undefined;
    const task = {
      kind: "ecs" as const,
      cluster,
      taskDefinition,
      container,
      ...(launchType === undefined ? {} : { launchType }),
      ...(isRecord(value.network_configuration) ? { networkConfiguration: value.network_configuration } : {}),
      ...(isRecord(value.overrides) ? { overrides: value.overrides } : {}),
      ...durations,
    };
    return { value: task, at: this.#locate(at) };
  }

  /** A list of strings (`nonEmpty`: with at least one), or undefined after reporting the problem. */
  #stringList(value: unknown, at: ValuePath, owner: string, nonEmpty: boolean): string[] | undefined {
    if (!Array.isArray(value) || (nonEmpty && value.length === 0)) {
      const hintText = typeof value === "string" ? `; write it as a list, e.g. [${value.split(/\s+/).map((part) => JSON.stringify(part)).join(", ")}]` : "";
      this.#report(`${owner} must be a ${nonEmpty ? "non-empty " : ""}list of strings (the program and its arguments, no shell), got ${describe(value)}${hintText}`, at);
      return undefined;
    }
    const bad = value.findIndex((item) => typeof item !== "string" || item === "");
    if (bad >= 0) {
      this.#report(`item #${bad + 1} of ${owner} must be a non-empty string, got ${describe(value[bad])}; quote numbers`, [...at, bad]);
      return undefined;
    }
    return value as string[];
  }

  /** A mapping of names to strings (`env:`), or undefined after reporting the problem. */
  #stringMap(value: unknown, at: ValuePath, owner: string): Record<string, string> | undefined {
    if (!isRecord(value)) {
      this.#report(`${owner} must be a mapping of variable names to strings, got ${describe(value)}`, at);
      return undefined;
    }
    let ok = true;
    for (const [key, item] of Object.entries(value)) {
      if (typeof item === "string") continue;
      ok = false;
      const quote = typeof item === "number" || typeof item === "boolean" ? `; quote it: ${key}: "${String(item)}"` : "";
      this.#report(`${key} of ${owner} must be a string, got ${describe(item)}${quote}`, [...at, key]);
    }
    return ok ? (value as Record<string, string>) : undefined;
  }

  /** Event names starting with `pseudo_` are Switchyard's own. */
  #checkEventName(name: string, at: ValuePath): void {
    if (!name.startsWith(RESERVED_PREFIX)) return;
    const instead = name === TIMER_EVENT ? "; for a timer write after: <duration> instead of an event" : "; rename the event";
    this.#report(`event name "${name}" is reserved: names starting with ${RESERVED_PREFIX} belong to Switchyard's own events${instead}`, at);
  }

  /** The `after` of a timer transition; a bad duration is reported and kept with no seconds. */
  #delay(written: unknown, at: ValuePath, owner: string): DraftDelay {
    const { seconds, problem } = parseDuration(written);
    if (problem !== undefined) this.#report(`${String(at[at.length - 1])} of ${owner} ${problem}`, at);
    return { written, seconds, at: this.#locate(at) };
  }

  /** A required non-empty string field. */
  #string(value: Record<string, unknown>, key: string, at: ValuePath, owner: string, example: string) {
    const field = value[key];
    if (field === undefined || field === null) {
      this.#report(`${owner} has no ${key}; add ${key}: ${example}`, at);
      return undefined;
    }
    if (typeof field !== "string" || field === "") {
      this.#report(`${key} of ${owner} must be a non-empty string, got ${describe(field)}`, [...at, key]);
      return undefined;
    }
    return { value: field, at: this.#locate([...at, key]) };
  }

  /**
   * A required label field (`version`, `from`): a non-empty string. YAML reads `version: 3` as a
   * number, so the remedy for one is to quote it.
   */
  #label(value: Record<string, unknown>, key: string, at: ValuePath, owner: string, example: string) {
    const field = value[key];
    if (typeof field === "number" || typeof field === "boolean") {
      this.#report(`${key} of ${owner} must be a non-empty string, got ${describe(field)}; quote it: ${key}: "${String(field)}"`, [...at, key]);
      return undefined;
    }
    return this.#string(value, key, at, owner, example);
  }

  /** An optional boolean field (default false). */
  #boolean(value: Record<string, unknown>, key: string, at: ValuePath, owner: string): boolean {
    const field = value[key];
    if (field === undefined || typeof field === "boolean") return field === true;
    this.#report(`${key} of ${owner} must be true or false, got ${describe(field)}`, [...at, key]);
    return false;
  }

  /** An optional action: a reference string, or (in code) a function or class. */
  #action(value: Record<string, unknown>, key: string, at: ValuePath, owner: string): DraftAction | undefined {
    const field = value[key];
    if (field === undefined || field === null) return undefined;
    if (typeof field !== "string" && typeof field !== "function") {
      this.#report(`${key} of ${owner} must be an action reference like ./actions.ts#Name, got ${describe(field)}`, [...at, key]);
      return undefined;
    }
    return { value: field as ActionConfig, at: this.#locate([...at, key]) };
  }

  #checkKeys(value: Record<string, unknown>, known: readonly string[], at: ValuePath, owner: string): void {
    for (const key of Object.keys(value)) {
      if (!known.includes(key)) {
        this.#report(`unknown key "${key}" in ${owner}; ${hint(key, known, "keys")}`, [...at, key], "key");
      }
    }
  }

  #locate(at: ValuePath, part: "key" | "value" = "value"): SourceLocation | undefined {
    return this.#source.locate(at, part);
  }

  #report(message: string, at: ValuePath, part: "key" | "value" = "value"): void {
    this.#problems.push(new DefinitionError(message, this.#locate(at, part)));
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A short description of a wrongly typed value for messages. */
function describe(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (isRecord(value)) return "a mapping";
  if (typeof value === "function") return "a function";
  return JSON.stringify(value) ?? String(value);
}
