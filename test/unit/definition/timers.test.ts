/** Timer transitions (`after:`) and the `on_abort` state, from YAML and from the builder. */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { ActionContext } from "../../../src/core/action.js";
import { TIMER_EVENT } from "../../../src/core/message.js";
import { planTransition } from "../../../src/core/transitions.js";
import { defineMachine, defineMachines, loadDefinitionFile } from "../../../src/definition/index.js";
import { DefinitionErrors } from "../../../src/errors.js";

const fixtures = fileURLToPath(new URL("../../fixtures/definitions/", import.meta.url));
const timersFile = path.join(fixtures, "timers.yaml");
const log = (_context: ActionContext): undefined => undefined;

async function problemsOf(promise: Promise<unknown>): Promise<string[]> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DefinitionErrors) return error.problems.map(String);
    throw error;
  }
  return [];
}

describe("timer transitions and on_abort from YAML", () => {
  it("keeps a timer under pseudo_timer with its delay in seconds and as written", async () => {
    const review = (await loadDefinitionFile(timersFile)).get("review");
    const waiting = review.states.get("waiting");
    expect([...(waiting?.transitions.keys() ?? [])]).toEqual(["approve", TIMER_EVENT]);
    const timer = waiting?.transitions.get(TIMER_EVENT);
    expect(timer).toEqual({
      event: "pseudo_timer",
      source: "waiting",
      target: "reminded",
      action: expect.objectContaining({ name: "./actions.ts#Log" }),
      local: false,
      afterSeconds: 172_800,
      after: "48h",
      location: { file: timersFile, line: 11, column: 7 },
    });
    expect(review.states.get("reminded")?.transitions.get(TIMER_EVENT)).toMatchObject({ target: "expired", afterSeconds: 90, after: "90s" });
    // Event transitions carry no delay.
    const approve = waiting?.transitions.get("approve");
    expect(approve && "afterSeconds" in approve).toBe(false);
    expect(approve && "after" in approve).toBe(false);
  });

  it("records the on_abort state, which need not be reachable by transitions", async () => {
    const review = (await loadDefinitionFile(timersFile)).get("review");
    expect(review.onAbort).toBe("withdrawn");
    expect(review.initialState).toBe("waiting");
    expect([...review.states.keys()]).toEqual(["waiting", "reminded", "approved", "expired", "withdrawn", "closed"]);
    const valid = (await loadDefinitionFile(path.join(fixtures, "valid.yaml"))).get("tracer");
    expect(valid.onAbort).toBeUndefined();
  });

  it("plans the pseudo_timer event like any other transition", async () => {
    const review = (await loadDefinitionFile(timersFile)).get("review");
    const plan = planTransition(review, "waiting", TIMER_EVENT);
    expect(plan.transition.afterSeconds).toBe(172_800);
    expect(plan.target?.name).toBe("reminded");
    expect(plan.final).toBe(false);
    expect(plan.actions.map(({ phase, action, state }) => [phase, action.name, state])).toEqual([["transition", "./actions.ts#Log", "waiting"]]);
    expect(planTransition(review, "reminded", TIMER_EVENT)).toMatchObject({ final: true, target: { name: "expired" } });
    expect(() => planTransition(review, "approved", TIMER_EVENT)).toThrow('machine "review" has no transition from state "approved" on event "pseudo_timer"');
  });
});

describe("timer transitions and onAbort in the builder", () => {
  const review = () =>
    defineMachine({
      name: "review",
      initial: "waiting",
      onAbort: "withdrawn",
      states: {
        waiting: { on: { approve: "approved" }, after: { delay: "48h", target: "reminded", action: log } },
        reminded: { on: { approve: "approved" }, after: { delay: 90, target: "expired" } },
        approved: { final: true },
        expired: { final: true },
        withdrawn: { entry: log, on: { notified: "expired" } },
      },
    });

  it("writes after and on_abort into the config, a number as seconds", () => {
    expect(review()).toEqual({
      name: "review",
      on_abort: "withdrawn",
      states: [
        {
          name: "waiting",
          initial: true,
          transitions: [
            { event: "approve", target: "approved" },
            { after: "48h", target: "reminded", action: log },
          ],
        },
        {
          name: "reminded",
          transitions: [
            { event: "approve", target: "approved" },
            { after: "90s", target: "expired" },
          ],
        },
        { name: "approved", final: true, transitions: [] },
        { name: "expired", final: true, transitions: [] },
        { name: "withdrawn", entry_action: log, transitions: [{ event: "notified", target: "expired" }] },
      ],
    });
  });

  it("compiles to the same fields as YAML", async () => {
    const machine = (await defineMachines({ machines: [review()] })).get("review");
    expect(machine.onAbort).toBe("withdrawn");
    expect(machine.states.get("waiting")?.transitions.get(TIMER_EVENT)).toEqual({
      event: "pseudo_timer",
      source: "waiting",
      target: "reminded",
      action: expect.objectContaining({ name: "log" }),
      local: false,
      afterSeconds: 172_800,
      after: "48h",
      location: undefined,
    });
    expect(machine.states.get("reminded")?.transitions.get(TIMER_EVENT)).toMatchObject({ afterSeconds: 90, after: "90s" });
  });

  it("reports a bad delay and an on_abort naming the initial state, without locations", async () => {
    const problems = await problemsOf(
      defineMachines({
        machines: [
          defineMachine({
            name: "bad",
            initial: "a",
            onAbort: "a",
            states: { a: { on: { go: "b" }, after: { delay: 1.5, target: "b" } }, b: { final: true } },
          }),
        ],
      }),
    );
    expect(problems).toEqual([
      'after of transition #2 of state "a" of machine "bad" must be a duration like 90s, 15m, 48h or 30d, got "1.5s"',
      'on_abort of machine "bad" names its initial state "a"; name the state that compensates for an aborted instance',
    ]);
  });

  it("reports two timers in a state and a timer on a final state of an in-code config", async () => {
    const problems = await problemsOf(
      defineMachines({
        machines: [
          {
            name: "raw",
            on_abort: "nowhere",
            states: [
              {
                name: "a",
                initial: true,
                transitions: [
                  { after: "1h", target: "b" },
                  { after: "2h", target: "b" },
                ],
              },
              { name: "b", final: true, transitions: [{ after: "1d", target: "a" }] },
            ],
          },
        ],
      }),
    );
    expect(problems).toEqual([
      'state "a" of machine "raw" has two timer transitions; keep one',
      'final state "b" of machine "raw" has a timer transition; an instance never waits in a final state, so remove it or make the state non-final',
      'unknown on_abort state "nowhere" in machine "raw"; known states: a, b',
    ]);
  });

  it("rejects bad delays, targets and abort states at compile time", () => {
    const configs = [
      defineMachine({
        name: "delay",
        initial: "a",
        // @ts-expect-error "2 days" is not a duration
        states: { a: { after: { delay: "2 days", target: "b" } }, b: { final: true } },
      }),
      defineMachine({
        name: "target",
        initial: "a",
        // @ts-expect-error "bb" is not a state
        states: { a: { after: { delay: "1h", target: "bb" } }, b: { final: true } },
      }),
      defineMachine({
        name: "abort",
        initial: "a",
        // @ts-expect-error "x" is not a state
        onAbort: "x",
        states: { a: { on: { go: "b" } }, b: { final: true } },
      }),
    ];
    expect(configs.map((config) => config.name)).toEqual(["delay", "target", "abort"]);
  });
});
