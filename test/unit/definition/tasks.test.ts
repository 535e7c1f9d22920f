/** Task states (`task:`): their YAML form, its problems with locations, the timer, and the version. */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { TIMER_EVENT } from "../../../src/core/message.js";
import { toMermaid } from "../../../src/definition/graph.js";
import { compileDocument } from "../../../src/definition/compile.js";
import { loadDefinitionFile } from "../../../src/definition/index.js";
import { DefinitionErrors } from "../../../src/errors.js";

const machine = (task: string, transitions = "    - event: done\n      target: resized\n    - event: task_timeout\n      target: failed") => `machines:
- name: resize
  states:
  - name: start
    initial: true
    transitions:
    - event: go
      target: resizing
  - name: resizing
${task}
    transitions:
${transitions}
  - name: resized
    final: true
  - name: failed
    final: true
`;

const COMMAND = `    task:
      command: [node, scripts/resize.js]
      cwd: scripts
      env: {SIZE: "800"}
      timeout: 10m
      heartbeat: 1m`;

async function write(text: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "sy-task-def-"));
  const file = path.join(dir, "fsm.yaml");
  await writeFile(file, text);
  return file;
}

async function problemsOf(text: string): Promise<string[]> {
  const file = await write(text);
  try {
    await loadDefinitionFile(file);
  } catch (error) {
    if (error instanceof DefinitionErrors) return error.problems.map((problem) => String(problem).replace(`${file}:`, "fsm.yaml:"));
    throw error;
  }
  return [];
}

describe("task states", () => {
  it("resolves a command task, its built-in do action and the timer of its timeout and heartbeat", async () => {
    const file = await write(machine(COMMAND));
    const resize = (await loadDefinitionFile(file)).get("resize");
    const state = resize.states.get("resizing");
    expect(resize.hasTasks).toBe(true);
    expect(state?.task).toEqual({
      kind: "command",
      command: ["node", "scripts/resize.js"],
      cwd: "scripts",
      env: { SIZE: "800" },
      timeoutSeconds: 600,
      heartbeatSeconds: 60,
      baseDir: path.dirname(file),
    });
    expect(state?.doAction?.name).toBe("task:command");
    expect(state?.transitions.get(TIMER_EVENT)).toMatchObject({ target: "failed", afterSeconds: 60, ofTask: true });
    expect(resize.document.states.find((s) => s.name === "resizing")).toEqual({
      name: "resizing",
      task: { command: ["node", "scripts/resize.js"], cwd: "scripts", env: { SIZE: "800" }, timeout: "600s", heartbeat: "60s" },
      transitions: [
        { event: "done", target: "resized" },
        { event: "task_timeout", target: "failed" },
      ],
    });
  });

  it("draws a task's timeout once, as its task_timeout transition", async () => {
    const resize = (await loadDefinitionFile(await write(machine(COMMAND)))).get("resize");
    expect(toMermaid(resize).split("\n").filter((line) => line.includes("resizing -->"))).toEqual(["  resizing --> resized : done", "  resizing --> failed : task_timeout"]);
  });

  it("makes a change of command a new version, and the same task written differently the same one", async () => {
    const version = async (text: string) => (await loadDefinitionFile(await write(text))).get("resize").version;
    const base = await version(machine(COMMAND));
    expect(await version(machine(COMMAND.replace("resize.js", "shrink.js")))).not.toBe(base);
    expect(await version(machine(COMMAND.replace("10m", "600s")))).toBe(base);
  });

  it("compiles its registered document back into the same machine and version", async () => {
    const ecs = `    task:\n      ecs: {cluster: c, task_definition: "td:1", container: app, launch_type: FARGATE, overrides: {cpu: "256"}}\n      timeout: 2m`;
    for (const text of [machine(COMMAND), machine(ecs)]) {
      const file = await write(text);
      const resize = (await loadDefinitionFile(file)).get("resize");
      const { machine: again, problems } = await compileDocument(JSON.parse(JSON.stringify(resize.document)), { baseDir: path.dirname(file) });
      expect(problems).toEqual([]);
      expect(again?.version).toBe(resize.version);
      expect(again?.states.get("resizing")?.task).toEqual(resize.states.get("resizing")?.task);
    }
  });

  it("validates the docker and ecs forms", async () => {
    const docker = `    task:\n      docker: {image: "node:22", args: [node, -e, "1"]}\n      timeout: 5m`;
    const ecs = `    task:\n      ecs: {cluster: c, task_definition: "td:1", container: app, launch_type: FARGATE, overrides: {}}`;
    expect(await problemsOf(machine(docker))).toEqual([]);
    expect(await problemsOf(machine(ecs))).toEqual([]);
    const file = await write(machine(ecs));
    expect((await loadDefinitionFile(file)).get("resize").states.get("resizing")?.task).toMatchObject({ kind: "ecs", cluster: "c", taskDefinition: "td:1", container: "app", launchType: "FARGATE" });
  });

  it("reports every problem of a task with its location", async () => {
    const task = `    do_action: ./a.js#X
    task:
      command: node scripts/resize.js
      env: {SIZE: 800}
      timeout: 10x
      shell: true`;
    expect(await problemsOf(machine(task))).toEqual([
      expect.stringContaining('fsm.yaml:10:16: action "./a.js#X": module not found'),
      'fsm.yaml:11:5: state "resizing" has both task and do_action; keep one: a state runs either a task or a do_action',
      'fsm.yaml:12:16: command of task of state "resizing" must be a non-empty list of strings (the program and its arguments, no shell), got "node scripts/resize.js"; write it as a list, e.g. ["node", "scripts/resize.js"]',
      'fsm.yaml:13:19: SIZE of env of task of state "resizing" must be a string, got 800; quote it: SIZE: "800"',
      'fsm.yaml:14:16: timeout of task of state "resizing" must be a duration like 90s, 15m, 48h or 30d, got "10x"',
      'fsm.yaml:15:7: unknown key "shell" in task of state "resizing"; known keys: command, cwd, env, docker, ecs, timeout, heartbeat',
    ]);
  });

  it("refuses two kinds, an ecs task without its container, and a bad launch type", async () => {
    expect(await problemsOf(machine(`    task:\n      command: [x]\n      docker: {image: y}`))).toEqual([
      'fsm.yaml:11:7: task of state "resizing" names 2 tasks (command, docker); give exactly one of command: [program, args…], docker: {image} or ecs: {cluster, task_definition, container}',
    ]);
    expect(await problemsOf(machine(`    task:\n      ecs: {cluster: c, task_definition: t, launch_type: LAMBDA}`))).toEqual([
      'fsm.yaml:11:12: ecs of task of state "resizing" has no container; add container: <container name in the task definition>',
      'fsm.yaml:11:58: launch_type of ecs of task of state "resizing" must be one of FARGATE, EC2, EXTERNAL, got "LAMBDA"',
    ]);
  });

  it("needs a task_timeout transition for a timeout, no after: beside it, no local transition, and an event to report", async () => {
    const transitions = "    - event: done\n      target: resized\n      local: true\n    - after: 1m\n      target: failed";
    expect(await problemsOf(machine(COMMAND, transitions))).toEqual([
      'fsm.yaml:11:7: task of state "resizing" has a timeout or heartbeat but the state has no transition on event "task_timeout"; add one (- event: task_timeout, target: <state>)',
      'fsm.yaml:17:7: transition "done" of state "resizing" cannot be local: true; a task\'s report arrives as a message of its own',
      'fsm.yaml:20:14: state "resizing" has both a task timeout or heartbeat and a timer transition; keep one: the task\'s timeout is the state\'s timer',
    ]);
    expect(await problemsOf(machine("    task:\n      command: [x]", "    - event: task_timeout\n      target: failed"))).toEqual([
      'fsm.yaml:11:7: state "resizing" runs a task but has no transition for it to report; add one (- event: done, target: <state>)',
      'fsm.yaml:15:11: state "resized" is unreachable from the initial state "start"; add a transition to it or remove it',
    ]);
  });
});
