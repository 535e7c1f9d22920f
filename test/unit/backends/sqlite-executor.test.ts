/** The SQLite executor's rewrite of the shared statements' numbered placeholders. */
import { describe, expect, it } from "vitest";
import { positional } from "../../../src/backends/sqlite/executor.js";

describe("positional", () => {
  it("binds parameters as given when each number appears once, in order", () => {
    expect(positional("SELECT a FROM t WHERE a = $1 AND b = $2")).toEqual({ text: "SELECT a FROM t WHERE a = ? AND b = ?", order: undefined });
  });

  it("repeats and reorders parameters that appear again or out of order", () => {
    expect(positional("UPDATE t SET x = $3 WHERE k = $1 AND ($2 IS NULL OR y = $2) AND z > $10")).toEqual({
      text: "UPDATE t SET x = ? WHERE k = ? AND (? IS NULL OR y = ?) AND z > ?",
      order: [2, 0, 1, 1, 9],
    });
  });
});
