import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { ActionContext } from "../../../src/core/action.js";
import { defineMachine, defineMachines, toDot, toMermaid } from "../../../src/definition/index.js";

const fixtures = fileURLToPath(new URL("../../fixtures/definitions/", import.meta.url));
const validate = (context: ActionContext) => (context.data.ok ? "valid" : "invalid");

async function order() {
  const machine = defineMachine({
    name: "order",
    initial: "received",
    states: {
      received: { do: validate, on: { valid: "charging", invalid: "rejected" } },
      charging: { do: "./actions.ts#Increment", on: { charged: { target: "in transit", action: "lib.steps.Double", local: true } } },
      "in transit": { on: { delivered: { target: "shipped", action: "./actions.ts#Log" } } },
      shipped: { final: true },
      rejected: { final: true },
    },
  });
  return (await defineMachines({ machines: [machine] }, { baseDir: fixtures })).get("order");
}

describe("toMermaid", () => {
  it("draws a stateDiagram-v2 with start and final markers, action labels and local transitions", async () => {
    expect(toMermaid(await order())).toBe(
      [
        "stateDiagram-v2",
        '  state "in transit" as __s2',
        "  [*] --> received",
        "  received --> charging : valid",
        "  received --> rejected : invalid",
        "  charging --> __s2 : charged / Double (local)",
        "  __s2 --> shipped : delivered / Log",
        "  shipped --> [*]",
        "  rejected --> [*]",
        "",
      ].join("\n"),
    );
  });
});

describe("toDot", () => {
  it("draws a digraph with a start point, double-bordered final states and dashed local transitions", async () => {
    expect(toDot(await order())).toBe(
      [
        'digraph "order" {',
        "  rankdir=LR;",
        "  node [shape=box, style=rounded];",
        '  "__start__" [shape=point, width=0.2];',
        '  "received";',
        '  "charging";',
        '  "in transit";',
        '  "shipped" [peripheries=2];',
        '  "rejected" [peripheries=2];',
        '  "__start__" -> "received";',
        '  "received" -> "charging" [label="valid"];',
        '  "received" -> "rejected" [label="invalid"];',
        '  "charging" -> "in transit" [label="charged / Double", style=dashed];',
        '  "in transit" -> "shipped" [label="delivered / Log"];',
        "}",
        "",
      ].join("\n"),
    );
  });
});
