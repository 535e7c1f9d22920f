/**
 * The machine versions an engine runs (SPEC §10): the loaded definitions, which are the current
 * versions; versions fetched from the definition registry (in the journal) when a message is
 * pinned to one this process did not load; and the operators' migration orders, which move a
 * message of an old version to a newer one as it is processed ("running instances move at their
 * next message").
 */
import type { ActionContext } from "../core/action.js";
import type { DefinitionSet, MachineDefinition, MigrationDefinition } from "../core/machine.js";
import { PSEUDO_FINAL, PSEUDO_INIT, type WireMessage } from "../core/message.js";
import { SwitchyardError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Clock, DefinitionRecord, JournalPort, MigrationOrder } from "../ports.js";

/** How often (ms) an engine reads the migration orders again; a new order reaches running instances within about this. */
export const ORDERS_REFRESH_MS = 2_000;
/** Migration orders a message follows at most in one processing (v1 → v2 → v3 …): a longer chain is a loop. */
const MAX_MIGRATION_HOPS = 16;

/**
 * A message pinned to a version this process cannot run: not registered, or its actions no longer
 * resolve. Its processing fails like an action (retried, then the instance fails with this reason).
 */
export class VersionUnavailableError extends SwitchyardError {
  override readonly name = "VersionUnavailableError";
  constructor(message: string) {
    super("version_unavailable", message);
  }
}

/** A message of a machine no definition here and no registered version knows: it goes to the dead letters. */
export class UnknownMachineError extends SwitchyardError {
  override readonly name = "UnknownMachineError";
  constructor(message: string) {
    super("unknown_machine", message);
  }
}

/** A message made ready to run: its machine and, when an order moved it, the moved message and where it came from. */
export interface ResolvedMessage {
  readonly machine: MachineDefinition;
  readonly message: WireMessage;
  readonly movedFrom?: { readonly version: string | null; readonly state: string } | undefined;
}

/** Where a registered version comes from: a registry read. */
type Registry = () => JournalPort | undefined;

/** The versions of one engine. Safe to share across concurrent processings. */
export class MachineCatalog {
  readonly #definitions: DefinitionSet;
  readonly #registry: Registry;
  readonly #clock: Clock;
  readonly #logger: Logger;
  /** Versions loaded from the registry (or being loaded), by `name\0version`. */
  readonly #loaded = new Map<string, Promise<MachineDefinition>>();
  /** The migration orders, by `name\0from` (`from` empty for unversioned instances). */
  #orders = new Map<string, MigrationOrder>();
  #ordersReadAt = Number.NEGATIVE_INFINITY;
  #ordersReading: Promise<void> | undefined;
  #registering: Promise<number> | undefined;

  constructor(definitions: DefinitionSet, registry: Registry, clock: Clock, logger: Logger) {
    this.#definitions = definitions;
    this.#registry = registry;
    this.#clock = clock;
    this.#logger = logger;
  }

  /**
   * The machine a message of `name` pinned to `version` runs on when nothing needs to be read: the
   * loaded definition, when the message is of its version (or unversioned) and no migration order
   * moves that version on. Undefined: ask {@link resolve}.
   */
  immediate(name: string, version: string | undefined): MachineDefinition | undefined {
    // Per message: only a comparison, and a read (in the background) once the orders are stale.
    if (this.#ordersReading === undefined && this.#clock.now() - this.#ordersReadAt >= ORDERS_REFRESH_MS) void this.#readOrders();
    const current = this.#definitions.machines.get(name);
    if (current === undefined || (version !== undefined && version !== current.version)) return undefined;
    if (this.#orders.size > 0 && this.#orders.has(orderKey(name, version ?? null))) return undefined;
    return current;
  }

  /**
   * The machine a message runs on, and the message as it runs: its pinned version (fetched from the
   * registry when not loaded here), moved along the migration orders from that version (state
   * renamed, user context transformed, version replaced).
   *
   * @throws UnknownMachineError when no definition here and no registered version has the machine.
   * @throws VersionUnavailableError when its version cannot be run here (see the message).
   */
  async resolve(message: WireMessage): Promise<ResolvedMessage> {
    const system = message.system_context;
    const name = system.machine_name;
    let machine = await this.machine(name, system.machine_version);
    await this.#readOrders();
    let moved: WireMessage | undefined;
    let movedFrom: ResolvedMessage["movedFrom"];
    const seen = new Set<string>();
    for (let hops = 0; ; hops++) {
      const from = (moved ?? message).system_context.machine_version ?? null;
      const order = this.#orders.get(orderKey(name, from));
      if (order === undefined || order.to === from) break;
      if (hops >= MAX_MIGRATION_HOPS || seen.has(order.to)) {
        throw new VersionUnavailableError(`the migration orders of machine "${name}" form a loop at version ${order.to}; give a new migrate order to the current version`);
      }
      seen.add(order.to);
      const target = await this.machine(name, order.to);
      const current = moved ?? message;
      movedFrom ??= { version: from, state: current.system_context.current_state };
      moved = await moveMessage(current, machine, target);
      machine = target;
    }
    return moved === undefined ? { machine, message } : { machine, message: moved, movedFrom };
  }

  /**
   * A version of machine `name`: the loaded one when it is of `version` (or `version` is
   * undefined), else the registered one. An unversioned message of a machine not loaded here runs
   * on its newest registered version.
   */
  async machine(name: string, version: string | undefined): Promise<MachineDefinition> {
    const current = this.#definitions.machines.get(name);
    if (current !== undefined && (version === undefined || version === current.version)) return current;
    const key = `${name}\0${version ?? ""}`;
    let loading = this.#loaded.get(key);
    if (loading === undefined) {
      loading = this.#fetch(name, version);
      this.#loaded.set(key, loading);
      // A failed fetch is not kept: the version may be deployed (or the registry reachable) later.
      loading.catch(() => this.#loaded.delete(key));
    }
    return loading;
  }

  /** Register every loaded machine's version (idempotent). Returns how many were new. */
  async register(): Promise<number> {
    const journal = this.#registry();
    if (journal === undefined) return 0;
    const now = this.#clock.now();
    const records: DefinitionRecord[] = [...this.#definitions.machines.values()].map((machine) => definitionRecord(machine, now));
    if (records.length === 0) return 0;
    const created = await journal.registerDefinitions(records);
    return created.filter(Boolean).length;
  }

  /**
   * {@link register}, once per catalog: a start, a worker and a Lambda container of one process
   * share it. A failure is not kept, so a later call tries again.
   */
  registerOnce(): Promise<number> {
    this.#registering ??= this.register().catch((error: unknown) => {
      this.#registering = undefined;
      throw error;
    });
    return this.#registering;
  }

  /** Read the migration orders now (for a caller that just gave one). */
  async refreshOrders(): Promise<void> {
    this.#ordersReadAt = Number.NEGATIVE_INFINITY;
    await this.#readOrders();
  }

  async #fetch(name: string, version: string | undefined): Promise<MachineDefinition> {
    const journal = this.#registry();
    const known = this.#definitions.machines.has(name);
    if (journal === undefined) {
      const what = version === undefined ? `machine "${name}"` : `version ${version} of machine "${name}"`;
      if (!known) throw new UnknownMachineError(`unknown machine "${name}" (this worker knows: ${this.#known()}) and the journal is switched off, so no registered version can be fetched; start the worker with the definition file that holds it`);
      throw new VersionUnavailableError(`${what} is not loaded here and the journal (which keeps the definition registry) is switched off; start the worker with the definition file that holds that version`);
    }
    const record =
      version === undefined ? (await journal.definitionVersions(name))[0] : await journal.getDefinition(name, version);
    if (record === undefined) {
      // Unversioned and not found: the machine has no version at all (the read above listed them all).
      if (!known && (version === undefined || (await journal.definitionVersions(name)).length === 0)) {
        throw new UnknownMachineError(
          `unknown machine "${name}": this worker knows ${this.#known()} and the definition registry in ${journal.uri} has no version of it; deploy its definition (switchyard deploy -d <file>) or start the worker with it`,
        );
      }
      throw new VersionUnavailableError(
        `version ${version} of machine "${name}" is not in the definition registry in ${journal.uri}; deploy the definition that holds it (switchyard deploy -d <file>)`,
      );
    }
    const compile = this.#definitions.compileDocument;
    if (compile === undefined) {
      throw new VersionUnavailableError(`version ${record.version} of machine "${name}" is registered but these definitions were built in code and cannot compile a registered version; load them from a file`);
    }
    const { machine, problems } = await compile.call(this.#definitions, record.document);
    if (machine === undefined) {
      const first = problems[0]?.message ?? "it does not compile";
      throw new VersionUnavailableError(`version ${record.version} of machine "${name}" cannot be loaded: ${first}`);
    }
    this.#logger.info(`loaded version ${record.version} of machine "${name}" from the definition registry`, { machine: name, version: record.version });
    return machine;
  }

  #known(): string {
    return [...this.#definitions.machines.keys()].join(", ") || "no machines";
  }

  /** Read the orders when the last read is older than {@link ORDERS_REFRESH_MS}; one read at a time. */
  #readOrders(): Promise<void> {
    const journal = this.#registry();
    if (journal === undefined) return Promise.resolve();
    if (this.#ordersReading !== undefined) return this.#ordersReading;
    const now = this.#clock.now();
    if (now - this.#ordersReadAt < ORDERS_REFRESH_MS) return Promise.resolve();
    this.#ordersReadAt = now;
    this.#ordersReading = journal
      .migrationOrders()
      .then(
        (orders) => {
          this.#orders = new Map(orders.map((order) => [orderKey(order.machineName, order.from), order]));
        },
        (error: Error) => {
          this.#logger.warn(`could not read the migration orders from ${journal.uri}: ${error.message}; read again in ${ORDERS_REFRESH_MS} ms`);
        },
      )
      .finally(() => {
        this.#ordersReading = undefined;
      });
    return this.#ordersReading;
  }
}

function orderKey(name: string, from: string | null): string {
  return `${name}\0${from ?? ""}`;
}

/** The registry's record of a loaded machine. */
export function definitionRecord(machine: MachineDefinition, deployedAt: number): DefinitionRecord {
  return { machineName: machine.name, version: machine.version, label: machine.label, document: machine.document, deployedAt };
}

/**
 * The `migrate:` entry of `target` that takes instances of `source` (named by its hash or label);
 * undefined when it has none (states then keep their names).
 */
export function migrationFor(target: MachineDefinition, source: MachineDefinition): MigrationDefinition | undefined {
  return target.migrations.find((entry) => entry.from === source.version || (source.label !== undefined && entry.from === source.label));
}

/**
 * Where an instance in `state` of `source` lands in `target`: its `migrate:` entry's mapping, or the
 * same name. Throws when that state is not in `target`.
 */
export function movedState(state: string, source: MachineDefinition, target: MachineDefinition, entry = migrationFor(target, source)): string {
  if (state === PSEUDO_INIT || state === PSEUDO_FINAL) return state;
  const moved = entry?.states.get(state) ?? state;
  if (!target.states.has(moved)) {
    const how = entry === undefined ? `it has no migrate: entry from ${describeVersion(source)}` : `its migrate: entry from ${entry.from} does not map "${state}"`;
    throw new VersionUnavailableError(
      `cannot move an instance in state "${state}" of machine "${target.name}" to version ${describeVersion(target)}: that version has no state "${moved}" and ${how}; add the mapping to migrate: in the new definition`,
    );
  }
  return moved;
}

/** `3f2a…` or `3f2a… (2025-11-orders)`. */
export function describeVersion(machine: Pick<MachineDefinition, "version" | "label">): string {
  return machine.label === undefined ? machine.version : `${machine.version} (${machine.label})`;
}

/**
 * Run a `migrate:` entry's action on a copy of `data` (the instance's user context), as an action
 * of the instance in its new state; returns the transformed context.
 */
export async function transformContext(
  entry: MigrationDefinition | undefined,
  data: Record<string, unknown>,
  instance: { readonly correlationId: string; readonly steps: number; readonly retries: number; readonly state: string; readonly event: string; readonly fenceToken: number },
  target: MachineDefinition,
): Promise<Record<string, unknown>> {
  const copy = JSON.parse(JSON.stringify(data)) as Record<string, unknown>;
  if (entry?.action === undefined) return copy;
  const context: ActionContext = {
    data: copy,
    steps: instance.steps,
    retries: instance.retries,
    correlationId: instance.correlationId,
    machineName: target.name,
    maxRetries: target.maxRetries,
    currentState: instance.state,
    currentEvent: instance.event,
  };
  await entry.action.execute(context, { fenceToken: instance.fenceToken, delay: undefined });
  if (typeof context.data !== "object" || context.data === null || Array.isArray(context.data)) {
    throw new VersionUnavailableError(`the migrate: action ${entry.action.name} of machine "${target.name}" left the user context as ${JSON.stringify(context.data)}; it must stay a JSON object`);
  }
  return context.data as Record<string, unknown>;
}

/** A message moved from `source` to `target`: state through the migrate: entry, context through its action, version replaced. */
async function moveMessage(message: WireMessage, source: MachineDefinition, target: MachineDefinition): Promise<WireMessage> {
  const system = message.system_context;
  const entry = migrationFor(target, source);
  const state = movedState(system.current_state, source, target, entry);
  const userContext = await transformContext(
    entry,
    message.user_context,
    { correlationId: system.correlation_id, steps: system.steps, retries: system.retries, state, event: system.current_event, fenceToken: system.fence_token ?? 0 },
    target,
  );
  return {
    version: message.version,
    system_context: { ...system, current_state: state, machine_version: target.version, max_retries: target.maxRetries },
    user_context: userContext,
  };
}
