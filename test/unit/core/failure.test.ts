import { describe, expect, it } from "vitest";
import {
  ATTEMPT_MESSAGE_LIMIT,
  ATTEMPT_STACK_FRAMES,
  ATTEMPT_STACK_LIMIT,
  actionSite,
  describeError,
  userFrames,
} from "../../../src/core/failure.js";

const OWN = ["/opt/app/node_modules/switchyard-fsm/dist/", "file:///opt/app/node_modules/switchyard-fsm/dist/"];

describe("failed attempts", () => {
  it("keep the user's frames: no Node internals, none of Switchyard's, nothing below where Switchyard called the action", () => {
    const stack = [
      "Error: scan service 503",
      "    at fetchScan (node:internal/deps/undici/undici:13502:13)",
      "    at VirusScan (/opt/app/actions.ts:12:11)",
      "    at scan (file:///opt/app/lib/scanner.ts:40:3)",
      "    at wrapped (/opt/app/node_modules/switchyard-fsm/dist/core/action.js:90:30)",
      "    at Processing.runTransitions (/opt/app/node_modules/switchyard-fsm/dist/engine/engine.js:400:36)",
      "    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)",
      "    at myRuntime (/opt/app/runtime.ts:5:3)",
    ].join("\n");
    expect(userFrames(stack, OWN)).toBe("at VirusScan (/opt/app/actions.ts:12:11)\nat scan (file:///opt/app/lib/scanner.ts:40:3)");
    // An error raised inside Switchyard on behalf of user code keeps the user frames that follow.
    expect(userFrames("E\n    at helper (file:///opt/app/node_modules/switchyard-fsm/dist/x.js:1:1)\n    at Mine (/opt/app/a.ts:1:1)", OWN)).toBe(
      "at Mine (/opt/app/a.ts:1:1)",
    );
    expect(userFrames("Error: x\n    at node:internal/x:1:1", OWN)).toBeUndefined();
    expect(userFrames(undefined, OWN)).toBeUndefined();
  });

  it("are capped per entry: message length, frame count and stack length", () => {
    const deep = ["Error: deep", ...Array.from({ length: 100 }, (_, i) => `    at f${i} (/opt/app/${"x".repeat(300)}.ts:${i}:1)`)].join("\n");
    const frames = userFrames(deep, OWN) ?? "";
    expect(frames.length).toBeLessThanOrEqual(ATTEMPT_STACK_LIMIT);
    expect(frames.endsWith("…")).toBe(true);
    const few = ["Error: few", ...Array.from({ length: 100 }, (_, i) => `    at f${i} (/a.ts:${i}:1)`)].join("\n");
    expect(userFrames(few, OWN)?.split("\n")).toHaveLength(ATTEMPT_STACK_FRAMES);
    const huge = describeError(new RangeError("y".repeat(10_000)), OWN);
    expect(huge.error_name).toBe("RangeError");
    expect(huge.error).toHaveLength(ATTEMPT_MESSAGE_LIMIT);
    expect(huge.error.endsWith("…")).toBe(true);
    expect(describeError("a string", OWN)).toEqual({ error_name: "string", error: "a string", stack: undefined });
  });

  it("name the action as the definition does", () => {
    const action = { name: "./actions.ts#Record", execute: () => undefined };
    expect(actionSite({ phase: "transition", action, state: "scanning" }, "scanned")).toEqual({
      state: "scanning",
      slot: "action",
      event: "scanned",
      action: "./actions.ts#Record",
      where: "scanning.transitions[scanned].action ./actions.ts#Record",
    });
    expect(actionSite({ phase: "do", action, state: "scanning" }, "well_formed").where).toBe("scanning.do_action ./actions.ts#Record");
    expect(actionSite({ phase: "exit", action, state: "a" }, "e").where).toBe("a.exit_action ./actions.ts#Record");
    expect(actionSite({ phase: "entry", action, state: "b" }, "e").where).toBe("b.entry_action ./actions.ts#Record");
  });
});
