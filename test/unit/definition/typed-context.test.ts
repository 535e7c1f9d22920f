/**
 * The user context's type reaches the actions. The type assertions are checked by `tsc --noEmit`
 * (which covers test/): each `@ts-expect-error` line fails the type check if it stops being an error.
 */
import { describe, expect, expectTypeOf, it } from "vitest";
import { type ActionContext, type ActionObj, maxRetryEvent, type UserData } from "../../../src/core/action.js";
import { ActionRegistry, defineMachine, defineMachines } from "../../../src/definition/index.js";

interface Expense {
  amount: number;
  approved?: boolean;
}

const review = (ctx: ActionContext<Expense>) => (ctx.data.amount > 100 ? "manual" : "auto");

class Approve {
  execute(ctx: ActionContext<Expense>): "decided" {
    ctx.data.approved = ctx.data.amount < 1000;
    return "decided";
  }
}

const expense = defineMachine.withData<Expense>()({
  name: "expense",
  initial: "submitted",
  states: {
    submitted: { do: review, on: { manual: "reviewing", auto: "approved" } },
    reviewing: {
      do: Approve,
      on: { decided: { target: "approved", action: (ctx) => void ctx.data.amount.toFixed() } },
    },
    approved: { final: true },
  },
});

function contextWith(data: UserData, currentState: string): ActionContext {
  return { data, steps: 0, retries: 0, correlationId: "c-1", machineName: "expense", maxRetries: 5, currentState, currentEvent: "pseudo_init" };
}

describe("typed user context", () => {
  it("leaves an untyped context as any JSON object", () => {
    expectTypeOf<ActionContext["data"]>().toEqualTypeOf<UserData>();
    expectTypeOf<UserData>().toEqualTypeOf<Record<string, unknown>>();
  });

  it("types ctx.data in every action given to defineMachine.withData", () => {
    defineMachine.withData<Expense>()({
      name: "typed",
      initial: "a",
      states: {
        a: {
          entry: (ctx) => {
            expectTypeOf(ctx.data).toEqualTypeOf<Expense>();
            expectTypeOf(ctx.data.amount).toEqualTypeOf<number>();
            // @ts-expect-error a misspelt field
            ctx.data.amout;
            // @ts-expect-error a value of the wrong type
            ctx.data.approved = "yes";
          },
          after: { delay: "1h", target: "b", action: (ctx) => void expectTypeOf(ctx.data.approved).toEqualTypeOf<boolean | undefined>() },
        },
        b: { final: true },
      },
    });
  });

  it("keeps the builder's checks and rejects typed actions where the context is untyped", () => {
    defineMachine.withData<Expense>()({
      name: "unhandled",
      initial: "a",
      states: {
        // @ts-expect-error review can return "auto", which has no transition
        a: { do: review, on: { manual: "b" } },
        b: { final: true },
      },
    });
    defineMachine.withData<Expense>()({
      name: "target",
      initial: "a",
      // @ts-expect-error "c" is not a state
      states: { a: { on: { go: "c" } }, b: { final: true } },
    });
    defineMachine({
      name: "untyped",
      initial: "a",
      // @ts-expect-error an action over Expense where the context is any object
      states: { a: { do: review, on: { manual: "b", auto: "b" } }, b: { final: true } },
    });
    const wrapped = maxRetryEvent("failed")(review);
    expectTypeOf(wrapped).toEqualTypeOf(review);
    expectTypeOf(new ActionRegistry().register("./expense.ts#review", review)).toEqualTypeOf<ActionRegistry>();
  });

  it("builds the same config as the untyped builder, and the actions run on the context", async () => {
    expect(expense.name).toBe("expense");
    expect(expense.states.map((state) => state.name)).toEqual(["submitted", "reviewing", "approved"]);
    const machine = (await defineMachines({ machines: [expense] })).get("expense");
    const obj: ActionObj = { fenceToken: 1 };
    const data: UserData = { amount: 250 };
    expect(await machine.states.get("submitted")?.doAction?.execute(contextWith(data, "submitted"), obj)).toBe("manual");
    expect(await machine.states.get("reviewing")?.doAction?.execute(contextWith(data, "reviewing"), obj)).toBe("decided");
    expect(data).toEqual({ amount: 250, approved: true });
  });
});
