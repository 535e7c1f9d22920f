/**
 * A machine's version identity (SPEC §10): its normalized document, and the content hash of that
 * document that instances are pinned to.
 *
 * The hash covers what changes how an instance runs: states, transitions, action references,
 * `max_retries` and `on_abort`. It leaves out the order things were written in, the YAML formatting,
 * the `version:` label and the `migrate:` entries, so relabelling a machine or adding a migration to
 * it does not make a new version.
 */
import { createHash } from "node:crypto";
import { DEFAULT_MAX_RETRIES, TIMER_EVENT } from "../core/message.js";
import type { TaskDefinition, TaskDocument } from "../core/task.js";
import type {
  MachineDefinition,
  MachineDocument,
  MigrationDocument,
  StateDefinition,
  StateDocument,
  TransitionDefinition,
  TransitionDocument,
} from "./types.js";

/** A resolved machine before its version is known: everything but `version` and `document`. */
export type UnversionedMachine = Omit<MachineDefinition, "version" | "document">;

/** How many hex digits of the sha256 a version keeps. */
const VERSION_DIGITS = 16;

/**
 * The normalized document of a resolved machine, as the definition registry stores it: states and
 * transitions in their written order, every action as its reference (`Action.name`: the reference as
 * written in YAML, the function's or class's name in code), `max_retries` explicit, and `initial`,
 * `final`, `local` only when true.
 */
export function machineDocument(machine: UnversionedMachine): MachineDocument {
  const states = [...machine.states.values()].map(stateDocument);
  const migrate = machine.migrations.map((migration): MigrationDocument => {
    const entry: { from: string; states?: Record<string, string>; action?: string } = { from: migration.from };
    if (migration.states.size > 0) entry.states = Object.fromEntries(migration.states);
    if (migration.action !== undefined) entry.action = migration.action.name;
    return entry;
  });
  return {
    name: machine.name,
    ...(machine.label === undefined ? {} : { version: machine.label }),
    max_retries: machine.maxRetries,
    ...(machine.onAbort === undefined ? {} : { on_abort: machine.onAbort }),
    states,
    ...(migrate.length === 0 ? {} : { migrate }),
  };
}

function stateDocument(state: StateDefinition): StateDocument {
  const transitions = [...state.transitions.values()].filter((transition) => transition.ofTask !== true).map(transitionDocument);
  return {
    name: state.name,
    ...(state.initial ? { initial: true as const } : {}),
    ...(state.final ? { final: true as const } : {}),
    ...(state.entryAction === undefined ? {} : { entry_action: state.entryAction.name }),
    // A task state's do action is the built-in one that starts its task: the document has the task.
    ...(state.doAction === undefined || state.task !== undefined ? {} : { do_action: state.doAction.name }),
    ...(state.exitAction === undefined ? {} : { exit_action: state.exitAction.name }),
    ...(state.task === undefined ? {} : { task: taskDocument(state.task) }),
    ...(transitions.length === 0 ? {} : { transitions }),
  };
}

/** A task as its YAML form: the kind's key, then `cwd`, `env`, `timeout`, `heartbeat` where given. */
function taskDocument(task: TaskDefinition): TaskDocument {
  const common = {
    ...(task.kind === "ecs" || task.env === undefined ? {} : { env: task.env }),
    ...(task.timeoutSeconds === undefined ? {} : { timeout: `${task.timeoutSeconds}s` }),
    ...(task.heartbeatSeconds === undefined ? {} : { heartbeat: `${task.heartbeatSeconds}s` }),
  };
  if (task.kind === "command") return { command: task.command, ...(task.cwd === undefined ? {} : { cwd: task.cwd }), ...common };
  if (task.kind === "docker") return { docker: { image: task.image, ...(task.args === undefined ? {} : { args: task.args }) }, ...common };
  const ecs = {
    cluster: task.cluster,
    task_definition: task.taskDefinition,
    container: task.container,
    ...(task.launchType === undefined ? {} : { launch_type: task.launchType }),
    ...(task.networkConfiguration === undefined ? {} : { network_configuration: task.networkConfiguration }),
    ...(task.overrides === undefined ? {} : { overrides: task.overrides }),
  };
  return { ecs, ...common };
}

function transitionDocument(transition: TransitionDefinition): TransitionDocument {
  const action = transition.action === undefined ? {} : { action: transition.action.name };
  if (transition.event === TIMER_EVENT && transition.afterSeconds !== undefined) {
    return { after: transition.after ?? `${transition.afterSeconds}s`, target: transition.target, ...action };
  }
  return { event: transition.event, target: transition.target, ...action, ...(transition.local ? { local: true as const } : {}) };
}

/**
 * The version of a machine: the first 16 hex digits of the sha256 of its document's canonical JSON.
 * That JSON leaves out `version` and `migrate`, sorts object keys, states by name and each state's
 * transitions by event (a timer after every event), and fills in what a document may leave implicit
 * (`max_retries` 5, `initial`/`final`/`local` false, no transitions), so equal machines hash equally
 * however they were written.
 *
 * @example
 * ```ts
 * machineVersion(definitions.get("order").document); // "3f9c0a6e1b2d4c58"
 * ```
 */
export function machineVersion(document: MachineDocument): string {
  return createHash("sha256").update(canonicalJson(hashed(document))).digest("hex").slice(0, VERSION_DIGITS);
}

/** A resolved machine with its document and version filled in. */
export function withVersion(machine: UnversionedMachine): MachineDefinition {
  const document = machineDocument(machine);
  return { ...machine, version: machineVersion(document), document };
}

/** What the version covers of a document, normalized and in canonical order. */
function hashed(document: MachineDocument): unknown {
  const states = [...document.states].sort((a, b) => compare(a.name, b.name));
  return {
    name: document.name,
    max_retries: document.max_retries ?? DEFAULT_MAX_RETRIES,
    on_abort: document.on_abort,
    states: states.map((state) => ({
      name: state.name,
      initial: state.initial === true || undefined,
      final: state.final === true || undefined,
      entry_action: state.entry_action,
      do_action: state.do_action,
      exit_action: state.exit_action,
      task: state.task,
      transitions: state.transitions?.length ? [...state.transitions].sort(byEvent).map(hashedTransition) : undefined,
    })),
  };
}

function hashedTransition(transition: TransitionDocument): unknown {
  return {
    event: transition.event,
    after: transition.after,
    target: transition.target,
    action: transition.action,
    local: transition.local === true || undefined,
  };
}

/** Events in code-unit order (the same on every machine and locale), a timer after them all. */
function byEvent(a: TransitionDocument, b: TransitionDocument): number {
  if (a.event === undefined || b.event === undefined) return (a.event === undefined ? 1 : 0) - (b.event === undefined ? 1 : 0);
  return compare(a.event, b.event);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** JSON with object keys sorted and undefined members left out, at every depth. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const members = Object.keys(value)
      .sort(compare)
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${members.join(",")}}`;
  }
  return JSON.stringify(value);
}
