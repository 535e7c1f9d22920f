/**
 * The function as it ships: examples/aws-order/handler.ts bundled by esbuild into one index.mjs
 * (the Switchyard runtime, the AWS SDK clients the settings need, yaml), copied with fsm.yaml and
 * the settings into a bare folder with no node_modules, and invoked by a plain `node` there on
 * recorded events — an SQS batch (a start of the order machine, an undecodable body, another start)
 * and an EventBridge scheduled event — against the emulators (fauxqs for SQS, dynalite for
 * DynamoDB). better-sqlite3 is native and not needed on Lambda, so the settings name AWS resources
 * only and the bundle leaves the drivers of other backends (better-sqlite3, pg, ioredis) out.
 */
import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Switchyard } from "../../src/client/switchyard.js";
import { silentLogger } from "../../src/logger.js";
import { provisionAll } from "../../src/settings/provision.js";
import { type RunningEmulator, startFauxqs } from "../support/aws-emulators.js";
import { ROOT } from "../support/cli.js";
import { type RunningDynalite, startDynalite } from "../support/dynalite.js";

const EXAMPLE = path.join(ROOT, "examples/aws-order");
const REGION = "us-east-1";
const ACCOUNT = "123456789012";
/** Drivers of backends these settings do not name: loaded lazily, never on this path. */
const NOT_BUNDLED = ["better-sqlite3", "pg", "ioredis", "tsx", "prom-client", "@dagrejs/dagre"];

describe("the bundled handler in a folder without node_modules", () => {
  let work: string;
  let bare: string;
  let sqs: RunningEmulator;
  let dynamodb: RunningDynalite;
  let settings: Record<string, unknown>;
  const queueArn = `arn:aws:sqs:${REGION}:${ACCOUNT}:bundle-${randomUUID().slice(0, 8)}`;
  const family = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/bundle-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), "switchyard-bundle-"));
    bare = path.join(work, "function");
    [sqs, dynamodb] = await Promise.all([startFauxqs(), startDynalite()]);
    settings = {
      stream: queueArn,
      retry: family,
      cache: family,
      checkpoint: family,
      environment: false,
      metrics: "cloudwatch-emf:Switchyard",
      journal: family,
      endpoints: { sqs: sqs.endpoint, dynamodb: dynamodb.endpoint },
    };
    await provisionAll(Switchyard.settings(settings, work));

    await build({
      entryPoints: [path.join(EXAMPLE, "handler.ts")],
      bundle: true,
      platform: "node",
      target: "node20",
      format: "esm",
      outfile: path.join(bare, "index.mjs"),
      // The repository's own package, as an installed copy would resolve it.
      alias: { "switchyard-fsm": path.join(ROOT, "src/index.ts") },
      plugins: [
        {
          name: "switchyard-fsm-lambda",
          setup(on) {
            on.onResolve({ filter: /^switchyard-fsm\/lambda$/ }, () => ({ path: path.join(ROOT, "src/lambda/index.ts") }));
          },
        },
        {
          // One file has no place for a lazily loaded external: each driver the settings do not
          // need becomes a module that fails as a missing package would, if it were ever loaded.
          name: "absent-drivers",
          setup(on) {
            const filter = new RegExp(`^(${NOT_BUNDLED.map((name) => name.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")).join("|")})(/.*)?$`);
            on.onResolve({ filter }, (args) => ({ path: args.path, namespace: "absent" }));
            on.onLoad({ filter: /.*/, namespace: "absent" }, (args) => ({
              contents: `throw Object.assign(new Error(${JSON.stringify(`Cannot find package '${args.path}'`)}), { code: "ERR_MODULE_NOT_FOUND" });`,
              loader: "js",
            }));
          },
        },
      ],
      // CommonJS dependencies inside an ES module still call require for Node's built-ins.
      banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
      logLevel: "silent",
    });
    copyFileSync(path.join(EXAMPLE, "fsm.yaml"), path.join(bare, "fsm.yaml"));
    writeFileSync(path.join(bare, "settings.json"), JSON.stringify(settings));
  }, 120_000);

  afterAll(async () => {
    await Promise.all([sqs?.close(), dynamodb?.close()]);
    rmSync(work, { recursive: true, force: true });
  });

  /**
   * Invoke the bundled handler on `events` in a fresh `node` in the bare folder; its answers. The
   * child runs asynchronously: the emulators serve from this process.
   */
  async function invoke(events: readonly unknown[]): Promise<unknown[]> {
    writeFileSync(path.join(bare, "events.json"), JSON.stringify(events));
    const script = [
      "const { handler } = await import('./index.mjs');",
      "const events = JSON.parse(await (await import('node:fs/promises')).readFile('events.json', 'utf8'));",
      "const answers = [];",
      "for (const event of events) answers.push(await handler(event, { getRemainingTimeInMillis: () => 10000 }));",
      "process.stdout.write(JSON.stringify(answers));",
    ].join("\n");
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      cwd: bare,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        PATH: process.env.PATH,
        AWS_ACCESS_KEY_ID: "test",
        AWS_SECRET_ACCESS_KEY: "test",
        AWS_REGION: REGION,
        SWITCHYARD_SETTINGS: "settings.json",
        SWITCHYARD_DEFINITIONS: "fsm.yaml",
        SWITCHYARD_LOG_LEVEL: "error",
        NODE_NO_WARNINGS: "1",
      },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(code, stderr).toBe(0);
    return JSON.parse(stdout) as unknown[];
  }

  it("has no node_modules to lean on: the bundle imports nothing outside Node's built-ins", () => {
    const code = readFileSync(path.join(bare, "index.mjs"), "utf8");
    const imported = [
      ...code.matchAll(/^import\s[^;]*?["']([^"']+)["'];?$/gm),
      ...code.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g),
    ].map((match) => match[1] as string);
    expect(imported.filter((specifier) => !specifier.startsWith("node:"))).toEqual([]);
  });

  it("processes a recorded SQS batch and a recorded scheduled timer event against the emulators", async () => {
    const recorded = JSON.parse(readFileSync(path.join(ROOT, "test/fixtures/lambda/sqs.json"), "utf8")) as { Records: Array<Record<string, unknown>> };
    const ids = [`bundle-${randomUUID().slice(0, 8)}`, `bundle-${randomUUID().slice(0, 8)}`];
    // The recorded records, addressed to this queue and carrying starts of the example's machine.
    const records = recorded.Records.map((record, index) => {
      const body = String(record.body);
      if (!body.startsWith("{\"")) return { ...record, eventSourceARN: queueArn };
      const message = JSON.parse(body) as { system_context: Record<string, unknown>; user_context: Record<string, unknown> };
      message.system_context.machine_name = "order";
      message.system_context.correlation_id = ids[index === 0 ? 0 : 1];
      message.system_context.started_at = Date.now() / 1000;
      message.user_context = { items: ["book"], total: 12 };
      return { ...record, eventSourceARN: queueArn, body: JSON.stringify(message) };
    });
    const scheduled = JSON.parse(readFileSync(path.join(ROOT, "test/fixtures/lambda/scheduled.json"), "utf8")) as unknown;

    const [batch, timer] = await invoke([{ Records: records }, scheduled]);
    expect(batch).toEqual({ batchItemFailures: [] });
    expect(timer).toMatchObject({ timer: true, sources: [{ uri: family, role: "retry", side: "primary" }] });

    // The undecodable body is not reported as failed: the handler moved it to the dead letters
    // instead of letting Lambda deliver it again. What the bundle did to the orders, read back
    // with the library: each validated and sent its next message to the queue.
    const sy = await Switchyard.open({ definitions: path.join(EXAMPLE, "fsm.yaml"), settings: Switchyard.settings(settings, work), logger: silentLogger, cwd: work });
    try {
      for (const id of ids) {
        expect(await sy.status(id)).toMatchObject({ machineName: "order", status: "running", state: "validate", steps: 0 });
        expect((await sy.history(id)).at(-1)).toMatchObject({ current_state: "validate", current_event: "valid", steps: 1, role: "stream" });
      }
    } finally {
      await sy.close();
    }
  }, 120_000);
});
