import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { longestGap } from "../../../bench/commits.js";
import { measureFloor } from "../../../bench/floor.js";

describe("bench helpers", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it("longestGap measures the longest stretch without a commit, ends included", () => {
    expect(longestGap([], 10, 50)).toBe(40);
    expect(longestGap([12, 40], 10, 45)).toBe(28);
  });

  it("the floor runs exactly instances × steps steps and empties its queue", () => {
    const dir = mkdtempSync(join(tmpdir(), "bench-floor-"));
    dirs.push(dir);
    for (const perTx of [1, 100]) {
      const result = measureFloor(dir, 7, 3, perTx, "{}");
      expect(result.steps).toBe(21);
      expect(result.stepsPerSecond).toBeGreaterThan(0);
    }
  });
});
