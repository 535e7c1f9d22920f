/** `toAsl`: the structure of the Amazon States Language document (Step Functions has no emulator). */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { TIMER_EVENT } from "../../../src/core/message.js";
import { loadDefinitionFile } from "../../../src/definition/load.js";
import type { MachineDefinition } from "../../../src/definition/types.js";
import { type AslDocument, toAsl } from "../../../src/lambda/asl.js";
import { runStep } from "../../../src/lambda/step.js";
import { PROTOCOL_FSM } from "../../support/protocol-harness.js";

const TRACER = path.join(path.dirname(fileURLToPath(import.meta.url)), "../../../examples/tracer/fsm.yaml");
const TIMERS = path.join(path.dirname(fileURLToPath(import.meta.url)), "../../fixtures/definitions/timers.yaml");
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

/** Checks the document's structure; `skipped` names the states it leaves out (reached only by an abort). */
function checkStructure(machine: MachineDefinition, asl: AslDocument, skipped: readonly string[] = []): void {
  const parsed = JSON.parse(JSON.stringify(asl)) as AslDocument;
  expect(parsed).toEqual(asl);
  expect(Object.keys(asl.States)).toContain(asl.StartAt);
  for (const target of targets(asl)) expect(Object.keys(asl.States)).toContain(target);
  for (const [name, state] of Object.entries(asl.States)) {
    expect(["Pass", "Task", "Choice", "Wait", "Succeed", "Fail"]).toContain(state.Type);
    expect(name.length).toBeLessThanOrEqual(80);
    // Terminal states have no Next; every other state has one (or Choices and a Default).
    if (state.Type === "Succeed" || state.Type === "Fail") expect(state.Next).toBeUndefined();
    else if (state.Type === "Choice") expect(state.Default).toBeDefined();
    else expect(state.Next).toBeDefined();
  }
  for (const state of machine.states.values()) {
    if (skipped.includes(state.name)) {
      expect(asl.States[state.name]).toBeUndefined();
      continue;
    }
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
    // Every FSM transition appears as a Choice rule on $.event leading to its target's Task; a timer,
    // on a null event, through a Wait of its delay and a Pass that sets the event to pseudo_timer.
    const rules = choice.Choices as Array<Record<string, unknown>>;
    const events = [...state.transitions.values()].filter((t) => t.afterSeconds === undefined);
    expect(rules.slice(0, events.length)).toEqual(events.map((t) => ({ Variable: "$.event", StringEquals: t.event, Next: t.target })));
    const timer = state.transitions.get(TIMER_EVENT);
    if (timer === undefined) {
      expect(rules).toHaveLength(events.length);
      continue;
    }
    expect(rules.slice(events.length)).toEqual([{ Variable: "$.event", IsNull: true, Next: expect.any(String) }]);
    const wait = asl.States[rules[events.length]?.Next as string] as Record<string, unknown>;
    expect(wait).toMatchObject({ Type: "Wait", Seconds: timer.afterSeconds });
    expect(asl.States[wait.Next as string]).toMatchObject({ Type: "Pass", Parameters: { event: TIMER_EVENT }, Next: timer.target });
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
    // The on_abort compensation has no Step Functions equivalent: its states are left out.
    const compensation: Record<string, string[]> = { expense: ["refunding", "refunded"] };
    for (const machine of set.machines.values()) checkStructure(machine, toAsl(machine, { lambdaArn: ARN }), compensation[machine.name] ?? []);
  });

  it("turns a timer into a Choice rule on a null event, a Wait of its delay and a Pass that fires pseudo_timer", async () => {
    const machine = (await loadDefinitionFile(TIMERS)).get("review");
    const asl = toAsl(machine, { lambdaArn: ARN });
    checkStructure(machine, asl, ["withdrawn", "closed"]);
    expect(asl.States["waiting ?"]).toEqual({
      Type: "Choice",
      Choices: [
        { Variable: "$.event", StringEquals: "approve", Next: "approved" },
        { Variable: "$.event", IsNull: true, Next: "waiting after 48h" },
      ],
      Default: "no transition",
    });
    expect(asl.States["waiting after 48h"]).toEqual({
      Type: "Wait",
      Comment: "Step Functions delivers no external events: the timer of waiting (after 48h) always fires",
      Seconds: 172_800,
      Next: "waiting pseudo_timer",
    });
    expect(asl.States["waiting pseudo_timer"]).toEqual({
      Type: "Pass",
      Comment: "the timer fires: waiting --pseudo_timer--> reminded",
      Parameters: { "state.$": "$.state", event: "pseudo_timer", "context.$": "$.context", "steps.$": "$.steps" },
      Next: "reminded",
    });
    expect(asl.States["reminded after 90s"]).toMatchObject({ Type: "Wait", Seconds: 90, Next: "reminded pseudo_timer" });
  });

  it("runs the Task after a timer's Pass as the transition on pseudo_timer", async () => {
    const definitions = await loadDefinitionFile(TIMERS);
    const output = await runStep(definitions, { switchyard: "step", machine: "review", state: "reminded", from: "waiting", event: TIMER_EVENT, context: {}, steps: 1 });
    // The timer transition's action (Log) ran in the source state.
    expect(output).toEqual({ state: "reminded", event: null, context: { log: ["log:waiting"] }, steps: 2, final: false });
  });

  it("leaves out the on_abort state and what only it leads to, and says so", async () => {
    const asl = toAsl((await loadDefinitionFile(TIMERS)).get("review"), { lambdaArn: ARN });
    expect(Object.keys(asl.States).filter((name) => /withdrawn|closed/.test(name))).toEqual([]);
    expect(asl.Comment).toBe(
      "Switchyard machine review (generated by switchyard asl); its on_abort (withdrawn) is not exported: stopping an execution runs no compensation",
    );
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
