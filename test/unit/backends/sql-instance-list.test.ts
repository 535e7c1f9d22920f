import { describe, expect, it } from "vitest";
import { type ListProbe, listProbes, listQuery, prefixEnd, SPARSE_PREFIX, stateCountsOf } from "../../../src/backends/sql/instance-list.js";
import { SQLITE_DIALECT } from "../../../src/backends/sqlite/dialect.js";

describe("prefixEnd", () => {
  it("is the prefix with its last code point one higher: the first text after every text it starts", () => {
    expect(prefixEnd("order-")).toBe("order.");
    expect(prefixEnd("a%_")).toBe("a%`");
    expect(prefixEnd("é")).toBe("ê");
    // Past the surrogates (UTF-8 byte order has none), and past the highest code point.
    expect(prefixEnd("a\uD7FF")).toBe("a\uE000");
    expect(prefixEnd("a\u{10FFFF}")).toBe("b");
    expect(prefixEnd("a\u{10FFFF}\u{10FFFF}")).toBe("b");
    expect(prefixEnd("\u{1F600}")).toBe("\u{1F601}");
  });

  it("is undefined when no text comes after them all", () => {
    expect(prefixEnd("")).toBeUndefined();
    expect(prefixEnd("\u{10FFFF}")).toBeUndefined();
  });
});

describe("listQuery on SQLite", () => {
  const index = (options: Parameters<typeof listQuery>[1], sparse: ListProbe[] = ["prefix", "heat", "status"]) =>
    /INDEXED BY (\w+)/.exec(listQuery(SQLITE_DIALECT, options, new Set(sparse)).sql)?.[1];

  it("names the index that serves each filter combination, by which of its probed filters are sparse", () => {
    expect(index({})).toBe("instances_newest");
    expect(index({ version: "v1" })).toBe("sqlite_autoindex_instances_1");
    expect(index({ version: "v1" }, [])).toBe("instances_newest");
    expect(index({ state: "review" }, [])).toBe("instances_newest");
    expect(index({ machineName: "order" })).toBe("instances_machine");
    expect(index({ machineName: "order", version: null }, [])).toBe("instances_machine");
    expect(index({ machineName: "order", state: "review" })).toBe("sqlite_autoindex_instances_1");
    expect(index({ machineName: "order", state: "review" }, [])).toBe("instances_machine");
    expect(index({ machineName: "order", state: "review", status: "waiting" })).toBe("sqlite_autoindex_instances_1");
    expect(index({ machineName: "order", state: "review", status: "waiting" }, ["status"])).toBe("instances_updated");
    expect(index({ status: "failed" })).toBe("instances_updated");
    expect(index({ status: "completed" }, [])).toBe("instances_newest");
    expect(index({ machineName: "order", status: "failed" })).toBe("instances_updated");
    expect(index({ machineName: "order", status: "completed" }, [])).toBe("instances_machine");
    expect(index({ status: "paused", machineName: "order" })).toBe("instances_paused");
    expect(index({ idPrefix: "order-4", status: "failed" })).toBe("sqlite_autoindex_instances_1");
    expect(index({ idPrefix: "order-", status: "failed" }, ["status"])).toBe("instances_updated");
    expect(index({ idPrefix: "order-", status: "completed" }, [])).toBe("instances_newest");
  });

  it("probes the filters whose selectivity decides the index, each a count up to SPARSE_PREFIX", () => {
    const probes = (options: Parameters<typeof listProbes>[1]) => listProbes(SQLITE_DIALECT, options).map(({ probe, query }) => [probe, query.params]);
    expect(probes({})).toEqual([]);
    expect(probes({ machineName: "order" })).toEqual([]);
    expect(probes({ machineName: "order", version: "v1" })).toEqual([["heat", ["order", "v1"]]]);
    expect(probes({ status: "paused", idPrefix: "a" })).toEqual([["prefix", ["a", "b"]]]);
    expect(probes({ machineName: "order", state: "review", status: "waiting", idPrefix: "a" })).toEqual([
      ["prefix", ["a", "b"]],
      ["heat", ["order", "review"]],
      ["status", ["waiting"]],
    ]);
    expect(listProbes(SQLITE_DIALECT, { status: "failed" })[0]?.query.sql).toContain(`INDEXED BY instances_updated WHERE status = $1 LIMIT ${SPARSE_PREFIX}`);
  });

  it("reads sparse state or version matches from instances_heat's ids, then their rows by key", () => {
    const { sql, params } = listQuery(SQLITE_DIALECT, { version: "v1", status: "waiting", limit: 50 }, new Set<ListProbe>(["heat"]));
    expect(sql).toContain("FROM instances INDEXED BY sqlite_autoindex_instances_1 WHERE");
    expect(sql).toContain("correlation_id IN (SELECT correlation_id FROM instances INDEXED BY instances_heat WHERE version = $2)");
    expect(params).toEqual(["v1", "v1", 50]);
  });

  it("binds only the filters given, the prefix as a range", () => {
    expect(listQuery(SQLITE_DIALECT, { machineName: "order", idPrefix: "a%", version: null, limit: 5 }).params).toEqual(["order", "a%", "a&", 5]);
  });
});

describe("stateCountsOf", () => {
  it("folds a pause flag or parked messages of a running or waiting instance into paused, and sorts", () => {
    const row = { machine_name: "m", version: null, state: "s", paused: 0, parked: 0, count: 1 } as const;
    expect(
      stateCountsOf([
        { ...row, status: "waiting", count: "2" },
        { ...row, status: "waiting", paused: 1 },
        { ...row, status: "running", parked: 3 },
        { ...row, status: "completed", paused: true },
        { ...row, version: "v2", status: "running" },
      ]),
    ).toEqual([
      { machineName: "m", version: null, state: "s", status: "completed", count: 1 },
      { machineName: "m", version: null, state: "s", status: "paused", count: 2 },
      { machineName: "m", version: null, state: "s", status: "waiting", count: 2 },
      { machineName: "m", version: "v2", state: "s", status: "running", count: 1 },
    ]);
  });
});
