import { describe, expect, it } from "vitest";
import { parseDuration } from "../../../src/core/duration.js";

describe("parseDuration", () => {
  it("reads a whole number and one unit as seconds", () => {
    expect(["1s", "90s", "15m", "48h", "30d", "365d"].map((text) => parseDuration(text).seconds)).toEqual([1, 90, 900, 172_800, 2_592_000, 31_536_000]);
  });

  it("refuses anything else with the end of a sentence naming the value", () => {
    const like = "must be a duration like 90s, 15m, 48h or 30d, got";
    expect(parseDuration("2 days").problem).toBe(`${like} "2 days"`);
    expect(parseDuration("1h30m").problem).toBe(`${like} "1h30m"`);
    expect(parseDuration("-5m").problem).toBe(`${like} "-5m"`);
    expect(parseDuration("48H").problem).toBe(`${like} "48H"`);
    expect(parseDuration(" 48h").problem).toBe(`${like} " 48h"`);
    expect(parseDuration(90).problem).toBe(`${like} 90`);
    expect(parseDuration(undefined).problem).toBe(`${like} undefined`);
    expect(parseDuration("0m").problem).toBe('must be a positive duration like 90s, 15m, 48h or 30d, got "0m"');
    expect(parseDuration("8761h").problem).toBe('must be at most 365d, got "8761h"');
    expect(parseDuration("31536001s").problem).toBe('must be at most 365d, got "31536001s"');
  });
});
