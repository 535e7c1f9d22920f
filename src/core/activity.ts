/**
 * What `switchyard metrics` shows of the journal besides the error counters: step latencies and
 * instance counts ({@link Activity}). The definitions live here once, pure; the SQL journals compute
 * the same in their own statements, and the journals without SQL (Redis, DynamoDB) aggregate here
 * from a bounded scan ({@link scanActivity}).
 */
import { type Activity, type ActivityFilter, FINAL_STATUSES, type InstanceRecord, type InstanceStatus, type JournalMessage, type MachineActivity, type StateActivity } from "../ports.js";

/** Instances a journal without SQL reads for one `activity` call at most (the most recently started). */
export const ACTIVITY_SCAN_LIMIT = 10_000;

/** The percentiles of {@link StateActivity}, in percent. */
export const ACTIVITY_PERCENTILES = [50, 90, 99] as const;

const ENDED: ReadonlySet<InstanceStatus> = new Set(FINAL_STATUSES);

/**
 * The nearest-rank percentile of ascending `sorted` (not empty): the smallest sample with at least
 * `percent`% of the samples at or below it (PostgreSQL's `percentile_disc`). Integer arithmetic, so
 * no rounding error picks the neighbour.
 */
export function nearestRank(sorted: readonly number[], percent: number): number {
  const rank = Math.max(1, Math.ceil((percent * sorted.length) / 100));
  return sorted[rank - 1] as number;
}

/** One timed processing: the state its message found the instance in, and its step latency. */
export interface StepSample {
  readonly machineName: string;
  readonly state: string;
  readonly ms: number;
}

/**
 * The timed processings of an instance's messages sent at or after `since` ({@link StateActivity}):
 * `history` in step order, as {@link JournalPort.history} returns it.
 */
export function stepSamples(record: Pick<InstanceRecord, "machineName" | "status" | "updatedAt">, history: readonly JournalMessage[], since?: number): StepSample[] {
  const samples: StepSample[] = [];
  for (const [index, message] of history.entries()) {
    if (message.at === undefined || (since !== undefined && message.at < since)) continue;
    const next = history[index + 1];
    let end: number | undefined;
    if (next !== undefined) {
      if (next.origin === undefined || next.origin === "timer") end = next.at;
    } else if (ENDED.has(record.status)) {
      end = record.updatedAt;
    }
    if (end === undefined) continue;
    samples.push({ machineName: record.machineName, state: message.current_state, ms: Math.max(0, end - (message.due ?? message.at)) });
  }
  return samples;
}

/** Code-unit order, the same on every backend whatever its collation. */
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Samples summed per machine and state, with their percentiles, in name order. */
export function statesOf(samples: Iterable<StepSample>): StateActivity[] {
  const groups = new Map<string, { machineName: string; state: string; ms: number[] }>();
  for (const sample of samples) {
    const key = `${sample.machineName}\u0000${sample.state}`;
    let group = groups.get(key);
    if (group === undefined) {
      group = { machineName: sample.machineName, state: sample.state, ms: [] };
      groups.set(key, group);
    }
    group.ms.push(sample.ms);
  }
  return [...groups.values()]
    .map(({ machineName, state, ms }) => {
      ms.sort((a, b) => a - b);
      return { machineName, state, processed: ms.length, p50: nearestRank(ms, 50), p90: nearestRank(ms, 90), p99: nearestRank(ms, 99), max: ms[ms.length - 1] as number };
    })
    .sort(byMachineAndState);
}

/** Order of {@link StateActivity} rows: machine, then state. */
export function byMachineAndState(a: StateActivity, b: StateActivity): number {
  return compare(a.machineName, b.machineName) || compare(a.state, b.state);
}

/** One count of instances of a machine in one status, as a journal's query returns it. */
export interface StatusCount {
  readonly machineName: string;
  readonly status: string;
  readonly count: number;
}

/** Counts per machine and status as {@link MachineActivity} rows, in name order; unknown statuses are left out. */
export function machinesOf(counts: Iterable<StatusCount>): MachineActivity[] {
  const machines = new Map<string, { -readonly [K in keyof MachineActivity]: MachineActivity[K] }>();
  for (const { machineName, status, count } of counts) {
    let machine = machines.get(machineName);
    if (machine === undefined) {
      machine = { machineName, completed: 0, failed: 0, aborted: 0, running: 0, waiting: 0, paused: 0 };
      machines.set(machineName, machine);
    }
    if (status === "completed" || status === "failed" || status === "aborted" || status === "running" || status === "waiting" || status === "paused") {
      machine[status] += count;
    }
  }
  return [...machines.values()].sort((a, b) => compare(a.machineName, b.machineName));
}

/** Whether a record counts in {@link MachineActivity}: live now, or ended at or after `since`. */
function counted(record: InstanceRecord, since: number | undefined): boolean {
  return !ENDED.has(record.status) || since === undefined || record.updatedAt >= since;
}

/**
 * {@link Activity} from the records of a journal without SQL: the `limit` most recently started
 * instances (of the machine, when the filter names one) and the history of each, read `batch` at
 * a time. `capped` says when more instances exist than were read.
 */
export async function scanActivity(
  read: {
    list(machineName: string | undefined, limit: number): Promise<InstanceRecord[]>;
    histories(correlationIds: readonly string[]): Promise<JournalMessage[][]>;
  },
  filter: ActivityFilter,
  limit = ACTIVITY_SCAN_LIMIT,
  batch = 100,
): Promise<Activity> {
  const listed = await read.list(filter.machineName, limit + 1);
  const records = listed.slice(0, limit);
  const counts: StatusCount[] = [];
  const samples: StepSample[] = [];
  for (let start = 0; start < records.length; start += batch) {
    const page = records.slice(start, start + batch);
    // A record that ended before the window has no message in it either (its messages precede its end).
    const active = page.filter((record) => counted(record, filter.since));
    const histories = await read.histories(active.map((record) => record.correlationId));
    for (const [index, record] of active.entries()) {
      counts.push({ machineName: record.machineName, status: record.status, count: 1 });
      samples.push(...stepSamples(record, histories[index] ?? [], filter.since));
    }
  }
  return {
    machines: machinesOf(counts),
    states: statesOf(samples),
    ...(listed.length > limit ? { capped: limit } : {}),
  };
}
