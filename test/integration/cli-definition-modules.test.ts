/**
 * Definitions in JavaScript/TypeScript modules through the CLI: in this process (`main`) for the
 * commands and their errors, and once as a real process in a CommonJS project.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.js";
import { ROOT, runCli } from "../support/cli.js";

const modules = path.join(ROOT, "test/fixtures/definitions/modules");
const EXPENSE = path.join(modules, "expense.ts");
const EXPECTED_EXPORT = "export a definition set (defineMachines), a machine (defineMachine), a list of machines, or {machines: [...]}";

/** Run the CLI in this process and collect what it prints. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  process.exitCode = undefined;
  try {
    const code = await main(["node", "switchyard", ...args]);
    return { code, stdout, stderr };
  } finally {
    process.exitCode = undefined;
    out.mockRestore();
    err.mockRestore();
  }
}

describe("definition modules in the CLI", () => {
  let dir: string;
  let settings: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "switchyard-modules-"));
    settings = path.join(dir, "settings.yaml");
    writeFileSync(settings, ["stream: sqlite:./run.db", "retry: sqlite:./run.db", "cache: sqlite:./run.db", "checkpoint: sqlite:./run.db", "metrics: false", ""].join("\n"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("validate and graph read a TypeScript module; graph takes it as an argument or as -d", async () => {
    expect(await cli("validate", EXPENSE)).toEqual({ code: 0, stdout: `${EXPENSE}: ok\n`, stderr: "" });
    const graph = await cli("graph", "-d", EXPENSE);
    expect(graph.code, graph.stderr).toBe(0);
    expect(graph.stdout).toMatch(/^stateDiagram-v2\n {2}\[\*\] --> submitted\n/);
    expect(graph.stdout).toContain("  submitted --> reviewing : manual\n");
    expect(graph.stdout).toContain("  reviewing --> rejected : refused\n");
    expect(await cli("graph", EXPENSE)).toEqual(graph);
    const both = await cli("graph", EXPENSE, "-d", "other.yaml");
    expect(both.code).toBe(1);
    expect(both.stderr).toBe(
      `switchyard: graph takes the definition file as an argument or as -d, not both (${EXPENSE}, other.yaml); e.g. switchyard graph fsm.yaml, or switchyard graph -d machines.ts\n`,
    );
  });

  it("run -d drives a machine written with the typed builder", async () => {
    const result = await cli("run", "expense", "-d", EXPENSE, "-s", settings, "--context", '{"amount": 250}', "--json");
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      machine_name: "expense",
      status: "completed",
      state: "approved",
      user_context: { amount: 250, reviewer: "finance", approved: true },
    });
  });

  it("validate lists a module's problems by file, machine and state, without line numbers", async () => {
    const file = path.join(modules, "invalid.ts");
    const result = await cli("validate", file);
    expect(result.code).toBe(1);
    expect(result.stderr.split("\n")).toEqual([
      `${file}: state "orphan" of machine "invalid" is unreachable from the initial state "start"; add a transition to it or remove it`,
      `${file}: action "./nowhere.ts#Go": module not found (looked for ${path.join(modules, "nowhere.ts")}); fix the path, which is relative to the definition file, or register the action`,
      `2 problem(s) in ${file}`,
      "",
    ]);
    const json = await cli("validate", "--json", file);
    expect(JSON.parse(json.stdout)[0]).toEqual({
      file,
      message: 'state "orphan" of machine "invalid" is unreachable from the initial state "start"; add a transition to it or remove it',
    });
  });

  it("a module without a definitions export, or one that throws, is one line naming the file", async () => {
    const noExport = path.join(modules, "no-export.ts");
    expect(await cli("run", "lost", "-d", noExport, "-s", settings)).toEqual({
      code: 1,
      stdout: "",
      stderr: `switchyard: ${noExport}: module has no "definitions" or default export (it exports machine); ${EXPECTED_EXPORT}\n`,
    });
    const throws = path.join(modules, "throws.mjs");
    expect(await cli("worker", "-d", throws, "-s", settings, "--until-idle")).toEqual({
      code: 1,
      stdout: "",
      stderr: `switchyard: ${throws}: cannot load module: cannot reach the configuration service; fix the module\n`,
    });
    const invalid = path.join(modules, "invalid.ts");
    const graph = await cli("graph", invalid);
    expect(graph.code).toBe(1);
    expect(graph.stderr).toBe(
      `switchyard: ${invalid}: state "orphan" of machine "invalid" is unreachable from the initial state "start"; add a transition to it or remove it (1 more problem(s); run: switchyard validate ${invalid})\n`,
    );
  });

  it("the installed CLI runs a TypeScript module of a project whose package.json is not an ES module", async () => {
    const project = path.join(dir, "cjs-project");
    mkdirSync(project);
    writeFileSync(path.join(project, "package.json"), '{"name": "p", "version": "1.0.0"}\n');
    writeFileSync(
      path.join(project, "machines.ts"),
      [
        `import type { ActionContext } from ${JSON.stringify(path.join(ROOT, "src/core/action.js"))};`,
        "interface Order { items: number; total?: number }",
        "const price = (ctx: ActionContext<Order>) => { ctx.data.total = ctx.data.items * 3; return 'priced'; };",
        "export default { name: 'order', states: [",
        "  { name: 'new', initial: true, do_action: price, transitions: [{ event: 'priced', target: 'done' }] },",
        "  { name: 'done', final: true },",
        "] };",
        "",
      ].join("\n"),
    );
    const result = await runCli(["run", "order", "-d", "machines.ts", "--context", '{"items": 2}', "--json"], { cwd: project });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: "completed", state: "done", user_context: { items: 2, total: 6 } });
  });
});
