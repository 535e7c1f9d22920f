/**
 * The definition pipeline shared by files and in-code configs: read and follow imports, check shape
 * and graph, resolve actions, and build the resolved definitions when nothing is wrong.
 */
import path from "node:path";
import type { Action } from "../core/action.js";
import type { Duration } from "../core/duration.js";
import { TIMER_EVENT } from "../core/message.js";
import { TASK_TIMEOUT_EVENT, type TaskDefinition, taskAction } from "../core/task.js";
import { DefinitionError, MissingPackageError } from "../errors.js";
import { type ActionRegistry, ActionResolver } from "./actions.js";
import { checkGraph, seeAlso } from "./check-graph.js";
import { checkShape, type DraftAction, type DraftMachine } from "./check-shape.js";
import { createDefinitionSet } from "./definition-set.js";
import { inFile, isDefinitionModule, readModuleSource } from "./module-source.js";
import { codeSource, type DefinitionSource, readYamlSource } from "./source.js";
import type {
  DefinitionSet,
  MachineDefinition,
  MachineDocument,
  MigrationDefinition,
  StateDefinition,
  TransitionDefinition,
} from "./types.js";
import { machineVersion, withVersion } from "./version.js";

/** Options shared by every way of loading a definition. */
export interface LoadDefinitionOptions {
  /** Actions registered in code; a reference naming one resolves to it before any module is tried. */
  readonly actions?: ActionRegistry | undefined;
}

/** Every problem found, and the resolved set when there were none. */
export interface CompileResult {
  readonly problems: readonly DefinitionError[];
  readonly set: DefinitionSet | undefined;
}

/**
 * Compile the definition `file` (as the user wrote it; relative paths resolve from the cwd): YAML, or
 * a JavaScript/TypeScript module that exports its machines (see `readModuleSource`).
 */
export async function compileFile(file: string, options: LoadDefinitionOptions = {}): Promise<CompileResult> {
  const compiler = new Compiler(options, file);
  const absoluteFile = path.resolve(file);
  const read = await readSource(absoluteFile, file).catch((error: unknown) => {
    if (error instanceof MissingPackageError) throw error;
    compiler.problems.push(new DefinitionError(unreadable(file, error, "check the path")));
    return undefined;
  });
  const baseDir = path.dirname(absoluteFile);
  if (read?.set !== undefined) return { problems: [], set: withRegistry(read.set, baseDir, options) };
  if (read !== undefined) await compiler.include(read, [absoluteFile]);
  return registered(await compiler.finish(), baseDir, options);
}

/**
 * The set, able to compile the versions the definition registry holds (SPEC §10) with the same
 * actions, relative references resolved from `baseDir` (the entry file's folder).
 */
export function withRegistry(set: DefinitionSet, baseDir: string, options: LoadDefinitionOptions = {}): DefinitionSet {
  return { ...set, get: set.get.bind(set), compileDocument: (document) => compileDocument(document, { baseDir, actions: options.actions }) };
}

function registered(result: CompileResult, baseDir: string, options: LoadDefinitionOptions): CompileResult {
  return result.set === undefined ? result : { problems: result.problems, set: withRegistry(result.set, baseDir, options) };
}

/** Compile an in-code config (already wrapped as a source). */
export async function compileSource(source: DefinitionSource, options: LoadDefinitionOptions = {}): Promise<CompileResult> {
  const compiler = new Compiler(options, source.file);
  await compiler.include({ source, problems: [] }, source.absoluteFile === undefined ? [] : [source.absoluteFile]);
  return registered(await compiler.finish(), source.baseDir, options);
}

/** Options of {@link compileDocument}. */
export interface CompileDocumentOptions {
  /**
   * The directory the document's action references are relative to: that of the file that defines
   * the machine, which for a machine of an imported file is the imported file's directory
   * (`path.dirname(machine.location.file)` of the machine as loaded today).
   */
  readonly baseDir: string;
  /** Actions registered in code; a reference naming one resolves to it first. */
  readonly actions?: ActionRegistry | undefined;
}

/**
 * Compile a document of the definition registry (a {@link MachineDocument}, as `MachineDefinition.document`
 * gives it) back into a machine, with the actions of the current code: the same checks as a file, each
 * action reference resolved relative to `baseDir`. The machine's version is the document's
 * (`machineVersion(document)`). A reference that no longer resolves is a problem naming the machine,
 * the version and the reference.
 *
 * @example
 * ```ts
 * const record = await journal.getDefinition("order", version);
 * const { machine, problems } = await compileDocument(record.document, { baseDir: path.dirname("fsm.yaml") });
 * ```
 */
export async function compileDocument(
  document: MachineDocument,
  options: CompileDocumentOptions,
): Promise<{ machine?: MachineDefinition; problems: DefinitionError[] }> {
  const version = machineVersion(document);
  const label = typeof document.version === "string" ? ` (${JSON.stringify(document.version)})` : "";
  const compiler = new Compiler({ actions: options.actions }, undefined, (machine, reference, reason) => {
    const subject = `${machine.label} version ${version}${label}`;
    return `${subject} uses action "${reference}", which no longer resolves: ${reason}; restore that action (its export or its registration), or migrate the instances of this version to a current one`;
  });
  await compiler.include({ source: codeSource({ machines: [document] }, options.baseDir), problems: [] }, []);
  const { set, problems } = await compiler.finish();
  const machine = set?.machines.values().next().value;
  if (machine === undefined) return { problems: [...problems] };
  if (machine.version !== version) {
    // A guard: the document's normal form is what the machine hashes, so the two agree unless they drift apart.
    const message = `machine "${machine.name}" version ${version}${label} compiles to version ${machine.version}; register the document as MachineDefinition.document gives it`;
    return { problems: [new DefinitionError(message)] };
  }
  return { machine, problems: [] };
}

/** A definition file read: its source, a set its module already resolved, or its problems. */
type SourceRead = { source?: DefinitionSource | undefined; set?: DefinitionSet | undefined; problems: DefinitionError[] };

function readSource(absoluteFile: string, file: string): Promise<SourceRead> {
  return isDefinitionModule(file) ? readModuleSource(absoluteFile, file) : readYamlSource(absoluteFile, file);
}

/** The message for an action that does not resolve, when the caller words it: see {@link compileDocument}. */
type UnresolvedMessage = (machine: DraftMachine, reference: string, reason: string) => string;

class Compiler {
  readonly problems: DefinitionError[] = [];
  readonly #options: LoadDefinitionOptions;
  readonly #origin: string | undefined;
  readonly #unresolved: UnresolvedMessage | undefined;
  readonly #files: string[] = [];
  /** Display name of every file read, by absolute path. */
  readonly #read = new Map<string, string>();
  readonly #machines: DraftMachine[] = [];

  constructor(options: LoadDefinitionOptions, origin: string | undefined, unresolved?: UnresolvedMessage) {
    this.#options = options;
    this.#origin = origin;
    this.#unresolved = unresolved;
  }

  /** Take in a file just read: its syntax errors (or a module's load problems), or else its machines and imports. */
  async include(read: SourceRead, stack: readonly string[]) {
    const { source, problems } = read;
    if (source?.file !== undefined && source.absoluteFile !== undefined) {
      this.#files.push(source.file);
      this.#read.set(source.absoluteFile, source.file);
    }
    if (problems.length > 0 || source === undefined) this.problems.push(...problems);
    else await this.collect(source, stack);
  }

  /** Check `source` and, depth first, the files it imports; `stack` holds the importing chain. */
  async collect(source: DefinitionSource, stack: readonly string[]): Promise<void> {
    const { entries, problems } = checkShape(source);
    // Code has no line numbers: its problems name the file (if any) and the machine and state.
    this.problems.push(...problems.map((problem) => inFile(problem, source.file)));
    for (const entry of entries) {
      if (entry.kind === "machine") {
        this.#machines.push(entry.machine);
        continue;
      }
      const target = path.resolve(source.baseDir, entry.path.value);
      const shown = source.file === undefined ? target : path.join(path.dirname(source.file), entry.path.value);
      if (stack.includes(target)) {
        const chain = [...stack.slice(stack.indexOf(target)), target].map((file) => this.#read.get(file) ?? file);
        this.problems.push(
          inFile(new DefinitionError(`import cycle: ${chain.join(" -> ")}; remove one of these imports`, entry.path.at), source.file),
        );
        continue;
      }
      if (this.#read.has(target)) continue; // imported twice (a diamond): its machines are in already
      const read = await readSource(target, shown).catch((error: unknown) => {
        if (error instanceof MissingPackageError) throw error;
        const remedy = `fix the path, which is relative to ${source.file ?? source.baseDir}`;
        this.problems.push(inFile(new DefinitionError(unreadable(shown, error, remedy, "cannot import"), entry.path.at), source.file));
        return undefined;
      });
      if (read?.set !== undefined) {
        // A resolved set has no drafts to check together with this file's machines.
        const remedy = "export its machines instead (defineMachine, a list, or {machines: [...]})";
        const message = `cannot import ${shown}: it exports a definition set, which is already resolved; ${remedy}`;
        this.problems.push(inFile(new DefinitionError(message, entry.path.at), source.file));
      } else if (read !== undefined) await this.include(read, [...stack, target]);
    }
  }

  async finish(): Promise<CompileResult> {
    const byName = new Map<string, DraftMachine>();
    for (const machine of this.#machines) {
      this.problems.push(...checkGraph(machine).map((problem) => inFile(problem, machine.source.file)));
      if (machine.name === undefined) continue;
      const first = byName.get(machine.name.value);
      if (first === undefined) byName.set(machine.name.value, machine);
      else {
        const message = `duplicate machine "${machine.name.value}"${seeAlso(first.name?.at)}; machine names must be unique, also across imported files`;
        this.problems.push(inFile(new DefinitionError(message, machine.name.at), machine.source.file));
      }
    }
    const actions = await this.#resolveActions();
    if (this.problems.length > 0) return { problems: this.#sorted(), set: undefined };
    const machines = new Map<string, MachineDefinition>();
    for (const [name, draft] of byName) {
      const machine = buildMachine(draft, actions);
      machines.set(name, machine);
      // The version is known only now; a migration from it would move instances onto themselves.
      for (const from of draft.migrations.map((migration) => migration.from)) {
        if (from?.value !== machine.version) continue;
        const message = `migrate entry from "${from.value}" of ${draft.label} names this definition's own version; from: names an earlier version (its hash or label)`;
        this.problems.push(inFile(new DefinitionError(message, from.at), draft.source.file));
      }
    }
    if (this.problems.length > 0) return { problems: this.#sorted(), set: undefined };
    return { problems: [], set: createDefinitionSet(machines, this.#files, this.#origin) };
  }

  async #resolveActions(): Promise<Map<DraftAction, Action>> {
    const resolver = new ActionResolver(this.#options.actions);
    const resolved = new Map<DraftAction, Action>();
    for (const machine of this.#machines) {
      const drafts = [
        ...(machine.states ?? []).flatMap((state) => [state.entryAction, state.doAction, state.exitAction, ...state.transitions.map((t) => t.action)]),
        ...machine.migrations.map((migration) => migration.action),
      ];
      for (const draft of drafts) {
        if (draft === undefined) continue;
        const resolution = await resolver.resolve(draft.value, machine.source.baseDir);
        if (resolution.action !== undefined) {
          resolved.set(draft, resolution.action);
          continue;
        }
        const { problem, reason } = resolution;
        const message = this.#unresolved !== undefined && typeof draft.value === "string" ? this.#unresolved(machine, draft.value, reason) : problem;
        this.problems.push(inFile(new DefinitionError(message, draft.at), machine.source.file));
      }
    }
    return resolved;
  }

  /** Problems in file order, then by position; problems without a location keep their order at the end. */
  #sorted(): DefinitionError[] {
    const rank = (error: DefinitionError): number[] => {
      const at = error.location;
      const file = at === undefined ? -1 : this.#files.indexOf(at.file);
      return file < 0 || at === undefined ? [Infinity] : [file, at.line, at.column];
    };
    return this.problems
      .map((error) => ({ error, rank: rank(error) }))
      .sort((a, b) => compareRanks(a.rank, b.rank))
      .map(({ error }) => error);
  }
}

function compareRanks(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return 0;
}

function unreadable(file: string, error: unknown, remedy: string, verb = "cannot read"): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return `${verb} ${file}: file not found; ${remedy}`;
  return `${verb} ${file}: ${error instanceof Error ? error.message : String(error)}`;
}

/** The value of a field that the checks guarantee is present. */
function present<T>(field: { value: T } | undefined): T {
  if (field === undefined) throw new Error("internal error: building a definition that failed its checks");
  return field.value;
}

/**
 * The timer of a task's `timeout`/`heartbeat` (the earlier of the two): the state's `task_timeout`
 * transition, fired as a timer, so the engine schedules it when the instance starts waiting for the
 * task, exactly like an `after:` timer; a heartbeat schedules it again (client/report-task.ts).
 */
function taskTimer(task: TaskDefinition, transitions: ReadonlyMap<string, TransitionDefinition>): TransitionDefinition | undefined {
  const seconds = Math.min(task.timeoutSeconds ?? Infinity, task.heartbeatSeconds ?? Infinity);
  const onTimeout = transitions.get(TASK_TIMEOUT_EVENT);
  if (seconds === Infinity || onTimeout === undefined) return undefined;
  return { ...onTimeout, event: TIMER_EVENT, local: false, afterSeconds: seconds, after: `${seconds}s`, ofTask: true };
}

/** The resolved form of a machine that passed every check (so every name and action is present). */
function buildMachine(machine: DraftMachine, actions: ReadonlyMap<DraftAction, Action>): MachineDefinition {
  const action = (draft: DraftAction | undefined) => (draft === undefined ? undefined : actions.get(draft));
  const states = new Map<string, StateDefinition>();
  let initialState = "";
  for (const state of machine.states ?? []) {
    const name = present(state.name);
    if (state.initial !== undefined) initialState = name;
    const transitions = new Map<string, TransitionDefinition>();
    for (const transition of state.transitions) {
      const common = { source: name, target: present(transition.target), action: action(transition.action), local: transition.local, location: transition.at };
      if (transition.after === undefined) {
        const event = present(transition.event);
        transitions.set(event, { event, ...common });
      } else {
        // A timer is kept under its pseudo-event, so the engine plans it like any other transition.
        const { seconds, written } = transition.after;
        if (seconds === undefined) throw new Error("internal error: building a timer whose duration failed its check");
        transitions.set(TIMER_EVENT, { event: TIMER_EVENT, ...common, afterSeconds: seconds, after: written as Duration });
      }
    }
    const task = state.task === undefined ? undefined : { ...state.task.value, baseDir: machine.source.baseDir };
    const timeout = task === undefined ? undefined : taskTimer(task, transitions);
    if (timeout !== undefined) transitions.set(TIMER_EVENT, timeout);
    states.set(name, {
      name,
      initial: state.initial !== undefined,
      final: state.final,
      entryAction: action(state.entryAction),
      doAction: task === undefined ? action(state.doAction) : taskAction(task),
      ...(task === undefined ? {} : { task }),
      exitAction: action(state.exitAction),
      transitions,
      location: state.at,
    });
  }
  const migrations = machine.migrations.map(
    (migration): MigrationDefinition => ({
      from: present(migration.from),
      states: new Map(migration.states.map(({ from, to }) => [from.value, to.value])),
      action: action(migration.action),
      location: migration.at,
    }),
  );
  const hasTasks = [...states.values()].some((state) => state.task !== undefined);
  return withVersion({
    name: present(machine.name),
    ...(hasTasks ? { hasTasks: true as const } : {}),
    maxRetries: machine.maxRetries,
    initialState,
    states,
    onAbort: machine.onAbort?.value,
    location: machine.at,
    label: machine.versionLabel?.value,
    migrations,
  });
}
