/**
 * Every guide of docs/guides/ runs as written: its files are written, its commands run in order
 * in a fresh project directory, and the output it shows is the output they print (see
 * guide-runner.ts for the conventions). A guide that drifts from the CLI fails here.
 *
 * run-a-cluster.md names `localhost` PostgreSQL and Redis; its settings are rewritten to this run's
 * servers (test/support/servers.ts) with a unique schema and key prefix, dropped afterwards.
 * deploy-to-lambda.md names local emulator ports (9324 for SQS, 8000 for DynamoDB); they are
 * rewritten to the in-process emulators started here (fauxqs, dynalite).
 *
 * To write a guide: GUIDES_DUMP=/some/dir npx vitest run test/docs/guides.test.ts -t NAME writes
 * each step's real output to /some/dir/NAME.md.out, to copy into the guide.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningEmulator, startFauxqs } from "../support/aws-emulators.js";
import { ROOT } from "../support/cli.js";
import { type RunningDynalite, startDynalite } from "../support/dynalite.js";
import { deleteRedisKeys, dropSchemas, needs, POSTGRES_URL, REDIS_URL, uniqueName } from "../support/servers.js";
import { GuideMarkupError, type GuideStep, normalise, outputMatches, parseGuide, runGuide } from "./guide-runner.js";

const GUIDES = path.join(ROOT, "docs/guides");
const guides = readdirSync(GUIDES)
  .filter((name) => name.endsWith(".md") && name !== "README.md")
  .sort();

function describeStep(step: GuideStep): string {
  return step.kind === "file" ? `file ${step.path}` : step.content.split("\n")[0] ?? "";
}

describe("docs/guides", () => {
  let tools: string;
  const run = uniqueName("guide");
  let fauxqs: RunningEmulator | undefined;
  let dynalite: RunningDynalite | undefined;

  beforeAll(() => {
    tools = mkdtempSync(path.join(tmpdir(), "switchyard-guides-"));
  });
  afterAll(async () => {
    await Promise.all([fauxqs?.close(), dynalite?.close()]);
    await Promise.all([dropSchemas(run), deleteRedisKeys(run)]);
    rmSync(tools, { recursive: true, force: true });
  });

  /** What a guide's text names, and what this run uses instead. */
  async function substitutionsFor(guide: string): Promise<Array<[string, string]>> {
    if (guide === "run-a-cluster.md") {
      return [
        ["postgres://switchyard@localhost:5432/shop", POSTGRES_URL],
        ["redis://localhost:6379/0", REDIS_URL],
        ["shop_jobs", run], // the schema and the key prefix
      ];
    }
    if (guide === "deploy-to-lambda.md") {
      [fauxqs, dynalite] = await Promise.all([startFauxqs(), startDynalite()]);
      return [
        ["http://localhost:9324", fauxqs.endpoint],
        ["http://localhost:8000", dynalite.endpoint],
      ];
    }
    return [];
  }

  it("the index lists every guide, and the README links the index", () => {
    const index = readFileSync(path.join(GUIDES, "README.md"), "utf8");
    for (const guide of guides) expect(index, guide).toContain(`](${guide})`);
    expect(readFileSync(path.join(ROOT, "README.md"), "utf8")).toContain("(docs/guides/README.md)");
  });

  it("every relative link of a guide leads to a file, and to a heading of it", () => {
    const slug = (heading: string) =>
      heading
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, "")
        .replace(/ /g, "-");
    for (const guide of [...guides, "README.md"]) {
      const text = readFileSync(path.join(GUIDES, guide), "utf8");
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target as string)) continue;
        const [file, anchor] = (target as string).split("#") as [string, string | undefined];
        const linked = path.resolve(GUIDES, file === "" ? guide : file);
        expect(existsSync(linked), `${guide}: ${target}`).toBe(true);
        if (anchor === undefined || !linked.endsWith(".md")) continue;
        const headings = [...readFileSync(linked, "utf8").matchAll(/^#+ (.*)$/gm)].map(([, heading]) => slug(heading as string));
        expect(headings, `${guide}: ${target}`).toContain(anchor);
      }
    }
  });

  it("refuses a block the conventions do not cover, and checks output with placeholders", () => {
    expect(() => parseGuide("```yaml\na: 1\n```\n", "x.md")).toThrow(GuideMarkupError);
    expect(() => parseGuide("<!-- not run: -->\n```sh\nnpm install\n```\n", "x.md")).toThrow(/unknown marker/);
    expect(parseGuide("<!-- not run: needs a network -->\n```sh\nnpm install\n```\n", "x.md")).toEqual([]);
    expect(parseGuide("```console\n$ switchyard nope\nswitchyard: no\n$ echo a \\\nb\na b\n```\n", "x.md")).toEqual([
      { kind: "command", line: 2, content: "switchyard nope", expected: "switchyard: no", fails: true },
      { kind: "command", line: 4, content: "echo a \\\nb", expected: "a b", fails: false },
    ]);
    expect(normalise("0  2026-12-06T17:37:17.371Z  start   bd3f157613f04119a2b8a27fd30a69f0  \n")).toBe("0 <time> start <id>");
    expect(outputMatches("a\n…\nat Go (…/actions.ts:3:9)", "a\nb\nc\nat Go (/tmp/x/actions.ts:3:9)\n")).toBe(true);
    expect(outputMatches("a\nb", "a\nc")).toBe(false);
    const warning = "(node:42) Warning: NodeVersionSupportWarning: The AWS SDK …\n\nmore\n(Use `node --trace-warnings ...` to show where the warning was created)\n";
    expect(normalise(`${warning}order-1\n`)).toBe("order-1");
  });

  // The cluster guide needs PostgreSQL and Redis: without them (outside CI) it is skipped, as the
  // global setup printed.
  const servers = (guide: string) => (guide === "run-a-cluster.md" ? needs("postgres", "redis") : {});
  for (const guide of guides) it(`${guide} runs as written`, { ...servers(guide), timeout: 120_000 }, async () => {
    const file = path.join(GUIDES, guide);
    const steps = parseGuide(readFileSync(file, "utf8"), `docs/guides/${guide}`);
    const project = path.join(tools, guide.replace(/\.md$/, ""));
    const results = await runGuide(steps, { project, tools, substitutions: await substitutionsFor(guide), timeoutMs: 100_000 });
    if (process.env.GUIDES_DUMP) writeFileSync(path.join(process.env.GUIDES_DUMP, `${guide}.out`), results.map(({ step, output, code }) => `--- ${step.line} (${code}) ${describeStep(step)}\n${output}`).join("\n"));
    for (const { step, output, code } of results) {
      const where = `docs/guides/${guide}:${step.line}: ${describeStep(step)}`;
      expect(code, `${where} did not run or failed; its output:\n${output}`).toBe(step.kind === "command" && step.fails ? 1 : 0);
      const expected = step.kind === "file" ? undefined : step.expected;
      // The difference, normalised as compared; every step's, not only the first.
      if (expected !== undefined && !outputMatches(expected, output)) expect.soft(normalise(output), `${where}: the output differs from the guide`).toBe(normalise(expected));
    }
  });
});
