/**
 * Definition versions (SPEC §10): registering the loaded versions (`deploy`), listing the
 * registered ones with the instances on each (`versions`), pruning the unneeded ones, and moving
 * instances from one version to another (`migrate`).
 */
import type { DefinitionSet, MachineDefinition } from "../core/machine.js";
import { checkAgainst } from "../definition/compare.js";
import { MIGRATE_EVENT } from "../core/message.js";
import { definitionRecord, describeVersion, migrationFor, movedState, transformContext } from "../engine/versions.js";
import { type DefinitionError, SwitchyardError, UsageError } from "../errors.js";
import type { DefinitionRecord, InstanceRecord, InstanceStatus, JournalMessage, JournalPort, ListOptions, ListPosition } from "../ports.js";
import { requireJournal } from "./send-event.js";
import type { StarterDeps } from "./start.js";

/** What the version operations need: what starting needs, with the catalog. */
export type VersionDeps = StarterDeps & { readonly catalog: NonNullable<StarterDeps["catalog"]> };

/** A loaded machine's version after `deploy`. */
export interface DeployedVersion {
  readonly machine: string;
  readonly version: string;
  readonly label?: string | undefined;
  /** False when it was registered already (deploying is idempotent). */
  readonly created: boolean;
}

/**
 * Register the version of every loaded machine (or of the named ones) in the definition registry,
 * idempotently: what `switchyard deploy` does, and what a worker does when it starts.
 */
export async function deployVersions(deps: VersionDeps, machines?: readonly string[]): Promise<DeployedVersion[]> {
  const journal = requireJournal(deps, "the definition registry lives in it");
  const chosen = machines === undefined || machines.length === 0 ? [...deps.definitions.machines.values()] : machines.map((name) => deps.definitions.get(name));
  const now = deps.clock.now();
  const created = await journal.registerDefinitions(chosen.map((machine) => definitionRecord(machine, now)));
  return chosen.map((machine, index) => ({ machine: machine.name, version: machine.version, label: machine.label, created: created[index] === true }));
}

/** Instances on one version, by status as users see it. */
export type StatusCounts = Readonly<Partial<Record<InstanceStatus, number>>>;

/** One registered version, with its instances. */
export interface VersionInfo {
  readonly machine: string;
  /** The content hash; null for the instances started without a version (the seed's format). */
  readonly version: string | null;
  readonly label?: string | undefined;
  /** When it was first registered (ms since the epoch); absent for the unversioned row. */
  readonly deployedAt?: number | undefined;
  /** The version the loaded definitions have (what new instances start on here). */
  readonly current: boolean;
  /** The newest registered version of its machine. */
  readonly newest: boolean;
  readonly counts: StatusCounts;
  /** Instances that still need this version: running, waiting, paused, and failed ones (a redrive runs them again). */
  readonly needed: number;
}

/** The statuses of instances that still need their version. */
const NEEDING: readonly InstanceStatus[] = ["running", "waiting", "paused", "failed"];

/** The registered versions (of one machine when given), newest first per machine, each with its instance counts. */
export async function listVersions(deps: StarterDeps, machine?: string): Promise<VersionInfo[]> {
  const journal = requireJournal(deps, "the definition registry lives in it");
  const [records, counts] = await Promise.all([journal.definitionVersions(machine), journal.versionCounts(machine)]);
  const byVersion = new Map<string, Partial<Record<InstanceStatus, number>>>();
  for (const count of counts) {
    const key = versionKey(count.machineName, count.version);
    const entry = byVersion.get(key) ?? {};
    entry[count.status] = (entry[count.status] ?? 0) + count.count;
    byVersion.set(key, entry);
  }
  const newest = new Set<string>();
  const infos: VersionInfo[] = [];
  for (const record of records) {
    const first = !newest.has(record.machineName);
    newest.add(record.machineName);
    const key = versionKey(record.machineName, record.version);
    infos.push(info(deps, record.machineName, record, byVersion.get(key) ?? {}, first));
    byVersion.delete(key);
  }
  // Instances on versions no longer registered, and unversioned ones.
  for (const [key, statusCounts] of byVersion) {
    const [name = "", version = ""] = key.split("\0");
    infos.push(info(deps, name, version === "" ? null : { version }, statusCounts, false));
  }
  return infos.sort((a, b) => (a.machine < b.machine ? -1 : a.machine > b.machine ? 1 : 0));
}

function info(deps: StarterDeps, machine: string, record: Pick<DefinitionRecord, "version" | "label" | "deployedAt"> | { version: string } | null, counts: StatusCounts, newest: boolean): VersionInfo {
  const version = record?.version ?? null;
  const needed = NEEDING.reduce((sum, status) => sum + (counts[status] ?? 0), 0);
  return {
    machine,
    version,
    label: record !== null && "label" in record ? record.label : undefined,
    deployedAt: record !== null && "deployedAt" in record ? record.deployedAt : undefined,
    current: version !== null && deps.definitions.machines.get(machine)?.version === version,
    newest,
    counts,
    needed,
  };
}

function versionKey(machine: string, version: string | null): string {
  return `${machine}\0${version ?? ""}`;
}

/** What `versions prune` did (or, with `dryRun`, would do). */
export interface PruneResult {
  readonly pruned: readonly VersionInfo[];
  /** Versions kept, with why. */
  readonly kept: ReadonlyArray<VersionInfo & { readonly why: string }>;
}

/**
 * Remove registered versions that no instance needs any more: none running, waiting, paused or
 * failed on it. The newest version of each machine and the versions loaded here are kept.
 */
export async function pruneVersions(deps: StarterDeps, options: { readonly machine?: string | undefined; readonly dryRun?: boolean | undefined } = {}): Promise<PruneResult> {
  const journal = requireJournal(deps, "the definition registry lives in it");
  const pruned: VersionInfo[] = [];
  const kept: Array<VersionInfo & { why: string }> = [];
  for (const version of await listVersions(deps, options.machine)) {
    if (version.version === null || version.deployedAt === undefined) continue;
    const why = version.needed > 0 ? `${version.needed} instance(s) need it` : version.newest ? "the newest version of its machine" : version.current ? "loaded here (the current definition)" : undefined;
    if (why !== undefined) {
      kept.push({ ...version, why });
      continue;
    }
    if (options.dryRun !== true) await journal.deleteDefinition(version.machine, version.version);
    pruned.push(version);
  }
  return { pruned, kept };
}

/** Options of {@link migrateInstances}. */
export interface MigrateOptions {
  readonly machine: string;
  /** The version instances leave: a hash (or a unique prefix of at least 4 digits), a label, or `unversioned`. */
  readonly from: string;
  /** The version they move to: `current` (the loaded definition, the default), a hash or a label. */
  readonly to?: string | undefined;
  /** Report what would move, changing nothing. */
  readonly dryRun?: boolean | undefined;
  /** Called after each page of instances with the instances seen so far. */
  readonly onProgress?: ((seen: number) => void) | undefined;
}

/** One instance a migration moved (or, in a dry run, would move). */
export interface MovedInstance {
  readonly correlationId: string;
  readonly status: InstanceStatus;
  readonly fromState: string;
  readonly toState: string;
}

/** What a migration did. */
export interface MigrateResult {
  readonly machine: string;
  readonly from: { readonly version: string | null; readonly label?: string | undefined };
  readonly to: { readonly version: string; readonly label?: string | undefined };
  readonly dryRun: boolean;
  /** Waiting and paused instances moved now. */
  readonly moved: readonly MovedInstance[];
  /** Running instances: they move at their next message, when a worker processes it. */
  readonly atNextMessage: number;
  /** Instances that could not move (they stay on their version), with why. */
  readonly refused: ReadonlyArray<{ readonly correlationId: string; readonly state: string; readonly reason: string }>;
}

const PAGE = 200;

/** Every instance the listing `options` selects, a page of {@link PAGE} at a time. */
async function* pages(journal: JournalPort, options: Omit<ListOptions, "after" | "limit">): AsyncGenerator<InstanceRecord[]> {
  let after: ListPosition | undefined;
  for (;;) {
    const page = await journal.list({ ...options, after, limit: PAGE });
    yield page;
    const last = page.at(-1);
    if (page.length < PAGE || last === undefined) return;
    after = { startedAt: last.startedAt, correlationId: last.correlationId };
  }
}

/** The statuses of instances that occupy a state now. */
const IN_FLIGHT: readonly InstanceStatus[] = ["running", "waiting", "paused"];

/**
 * What deploying `next` would strand (`switchyard validate --against deployed`): for every machine
 * of `next`, each registered version other than its own that in-flight instances are on (and, for
 * unversioned instances, the newest registered version, which they run on now), the states they
 * occupy, or may reach, that `next` removed or changed without a `migrate:` entry. Each problem is
 * located in `next`'s file.
 */
export async function strandedByDeploy(deps: VersionDeps, next: DefinitionSet): Promise<DefinitionError[]> {
  const journal = requireJournal(deps, "the definition registry and the instances live in it");
  const problems: DefinitionError[] = [];
  for (const machine of next.machines.values()) {
    const infos = await listVersions(deps, machine.name);
    for (const info of infos) {
      const inFlight = IN_FLIGHT.reduce((sum, status) => sum + (info.counts[status] ?? 0), 0);
      if (inFlight === 0) continue;
      const previousVersion = info.version ?? infos.find((i) => i.newest)?.version ?? null;
      if (previousVersion === null || previousVersion === machine.version) continue;
      const previous = await machineOrRefuse(deps, machine.name, previousVersion);
      const occupied = new Map<string, number>();
      for (const status of IN_FLIGHT) {
        for await (const page of pages(journal, { machineName: machine.name, version: info.version, status })) {
          for (const record of page) occupied.set(record.state, (occupied.get(record.state) ?? 0) + 1);
        }
      }
      problems.push(...checkAgainst(previous, machine, occupied));
    }
  }
  return problems;
}

/**
 * Move the instances of `options.machine` on version `options.from` to `options.to` (SPEC §10):
 * records a migration order (so running instances move at their next message), then moves every
 * waiting and paused instance at once, each in one atomic journal write with a history entry.
 * Running it again after an interruption moves the rest; an instance is never on two versions.
 */
export async function migrateInstances(deps: VersionDeps, options: MigrateOptions): Promise<MigrateResult> {
  const journal = requireJournal(deps, "the instances and the definition registry live in it");
  const target = await targetVersion(deps, options.machine, options.to ?? "current");
  const fromVersion = await sourceVersion(deps, options.machine, options.from);
  if (fromVersion === target.version) {
    throw new UsageError(`--from and --to are the same version (${describeVersion(target)}) of machine "${target.name}"; nothing to migrate`, { code: "same_version" });
  }
  const source = fromVersion === null ? undefined : await machineOrRefuse(deps, options.machine, fromVersion);
  const dryRun = options.dryRun === true;
  const now = deps.clock.now();
  if (!dryRun) {
    await journal.registerDefinitions([definitionRecord(target, now)]);
    await journal.addMigrationOrder({ machineName: target.name, from: fromVersion, to: target.version, at: now });
  }
  const entry = source === undefined ? undefined : migrationFor(target, source);
  const moved: MovedInstance[] = [];
  const refused: Array<{ correlationId: string; state: string; reason: string }> = [];
  let atNextMessage = 0;
  let seen = 0;
  for await (const page of pages(journal, { machineName: target.name, version: fromVersion })) {
    for (const record of page) {
      const resting = record.status === "waiting" || record.status === "paused";
      if (record.status === "running") atNextMessage++;
      if (!resting) continue;
      const outcome = await moveInstance(deps, record, source, target, fromVersion, dryRun, entry);
      if (typeof outcome === "string") refused.push({ correlationId: record.correlationId, state: record.state, reason: outcome });
      else moved.push(outcome);
    }
    seen += page.length;
    options.onProgress?.(seen);
  }
  if (!dryRun) await deps.catalog.refreshOrders();
  return {
    machine: target.name,
    from: { version: fromVersion, label: source?.label },
    to: { version: target.version, label: target.label },
    dryRun,
    moved,
    atNextMessage,
    refused,
  };
}

/** Move one resting instance; a string says why it could not. */
async function moveInstance(
  deps: VersionDeps,
  record: InstanceRecord,
  source: MachineDefinition | undefined,
  target: MachineDefinition,
  fromVersion: string | null,
  dryRun: boolean,
  entry: ReturnType<typeof migrationFor>,
): Promise<MovedInstance | string> {
  const steps = record.steps ?? 0;
  let state: string;
  let userContext: Record<string, unknown>;
  try {
    state = source === undefined ? record.state : movedState(record.state, source, target, entry);
    if (source === undefined && !target.states.has(state)) {
      return `state "${state}" is not in version ${describeVersion(target)}; unversioned instances keep their state names`;
    }
    userContext = dryRun ? record.userContext : await transformContext(entry, record.userContext, { correlationId: record.correlationId, steps, retries: 0, state, event: MIGRATE_EVENT, fenceToken: record.fenceToken ?? 0 }, target);
  } catch (error) {
    return error instanceof SwitchyardError ? error.message : `the migrate: action threw: ${(error as Error).message}`;
  }
  const result = { correlationId: record.correlationId, status: record.status, fromState: record.state, toState: state };
  if (dryRun) return result;
  const history: JournalMessage = {
    current_state: state,
    current_event: MIGRATE_EVENT,
    steps,
    retries: 0,
    user_context: userContext,
    role: "stream",
    side: "primary",
    at: deps.clock.now(),
    origin: "migrate",
    version: target.version,
    migrated_from: { version: fromVersion, state: record.state },
  };
  const journal = requireJournal(deps, "the instances live in it");
  const done = await journal.migrateInstance(record.correlationId, { fromVersion, steps, toVersion: target.version, state, userContext, entry: history });
  return done ? result : "it changed while migrating (a worker moved it on); run migrate again";
}

/** The version instances move to: the loaded definition (`current`), or a registered hash or label. */
async function targetVersion(deps: VersionDeps, machine: string, to: string): Promise<MachineDefinition> {
  const loaded = deps.definitions.machines.get(machine);
  if (to === "current") {
    if (loaded === undefined) throw new UsageError(`--to current needs the definition of machine "${machine}": pass it with -d <file>`, { code: "unknown_machine" });
    return loaded;
  }
  if (loaded !== undefined && (loaded.version === to || loaded.label === to)) return loaded;
  const version = await sourceVersion(deps, machine, to);
  if (version === null) throw new UsageError("--to cannot be unversioned: instances move to a version", { code: "bad_version" });
  return machineOrRefuse(deps, machine, version);
}

/** A registered version by hash, unique hash prefix or label; null for `unversioned`. */
async function sourceVersion(deps: VersionDeps, machine: string, wanted: string): Promise<string | null> {
  if (wanted === "unversioned") return null;
  const journal = requireJournal(deps, "the definition registry lives in it");
  const records = await journal.definitionVersions(machine);
  const loaded = deps.definitions.machines.get(machine);
  const candidates = [...records.map((r) => ({ version: r.version, label: r.label })), ...(loaded === undefined ? [] : [{ version: loaded.version, label: loaded.label }])];
  const exact = candidates.find((c) => c.version === wanted || c.label === wanted);
  if (exact !== undefined) return exact.version;
  const prefixed = new Set(wanted.length >= 4 ? candidates.filter((c) => c.version.startsWith(wanted)).map((c) => c.version) : []);
  if (prefixed.size === 1) return [...prefixed][0] as string;
  const known = candidates.map((c) => (c.label === undefined ? c.version : `${c.version} (${c.label})`));
  const why = prefixed.size > 1 ? "is a prefix of several versions" : "names no registered version";
  throw new UsageError(`"${wanted}" ${why} of machine "${machine}"; its versions: ${[...new Set(known)].join(", ") || "none registered (switchyard deploy)"}, or unversioned`, { code: "unknown_version" });
}

async function machineOrRefuse(deps: VersionDeps, machine: string, version: string): Promise<MachineDefinition> {
  try {
    return await deps.catalog.machine(machine, version);
  } catch (error) {
    if (error instanceof SwitchyardError) throw new UsageError(error.message, { code: error.code });
    throw error;
  }
}
