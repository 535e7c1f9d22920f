/**
 * The heat map of where instances rest ({@link StateCounts}): the one order every journal returns
 * it in, and the count from a bounded scan for the journals without SQL (Redis, DynamoDB), which
 * read the most recently started instances as {@link scanActivity} does.
 */
import type { InstanceRecord, StateCount, StateCountFilter, StateCounts } from "../ports.js";
import { ACTIVITY_SCAN_LIMIT } from "./activity.js";

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The order of {@link StateCounts.counts}: machine, version (unversioned first), state, status. */
export function byMachineVersionState(a: StateCount, b: StateCount): number {
  return (
    byCodeUnit(a.machineName, b.machineName) ||
    // A version is never empty (a content hash), so null as "" sorts the unversioned first.
    byCodeUnit(a.version ?? "", b.version ?? "") ||
    byCodeUnit(a.state, b.state) ||
    byCodeUnit(a.status, b.status)
  );
}

/** Counts of `records` per machine, version, state and status, in {@link byMachineVersionState} order. */
export function countStates(records: Iterable<Pick<InstanceRecord, "machineName" | "version" | "state" | "status">>): StateCount[] {
  const counts = new Map<string, { -readonly [K in keyof StateCount]: StateCount[K] }>();
  for (const record of records) {
    const version = record.version ?? null;
    const key = JSON.stringify([record.machineName, version, record.state, record.status]);
    const count = counts.get(key);
    if (count === undefined) counts.set(key, { machineName: record.machineName, version, state: record.state, status: record.status, count: 1 });
    else count.count += 1;
  }
  return [...counts.values()].sort(byMachineVersionState);
}

/**
 * {@link StateCounts} of a journal without SQL: the `limit` most recently started instances (of
 * the machine, when the filter names one); `capped` says when more exist than were read.
 */
export async function scanStateCounts(
  list: (machineName: string | undefined, limit: number) => Promise<InstanceRecord[]>,
  filter: StateCountFilter,
  limit = ACTIVITY_SCAN_LIMIT,
): Promise<StateCounts> {
  const listed = await list(filter.machineName, limit + 1);
  return { counts: countStates(listed.slice(0, limit)), ...(listed.length > limit ? { capped: limit } : {}) };
}
