import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { ActionContext } from "../../../src/core/action.js";
import { loadDefinitionFile, validateDefinitionFile } from "../../../src/definition/index.js";
import { DefinitionErrors } from "../../../src/errors.js";

const modules = fileURLToPath(new URL("../../fixtures/definitions/modules/", import.meta.url));
const fixture = (name: string) => path.join(modules, name);

function contextWith(data: Record<string, unknown>): ActionContext {
  return { data, steps: 0, retries: 0, correlationId: "c-1", machineName: "expense", maxRetries: 5, currentState: "submitted", currentEvent: "pseudo_init" };
}

async function problemsOf(file: string): Promise<string[]> {
  return (await validateDefinitionFile(file)).map((problem) => problem.toString());
}

describe("definition modules", () => {
  it("loads the machine a TypeScript module exports as default, with its actions", async () => {
    const set = await loadDefinitionFile(fixture("expense.ts"));
    expect(set.files).toEqual([fixture("expense.ts")]);
    const expense = set.get("expense");
    expect(expense.initialState).toBe("submitted");
    expect(expense.location).toBeUndefined();
    const data = { amount: 250 };
    expect(await expense.states.get("submitted")?.doAction?.execute(contextWith(data), { fenceToken: 1 })).toBe("manual");
    expect(await expense.states.get("reviewing")?.doAction?.execute(contextWith(data), { fenceToken: 1 })).toBe("accepted");
    expect(data).toEqual({ amount: 250, reviewer: "finance", approved: true });
    expect(() => set.get("nope")).toThrow(`unknown machine "nope" in ${fixture("expense.ts")}; known machines: expense`);
  });

  it("takes a definition set the module resolved itself from its definitions export, before the default", async () => {
    const set = await loadDefinitionFile(fixture("set.ts"));
    expect([...set.machines.keys()]).toEqual(["ping"]);
    expect(set.files).toEqual([fixture("set.ts")]);
  });

  it("reads a list of machines, with references and imports relative to the module", async () => {
    const set = await loadDefinitionFile(fixture("list.mjs"));
    expect([...set.machines.keys()]).toEqual(["logger", "payments"]);
    expect(set.get("logger").states.get("only")?.entryAction?.name).toBe("../actions.ts#Log");
    expect(set.files).toEqual([fixture("list.mjs"), path.join(modules, "../imported/payments.yaml")]);
  });

  it("lets a YAML file import modules", async () => {
    const set = await loadDefinitionFile(fixture("imports-module.yaml"));
    expect([...set.machines.keys()].sort()).toEqual(["expense", "logger", "payments"]);
  });

  it("refuses a YAML import of a module that exports an already resolved set, at the import", async () => {
    const file = fixture("imports-set.yaml");
    expect(await problemsOf(file)).toEqual([
      `${file}:2:11: cannot import ${fixture("set.ts")}: it exports a definition set, which is already resolved; export its machines instead (defineMachine, a list, or {machines: [...]})`,
    ]);
  });

  it("reports the problems of a module's machines with the file, machine and state, and no line numbers", async () => {
    const file = fixture("invalid.ts");
    expect(await problemsOf(file)).toEqual([
      `${file}: state "orphan" of machine "invalid" is unreachable from the initial state "start"; add a transition to it or remove it`,
      `${file}: action "./nowhere.ts#Go": module not found (looked for ${fixture("nowhere.ts")}); fix the path, which is relative to the definition file, or register the action`,
    ]);
    const [problem] = await validateDefinitionFile(file);
    expect(problem?.file).toBe(file);
    expect(problem?.location).toBeUndefined();
    await expect(loadDefinitionFile(file)).rejects.toThrow(DefinitionErrors);
  });

  it("reports the problems a module's own defineMachines call found, in that module", async () => {
    const file = fixture("rejects.ts");
    expect(await problemsOf(file)).toEqual([
      `${file}: unknown target state "b" in transition "go" of state "a" of machine "broken"; known states: a`,
    ]);
  });

  it("names the file and the expected export when a module has no definitions", async () => {
    const file = fixture("no-export.ts");
    expect(await problemsOf(file)).toEqual([
      `${file}: module has no "definitions" or default export (it exports machine); export a definition set (defineMachines), a machine (defineMachine), a list of machines, or {machines: [...]}`,
    ]);
    expect(await problemsOf(fixture("text.mjs"))).toEqual([
      `${fixture("text.mjs")}: the default export is a string, not definitions; export a definition set (defineMachines), a machine (defineMachine), a list of machines, or {machines: [...]}; to load YAML, pass the .yaml file itself`,
    ]);
  });

  it("names the file and the error of a module that throws while it is imported", async () => {
    const file = fixture("throws.mjs");
    expect(await problemsOf(file)).toEqual([`${file}: cannot load module: cannot reach the configuration service; fix the module`]);
    await expect(loadDefinitionFile(file)).rejects.toThrow(`${file}: cannot load module: cannot reach the configuration service; fix the module`);
  });

  it("says a missing module file is not found, as for YAML", async () => {
    expect(await problemsOf(fixture("missing.ts"))).toEqual([`cannot read ${fixture("missing.ts")}: file not found; check the path`]);
  });
});
