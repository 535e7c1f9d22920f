import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { validateDefinitionFile } from "../../../src/definition/index.js";

const fixtures = fileURLToPath(new URL("../../fixtures/definitions/", import.meta.url));

/** The problems of a fixture as `file:line:column: message`, with paths relative to the fixtures. */
async function problemsOf(name: string): Promise<string[]> {
  const problems = await validateDefinitionFile(path.join(fixtures, name));
  return problems.map((problem) => problem.toString().replaceAll(fixtures, ""));
}

describe("validateDefinitionFile", () => {
  it("finds nothing wrong with a valid multi-file definition", async () => {
    expect(await problemsOf("valid.yaml")).toEqual([]);
  });

  it("reports YAML syntax errors", async () => {
    // Written at run time: a broken YAML fixture would break the linter, which parses YAML too.
    const dir = await mkdtemp(path.join(tmpdir(), "switchyard-syntax-"));
    const file = path.join(dir, "fsm.yaml");
    await writeFile(file, "machines:\n- name: broken: twice\n  states: []\n");
    const problems = await validateDefinitionFile(file);
    await rm(dir, { recursive: true });
    expect(problems.map(String)).toEqual([
      `${file}:2:9: YAML syntax error: Nested mappings are not allowed in compact mappings; fix the YAML here`,
    ]);
  });

  it("reports duplicate keys", async () => {
    expect(await problemsOf("problems/duplicate-key.yaml")).toEqual([
      "problems/duplicate-key.yaml:7:5: YAML syntax error: Map keys must be unique; fix the YAML here",
    ]);
  });

  it("reports unknown keys at the key, suggesting the closest known key", async () => {
    expect(await problemsOf("problems/unknown-key.yaml")).toEqual([
      'problems/unknown-key.yaml:3:3: unknown key "max_retry" in machine "keys"; did you mean "max_retries"?',
      'problems/unknown-key.yaml:7:5: unknown key "do_acton" in state "s1"; did you mean "do_action"?',
      'problems/unknown-key.yaml:11:7: unknown key "locl" in transition "go" of state "s1"; did you mean "local"?',
      'problems/unknown-key.yaml:14:5: unknown key "colour" in state "s2"; known keys: name, initial, final, entry_action, do_action, exit_action, task, transitions',
    ]);
  });

  it("reports state names reserved for the pseudo-states", async () => {
    expect(await problemsOf("problems/reserved-name.yaml")).toEqual([
      'problems/reserved-name.yaml:9:11: state name "pseudo_final" is reserved for the pseudo-state every machine has; rename the state',
    ]);
  });

  it("reports missing names of machines, states and events", async () => {
    expect(await problemsOf("problems/missing-name.yaml")).toEqual([
      "problems/missing-name.yaml:2:3: machine #1 has no name; add name: <machine name>",
      'problems/missing-name.yaml:8:5: state #1 of machine "named" has no name; add name: <state name>',
      'problems/missing-name.yaml:13:7: transition #1 of state "s2" has no event; add event: <event name> (or after: <duration> for a timer)',
    ]);
  });

  it("reports duplicate states", async () => {
    expect(await problemsOf("problems/duplicate-state.yaml")).toEqual([
      'problems/duplicate-state.yaml:11:11: duplicate state "s1" in machine "dup" (first at problems/duplicate-state.yaml:4:11); rename one of them',
    ]);
  });

  it("reports duplicate machines across imported files", async () => {
    expect(await problemsOf("problems/duplicate-machine.yaml")).toEqual([
      'problems/duplicate-machine.yaml:3:9: duplicate machine "twice" (first at problems/duplicate-machine-other.yaml:2:9); machine names must be unique, also across imported files',
    ]);
  });

  it("reports a machine without an initial state", async () => {
    expect(await problemsOf("problems/no-initial.yaml")).toEqual([
      'problems/no-initial.yaml:2:9: machine "nostart" has no initial state; mark one state with initial: true',
    ]);
  });

  it("reports several initial states at the second one", async () => {
    expect(await problemsOf("problems/several-initial.yaml")).toEqual([
      'problems/several-initial.yaml:10:14: machine "twostarts" has 2 initial states ("s1", "s2"); mark only one with initial: true',
    ]);
  });

  it("reports unknown targets, with a suggestion when one is close", async () => {
    expect(await problemsOf("problems/unknown-target.yaml")).toEqual([
      'problems/unknown-target.yaml:8:15: unknown target state "finsh" in transition "go" of state "start"; did you mean "finish"?',
      'problems/unknown-target.yaml:10:15: unknown target state "nowhere" in transition "other" of state "start"; known states: start, finish',
      'problems/unknown-target.yaml:11:11: state "finish" is unreachable from the initial state "start"; add a transition to it or remove it',
    ]);
  });

  it("reports two transitions on one event", async () => {
    expect(await problemsOf("problems/duplicate-event.yaml")).toEqual([
      'problems/duplicate-event.yaml:9:14: state "s1" has two transitions on event "go" (first at problems/duplicate-event.yaml:7:14); keep one',
    ]);
  });

  it("reports states unreachable from the initial state", async () => {
    expect(await problemsOf("problems/unreachable.yaml")).toEqual([
      'problems/unreachable.yaml:11:11: state "island" is unreachable from the initial state "s1"; add a transition to it or remove it',
    ]);
  });

  it("reports non-final states without transitions", async () => {
    expect(await problemsOf("problems/no-way-out.yaml")).toEqual([
      'problems/no-way-out.yaml:9:11: state "s2" is not final and has no transitions; add a transition or mark it final: true',
    ]);
  });

  it("reports every action reference that does not resolve", async () => {
    const remedy = "export a function (context, obj) => event or a class with execute(context, obj)";
    expect(await problemsOf("problems/bad-actions.yaml")).toEqual([
      'problems/bad-actions.yaml:6:19: action "../nowhere.ts#Log": module not found (looked for nowhere.ts); fix the path, which is relative to the definition file, or register the action',
      'problems/bad-actions.yaml:7:16: action "../actions.ts#Missing": module has no export "Missing"; known exports: Increment, Log, NoExecute, notAnAction',
      `problems/bad-actions.yaml:8:18: action "../actions.ts#notAnAction" is a number, not an action; ${remedy}`,
      `problems/bad-actions.yaml:12:15: action "../actions.ts#NoExecute" is a class without an execute(context, obj) method; ${remedy}`,
      'problems/bad-actions.yaml:15:19: action "lib.nothing.Log": module not found (looked for problems/lib/nothing{.ts,.mts,.js,.mjs}); fix the path, which is relative to the definition file, or register the action',
      'problems/bad-actions.yaml:16:16: action "JustAName" is not registered and is not a module reference; write ./module.ts#JustAName or register it with ActionRegistry.register()',
      'problems/bad-actions.yaml:17:18: exit_action of state "s2" must be an action reference like ./actions.ts#Name, got 42',
    ]);
  });

  it("reports import cycles at the import that closes the cycle", async () => {
    expect(await problemsOf("problems/cycle-a.yaml")).toEqual([
      "problems/cycle-b.yaml:7:11: import cycle: problems/cycle-a.yaml -> problems/cycle-b.yaml -> problems/cycle-a.yaml; remove one of these imports",
    ]);
  });

  it("reports imports of missing files", async () => {
    expect(await problemsOf("problems/missing-import.yaml")).toEqual([
      "problems/missing-import.yaml:2:11: cannot import problems/not-there.yaml: file not found; fix the path, which is relative to problems/missing-import.yaml",
    ]);
  });

  it("reports wrongly typed values", async () => {
    expect(await problemsOf("problems/wrong-types.yaml")).toEqual([
      'problems/wrong-types.yaml:2:9: machine "types" has no initial state; mark one state with initial: true',
      'problems/wrong-types.yaml:3:16: max_retries of machine "types" must be a non-negative integer, got -1',
      'problems/wrong-types.yaml:6:14: initial of state "s1" must be true or false, got "yes"',
      'problems/wrong-types.yaml:7:12: final of state "s1" must be true or false, got 1',
      'problems/wrong-types.yaml:11:14: local of transition "go" of state "s1" must be true or false, got "maybe"',
      'problems/wrong-types.yaml:13:11: states of machine "flat" must be a list of states, got "s1"',
      'problems/wrong-types.yaml:14:3: machine "empty" has no states; add states: with a list of states',
      'problems/wrong-types.yaml:15:16: max_retries of machine "empty" must be a non-negative integer, got 2.5',
    ]);
  });

  it("finds nothing wrong with timers and an on_abort state reached only by an abort", async () => {
    expect(await problemsOf("timers.yaml")).toEqual([]);
  });

  it("reports durations of timers that are not a whole number and one unit up to 365d", async () => {
    const like = "like 90s, 15m, 48h or 30d";
    expect(await problemsOf("problems/bad-timers.yaml")).toEqual([
      `problems/bad-timers.yaml:9:14: after of transition #2 of state "words" must be a duration ${like}, got "2 days"`,
      `problems/bad-timers.yaml:15:14: after of transition #2 of state "zero" must be a positive duration ${like}, got "0s"`,
      'problems/bad-timers.yaml:21:14: after of transition #2 of state "long" must be at most 365d, got "366d"',
      `problems/bad-timers.yaml:27:14: after of transition #2 of state "unitless" must be a duration ${like}, got 90`,
      `problems/bad-timers.yaml:31:14: after of transition #1 of state "fraction" must be a duration ${like}, got "1.5h"`,
    ]);
  });

  it("reports timers with an event, local timers, several timers in a state and timers of final states", async () => {
    const first = "(first at problems/timer-conflicts.yaml:13:14)";
    expect(await problemsOf("problems/timer-conflicts.yaml")).toEqual([
      'problems/timer-conflicts.yaml:8:7: transition "approve" of state "review" has both event and after; keep one: a transition fires on an event or after a delay',
      'problems/timer-conflicts.yaml:10:7: transition #2 of state "review" has no event; add event: <event name> (or after: <duration> for a timer)',
      'problems/timer-conflicts.yaml:15:14: transition after 15m of state "waiting" cannot be local: true; a timer always fires as a message of its own',
      `problems/timer-conflicts.yaml:16:14: state "waiting" has two timer transitions ${first}; keep one`,
      `problems/timer-conflicts.yaml:18:14: state "waiting" has two timer transitions ${first}; keep one`,
      'problems/timer-conflicts.yaml:19:15: unknown target state "dnoe" in transition after 1h of state "waiting"; did you mean "done"?',
      'problems/timer-conflicts.yaml:23:14: final state "done" has a timer transition; an instance never waits in a final state, so remove it or make the state non-final',
    ]);
  });

  it("reports event names reserved for Switchyard's pseudo-events", async () => {
    const reserved = "is reserved: names starting with pseudo_ belong to Switchyard's own events";
    expect(await problemsOf("problems/reserved-event.yaml")).toEqual([
      `problems/reserved-event.yaml:7:14: event name "pseudo_timer" ${reserved}; for a timer write after: <duration> instead of an event`,
      `problems/reserved-event.yaml:9:14: event name "pseudo_retry" ${reserved}; rename the event`,
    ]);
  });

  it("reports an on_abort that names no state or the initial state, and does not count it as reaching states", async () => {
    expect(await problemsOf("problems/bad-abort.yaml")).toEqual([
      'problems/bad-abort.yaml:3:13: unknown on_abort state "cancelld" in machine "typo"; did you mean "cancelled"?',
      'problems/bad-abort.yaml:13:13: on_abort of machine "initial" names its initial state "start"; name the state that compensates for an aborted instance',
      'problems/bad-abort.yaml:22:11: state "island" is unreachable from the initial state "start"; add a transition to it or remove it',
      'problems/bad-abort.yaml:25:13: on_abort of machine "empty" must be a non-empty string, got ""',
    ]);
  });

  it("reports states that neither the initial state nor the on_abort state reach", async () => {
    expect(await problemsOf("problems/abort-unreachable.yaml")).toEqual([
      'problems/abort-unreachable.yaml:17:11: state "island" is unreachable from the initial state "start" or the on_abort state "undo"; add a transition to it or remove it',
    ]);
  });

  it("reports a missing definition file without a location", async () => {
    const problems = await validateDefinitionFile(path.join(fixtures, "absent.yaml"));
    expect(problems.map((problem) => [problem.location, problem.message])).toEqual([
      [undefined, `cannot read ${path.join(fixtures, "absent.yaml")}: file not found; check the path`],
    ]);
  });

  it("gives each problem its location as data", async () => {
    const [problem] = await validateDefinitionFile(path.join(fixtures, "problems/no-way-out.yaml"));
    expect(problem?.location).toEqual({ file: path.join(fixtures, "problems/no-way-out.yaml"), line: 9, column: 11 });
  });
});
