import { describe, expect, it } from "vitest";
import type { ActionContext } from "../../../src/core/action.js";
import { defineMachine, defineMachines } from "../../../src/definition/index.js";

const validate = (context: ActionContext) => (context.data.ok ? "valid" : "invalid");
const charge = async (_context: ActionContext): Promise<"charged"> => "charged";
const log = (_context: ActionContext): undefined => undefined;
class Ship {
  async execute(_context: ActionContext): Promise<"shipped"> {
    return "shipped";
  }
}

describe("defineMachine", () => {
  it("builds the machine config, the initial state marked and transitions in order", () => {
    const order = defineMachine({
      name: "order",
      maxRetries: 3,
      initial: "received",
      states: {
        received: { do: validate, on: { valid: "charging", invalid: "rejected" } },
        charging: { entry: log, do: charge, on: { charged: { target: "shipping", action: log, local: true } } },
        shipping: { do: Ship, exit: "./actions.ts#Log", on: { shipped: "shipped" } },
        shipped: { final: true },
        rejected: { final: true },
      },
    });
    expect(order).toEqual({
      name: "order",
      max_retries: 3,
      states: [
        {
          name: "received",
          initial: true,
          do_action: validate,
          transitions: [
            { event: "valid", target: "charging" },
            { event: "invalid", target: "rejected" },
          ],
        },
        {
          name: "charging",
          entry_action: log,
          do_action: charge,
          transitions: [{ event: "charged", target: "shipping", action: log, local: true }],
        },
        { name: "shipping", do_action: Ship, exit_action: "./actions.ts#Log", transitions: [{ event: "shipped", target: "shipped" }] },
        { name: "shipped", final: true, transitions: [] },
        { name: "rejected", final: true, transitions: [] },
      ],
    });
  });

  it("produces a config that defineMachines resolves and runs", async () => {
    const machine = defineMachine({
      name: "check",
      initial: "checking",
      states: { checking: { do: validate, on: { valid: "ok", invalid: "ok" } }, ok: { final: true } },
    });
    const checking = (await defineMachines({ machines: [machine] })).get("check").states.get("checking");
    expect(checking?.doAction?.name).toBe("validate");
    const context = { data: { ok: true }, steps: 0, retries: 0, correlationId: "c", machineName: "check", maxRetries: 5, currentState: "checking", currentEvent: "pseudo_init" };
    expect(await checking?.doAction?.execute(context, { fenceToken: 1 })).toBe("valid");
  });

  it("rejects unknown states and unhandled events at compile time", () => {
    const configs = [
      defineMachine({
        name: "target",
        initial: "a",
        // @ts-expect-error "bb" is not a state
        states: { a: { on: { go: "bb" } }, b: { final: true } },
      }),
      defineMachine({
        name: "target-object",
        initial: "a",
        // @ts-expect-error "bb" is not a state
        states: { a: { on: { go: { target: "bb", local: true } } }, b: { final: true } },
      }),
      defineMachine({
        name: "initial",
        // @ts-expect-error "x" is not a state
        initial: "x",
        states: { a: { on: { go: "b" } }, b: { final: true } },
      }),
      defineMachine({
        name: "unhandled",
        initial: "a",
        // @ts-expect-error validate can return "invalid", which has no transition
        states: { a: { do: validate, on: { valid: "b" } }, b: { final: true } },
      }),
      defineMachine({
        name: "unhandled-class",
        initial: "a",
        // @ts-expect-error Ship returns "shipped", which has no transition
        states: { a: { do: Ship, on: { sent: "b" } }, b: { final: true } },
      }),
      defineMachine({
        name: "unhandled-inline",
        initial: "a",
        // @ts-expect-error the inline do action can return "no", which has no transition
        states: { a: { do: (context) => (context.data.x ? "yes" : "no"), on: { yes: "b" } }, b: { final: true } },
      }),
    ];
    // The type errors above do not stop the builder; `validate`/`defineMachines` would report them.
    expect(configs.map((config) => config.name)).toEqual([
      "target",
      "target-object",
      "initial",
      "unhandled",
      "unhandled-class",
      "unhandled-inline",
    ]);
  });

  it("accepts any event from a do action whose events are not known to the types", () => {
    const untyped = (_context: ActionContext): string => "anything";
    const machine = defineMachine({
      name: "open",
      initial: "a",
      states: { a: { do: untyped, on: { go: "b" } }, b: { final: true } },
    });
    expect(machine.states[0]?.transitions).toEqual([{ event: "go", target: "b" }]);
  });
});
