/**
 * The package as a user gets it: `npm pack`, then install the tarball into a fresh project with a
 * plain package.json and use it there, from plain Node (no loader, no flags), from a strict
 * TypeScript project (`skipLibCheck: false`), and through the installed `switchyard` bin.
 */
import { type ExecFileException, execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env: { ...process.env, NO_COLOR: "1", ...env }, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : Number((error as ExecFileException).code ?? 1), stdout, stderr });
    });
  });
}

/** The exact version of a development dependency this repository has installed. */
function installed(name: string): string {
  return JSON.parse(readFileSync(path.join(ROOT, "node_modules", name, "package.json"), "utf8")).version;
}

let work: string;
let project: string;
let tarball: string;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), "switchyard-package-"));
  const packed = await run(NPM, ["pack", "--json", "--pack-destination", work], ROOT);
  expect(packed.code, packed.stderr).toBe(0);
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as { filename: string; size: number; entryCount: number }[];
  tarball = path.join(work, info!.filename);
  console.log(`packed ${info!.filename}: ${info!.size} bytes, ${info!.entryCount} files`);

  project = path.join(work, "consumer");
  mkdirSync(project);
  // A plain package.json: no "type", so .js is CommonJS and the ESM files below are .mjs/.mts.
  writeFileSync(path.join(project, "package.json"), `${JSON.stringify({ name: "consumer", version: "1.0.0", private: true }, null, 2)}\n`);
  const install = await run(
    NPM,
    [
      "install",
      "--no-audit",
      "--no-fund",
      "--prefer-offline",
      tarball,
      `tsx@${installed("tsx")}`,
      `typescript@${installed("typescript")}`,
      `@types/node@${installed("@types/node")}`,
    ],
    project,
  );
  expect(install.code, install.stderr).toBe(0);
});

afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe("the packed tarball", () => {
  it("ships compiled JavaScript, declarations and the bin, not the sources or tests", async () => {
    const listed = await run("tar", ["-tzf", tarball], work);
    const files = listed.stdout.split("\n").filter(Boolean);
    expect(files).toContain("package/dist/index.js");
    expect(files).toContain("package/dist/index.d.ts");
    expect(files).toContain("package/dist/lambda/index.js");
    expect(files).toContain("package/dist/cli/main.js");
    expect(files).toContain("package/bin/switchyard.js");
    for (const asset of ["index.html", "app.js", "app.css", "icon.svg"]) expect(files).toContain(`package/dashboard/${asset}`);
    expect(files.filter((f) => f.startsWith("package/src/") || f.startsWith("package/test/"))).toEqual([]);
    const manifest = JSON.parse(readFileSync(path.join(project, "node_modules/switchyard-fsm/package.json"), "utf8"));
    // Backend drivers are optional peers. The telemetry packages are not: @opentelemetry/api is the
    // no-op tracing API the engine calls (an application's SDK makes it record), and prom-client,
    // loaded only when a worker serves metrics, has its types in the public API (WorkerMetrics).
    // @dagrejs/dagre lays out the dashboard's diagrams, loaded only when one is drawn.
    expect(Object.keys(manifest.dependencies).sort()).toEqual(["@dagrejs/dagre", "@opentelemetry/api", "@types/aws-lambda", "better-sqlite3", "commander", "prom-client", "yaml"]);
  });

  it("installs no backend driver and no TypeScript loader of its own", () => {
    for (const name of ["pg", "ioredis", "@aws-sdk/client-sqs", "@aws-sdk/client-dynamodb", "@aws-sdk/client-ecs"]) {
      expect(statSync(path.join(project, "node_modules", name), { throwIfNoEntry: false }), name).toBeUndefined();
    }
  });

  it("runs a machine defined in code with JavaScript actions in plain node, on the embedded default", async () => {
    writeFileSync(
      path.join(project, "plain.mjs"),
      `import { defineMachine, defineMachines, Switchyard } from "switchyard-fsm";

const counter = defineMachine({
  name: "counter",
  initial: "counting",
  states: {
    counting: {
      do: (ctx) => {
        ctx.data.n = (ctx.data.n ?? 0) + 1;
        return ctx.data.n < 3 ? "again" : "enough";
      },
      on: { again: "counting", enough: "done" },
    },
    done: { final: true },
  },
});
const sy = await Switchyard.open({ definitions: await defineMachines({ machines: [counter] }) });
try {
  const result = await sy.run("counter", { context: { n: 0 } });
  console.log(JSON.stringify({ status: result.status, state: result.state, n: result.user_context.n, steps: result.messages.map((m) => m.steps) }));
} finally {
  await sy.close();
}
`,
    );
    const result = await run(process.execPath, ["plain.mjs"], project);
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toEqual({ status: "completed", state: "done", n: 3, steps: [0, 1, 2, 3] });
    expect(statSync(path.join(project, ".switchyard/switchyard.db")).isFile()).toBe(true);
  });

  it("serves the dashboard from the installed package: its page, its assets and a laid-out diagram", async () => {
    writeFileSync(
      path.join(project, "dashboard.mjs"),
      `import { defineMachine, defineMachines, serveDashboard, Switchyard } from "switchyard-fsm";

const ping = defineMachine({
  name: "ping",
  initial: "pinging",
  states: { pinging: { do: () => "pong", on: { pong: "done" } }, done: { final: true } },
});
const sy = await Switchyard.open({ definitions: await defineMachines({ machines: [ping] }) });
const dashboard = await serveDashboard(sy, { port: 0 });
try {
  await sy.run("ping");
  const page = await fetch(dashboard.url);
  const script = await fetch(new URL("assets/app.js", dashboard.url));
  const machine = await (await fetch(new URL("api/machines/ping", dashboard.url))).json();
  console.log(JSON.stringify({ page: page.status, script: script.status, nodes: machine.diagram.nodes.map((n) => n.name), done: machine.states.done }));
} finally {
  await dashboard.close();
  await sy.close();
}
`,
    );
    const result = await run(process.execPath, ["dashboard.mjs"], project);
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toEqual({ page: 200, script: 200, nodes: ["pinging", "done"], done: { running: 0, waiting: 0, paused: 0, completed: 1, failed: 0, aborted: 0 } });
  });

  it("type-checks against the public API in a strict project with skipLibCheck false", async () => {
    writeFileSync(
      path.join(project, "tsconfig.json"),
      `${JSON.stringify(
        {
          compilerOptions: {
            strict: true,
            module: "nodenext",
            moduleResolution: "nodenext",
            target: "es2022",
            skipLibCheck: false,
            noEmit: true,
            exactOptionalPropertyTypes: true,
            noUncheckedIndexedAccess: true,
            types: ["node"],
          },
          files: ["typed.mts"],
        },
        null,
        2,
      )}\n`,
    );
    writeFileSync(
      path.join(project, "typed.mts"),
      `import { type ActionContext, defineMachine, defineMachines, FatalActionError, MissingPackageError, Switchyard } from "switchyard-fsm";
import { createHandler, type SwitchyardHandler } from "switchyard-fsm/lambda";

function charge(ctx: ActionContext): "charged" | "declined" {
  if (typeof ctx.data.total !== "number") throw new FatalActionError("order has no total");
  return ctx.data.total < 100 ? "charged" : "declined";
}

export const order = defineMachine({
  name: "order",
  initial: "charging",
  states: {
    charging: { do: charge, on: { charged: "done", declined: "rejected" } },
    done: { final: true },
    rejected: { final: true },
  },
});

export async function main(): Promise<string> {
  const sy = await Switchyard.open({ definitions: await defineMachines({ machines: [order] }) });
  const result = await sy.run("order", { context: { total: 10 } });
  await sy.close();
  return result.status;
}

export const handler: SwitchyardHandler = createHandler({ definitions: "./fsm.yaml" });
export const missing: typeof MissingPackageError = MissingPackageError;
`,
    );
    const tsc = await run(process.execPath, [path.join(project, "node_modules/typescript/bin/tsc"), "-p", "."], project);
    expect(tsc.stdout + tsc.stderr).toBe("");
    expect(tsc.code).toBe(0);
  });

  it("runs the installed bin on a YAML machine whose actions are TypeScript, with tsx installed", async () => {
    const dir = path.join(project, "yaml");
    mkdirSync(dir);
    writeFileSync(
      path.join(dir, "fsm.yaml"),
      `machines:
- name: greeter
  states:
  - name: greeting
    initial: true
    do_action: ./actions.ts#Greet
    transitions:
    - event: greeted
      target: done
  - name: done
    final: true
`,
    );
    writeFileSync(
      path.join(dir, "actions.ts"),
      `interface Context { data: Record<string, unknown> }
export function Greet(ctx: Context): "greeted" {
  const name: string = String(ctx.data.name ?? "world");
  ctx.data.greeting = \`hello \${name}\`;
  return "greeted";
}
`,
    );
    const bin = path.join(project, "node_modules/.bin/switchyard");
    const result = await run(bin, ["run", "greeter", "-d", "fsm.yaml", "--context", '{"name":"ada"}', "--json"], dir);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout);
    expect([out.status, out.state, out.user_context]).toEqual(["completed", "done", { name: "ada", greeting: "hello ada" }]);

    // An action of this CommonJS project throws the package's FatalActionError: the instance fails
    // at once, without retries, whichever copy of the package the action module was given.
    writeFileSync(
      path.join(dir, "checks.yaml"),
      `machines:
- name: checker
  max_retries: 3
  states:
  - name: checking
    initial: true
    do_action: ./checks.ts#Check
    transitions:
    - event: ok
      target: done
  - name: done
    final: true
`,
    );
    writeFileSync(
      path.join(dir, "checks.ts"),
      `import { FatalActionError } from "switchyard-fsm";
export function Check(): "ok" {
  throw new FatalActionError("card declined");
}
`,
    );
    const fatal = await run(bin, ["run", "checker", "-d", "checks.yaml", "--json"], dir);
    const failed = JSON.parse(fatal.stdout);
    expect([failed.status, failed.reason, failed.messages.length], fatal.stderr).toEqual(["failed", expect.stringContaining("action failed fatally"), 1]);
    expect(failed.errors.map((e: { counters: Record<string, number> }) => e.counters)).toEqual([{ fatal: 1 }]);

    // Without tsx the same machine is refused with one line that says what to do.
    const tsx = path.join(project, "node_modules/tsx");
    renameSync(tsx, `${tsx}.away`);
    try {
      const refused = await run(bin, ["run", "greeter", "-d", "fsm.yaml"], dir);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(refused.stderr).toContain("install tsx to load ./actions.ts, or compile it");
    } finally {
      renameSync(`${tsx}.away`, tsx);
    }
  });

  it("names the missing driver and the setting that needs it in one line", async () => {
    const dir = path.join(project, "pg");
    mkdirSync(dir);
    writeFileSync(path.join(dir, "fsm.yaml"), "machines:\n- name: m\n  states:\n  - name: a\n    initial: true\n    final: true\n");
    writeFileSync(path.join(dir, "switchyard.settings.yaml"), "stream: postgres://127.0.0.1:5432/test\nretry: sqlite:./s.db\ncache: sqlite:./s.db\n");
    const result = await run(path.join(project, "node_modules/.bin/switchyard"), ["start", "m", "-d", "fsm.yaml"], dir);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toBe(
      "switchyard: stream.primary postgres backend needs the package pg, which is not installed; run: npm install pg\n",
    );
  });
});
