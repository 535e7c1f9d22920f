import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { ActionContext, ActionExport } from "../../../src/core/action.js";
import { ActionRegistry, defineMachines } from "../../../src/definition/index.js";
import { DefinitionErrors } from "../../../src/errors.js";

const fixtures = fileURLToPath(new URL("../../fixtures/definitions/", import.meta.url));

function problemsOf(promise: Promise<unknown>): Promise<string[]> {
  return promise.then(
    () => [],
    (error: unknown) => {
      if (!(error instanceof DefinitionErrors)) throw error;
      return error.problems.map((problem) => problem.toString().replaceAll(fixtures, ""));
    },
  );
}

describe("defineMachines", () => {
  it("resolves in-code actions, references relative to baseDir, and imports", async () => {
    const start = (context: ActionContext) => {
      context.data.started = true;
      return "go";
    };
    const set = await defineMachines(
      {
        machines: [
          { import: "imported/payments.yaml" },
          {
            name: "coded",
            states: [
              { name: "a", initial: true, do_action: start, exit_action: "./actions.ts#Log", transitions: [{ event: "go", target: "b" }] },
              { name: "b", final: true, entry_action: "Registered" },
            ],
          },
        ],
      },
      { baseDir: fixtures, actions: new ActionRegistry().register("Registered", () => "from registry") },
    );
    expect([...set.machines.keys()]).toEqual(["payments", "coded"]);
    expect(set.files).toEqual([`${fixtures}imported/payments.yaml`]);
    const coded = set.get("coded");
    expect(coded.maxRetries).toBe(5);
    expect(coded.states.get("a")?.doAction?.name).toBe("start");
    expect(coded.states.get("a")?.exitAction?.name).toBe("./actions.ts#Log");
    expect(coded.states.get("a")?.location).toBeUndefined();
    const context = { data: {}, steps: 0, retries: 0, correlationId: "c", machineName: "coded", maxRetries: 5, currentState: "b", currentEvent: "go" };
    expect(await coded.states.get("b")?.entryAction?.execute(context, { fenceToken: 1 })).toBe("from registry");
    expect(() => set.get("nope")).toThrow('unknown machine "nope"; known machines: payments, coded');
  });

  it("reports every problem of an in-code config, without locations", async () => {
    class NotAnAction {}
    const problems = await problemsOf(
      defineMachines(
        {
          machines: [
            {
              name: "bad",
              states: [
                { name: "a", initial: true, do_action: NotAnAction as unknown as ActionExport, transitions: [{ event: "go", target: "c" }] },
                { name: "b" },
              ],
            },
          ],
        },
        { baseDir: fixtures },
      ),
    );
    expect(problems).toEqual([
      'unknown target state "c" in transition "go" of state "a" of machine "bad"; known states: a, b',
      'state "b" of machine "bad" is not final and has no transitions; add a transition or mark it final: true',
      'state "b" of machine "bad" is unreachable from the initial state "a"; add a transition to it or remove it',
      'action "NotAnAction" is a class without an execute(context, obj) method; export a function (context, obj) => event or a class with execute(context, obj)',
    ]);
  });

  it("reports problems of imported files with their locations", async () => {
    const problems = await problemsOf(defineMachines({ machines: [{ import: "problems/no-initial.yaml" }] }, { baseDir: fixtures }));
    expect(problems).toEqual([
      `${fixtures}problems/no-initial.yaml:2:9: machine "nostart" has no initial state; mark one state with initial: true`.replaceAll(fixtures, ""),
    ]);
  });

  it("names the definition after the file option in messages", async () => {
    const set = await defineMachines(
      { machines: [{ name: "one", states: [{ name: "s", initial: true, final: true }] }] },
      { baseDir: fixtures, file: "machines.ts" },
    );
    expect(() => set.get("two")).toThrow('unknown machine "two" in machines.ts; known machines: one');
    expect(set.files).toEqual(["machines.ts"]);
  });
});
