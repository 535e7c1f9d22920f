import { describe, expect, it } from "vitest";
import { retryBackoffSeconds } from "../../../src/core/backoff.js";

describe("full-jitter backoff", () => {
  it("is random(0, min(60, 2^retries)) seconds", () => {
    expect(retryBackoffSeconds(1, () => 0.5)).toBe(1);
    expect(retryBackoffSeconds(3, () => 0.5)).toBe(4);
    expect(retryBackoffSeconds(5, () => 0.999)).toBeCloseTo(31.968);
    expect(retryBackoffSeconds(6, () => 0.5)).toBe(30);
    expect(retryBackoffSeconds(20, () => 0.5)).toBe(30);
    expect(retryBackoffSeconds(4, () => 0)).toBe(0);
  });
});
