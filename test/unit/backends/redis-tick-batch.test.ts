/** The Redis backend's per-turn batching of calls (claim extensions): one flush per turn, in chunks. */
import { describe, expect, it } from "vitest";
import { TickBatch } from "../../../src/backends/redis/tick-batch.js";

describe("TickBatch", () => {
  it("flushes the items added in one turn together, in chunks of max, and later turns apart", async () => {
    const flushed: number[][] = [];
    const batch = new TickBatch<number>(async (items) => {
      flushed.push([...items]);
    }, 2);
    await Promise.all([1, 2, 3, 4, 5].map((n) => batch.add(n)));
    await batch.add(6);
    expect(flushed).toEqual([[1, 2], [3, 4], [5], [6]]);
  });

  it("rejects the items of a failed flush with its error, and only those", async () => {
    const batch = new TickBatch<number>(async (items) => {
      if (items.includes(3)) throw new Error("chunk failed");
    }, 2);
    const settled = await Promise.allSettled([1, 2, 3, 4].map((n) => batch.add(n)));
    expect(settled.map((s) => (s.status === "fulfilled" ? "ok" : (s.reason as Error).message))).toEqual(["ok", "ok", "chunk failed", "chunk failed"]);
  });
});
