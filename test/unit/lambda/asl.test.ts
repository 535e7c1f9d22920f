/** `toAsl`: the structure of the Amazon States Language document (Step Functions has no emulator). */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadDefinitionFile } from "../../../src/definition/load.js";
import type { MachineDefinition } from "../../../src/definition/types.js";
import { type AslDocument, toAsl } from "../../../src/lambda/asl.js";
import { PROTOCOL_FSM } from "../../support/protocol-harness.js";

const TRACER = path.join(path.dirname(fileURLToPath(import.meta.url)), "../../../examples/tracer/fsm.yaml");
const ARN = "arn:aws:lambda:us-east-1:123456789012:function:switchyard";

/** Every `Next`, `Default` and Choice/Catch target of the document. */
function targets(asl: AslDocument): string[] {
  const found: string[] = [];
  for (const state of Object.values(asl.States)) {
    for (const key of ["Next", "Default"]) if (typeof state[key] === "string") found.push(state[key] as string);
    for (const rule of (state.Choices as Array<{ Next: string }> | undefined) ?? []) found.push(rule.Next);
    for (const c of (state.Catch as Array<{ Next: string }> | undefined) ?? []) found.push(c.Next);
  }
  return found;
}

function checkStructure(machine: MachineDefinition, asl: AslDocument): void {
  const parsed = JSON.parse(JSON.stringify(asl)) as AslDocument;
  expect(parsed).toEqual(asl);
  expect(Object.keys(asl.States)).toContain(asl.StartAt);
  for (const target of targets(asl)) expect(Object.keys(asl.States)).toContain(target);
  for (const [name, state] of Object.entries(asl.States)) {
    expect(["Pass", "Task", "Choice", "Succeed", "Fail"]).toContain(state.Type);
    expect(name.length).toBeLessThanOrEqual(80);
    // Terminal states have no Next; every other state has one (or Choices and a Default).
    if (state.Type === "Succeed" || state.Type === "Fail") expect(state.Next).toBeUndefined();
    else if (state.Type === "Choice") expect(state.Default).toBeDefined();
    else expect(state.Next).toBeDefined();
  }
  for (const state of machine.states.values()) {
    const task = asl.States[state.name] as Record<string, unknown>;
    expect(task).toMatchObject({ Type: "Task", Resource: ARN, Parameters: { switchyard: "step", machine: machine.name, state: state.name, "context.$": "$.context" } });
    expect(task.Retry).toContainEqual(expect.objectContaining({ ErrorEquals: ["States.ALL"], MaxAttempts: machine.maxRetries, JitterStrategy: "FULL" }));
    expect(asl.States[(task.Catch as Array<{ Next: string }>)[0]?.Next as string]?.Type).toBe("Fail");
    if (state.final) {
      expect(asl.States[task.Next as string]?.Type).toBe("Succeed");
      continue;
    }
    const choice = asl.States[task.Next as string] as Record<string, unknown>;
    expect(choice.Type).toBe("Choice");
    // Every FSM transition appears as a Choice rule on $.event leading to its target's Task.
    const rules = choice.Choices as Array<Record<string, string>>;
    expect(rules).toEqual([...state.transitions.values()].map((t) => ({ Variable: "$.event", StringEquals: t.event, Next: t.target })));
  }
}

describe("asl", () => {
  it("turns the tracer into Pass → Task/Choice per state → Succeed", async () => {
    const machine = (await loadDefinitionFile(TRACER)).get("tracer");
    const asl = toAsl(machine, { lambdaArn: ARN });
    checkStructure(machine, asl);
    expect(asl.StartAt).toBe("pseudo_init");
    expect(asl.States.pseudo_init).toMatchObject({ Type: "Pass", Next: "state1", Parameters: { state: "pseudo_init", event: "pseudo_init", steps: 0 } });
    expect(Object.keys(asl.States).sort()).toEqual(["action failed", "final", "no transition", "pseudo_final", "pseudo_init", "state1", "state1 ?", "state2", "state2 ?"].sort());
    expect(asl.States["state1 ?"]).toEqual({
      Type: "Choice",
      Choices: [
        { Variable: "$.event", StringEquals: "event1", Next: "state2" },
        { Variable: "$.event", StringEquals: "done", Next: "final" },
      ],
      Default: "no transition",
    });
  });

  it("emits a valid document for every protocol fixture machine", async () => {
    const set = await loadDefinitionFile(PROTOCOL_FSM);
    for (const machine of set.machines.values()) checkStructure(machine, toAsl(machine, { lambdaArn: ARN }));
  });

  it("does not retry FatalActionError", async () => {
    const asl = toAsl((await loadDefinitionFile(PROTOCOL_FSM)).get("failures"), { lambdaArn: ARN });
    expect((asl.States.fatal as Record<string, unknown>).Retry).toEqual([
      { ErrorEquals: ["FatalActionError"], MaxAttempts: 0 },
      { ErrorEquals: ["States.ALL"], IntervalSeconds: 1, MaxAttempts: 1, BackoffRate: 2, MaxDelaySeconds: 60, JitterStrategy: "FULL" },
    ]);
  });

  it("refuses an ARN that is not a Lambda function's", async () => {
    const machine = (await loadDefinitionFile(TRACER)).get("tracer");
    expect(() => toAsl(machine, { lambdaArn: "switchyard" })).toThrow(
      '--lambda-arn "switchyard" is not a Lambda function ARN; write arn:aws:lambda:REGION:ACCOUNT:function:NAME',
    );
  });
});
