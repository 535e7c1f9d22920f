import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { ActionContext } from "../../../src/core/action.js";
import { defineMachine, defineMachines, loadDefinitionFile, toDot, toMermaid } from "../../../src/definition/index.js";

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

/** waiting --after 48h / Log--> reminded --after 90s--> expired, and on_abort: withdrawn. */
async function review() {
  return (await loadDefinitionFile(`${fixtures}timers.yaml`)).get("review");
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

  it("labels timer transitions after <delay> and notes the on_abort state", async () => {
    expect(toMermaid(await review())).toBe(
      [
        "stateDiagram-v2",
        "  [*] --> waiting",
        "  waiting --> approved : approve",
        "  waiting --> reminded : after 48h / Log",
        "  reminded --> expired : after 90s",
        "  reminded --> approved : approve",
        "  approved --> [*]",
        "  expired --> [*]",
        "  withdrawn --> closed : notified",
        "  closed --> [*]",
        "  note left of withdrawn : on abort",
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

  it("draws timer transitions dashed and labelled after <delay>, and a dotted edge from an on-abort note", async () => {
    expect(toDot(await review())).toBe(
      [
        'digraph "review" {',
        "  rankdir=LR;",
        "  node [shape=box, style=rounded];",
        '  "__start__" [shape=point, width=0.2];',
        '  "waiting";',
        '  "reminded";',
        '  "approved" [peripheries=2];',
        '  "expired" [peripheries=2];',
        '  "withdrawn";',
        '  "closed" [peripheries=2];',
        '  "__on_abort__" [shape=note, label="on abort"];',
        '  "__start__" -> "waiting";',
        '  "__on_abort__" -> "withdrawn" [style=dotted];',
        '  "waiting" -> "approved" [label="approve"];',
        '  "waiting" -> "reminded" [label="after 48h / Log", style=dashed];',
        '  "reminded" -> "expired" [label="after 90s", style=dashed];',
        '  "reminded" -> "approved" [label="approve"];',
        '  "withdrawn" -> "closed" [label="notified"];',
        "}",
        "",
      ].join("\n"),
    );
  });
});
