/**
 * Runs a guide of docs/guides/ as a reader would: its code blocks, in order, in one fresh project
 * directory and one bash process, so `cd`, shell variables and background workers carry from one
 * block to the next. The conventions (also told to readers in docs/guides/README.md):
 *
 * - `<!-- file: PATH -->` on the line before a block: the block is written to PATH (relative to
 *   the project directory), at that point of the guide — a later block may overwrite it.
 * - ```sh (or bash): run as a script with `set -euo pipefail`; a ```text block right after it is
 *   the output it must print.
 * - ```console: each `$ command` line runs (a line ending in `\` continues on the next), and the
 *   lines up to the next `$` are its output. A command must exit 0, unless its output ends with a
 *   `switchyard: …` line, the CLI's one-line failure, or the command ends in a `# exits 1`
 *   comment: then it must exit 1.
 * - `<!-- not run: REASON -->` before a block: not run (the reason is required), e.g.
 *   `npm install`, or steps that need a real AWS account.
 * - Any other block fails the test: a block is run, written, compared, or marked not run.
 *
 * Output is what a terminal shows, stdout and stderr together. Before comparing, both sides are
 * normalised: Node's own warnings go (they depend on the Node version and the date), ISO times
 * become `<time>`, 32-hex correlation ids `<id>`, 16-hex machine versions `<version>`, the worker's `in 0.1s`
 * `in <s>`, runs of spaces one space (table columns widen with their values), and trailing
 * blanks go. In the expected text, `…` stands for any text within a line, and a line of just `…`
 * for any number of lines.
 *
 * `switchyard` resolves to this repository's CLI (a shim on PATH runs bin/switchyard.js), and the
 * project's node_modules holds `switchyard-fsm` (package.json exports → this repository's src/,
 * which tsx loads) and `tsx`, as `npm install switchyard-fsm tsx` would.
 *
 * Substitutions (`[asWritten, asRun]`) replace text in files and commands before they run, and the
 * reverse in their output: that is how a guide's settings name `localhost` servers and emulator
 * ports while the test runs against this run's servers with unique schema names and key prefixes.
 */
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ROOT } from "../support/cli.js";

/** One step of a guide. */
export type GuideStep =
  | { readonly kind: "file"; readonly line: number; readonly path: string; readonly content: string }
  | { readonly kind: "script"; readonly line: number; readonly content: string; readonly expected?: string }
  | { readonly kind: "command"; readonly line: number; readonly content: string; readonly expected: string; readonly fails: boolean };

/** A problem with a guide's markup: which line, and what is wrong. */
export class GuideMarkupError extends Error {
  override readonly name = "GuideMarkupError";
}

const FENCE = /^```(\S*)\s*$/;
const FILE_MARKER = /^<!-- file: (\S+) -->$/;
const NOT_RUN_MARKER = /^<!-- not run: (.*\S.*) -->$/;

interface Block {
  readonly lang: string;
  readonly line: number; // 1-based line of the opening fence
  readonly body: string;
  readonly marker: string | undefined; // the line before the fence, when it is an HTML comment
  readonly follows: boolean; // only blank lines between this block and the one before
}

function blocks(markdown: string, file: string): Block[] {
  const lines = markdown.split("\n");
  const found: Block[] = [];
  let lastEnd = -10;
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] as string);
    if (!open) continue;
    const start = i;
    let end = i + 1;
    while (end < lines.length && lines[end] !== "```") end++;
    if (end >= lines.length) throw new GuideMarkupError(`${file}:${start + 1}: code block is not closed`);
    const before = start > 0 ? (lines[start - 1] as string).trim() : "";
    const between = lines.slice(lastEnd + 1, start);
    found.push({
      lang: open[1] ?? "",
      line: start + 1,
      body: lines.slice(start + 1, end).join("\n"),
      marker: before.startsWith("<!--") ? before : undefined,
      follows: lastEnd >= 0 && between.every((line) => line.trim() === ""),
    });
    lastEnd = end;
    i = end;
  }
  return found;
}

/** The steps of a guide, in order; throws GuideMarkupError for a block the conventions do not cover. */
export function parseGuide(markdown: string, file: string): GuideStep[] {
  const steps: GuideStep[] = [];
  const all = blocks(markdown, file);
  for (let i = 0; i < all.length; i++) {
    const block = all[i] as Block;
    if (block.marker !== undefined) {
      const target = FILE_MARKER.exec(block.marker);
      if (target) {
        steps.push({ kind: "file", line: block.line, path: target[1] as string, content: `${block.body}\n` });
        continue;
      }
      if (NOT_RUN_MARKER.test(block.marker)) continue;
      throw new GuideMarkupError(`${file}:${block.line}: unknown marker ${block.marker}; use <!-- file: PATH --> or <!-- not run: REASON -->`);
    }
    if (block.lang === "sh" || block.lang === "bash") {
      const next = all[i + 1];
      const output = next && next.lang === "text" && next.follows && next.marker === undefined ? next : undefined;
      if (output) i++;
      steps.push({ kind: "script", line: block.line, content: block.body, ...(output ? { expected: output.body } : {}) });
      continue;
    }
    if (block.lang === "console") {
      steps.push(...consoleCommands(block, file));
      continue;
    }
    throw new GuideMarkupError(
      `${file}:${block.line}: a \`\`\`${block.lang} block that is neither run nor written: mark it <!-- file: PATH --> or <!-- not run: REASON -->, or make it sh/console`,
    );
  }
  return steps;
}

function consoleCommands(block: Block, file: string): GuideStep[] {
  const lines = block.body.split("\n");
  const steps: GuideStep[] = [];
  let i = 0;
  if (!lines[0]?.startsWith("$ ")) throw new GuideMarkupError(`${file}:${block.line + 1}: a console block starts with a "$ " command line`);
  while (i < lines.length) {
    const line = block.line + 1 + i;
    let command = (lines[i] as string).slice(2);
    while (command.endsWith("\\") && i + 1 < lines.length) command = `${command}\n${lines[++i]}`;
    i++;
    const output: string[] = [];
    while (i < lines.length && !(lines[i] as string).startsWith("$ ")) output.push(lines[i++] as string);
    const expected = output.join("\n");
    const last = output.filter((text) => text.trim() !== "").at(-1) ?? "";
    const fails = last.startsWith("switchyard: ") || /#\s*exits 1$/.test(command);
    steps.push({ kind: "command", line, content: command, expected, fails });
  }
  return steps;
}

/**
 * A warning of Node's own (`process.emitWarning`), e.g. the AWS SDK's notice about Node versions it
 * will stop supporting: it depends on the Node version and the date, not on the guide.
 */
const NODE_WARNING = /^\(node:\d+\) (\[\w+\] )?\w*Warning: [\s\S]*?^\(Use `node --trace-warnings \.\.\.` to show where the warning was created\)\n/gm;

/** What the output comparison ignores: times, ids, durations, column widths, trailing blanks. */
export function normalise(text: string): string {
  return text
    .replace(/\r/g, "")
    .replace(NODE_WARNING, "")
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, "<time>")
    .replace(/\b[0-9a-f]{32}\b/g, "<id>")
    .replace(/\b[0-9a-f]{16}\b/g, "<version>")
    .replace(/\bin \d+(\.\d+)?s\b/g, "in <s>")
    .split("\n")
    .map((line) => line.replace(/ {2,}/g, " ").trimEnd())
    .join("\n")
    .replace(/^\n+|\n+$/g, "");
}

/** Whether `actual` output is what `expected` shows, with `…` as a wildcard (both normalised here). */
export function outputMatches(expected: string, actual: string): boolean {
  const pattern = normalise(expected)
    .split("\n")
    .map((line) => (line.trim() === "…" ? "(?:[^\\n]*\\n)*?" : `${line.split("…").map(escapeRegExp).join("[^\\n]*?")}\\n`))
    .join("");
  return new RegExp(`^${pattern}$`).test(`${normalise(actual)}\n`.replace(/^\n$/, ""));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** One step's outcome: its output, and its exit code (undefined when the guide stopped inside it). */
export interface StepResult {
  readonly step: GuideStep;
  readonly output: string;
  readonly code: number | undefined;
}

/** Replace each [from, to] in order. */
function substitute(text: string, pairs: ReadonlyArray<readonly [string, string]>): string {
  return pairs.reduce((result, [from, to]) => result.split(from).join(to), text);
}

const MARK = "\u001e";

/**
 * Run the steps in `project` (an empty directory) and return each step's output. Stops at the
 * first step that fails (a script's non-zero exit, a command's unexpected exit code); that step's
 * result has its code, the steps after it none.
 */
export async function runGuide(
  steps: readonly GuideStep[],
  options: { project: string; tools: string; substitutions?: ReadonlyArray<readonly [string, string]>; env?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<StepResult[]> {
  const forward = options.substitutions ?? [];
  const backward = [...forward].map(([a, b]) => [b, a] as const).sort((x, y) => y[0].length - x[0].length);
  prepareProject(options.project, options.tools);
  const stage = path.join(options.tools, "stage");
  mkdirSync(stage, { recursive: true });
  const script = ["set -uo pipefail", "exec 2>&1", `__sy_mark() { printf '\\n${MARK}%s${MARK}\\n' "$*"; }`];
  steps.forEach((step, index) => {
    script.push(`__sy_mark begin ${index}`);
    if (step.kind === "file") {
      const staged = path.join(stage, `${path.basename(options.project)}-${index}`);
      writeFileSync(staged, substitute(step.content, forward));
      script.push(`mkdir -p "$(dirname ${quote(step.path)})" && cp ${quote(staged)} ${quote(step.path)}`, `__sy_mark end ${index} $?`);
    } else if (step.kind === "script") {
      script.push("set -e", substitute(step.content, forward), "set +e", `__sy_mark end ${index} 0`);
    } else {
      script.push(substitute(step.content, forward), "__sy_rc=$?", `__sy_mark end ${index} $__sy_rc`, `[ $__sy_rc -eq ${step.fails ? 1 : 0} ] || exit 97`);
    }
  });
  const scriptFile = path.join(options.tools, `${path.basename(options.project)}.sh`);
  writeFileSync(scriptFile, `${script.join("\n")}\n`);
  const output = await bash(scriptFile, options);
  return steps.map((step, index) => {
    const begin = output.indexOf(`\n${MARK}begin ${index}${MARK}\n`);
    if (begin < 0) return { step, output: "", code: undefined };
    const from = begin + `\n${MARK}begin ${index}${MARK}\n`.length;
    const end = new RegExp(`\\n${MARK}end ${index} (\\d+)${MARK}\\n`).exec(output.slice(from));
    const exit = new RegExp(`\\n?${MARK}exit (-?\\d+)${MARK}\\n$`).exec(output);
    const text = end ? output.slice(from, from + end.index) : output.slice(from, exit ? exit.index : undefined);
    const code = end ? Number(end[1]) : Number(exit?.[1] ?? Number.NaN);
    return { step, output: substitute(text, backward), code };
  });
}

function quote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The project a reader has after `npm install switchyard-fsm tsx`, and the `switchyard` command. */
function prepareProject(project: string, tools: string): void {
  mkdirSync(path.join(project, "node_modules/switchyard-fsm"), { recursive: true });
  writeFileSync(
    path.join(project, "node_modules/switchyard-fsm/package.json"),
    JSON.stringify({ name: "switchyard-fsm", type: "module", exports: { ".": "./src/index.ts", "./lambda": "./src/lambda/index.ts" } }),
  );
  symlinkSync(path.join(ROOT, "src"), path.join(project, "node_modules/switchyard-fsm/src"));
  symlinkSync(path.join(ROOT, "node_modules/tsx"), path.join(project, "node_modules/tsx"));
  const bin = path.join(tools, "bin");
  mkdirSync(bin, { recursive: true });
  const shim = path.join(bin, "switchyard");
  writeFileSync(shim, `#!/bin/sh\nexec ${quote(process.execPath)} ${quote(path.join(ROOT, "bin/switchyard.js"))} "$@"\n`);
  chmodSync(shim, 0o755);
}

function bash(scriptFile: string, options: { project: string; tools: string; env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env, NO_COLOR: "1", PATH: `${path.join(options.tools, "bin")}:${path.dirname(process.execPath)}:${process.env.PATH ?? ""}` };
  for (const key of Object.keys(env)) if (key.startsWith("SWITCHYARD_") || key.startsWith("VITEST") || key === "NODE_OPTIONS") delete env[key];
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [scriptFile], { cwd: options.project, env, stdio: ["ignore", "pipe", "inherit"], detached: true });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    const timer = setTimeout(() => {
      if (child.pid) process.kill(-child.pid, "SIGKILL");
      reject(new Error(`${scriptFile} did not finish within ${options.timeoutMs} ms; output so far:\n${output}`));
    }, options.timeoutMs);
    let code: number | null = null;
    child.on("exit", (exitCode) => {
      code = exitCode;
      // A guide's background processes (workers it forgot to stop) go with it.
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {
        // the group is already gone
      }
    });
    child.stdout.on("end", () => {
      clearTimeout(timer);
      resolve(`${output}\n${MARK}exit ${code ?? -1}${MARK}\n`);
    });
  });
}

/** Read a guide file. */
export function readGuide(file: string): string {
  return readFileSync(file, "utf8");
}
