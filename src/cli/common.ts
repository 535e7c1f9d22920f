/** What the CLI commands share: global options, opening a Switchyard, output helpers. */
import { writeFileSync } from "node:fs";
import { type Command, Option } from "commander";
import { Switchyard } from "../client/switchyard.js";
import { withRegistry } from "../definition/compile.js";
import { createDefinitionSet } from "../definition/definition-set.js";
import { UsageError } from "../errors.js";
import type { Logger } from "../logger.js";
import { parseDuration } from "../core/duration.js";
import { MAX_TIMER_SECONDS } from "../core/ranges.js";
import { missingSqliteStores } from "../settings/provision.js";
import { type Settings, loadSettings } from "../settings/settings.js";

/** `--settings <file>`. */
export const settingsOption = () =>
  new Option("-s, --settings <file>", "settings file (default: switchyard.settings.yaml in the working directory, else one SQLite file under .switchyard/)");

/** What `-d` and the definition arguments accept. */
export const DEFINITIONS_HELP = "definition file: YAML, or a JS/TS module whose default or definitions export holds the machines";

/** `-d, --definitions <file>`. */
export const definitionsOption = () => new Option("-d, --definitions <file>", DEFINITIONS_HELP).makeOptionMandatory();

/** `-d, --definitions <file>` for commands that need the definitions only for some of their forms. */
export const optionalDefinitionsOption = (why: string) => new Option("-d, --definitions <file>", `${DEFINITIONS_HELP}; ${why}`);

/** End a command's `--help` with examples, one `$ switchyard …` line each. */
export function examples(command: Command, lines: readonly string[]): Command {
  return command.addHelpText("after", `\nExamples:\n${lines.map((line) => `  $ switchyard ${line}`).join("\n")}\n`);
}

/**
 * Parse an age like `90s`, `10m`, `2h` or `1d` (a duration as timers write it, or zero) into
 * milliseconds.
 */
export function parseAge(name: string) {
  return (text: string): number => {
    if (/^0+[smhd]$/.test(text)) return 0;
    const parsed = parseDuration(text);
    if (parsed.seconds === undefined) throw new UsageError(`${name} ${parsed.problem}`);
    return parsed.seconds * 1000;
  };
}

/** Open a Switchyard for a command (logging to `how.logger` if given), run `use`, and always close it. */
export async function withSwitchyard<T>(
  options: { definitions?: string; settings?: string },
  use: (sy: Switchyard) => Promise<T>,
  how: { readonly existingStore?: boolean; readonly logger?: Logger } = {},
): Promise<T> {
  const settings = loadSettings({ file: options.settings });
  if (how.existingStore === true) refuseMissingStores(settings);
  const sy = await Switchyard.open({
    logger: how.logger,
    // Commands like status and history need no definitions: the journal has what they show.
    definitions: options.definitions ?? withRegistry(createDefinitionSet(new Map(), [], undefined), process.cwd()),
    settings,
  });
  try {
    return await use(sy);
  } finally {
    await sy.close();
  }
}

/**
 * A command that reads or operates on existing instances never creates a store: a journal file the
 * settings name that does not exist is one line naming the path it looked at (the usual cause is
 * running from another folder than the one the instances were started in).
 */
function refuseMissingStores(settings: Settings): void {
  // The journal is where the instances are; a missing queue file (deleted to drop its messages) is
  // left to the command, which recreates it empty.
  const missing = missingSqliteStores(settings).find((store) => store.uri === settings.journal);
  if (missing === undefined) return;
  const from = settings.file === undefined ? "the default settings" : settings.file;
  throw new UsageError(
    `no Switchyard store at ${missing.path} (${missing.uri}, from ${from}); run this where the instances were started, or pass --settings`,
    { code: "no_store" },
  );
}

/** Parse a `--context` JSON object. */
export function parseContext(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--context is not valid JSON (${(error as Error).message}); pass an object, e.g. --context '{"n": 1}'`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new UsageError(`--context must be a JSON object, e.g. --context '{"n": 1}', not ${JSON.stringify(value)}`);
  }
  return value as Record<string, unknown>;
}

/** Parse a positive integer option. */
export function positiveInt(name: string) {
  return (text: string): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) throw new UsageError(`${name} must be a positive integer, got "${text}"`);
    return value;
  };
}

/** Parse a positive number of seconds that becomes a timer (so at most {@link MAX_TIMER_SECONDS}). */
export function positiveNumber(name: string) {
  return (text: string): number => {
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0 || value > MAX_TIMER_SECONDS) {
      throw new UsageError(`${name} must be a positive number of seconds up to ${MAX_TIMER_SECONDS} (the longest timer Node.js can set), got "${text}"`);
    }
    return value;
  };
}

/** Print one JSON document on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * For commands that do not open backends (validate, graph): `--settings` is accepted like
 * everywhere and checked, so a broken settings file is reported wherever it is passed.
 */
export function checkSettings(file: string): string {
  loadSettings({ file });
  return file;
}

/** Something a first SIGINT/SIGTERM asks to stop gracefully. */
export interface Stoppable {
  readonly stopping: boolean;
  stop(): void;
}

/**
 * First SIGINT/SIGTERM: print `first(signal)` and stop `target` gracefully; second: print
 * `again(signal)` and exit at once with 130. The lines go to `say` (by default on a line of their
 * own on stderr, after the `^C` a terminal echoes). Returns the function that removes the handlers.
 */
export function onStopSignals(
  target: Stoppable,
  first: (signal: string) => string,
  again: (signal: string) => string,
  say: (line: string) => void = (line) => process.stderr.write(`\n${line}\n`),
): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    if (target.stopping) {
      say(again(signal));
      process.exit(130);
    }
    say(first(signal));
    target.stop();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
}

/** Parse a TCP port (0 to 65535; 0 picks a free one). */
export function portNumber(name: string) {
  return (text: string): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 0 || value > 65_535) throw new UsageError(`${name} must be a port number from 0 to 65535, got "${text}"`);
    return value;
  };
}

/**
 * A generated document to stdout, or to the file of `-o` (then `wrote FILE` on stderr); a file that
 * cannot be written is one line naming it.
 */
export function writeOutput(text: string, output: string | undefined): void {
  if (output === undefined) {
    process.stdout.write(text);
    return;
  }
  try {
    writeFileSync(output, text);
  } catch (error) {
    throw new UsageError(`cannot write ${output}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; check the -o path`);
  }
  process.stderr.write(`wrote ${output}\n`);
}
