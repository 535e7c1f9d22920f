/** The examples stay valid and runnable: their definitions validate and the TypeScript one runs. */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it, vi } from "vitest";
import { Switchyard } from "../../src/client/switchyard.js";
import { silentLogger } from "../../src/logger.js";
import { validateDefinitionFile } from "../../src/definition/validate.js";
import { ROOT } from "../support/cli.js";

const run = promisify(execFile);

describe("examples", () => {
  it.each(["tracer", "local-transitions", "order-pipeline"])("%s/fsm.yaml validates", async (name) => {
    expect(await validateDefinitionFile(path.join(ROOT, "examples", name, "fsm.yaml"))).toEqual([]);
  });

  it.each([
    ["tracer", "tracer", { failure_rate: 0, loops: 3 }, "completed", "final"],
    ["local-transitions", "normalize", {}, "completed", "done"],
    ["order-pipeline", "order", {}, "completed", "rejected"],
  ])("%s runs to its end", async (dir, machine, context, status, state) => {
    const scratch = mkdtempSync(path.join(tmpdir(), "switchyard-example-"));
    const log = vi.spyOn(console, "error").mockImplementation(() => {}); // the examples narrate on stderr
    const sy = await Switchyard.open({ definitions: path.join(ROOT, "examples", dir, "fsm.yaml"), cwd: scratch, logger: silentLogger });
    try {
      expect(await sy.run(machine, { context })).toMatchObject({ status, state });
    } finally {
      await sy.close();
      log.mockRestore();
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it("typescript-api/main.ts drives its machine to the end", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "switchyard-example-"));
    try {
      const env = { ...process.env, SWITCHYARD_STORE: `sqlite:${dir}/example.db` };
      const script = path.join(ROOT, "examples/typescript-api/main.ts");
      const { stdout } = await run(process.execPath, ["--import", "tsx", script, "https://example.com/a"], { cwd: ROOT, env });
      expect(stdout).toMatch(/^[0-9a-f]{32}: completed in state indexed\n\{"url":"https:\/\/example.com\/a","words":5\}\n/);
      const skipped = await run(process.execPath, ["--import", "tsx", script, "https://example.com/empty"], { cwd: ROOT, env });
      expect(skipped.stdout).toMatch(/completed in state skipped/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
