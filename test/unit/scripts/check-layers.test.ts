/**
 * scripts/check-layers.mjs on a small source tree with one edge of each kind it must catch (and
 * imports it must not count), and on the real src/: it passes there.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const SCRIPT = path.join(ROOT, "scripts/check-layers.mjs");

async function check(root: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [SCRIPT, root]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe("check-layers", () => {
  let dir: string;
  const write = (file: string, text: string) => {
    mkdirSync(path.dirname(path.join(dir, "src", file)), { recursive: true });
    writeFileSync(path.join(dir, "src", file), text);
  };
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "switchyard-layers-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("reports every edge against the layers, one line each, and nothing else", async () => {
    write("ports.ts", "export interface Port {}\n");
    write("errors.ts", 'import type { Port } from "./ports.js";\nexport type E = Port;\n');
    write("core/plan.ts", 'import type {\n  Machine,\n} from "../definition/types.js";\nexport type P = Machine;\n');
    write("definition/types.ts", 'export { type Port as Machine } from "../ports.js";\n');
    write("engine/engine.ts", 'export const load = () => import("../settings/settings.js");\n');
    write("settings/settings.ts", 'import "../backends/redis/backend.js";\nexport * from "../backends/backend.js";\n');
    write("backends/backend.ts", "export const shared = 1;\n");
    write("backends/redis/backend.ts", 'import { shared } from "../backend.js";\nimport type { Engine } from "../../engine/engine.js";\nexport const redis = shared;\n');
    write("backends/aws/sqs.ts", 'import { redis } from "../redis/backend.js";\nexport const sqs = redis;\n');
    // backends/sql/ is shared: every family may import it, and it may import no family.
    write("backends/sql/cache.ts", 'import { db } from "../sqlite/database.js";\nexport const cache = db;\n');
    write("backends/sqlite/database.ts", "export const db = 1;\n");
    write("backends/sqlite/cache.ts", 'import { cache } from "../sql/cache.js";\nexport const sqliteCache = cache;\n');
    write(
      "client/client.ts",
      [
        "// import { x } from \"../cli/main.js\";",
        '/* export * from "../lambda/handler.js"; */',
        'const text = "import { y } from \'../cli/main.js\'";',
        "const pattern = /\"/;",
        // A template literal with a placeholder: its text is not an import either.
        `const template = \`$\{text} from "../cli/main.js"\`;`,
        'import { sqs } from "../backends/aws/sqs.js";',
        "export { pattern, sqs, template };",
        "",
      ].join("\n"),
    );
    write("runtime/worker.ts", "export const w = 1;\n");
    write("lambda/handler.ts", 'import { missing } from "./nowhere.js";\nexport const h = missing;\n');
    const result = await check(dir);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split("\n")).toEqual([
      "src/backends/aws/sqs.ts → src/backends/redis/backend.ts: backend family aws may not import backend family redis",
      "src/backends/redis/backend.ts → src/engine/engine.ts: layer backends may not import layer engine",
      "src/backends/sql/cache.ts → src/backends/sqlite/database.ts: shared backends/ files may not import backend family sqlite",
      "src/client/client.ts → src/backends/aws/sqs.ts: layer client may not import layer backends",
      "src/core/plan.ts → src/definition/types.ts: layer foundation may not import layer definition",
      "src/engine/engine.ts → src/settings/settings.ts: layer engine may not import layer settings",
      "src/lambda/handler.ts → ./nowhere.js: no such module under src/",
      "src/runtime/worker.ts: in no layer; place it in one (scripts/check-layers.mjs, docs/architecture.md)",
      "check-layers: 8 violation(s) in 15 files; the layers are in docs/architecture.md",
    ]);
  });

  it("passes on this repository's src/", async () => {
    const result = await check(ROOT);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(result.stdout).toMatch(/^check-layers: \d+ files, \d+ relative imports, every one within the layers\n$/);
  });
});
