/** How a Kinesis consumer computes its fair share of a stream's shards from the group's leases. */
import { describe, expect, it } from "vitest";
import { planShares, SHARD_END, shardKey } from "../../../src/backends/aws/kinesis-leases.js";
import type { GroupLease } from "../../../src/ports.js";

const NOW = 1_000_000;
const lease = (key: string, owner: string, expiresAt: number, position = ""): GroupLease => ({ key, owner, expiresAt, position, version: 1 });
const shards = (...ids: string[]) => ids.map((ShardId) => ({ ShardId }));

describe("planShares", () => {
  it("gives a lone consumer every shard", () => {
    const plan = planShares({ owner: "me", now: NOW, shards: shards("s0", "s1", "s2"), leases: [], held: new Set() });
    expect(plan).toEqual({ share: 3, free: ["s0", "s1", "s2"].map((shardId) => ({ shardId, lease: undefined })) });
  });

  it("counts the live consumers by their heartbeats, not the expired or released ones", () => {
    const leases = [lease("member/0", "other", NOW + 1), lease("member/1", "gone", NOW), lease("member/2", "", 0), lease("member/3", "me", NOW + 1)];
    expect(planShares({ owner: "me", now: NOW, shards: shards("s0", "s1", "s2"), leases, held: new Set() }).share).toBe(2);
  });

  it("offers only shards nobody holds: absent, released or expired leases", () => {
    const leases = [
      lease(shardKey("s0"), "other", NOW + 1, "10"),
      lease(shardKey("s1"), "", 0, "20"),
      lease(shardKey("s2"), "crashed", NOW, "30"),
      lease("member/0", "other", NOW + 1),
    ];
    const plan = planShares({ owner: "me", now: NOW, shards: shards("s0", "s1", "s2", "s3"), leases, held: new Set() });
    expect(plan.share).toBe(2);
    expect(plan.free.map(({ shardId, lease }) => [shardId, lease?.position])).toEqual([
      ["s1", "20"],
      ["s2", "30"],
      ["s3", undefined],
    ]);
  });

  it("reads the children of a split shard only after the parent was read to its end", () => {
    const split = [{ ShardId: "parent" }, { ShardId: "a", ParentShardId: "parent" }, { ShardId: "b", ParentShardId: "parent" }];
    const reading = planShares({ owner: "me", now: NOW, shards: split, leases: [lease(shardKey("parent"), "other", NOW + 1, "5")], held: new Set() });
    expect(reading).toEqual({ share: 1, free: [] });
    const done = planShares({ owner: "me", now: NOW, shards: split, leases: [lease(shardKey("parent"), "", 0, SHARD_END)], held: new Set() });
    expect(done.free.map((f) => f.shardId)).toEqual(["a", "b"]);
    // A parent trimmed from the stream (no longer listed) does not hold its children back.
    const trimmed = planShares({ owner: "me", now: NOW, shards: split.slice(1), leases: [], held: new Set() });
    expect(trimmed.free.map((f) => f.shardId)).toEqual(["a", "b"]);
  });
});
