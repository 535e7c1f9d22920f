import { describe, expect, it } from "vitest";
import { nearestRank, scanActivity } from "../../../src/core/activity.js";
import type { InstanceRecord, JournalMessage } from "../../../src/ports.js";
import { sentMessage } from "../../support/journal-messages.js";

describe("nearestRank", () => {
  it("picks the smallest sample with at least the percentage at or below it, as percentile_disc does", () => {
    const hundredAndOne = Array.from({ length: 101 }, (_, i) => i + 1);
    expect([50, 90, 99, 100].map((p) => nearestRank(hundredAndOne, p))).toEqual([51, 91, 100, 101]);
    expect([50, 90, 99].map((p) => nearestRank([7], p))).toEqual([7, 7, 7]);
    // 0.99 * 300 is not exactly 297 in floating point; the rank is.
    expect(nearestRank(Array.from({ length: 300 }, (_, i) => i + 1), 99)).toBe(297);
  });
});

describe("scanActivity", () => {
  const record = (id: number, status: InstanceRecord["status"], updatedAt: number): InstanceRecord => ({
    correlationId: `c${id}`,
    machineName: "m",
    status,
    state: "s",
    userContext: {},
    startedAt: 1_000 - id,
    updatedAt,
  });
  const message = (steps: number, at: number): JournalMessage => sentMessage(steps, "s", at);

  it("reads at most `limit` instances, says so when more exist, and reads no history of an instance that ended before the window", async () => {
    const records = [record(1, "completed", 500), record(2, "completed", 50), record(3, "running", 60), record(4, "running", 70)];
    const asked: string[][] = [];
    const read = {
      list: async (_machine: string | undefined, limit: number) => records.slice(0, limit),
      histories: async (ids: readonly string[]) => {
        asked.push([...ids]);
        return ids.map(() => [message(0, 100), message(1, 130)]);
      },
    };
    const capped = await scanActivity(read, { since: 100 }, 3, 2);
    expect(asked).toEqual([["c1"], ["c3"]]);
    expect(capped).toEqual({
      machines: [{ machineName: "m", completed: 1, failed: 0, aborted: 0, running: 1, waiting: 0, paused: 0 }],
      // c1: 30 to its next message, then 370 to its end; c3: 30 (its last message is pending).
      states: [{ machineName: "m", state: "s", processed: 3, p50: 30, p90: 370, p99: 370, max: 370 }],
      capped: 3,
    });
    expect((await scanActivity(read, { since: 100 }, 4)).capped).toBeUndefined();
  });
});
