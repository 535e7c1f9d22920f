/**
 * The `switchyard` command line. Each command lives in its own file under `commands/` and only
 * parses, calls the library and prints. Every failure ends as one line on stderr and a non-zero
 * exit code; set SWITCHYARD_DEBUG=1 to see stacks.
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { DefinitionErrors, SwitchyardError, describeError } from "../errors.js";
import { LOG_LEVELS } from "../logger.js";
import { abortCommand } from "./commands/abort.js";
import { aslCommand } from "./commands/asl.js";
import { costCommand } from "./commands/cost.js";
import { dashboardCommand } from "./commands/dashboard.js";
import { deadLettersCommand } from "./commands/dead-letters.js";
import { devLambdaCommand } from "./commands/dev-lambda.js";
import { graphCommand } from "./commands/graph.js";
import { metricsCommand } from "./commands/metrics.js";
import { pauseCommands } from "./commands/pause.js";
import { recoverCommand } from "./commands/recover.js";
import { redriveCommand } from "./commands/redrive.js";
import { resourcesCommand } from "./commands/resources.js";
import { runCommand } from "./commands/run.js";
import { sendCommand } from "./commands/send.js";
import { startCommand } from "./commands/start.js";
import { statusCommands } from "./commands/status.js";
import { heartbeatCommand, reportCommand, taskRunCommand } from "./commands/task.js";
import { templateCommand } from "./commands/template.js";
import { validateCommand } from "./commands/validate.js";
import { versionCommands } from "./commands/versions.js";
import { workerCommand } from "./commands/worker.js";

/** The installed package's version (src/cli and dist/cli both sit two folders below package.json). */
function packageVersion(): string {
  const manifest = readFileSync(new URL("../../package.json", import.meta.url), "utf8");
  return (JSON.parse(manifest) as { version: string }).version;
}

/** Build the program (exported for tests and for embedding). */
export function program(): Command {
  const cli = new Command("switchyard")
    .description("durable finite-state-machine workflows")
    .version(packageVersion())
    .showHelpAfterError("(run with --help for usage)")
    // Options after a command are that command's: `dead-letters --json` lists, while in
    // `dead-letters redrive --json` the flag is the subcommand's, not its parent's.
    .enablePositionalOptions()
    .exitOverride();
  for (const add of [
    validateCommand,
    graphCommand,
    aslCommand,
    startCommand,
    runCommand,
    workerCommand,
    devLambdaCommand,
    costCommand,
    statusCommands,
    sendCommand,
    reportCommand,
    heartbeatCommand,
    taskRunCommand,
    abortCommand,
    pauseCommands,
    recoverCommand,
    redriveCommand,
    metricsCommand,
    dashboardCommand,
    deadLettersCommand,
    resourcesCommand,
    templateCommand,
    versionCommands,
  ])
    add(cli);
  for (const command of cli.commands) command.exitOverride();
  for (const command of everyCommand(cli)) addLogOptions(command);
  return cli;
}

/** Every command below `parent`, subcommands included. */
function everyCommand(parent: Command): Command[] {
  return parent.commands.flatMap((command) => [command, ...everyCommand(command)]);
}

/**
 * `--log-format`, `--log-level` and `--log-context` on every command: they set
 * `SWITCHYARD_LOG_FORMAT`, `SWITCHYARD_LOG_LEVEL` and `SWITCHYARD_LOG_CONTEXT` for the command (the
 * loggers read them), so a worker's logs can be JSON lines with `--log-format json`. The user
 * context stays out of the records unless `--log-context` is given (docs/telemetry.md).
 */
function addLogOptions(command: Command): void {
  command
    .addOption(new Option("--log-format <format>", "log records as text lines or JSON objects (default: SWITCHYARD_LOG_FORMAT, else text)").choices(["text", "json"]))
    .addOption(new Option("--log-level <level>", "the least severe records logged (default: SWITCHYARD_LOG_LEVEL, else warn)").choices([...LOG_LEVELS]))
    .addOption(new Option("--log-context", "add the user context to the records about one message (default: SWITCHYARD_LOG_CONTEXT=1, else never)"))
    .hook("preAction", (_command, action) => {
      const { logFormat, logLevel, logContext } = action.opts<{ logFormat?: string; logLevel?: string; logContext?: boolean }>();
      if (logFormat !== undefined) process.env.SWITCHYARD_LOG_FORMAT = logFormat;
      if (logLevel !== undefined) process.env.SWITCHYARD_LOG_LEVEL = logLevel;
      if (logContext === true) process.env.SWITCHYARD_LOG_CONTEXT = "1";
    });
}

/** Run the CLI with `argv` (node, script, args...); resolves with the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    await program().parseAsync(argv as string[]);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof DefinitionErrors) {
      // The first problem is the one to fix; `validate` lists them all.
      const [first, ...rest] = error.problems;
      const file = first?.file;
      const more = rest.length > 0 ? ` (${rest.length} more problem(s); run: switchyard validate ${file ?? "<file>"})` : "";
      process.stderr.write(`switchyard: ${first?.toString() ?? error.message}${more}\n`);
      return 1;
    }
    const known = error instanceof SwitchyardError;
    process.stderr.write(`switchyard: ${describeError(error)}${known || process.env.SWITCHYARD_DEBUG ? "" : " (set SWITCHYARD_DEBUG=1 for details)"}\n`);
    if (process.env.SWITCHYARD_DEBUG && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    return 1;
  }
}
