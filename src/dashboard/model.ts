/**
 * What the dashboard's JSON API answers, built from the same library calls the CLI makes: machines
 * with their diagrams and counts per state, one page of instances, one instance with its history
 * and the path it took, dead letters, and the operator's actions. Plain functions of an open
 * {@link Switchyard}; the server (`server.ts`) maps routes onto them.
 */
import type { MachineDocument } from "../core/machine.js";
import { ABORT_EVENT, PSEUDO_INIT, TIMER_EVENT } from "../core/message.js";
import { UsageError } from "../errors.js";
import type { DefinitionRecord, InstanceRecord, InstanceStatus, JournalMessage } from "../ports.js";
import { INSTANCE_STATUSES } from "../ports.js";
import type { Switchyard } from "../client/switchyard.js";
import { instanceView } from "../client/instance-view.js";
import { type Diagram, layoutMachine } from "./layout.js";

/** How far back the per-state throughput and error counters of the machines page reach. */
export const METRICS_WINDOW_MS = 60 * 60 * 1000;

/** How long the answer of an aggregate read (counts, activity, metrics) is shared by the requests that follow. */
export const SHARED_READ_MS = 1000;

/** Counts per user-facing status, every status present (zero when none). */
export type StatusCounts = Record<InstanceStatus, number>;

/** The machines page's list: every machine the definitions or the registry know. */
export interface MachineSummary {
  readonly name: string;
  readonly versions: ReadonlyArray<{ readonly version: string; readonly label?: string | undefined; readonly deployedAt?: number | undefined; readonly loaded: boolean }>;
  readonly counts: StatusCounts;
}

/** One machine (one version's diagram, or the newest) with live counts per state. */
export interface MachineView {
  readonly name: string;
  readonly version: string;
  readonly label?: string | undefined;
  readonly diagram: Diagram;
  /** Instances per state and status: of this version when one was asked for, else of every version. */
  readonly states: Record<string, StatusCounts>;
  /** States that hold instances but are not in this diagram (another version's states). */
  readonly elsewhere: Record<string, StatusCounts>;
  /** Each state's work over the last {@link METRICS_WINDOW_MS}. */
  readonly metrics: {
    readonly windowMs: number;
    readonly states: Record<string, StateMetrics>;
    /** Why there are no error counters: the metrics backend keeps no emissions to sum. */
    readonly errorsUnavailable?: string | undefined;
    /** Set when the journal read only its most recent instances (Redis, DynamoDB). */
    readonly capped?: number | undefined;
  };
  /** Set when the journal counted only its most recent instances (Redis, DynamoDB). */
  readonly capped?: number | undefined;
}

/** One state's work in the window: processings, their step latency (ms, nearest rank) and error counters. */
export interface StateMetrics {
  processed: number;
  p50: number;
  p99: number;
  errors: Record<string, number>;
}

/** Where an instance went: each transition taken and how often, and the visits of each state. */
export interface PathTaken {
  readonly edges: ReadonlyArray<{ readonly from: string; readonly event: string; readonly to: string; readonly count: number }>;
  readonly visits: Record<string, number>;
}

const zeroCounts = (): StatusCounts => Object.fromEntries(INSTANCE_STATUSES.map((s) => [s, 0])) as StatusCounts;

/**
 * The documents the dashboard can draw, per machine and version: the registry's (every deployed
 * version), and the loaded definitions' (`-d`), which need not be deployed yet.
 */
export class Documents {
  readonly #sy: Switchyard;
  readonly #diagrams = new Map<string, Promise<Diagram>>();
  readonly #recent = new Map<string, { at: number; value: Promise<unknown> }>();

  constructor(sy: Switchyard) {
    this.#sy = sy;
  }

  /**
   * The answer of `read` for `key`, shared by every request within {@link SHARED_READ_MS} of the
   * first: a page polled by many tabs, or several cards of one page, costs the journal one
   * aggregate query (a count over every instance), not one per request.
   */
  shared<T>(key: string, read: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const hit = this.#recent.get(key);
    if (hit !== undefined && now - hit.at < SHARED_READ_MS) return hit.value as Promise<T>;
    const value = read();
    value.catch(() => this.#recent.delete(key));
    this.#recent.set(key, { at: now, value });
    return value;
  }

  /** Every version of every machine, newest deployed first per machine; loaded ones not yet deployed come first. */
  async all(): Promise<Map<string, Array<{ record: Pick<DefinitionRecord, "version" | "label" | "document"> & { deployedAt?: number }; loaded: boolean }>>> {
    const byMachine = new Map<string, Array<{ record: Pick<DefinitionRecord, "version" | "label" | "document"> & { deployedAt?: number }; loaded: boolean }>>();
    const registered = await this.#sy.engine.roles.journal?.definitionVersions();
    for (const machine of this.#sy.definitions.machines.values()) {
      byMachine.set(machine.name, [{ record: { version: machine.version, label: machine.label, document: machine.document }, loaded: true }]);
    }
    for (const record of [...(registered ?? [])].sort((a, b) => b.deployedAt - a.deployedAt)) {
      const list = byMachine.get(record.machineName) ?? [];
      const same = list.find((entry) => entry.record.version === record.version);
      if (same !== undefined) same.record = { ...same.record, deployedAt: record.deployedAt };
      else list.push({ record, loaded: false });
      byMachine.set(record.machineName, list);
    }
    return byMachine;
  }

  /** The document of `machine` at `version` (the newest known when absent); a UsageError when there is none. */
  async document(machine: string, version?: string): Promise<{ document: MachineDocument; version: string; label?: string | undefined }> {
    const loaded = this.#sy.definitions.machines.get(machine);
    if (loaded !== undefined && (version === undefined || version === loaded.version)) return { document: loaded.document, version: loaded.version, label: loaded.label };
    const journal = this.#sy.engine.roles.journal;
    if (version !== undefined) {
      const record = await journal?.getDefinition(machine, version);
      if (record !== undefined) return { document: record.document, version: record.version, label: record.label };
      throw new UsageError(`machine "${machine}" has no version ${version} in the definition registry; deploy it (switchyard deploy) or pass its file with -d`, { code: "not_found" });
    }
    const newest = [...((await journal?.definitionVersions(machine)) ?? [])].sort((a, b) => b.deployedAt - a.deployedAt)[0];
    if (newest === undefined) {
      throw new UsageError(`no machine "${machine}" in the loaded definitions or the definition registry; pass its file with -d, or deploy it`, { code: "not_found" });
    }
    return { document: newest.document, version: newest.version, label: newest.label };
  }

  /** The laid-out diagram of a version (computed once per version). */
  diagram(version: string, document: MachineDocument): Promise<Diagram> {
    const key = `${document.name}\u0000${version}`;
    let diagram = this.#diagrams.get(key);
    if (diagram === undefined) {
      diagram = layoutMachine(document);
      diagram.catch(() => this.#diagrams.delete(key));
      this.#diagrams.set(key, diagram);
    }
    return diagram;
  }
}

/** The machines page's list. */
export async function machineSummaries(sy: Switchyard, documents: Documents): Promise<MachineSummary[]> {
  const [all, counts] = await Promise.all([documents.all(), documents.shared("counts", () => sy.stateCounts())]);
  const totals = new Map<string, StatusCounts>();
  for (const count of counts.counts) {
    const total = totals.get(count.machineName) ?? zeroCounts();
    total[count.status] += count.count;
    totals.set(count.machineName, total);
  }
  const names = new Set([...all.keys(), ...totals.keys()]);
  return [...names].sort().map((name) => ({
    name,
    versions: (all.get(name) ?? []).map(({ record, loaded }) => ({ version: record.version, label: record.label, deployedAt: record.deployedAt, loaded })),
    counts: totals.get(name) ?? zeroCounts(),
  }));
}

/** One machine: its diagram with live counts per state, and the metrics role's counters per state. */
export async function machineView(sy: Switchyard, documents: Documents, name: string, version?: string): Promise<MachineView> {
  const found = await documents.document(name, version);
  const initial = found.document.states.find((s) => s.initial === true)?.name;
  const [diagram, counts, metrics] = await Promise.all([
    documents.diagram(found.version, found.document),
    documents.shared(`counts\u0000${name}`, () => sy.stateCounts(name)),
    documents.shared(`metrics\u0000${name}\u0000${initial}`, () => stateMetrics(sy, name, initial)),
  ]);
  const inDiagram = new Set(found.document.states.map((s) => s.name));
  const states: Record<string, StatusCounts> = {};
  const elsewhere: Record<string, StatusCounts> = {};
  for (const count of counts.counts) {
    if (count.machineName !== name || (version !== undefined && count.version !== version)) continue;
    // An instance whose first processing has not ended (or failed) is at the start, in its initial state.
    const state = count.state === PSEUDO_INIT && initial !== undefined ? initial : count.state;
    const into = inDiagram.has(state) ? states : elsewhere;
    const cell = (into[state] ??= zeroCounts());
    cell[count.status] += count.count;
  }
  return { name, version: found.version, label: found.label, diagram, states, elsewhere, metrics, capped: counts.capped };
}

/**
 * Each state's work over the last {@link METRICS_WINDOW_MS}: processings and their step latency
 * from the journal ({@link Switchyard.activity}), error counters from the metrics role (SPEC §3),
 * when its backend keeps emissions. A processing counts for the state its message was in; the
 * start message's for the initial state (it runs that state's actions).
 */
async function stateMetrics(sy: Switchyard, machineName: string, initial: string | undefined): Promise<MachineView["metrics"]> {
  const since = Date.now() - METRICS_WINDOW_MS;
  const stateOf = (state: string) => (state === PSEUDO_INIT && initial !== undefined ? initial : state);
  const states: Record<string, StateMetrics> = {};
  const cell = (state: string) => (states[stateOf(state)] ??= { processed: 0, p50: 0, p99: 0, errors: {} });
  const activity = await sy.activity({ machineName, since });
  for (const state of activity.states) {
    const into = cell(state.state);
    // The start message and the initial state's own messages: the larger percentiles stand for both.
    into.p50 = Math.max(into.p50, state.p50);
    into.p99 = Math.max(into.p99, state.p99);
    into.processed += state.processed;
  }
  let errorsUnavailable: string | undefined;
  try {
    for (const total of await sy.metrics({ machineName, since })) {
      const into = cell(total.dimensions.current_state);
      for (const [counter, value] of Object.entries(total.counters)) {
        if (typeof value === "number" && value > 0) into.errors[counter] = (into.errors[counter] ?? 0) + value;
      }
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    errorsUnavailable = error.message;
  }
  return { windowMs: METRICS_WINDOW_MS, states, errorsUnavailable, capped: activity.capped };
}

/** An instance as the list shows it (the record's JSON without its user context, which can be large). */
export function instanceSummary(record: InstanceRecord): Record<string, unknown> {
  const { context: _context, ...rest } = instanceView(record, "camel");
  return rest;
}

/** The filters of the list page, from its query string; a UsageError for a status that is none. */
export function listFilters(query: URLSearchParams) {
  const text = (key: string) => {
    const value = query.get(key)?.trim();
    return value === undefined || value === "" ? undefined : value;
  };
  const status = text("status");
  if (status !== undefined && !(INSTANCE_STATUSES as readonly string[]).includes(status)) {
    throw new UsageError(`status must be one of ${INSTANCE_STATUSES.join(", ")}, got "${status}"`);
  }
  const version = text("version");
  const limit = text("limit");
  return {
    machineName: text("machine"),
    status: status as InstanceStatus | undefined,
    state: text("state"),
    version: version === "unversioned" ? null : version,
    idPrefix: text("prefix"),
    after: text("after"),
    limit: limit === undefined ? 50 : Math.min(500, Number.parseInt(limit, 10) || 50),
  };
}

/** One instance with everything its page shows. */
export async function instanceDetail(sy: Switchyard, documents: Documents, correlationId: string) {
  const record = await sy.status(correlationId);
  const [history, attempts, errors] = await Promise.all([sy.history(correlationId), sy.attempts(correlationId), sy.errors(correlationId)]);
  let diagram: Diagram | undefined;
  let diagramProblem: string | undefined;
  let found: Awaited<ReturnType<Documents["document"]>> | undefined;
  try {
    found = await documents.document(record.machineName, record.version);
    diagram = await documents.diagram(found.version, found.document);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    diagramProblem = error.message;
  }
  const waitingEvents = diagram?.nodes.find((node) => node.name === record.state)?.events ?? [];
  return {
    instance: instanceView(record, "camel"),
    fenceToken: record.fenceToken,
    leasePrimary: record.leasePrimary,
    history,
    attempts,
    errors,
    diagram,
    diagramProblem,
    path: pathTaken(history, found?.document),
    events: waitingEvents,
  };
}

/**
 * The transitions an instance took, from its history and its machine's document: each step's
 * message is taken from its `current_state` on its `current_event` to that transition's target
 * (the start message enters the initial state; an abort, the `on_abort` state). Retries of a step
 * (same `steps`) count once; a migration's entry moves the instance without a transition.
 */
export function pathTaken(history: readonly JournalMessage[], document: MachineDocument | undefined): PathTaken {
  const byStep = new Map<number, JournalMessage>();
  for (const message of history) if (!byStep.has(message.steps) || message.origin === "migrate") byStep.set(message.steps, message);
  const steps = [...byStep.keys()].sort((a, b) => a - b).map((step) => byStep.get(step) as JournalMessage);
  const edges = new Map<string, { from: string; event: string; to: string; count: number }>();
  const visits: Record<string, number> = {};
  const visit = (state: string) => {
    visits[state] = (visits[state] ?? 0) + 1;
  };
  for (const [index, message] of steps.entries()) {
    if (message.origin === "migrate") continue;
    if (message.current_event === PSEUDO_INIT) {
      const initial = document?.states.find((s) => s.initial === true)?.name;
      if (initial !== undefined) visit(initial);
      continue;
    }
    const state = document?.states.find((s) => s.name === message.current_state);
    const transition = state?.transitions?.find((t) => (message.current_event === TIMER_EVENT ? t.after !== undefined : t.event === message.current_event));
    const target = message.current_event === ABORT_EVENT ? document?.on_abort : (transition?.target ?? steps[index + 1]?.current_state);
    if (target === undefined) continue;
    const key = `${message.current_state}\u0000${message.current_event}\u0000${target}`;
    const edge = edges.get(key) ?? { from: message.current_state, event: message.current_event, to: target, count: 0 };
    edge.count += 1;
    edges.set(key, edge);
    visit(target);
  }
  return { edges: [...edges.values()], visits };
}
