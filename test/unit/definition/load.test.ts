import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { ActionContext } from "../../../src/core/action.js";
import { ActionRegistry, loadDefinitionFile } from "../../../src/definition/index.js";
import { DefinitionErrors, UsageError } from "../../../src/errors.js";

const fixtures = fileURLToPath(new URL("../../fixtures/definitions/", import.meta.url));
const validFile = path.join(fixtures, "valid.yaml");

function contextWith(data: Record<string, unknown>, currentState = "start"): ActionContext {
  return {
    data,
    steps: 0,
    retries: 0,
    correlationId: "c-1",
    machineName: "tracer",
    maxRetries: 3,
    currentState,
    currentEvent: "pseudo_init",
  };
}

describe("loadDefinitionFile", () => {
  it("loads machines from the file and its imports, in order", async () => {
    const set = await loadDefinitionFile(validFile);
    expect(set.files).toEqual([validFile, path.join(fixtures, "imported/payments.yaml")]);
    expect([...set.machines.keys()]).toEqual(["payments", "tracer"]);
    const tracer = set.get("tracer");
    expect(tracer.maxRetries).toBe(3);
    expect(set.get("payments").maxRetries).toBe(5);
    expect(tracer.initialState).toBe("start");
    expect([...tracer.states.keys()]).toEqual(["start", "counting", "end"]);
    const start = tracer.states.get("start");
    expect(start?.location).toEqual({ file: validFile, line: 6, column: 5 });
    expect(start?.transitions.get("doubled")).toMatchObject({ event: "doubled", source: "start", target: "counting", local: false });
    expect(tracer.states.get("counting")?.transitions.get("done")).toMatchObject({ target: "end", local: true });
    expect(tracer.states.get("end")).toMatchObject({ final: true, initial: false });
  });

  it("reads a file imported twice (a diamond) once", async () => {
    const set = await loadDefinitionFile(path.join(fixtures, "diamond.yaml"));
    expect(set.files).toEqual([path.join(fixtures, "diamond.yaml"), validFile, path.join(fixtures, "imported/payments.yaml")]);
    expect([...set.machines.keys()]).toEqual(["payments", "tracer"]);
  });

  it("resolves both action reference forms to callable actions", async () => {
    const start = (await loadDefinitionFile(validFile)).get("tracer").states.get("start");
    const data: Record<string, unknown> = { value: 21 };
    const obj = { fenceToken: 1 };
    expect(start?.entryAction?.name).toBe("./actions.ts#Log");
    expect(await start?.entryAction?.execute(contextWith(data), obj)).toBeUndefined();
    expect(start?.doAction?.name).toBe("lib.steps.Double");
    expect(await start?.doAction?.execute(contextWith(data), obj)).toBe("doubled");
    expect(await start?.transitions.get("doubled")?.action?.execute(contextWith(data), obj)).toBe(
      "incremented by ./actions.ts#Increment",
    );
    expect(data).toEqual({ value: 42, log: ["log:start"], count: 1 });
  });

  it("makes one action per reference, shared by every use of it", async () => {
    const tracer = (await loadDefinitionFile(validFile)).get("tracer");
    const start = tracer.states.get("start");
    expect(start?.exitAction).toBe(start?.entryAction);
    const counting = tracer.states.get("counting")?.doAction;
    expect(counting?.name).toBe("./actions#Increment");
    expect(counting).not.toBe(start?.transitions.get("doubled")?.action);
    expect(await counting?.execute(contextWith({}), { fenceToken: 1 })).toBe("incremented by ./actions#Increment");
  });

  it("resolves registered actions before modules", async () => {
    const actions = new ActionRegistry().register("./actions.ts#Log", () => "registered");
    const start = (await loadDefinitionFile(validFile, { actions })).get("tracer").states.get("start");
    expect(await start?.entryAction?.execute(contextWith({}), { fenceToken: 1 })).toBe("registered");
  });

  it("throws a UsageError naming the known machines for an unknown machine", async () => {
    const set = await loadDefinitionFile(validFile);
    expect(() => set.get("trace")).toThrow(UsageError);
    expect(() => set.get("trace")).toThrow(`unknown machine "trace" in ${validFile}; known machines: payments, tracer`);
  });

  it("throws DefinitionErrors holding every problem", async () => {
    const file = path.join(fixtures, "problems/unknown-target.yaml");
    const error = await loadDefinitionFile(file).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DefinitionErrors);
    const problems = (error as DefinitionErrors).problems;
    expect(problems.map((problem) => problem.location?.line)).toEqual([8, 10, 11]);
    expect((error as DefinitionErrors).message).toBe(`${problems[0]?.toString()} (and 2 more problem(s))`);
  });
});
