/**
 * Every command's `--help` ends with examples, and every example is a command line the CLI
 * accepts: it is parsed by the real program, with each action replaced by one that does nothing,
 * so unknown flags, missing arguments and bad option values fail here.
 */
import type { Command } from "commander";
import { describe, expect, it } from "vitest";
import { program } from "../../../src/cli/main.js";

/** Every command and subcommand below the root, with its path (`dead-letters redrive`). */
function commands(parent: Command, prefix: string[] = []): Array<{ path: string; command: Command }> {
  return parent.commands.flatMap((command) => {
    const path = [...prefix, command.name()];
    return [{ path: path.join(" "), command }, ...commands(command, path)];
  });
}

/** The `--help` text as a user sees it, the text added after it included. */
function help(command: Command): string {
  let text = "";
  command.configureOutput({ writeOut: (chunk) => (text += chunk), writeErr: (chunk) => (text += chunk) });
  command.outputHelp();
  return text;
}

/** The arguments of a `$ switchyard …` line, split as a POSIX shell splits simple quoting. */
function argv(line: string): string[] {
  const words = [...line.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => ({ text: m[1] ?? m[2] ?? m[3] ?? "", bare: m[3] !== undefined }));
  // The shell's part of an example (`< in.jsonl > out.jsonl`, `| jq`) is not the command's.
  const shell = words.findIndex((word) => word.bare && /^(<|>|>>|\||2>)$/.test(word.text));
  return words.slice(0, shell === -1 ? undefined : shell).map((word) => word.text);
}

/** The examples at the end of a help text. */
function examplesOf(text: string): string[] {
  const [, after = ""] = text.split("\nExamples:\n");
  return after
    .trimEnd()
    .split("\n")
    .map((line) => line.replace(/^ {2}\$ switchyard /, ""));
}

/** Parse `args` with a fresh program whose actions do nothing; resolves with the error, if any. */
async function parses(args: readonly string[]): Promise<string | undefined> {
  const cli = program();
  let problem = "";
  for (const { command } of [{ command: cli }, ...commands(cli)]) {
    command.action(() => {});
    command.configureOutput({ writeOut: () => {}, writeErr: (chunk) => (problem += chunk) });
  }
  try {
    await cli.parseAsync(["node", "switchyard", ...args]);
    return undefined;
  } catch (error) {
    return `${(error as Error).message} ${problem}`.trim();
  }
}

describe("--help examples", () => {
  const all = commands(program());

  it("finds every command, subcommands included", () => {
    expect(all.map((c) => c.path)).toEqual(expect.arrayContaining(["validate", "worker", "dead-letters redrive", "resources create", "start", "metrics"]));
  });

  it.each(all.map((c) => [c.path, c.command] as const))("%s ends with two or more examples, one of them itself", (path, command) => {
    const text = help(command);
    expect(text, path).toContain("\nExamples:\n");
    const lines = text.trimEnd().split("\n");
    const at = lines.lastIndexOf("Examples:");
    const examples = lines.slice(at + 1);
    expect(examples.length, text).toBeGreaterThanOrEqual(2);
    expect(examples.every((line) => line.startsWith("  $ switchyard ")), text).toBe(true);
    expect(
      examplesOf(text).some((example) => example === path || example.startsWith(`${path} `)),
      `${path}: no example runs ${path} itself`,
    ).toBe(true);
  });

  it.each(all.flatMap((c) => examplesOf(help(c.command)).filter((example) => example !== "").map((example) => [c.path, example] as const)))(
    "%s: `switchyard %s` parses",
    async (_path, example) => {
      expect(await parses(argv(example))).toBeUndefined();
    },
  );

  it("would catch an example with a flag its command does not have", async () => {
    expect(await parses(argv("history order-7 --wdie"))).toContain("unknown option '--wdie'");
    expect(await parses(argv("worker -d fsm.yaml --concurrency none"))).toContain("--concurrency must be a positive integer");
  });
});
